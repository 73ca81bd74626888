"""Leakage-aware split planning: grouped, stratified (no provenance), leaky, given."""

from __future__ import annotations

import numpy as np
import pytest

from dfaudio.exceptions import ParameterError
from dfaudio.training.splits import plan_splits


def _grouped_data(n_groups: int = 12, per_group: int = 5) -> tuple[np.ndarray, np.ndarray]:
    groups = np.repeat([f"rec{i:02d}" for i in range(n_groups)], per_group)
    y = np.repeat(np.arange(n_groups) % 2, per_group)
    return y, groups


def _check_partition(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> None:
    for tr, te in folds:
        assert len(np.intersect1d(tr, te)) == 0
        assert len(tr) + len(te) == n


@pytest.mark.parametrize("cv", [2, 3, 5])
def test_grouped_folds_never_share_a_group(cv: int) -> None:
    y, groups = _grouped_data()
    plan = plan_splits(y, groups=groups, cv=cv, seed=1)
    assert plan.split_type == "grouped"
    assert len(plan.folds) == cv
    assert plan.eval_name == "cv" and plan.warnings == []
    assert f"{cv}-fold" in plan.description and "12 groups" in plan.description
    _check_partition(plan.folds, len(y))
    for tr, te in plan.folds:
        assert not set(groups[tr]) & set(groups[te])
        assert set(y[te]) == {0, 1}  # stratified: both classes in each test part
    # every row is tested exactly once across folds
    all_test = np.sort(np.concatenate([te for _, te in plan.folds]))
    np.testing.assert_array_equal(all_test, np.arange(len(y)))


def test_default_is_five_grouped_folds() -> None:
    y, groups = _grouped_data()
    plan = plan_splits(y, groups=groups)
    assert plan.split_type == "grouped" and len(plan.folds) == 5


def test_grouped_hold_out() -> None:
    y, groups = _grouped_data()
    plan = plan_splits(y, groups=groups, test_size=0.25, seed=0)
    assert plan.split_type == "grouped" and len(plan.folds) == 1
    assert plan.eval_name == "test"
    tr, te = plan.folds[0]
    assert not set(groups[tr]) & set(groups[te])
    assert len(set(groups[te])) == 3  # 1/4 of 12 groups


def test_seed_changes_folds_and_is_reproducible() -> None:
    y, groups = _grouped_data(n_groups=20)
    a = plan_splits(y, groups=groups, cv=4, seed=0)
    b = plan_splits(y, groups=groups, cv=4, seed=0)
    c = plan_splits(y, groups=groups, cv=4, seed=7)
    assert all(np.array_equal(x[1], z[1]) for x, z in zip(a.folds, b.folds, strict=True))
    assert not all(np.array_equal(x[1], z[1]) for x, z in zip(a.folds, c.folds, strict=True))


def test_no_provenance_gives_stratified_with_warning() -> None:
    y = np.array([0, 1] * 20)
    plan = plan_splits(y, cv=4)
    assert plan.split_type == "stratified"
    assert len(plan.folds) == 4
    assert plan.warnings and "no provenance" in plan.warnings[0]
    _check_partition(plan.folds, len(y))
    for _, te in plan.folds:
        assert np.bincount(y[te]).tolist() == [5, 5]


def test_split_by_window_is_leaky() -> None:
    y, groups = _grouped_data()
    plan = plan_splits(y, groups=groups, cv=3, split_by="window")
    assert plan.split_type == "leaky"
    assert "leaky" in plan.description and "leaky" in plan.warnings[0]
    # and it really does put windows of one recording on both sides
    shared = [set(groups[tr]) & set(groups[te]) for tr, te in plan.folds]
    assert any(shared)


def test_given_split_trains_on_train_and_tests_on_eval() -> None:
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    splits = np.array(["train"] * 4 + ["dev"] * 2 + ["eval"] * 4, dtype=object)
    plan = plan_splits(y, groups=np.arange(10).astype(str), splits=splits)
    assert plan.split_type == "given"
    assert plan.eval_name == "eval"
    ((tr, te),) = plan.folds
    np.testing.assert_array_equal(tr, [0, 1, 2, 3])
    np.testing.assert_array_equal(te, [6, 7, 8, 9])
    assert plan.description == "given split: train -> eval"
    # dev is used when there is no eval
    plan_dev = plan_splits(y[:6], splits=splits[:6])
    assert plan_dev.eval_name == "dev"
    np.testing.assert_array_equal(plan_dev.folds[0][1], [4, 5])


def test_cv_overrides_a_given_split() -> None:
    y, groups = _grouped_data()
    splits = np.where(np.arange(len(y)) < 30, "train", "eval")
    assert plan_splits(y, groups=groups, splits=splits, cv=3).split_type == "grouped"


def test_too_many_folds_for_the_groups() -> None:
    y, groups = _grouped_data(n_groups=4)
    with pytest.raises(ParameterError, match="only 4 groups for 5 folds; use cv=4 or fewer"):
        plan_splits(y, groups=groups, cv=5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cv": 1}, "at least 2"),
        ({"cv": 3, "test_size": 0.2}, "not both"),
        ({"test_size": 1.5}, r"\(0, 1\)"),
        ({"split_by": "speaker"}, "split_by="),
        ({"split_by": "given"}, "needs a 'split' column"),
        ({"split_by": "group", "groups": None}, "needs a 'group' or 'file' column"),
    ],
)
def test_impossible_requests(kwargs: dict, match: str) -> None:
    y, groups = _grouped_data()
    kwargs = {"groups": groups, **kwargs}
    with pytest.raises(ParameterError, match=match):
        plan_splits(y, **kwargs)


def test_given_split_without_test_rows() -> None:
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ParameterError, match="no eval/dev/test rows"):
        plan_splits(y, splits=np.array(["train"] * 4, dtype=object))


def test_single_class_fold_is_refused() -> None:
    y = np.array([0, 0, 0, 0, 1, 1])
    splits = np.array(["train", "train", "train", "train", "eval", "eval"], dtype=object)
    with pytest.raises(ParameterError, match="single class"):
        plan_splits(y, splits=splits)


@pytest.mark.parametrize(
    ("test_size", "n_test_groups", "frac"), [(0.75, 9, "3/4"), (0.5, 6, "1/2")]
)
def test_large_test_size_is_honoured(test_size: float, n_test_groups: int, frac: str) -> None:
    # a hold-out of 0.75 used to become 1/2 silently (round(1 / 0.75) = 1 -> 2 folds)
    y, groups = _grouped_data()
    plan = plan_splits(y, groups=groups, test_size=test_size, seed=0)
    tr, te = plan.folds[0]
    assert len(set(groups[te])) == n_test_groups
    assert not set(groups[tr]) & set(groups[te])
    assert f"({frac})" in plan.description
    win = plan_splits(y, groups=groups, test_size=test_size, split_by="window", seed=0)
    assert len(win.folds[0][1]) == round(test_size * len(y))
    assert f"({frac})" in win.description


def test_leaky_hold_out_is_called_test() -> None:
    y, groups = _grouped_data()
    plan = plan_splits(y, groups=groups, test_size=0.25, split_by="window")
    assert plan.split_type == "leaky" and plan.eval_name == "test"


def test_given_split_that_shares_recordings_is_leaky() -> None:
    # a hand-made table whose split column cuts one recording's windows between train and eval
    y = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    files = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    splits = np.array(["train", "train", "train", "eval", "eval", "eval", "train", "eval"])
    plan = plan_splits(y, groups=files, splits=splits, recordings=files)
    assert plan.split_type == "leaky"
    assert "2 recording(s)" in plan.warnings[0] and "leaky" in plan.description
    # clean per-file split: given, no warning
    clean = np.array(["train"] * 4 + ["eval"] * 4)
    ok = plan_splits(y, groups=files, splits=clean, recordings=files)
    assert ok.split_type == "given" and ok.warnings == []


def test_given_split_that_shares_speakers_warns() -> None:
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    files = np.array([f"f{i}" for i in range(8)])
    speakers = np.array(["s1", "s2", "s1", "s3", "s1", "s4", "s5", "s6"])
    splits = np.array(["train"] * 4 + ["eval"] * 4)
    plan = plan_splits(y, groups=speakers, splits=splits, recordings=files)
    assert plan.split_type == "given"
    assert len(plan.warnings) == 1 and "1 group(s)" in plan.warnings[0] and "s1" in plan.warnings[0]
