"""Invariants checked on generated inputs (hypothesis): EER, splits, streaming features, windows.

Example counts are small and deadlines off so that the module stays under half a minute on two
shared cores; each property still sees ties, tiny classes, odd cut points and short clips.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dfaudio.evaluation import compute_eer, eer
from dfaudio.exceptions import ParameterError
from dfaudio.features.summary import (
    block_length,
    deep_voice_features,
    deep_voice_features_blocks,
    n_windows,
)
from dfaudio.training.splits import plan_roles, plan_splits

# database=None: no .hypothesis/ folder left in the checkout
_COMMON = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
FAST = settings(max_examples=40, **_COMMON)
SLOW = settings(max_examples=12, **_COMMON)


# --------------------------------------------------------------------------- EER

# scores from a small grid produce ties within and across classes
_score = st.one_of(
    st.integers(-5, 5).map(float),
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32),
)


@st.composite
def trials(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """(labels 0 = bona fide / 1 = spoof, scores) with both classes present."""
    labels = draw(st.lists(st.integers(0, 1), min_size=2, max_size=40))
    assume(0 in labels and 1 in labels)
    scores = draw(st.lists(_score, min_size=len(labels), max_size=len(labels)))
    return np.array(labels), np.array(scores, dtype=np.float64)


def _eer(labels: np.ndarray, scores: np.ndarray) -> float:
    names = np.where(labels == 0, "bonafide", "spoof")
    return eer(names, scores)[0]


def brute_force_eer(labels: np.ndarray, scores: np.ndarray) -> float:
    """The organisers' rule in plain Python: sort by score, bona fide first among equal scores;
    after rejecting the k lowest trials (k = 0..n) take the first k where |miss - fa| is smallest,
    and return the mean of the two rates there."""
    trials_ = sorted(zip(scores.tolist(), labels.tolist(), strict=True), key=lambda t: (t[0], t[1]))
    n_b = sum(1 for lab in labels if lab == 0)
    n_s = len(labels) - n_b
    best, best_gap = None, None
    rej_b = rej_s = 0
    for k in range(len(trials_) + 1):
        if k:
            if trials_[k - 1][1] == 0:
                rej_b += 1
            else:
                rej_s += 1
        miss, fa = rej_b / n_b, (n_s - rej_s) / n_s
        if best_gap is None or abs(miss - fa) < best_gap:
            best, best_gap = (miss + fa) / 2, abs(miss - fa)
    assert best is not None
    return best


@FAST
@given(trials())
def test_eer_equals_brute_force(t: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = t
    assert _eer(labels, scores) == pytest.approx(brute_force_eer(labels, scores), abs=1e-12)


@FAST
@given(trials(), st.randoms(use_true_random=False))
def test_eer_invariant_under_permutation(t: tuple[np.ndarray, np.ndarray], rnd) -> None:
    labels, scores = t
    perm = np.array(rnd.sample(range(len(labels)), len(labels)))
    assert _eer(labels[perm], scores[perm]) == _eer(labels, scores)


_monotone = st.sampled_from(
    [
        ("affine", lambda s: 3.0 * s + 7.0),
        ("cube", lambda s: s**3),
        ("exp", lambda s: np.exp(s / 250.0)),
        ("arctan", lambda s: np.arctan(s / 100.0)),
        ("logistic", lambda s: 1.0 / (1.0 + np.exp(-s / 300.0))),
    ]
)


@FAST
@given(trials(), _monotone)
def test_eer_invariant_under_strictly_monotone_transforms(
    t: tuple[np.ndarray, np.ndarray], f: tuple
) -> None:
    labels, scores = t
    _, fn = f
    transformed = fn(scores)
    # the transform must stay strictly monotone in floating point on these scores (no new ties)
    order = np.argsort(scores, kind="stable")
    assume(np.all(np.diff(transformed[order])[np.diff(scores[order]) > 0] > 0))
    assert _eer(labels, transformed) == _eer(labels, scores)


@FAST
@given(trials())
def test_eer_flips_with_the_score_sign_only_without_ties(t: tuple[np.ndarray, np.ndarray]) -> None:
    labels, scores = t
    assume(len(np.unique(scores)) == len(scores))
    bona, spoof = scores[labels == 0], scores[labels == 1]
    e = compute_eer(bona, spoof)[0]
    if bona.min() > spoof.max():  # perfectly separated: 0, and 1 when the sign is flipped
        assert e == 0.0 and compute_eer(-bona, -spoof)[0] == 1.0
    assert 0.0 <= e <= 1.0


# --------------------------------------------------------------------------- splits


@st.composite
def grouped_rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 6..24 groups (1..6 rows each); each group has one label, both labels present."""
    n_groups = draw(st.integers(6, 24))
    sizes = draw(st.lists(st.integers(1, 6), min_size=n_groups, max_size=n_groups))
    glabels = draw(st.lists(st.integers(0, 1), min_size=n_groups, max_size=n_groups))
    assume(glabels.count(0) >= 3 and glabels.count(1) >= 3)
    names = draw(st.permutations([f"spk{i:02d}" for i in range(n_groups)]))
    groups = np.repeat(np.array(names), sizes)
    y = np.repeat(np.array(glabels), sizes)
    perm = np.random.default_rng(len(y)).permutation(len(y))  # rows in no particular order
    return y[perm], groups[perm]


@FAST
@given(grouped_rows(), st.integers(2, 5), st.integers(0, 2**16))
def test_no_group_on_both_sides_of_a_cv_fold(rows: tuple, cv: int, seed: int) -> None:
    y, groups = rows
    try:
        plan = plan_splits(y, groups=groups, cv=cv, seed=seed)
    except ParameterError:
        assume(False)
    assert plan.split_type == "grouped"
    seen_test = np.zeros(len(y), dtype=int)
    for train, test in plan.folds:
        assert not set(groups[train]) & set(groups[test])
        assert len(np.intersect1d(train, test)) == 0
        seen_test[test] += 1
    assert np.all(seen_test == 1)  # K-fold: every row tested exactly once


@FAST
@given(grouped_rows(), st.floats(0.1, 0.6), st.integers(0, 2**16))
def test_no_group_on_both_sides_of_a_holdout(rows: tuple, test_size: float, seed: int) -> None:
    y, groups = rows
    try:
        plan = plan_splits(y, groups=groups, test_size=test_size, seed=seed)
    except ParameterError:
        assume(False)
    (train, test), *rest = plan.folds
    assert not rest
    assert not set(groups[train]) & set(groups[test])
    assert len(train) + len(test) == len(y)


@FAST
@given(grouped_rows(), st.integers(0, 2**16))
def test_deep_roles_never_share_a_group(rows: tuple, seed: int) -> None:
    y, groups = rows
    try:
        plan = plan_roles(y, groups=groups, test_size=0.25, dev_size=0.25, seed=seed)
    except ParameterError:
        assume(False)
    by_role = {r: set(groups[plan.roles == r]) for r in ("train", "dev", "test")}
    assert all(by_role.values())
    assert not by_role["train"] & by_role["dev"]
    assert not by_role["train"] & by_role["test"]
    assert not by_role["dev"] & by_role["test"]
    assert not plan.warnings


# --------------------------------------------------------------------------- streaming features

SR = 8000
BLOCK = block_length(SR)


@st.composite
def signal_and_cuts(draw: st.DrawFn) -> tuple[np.ndarray, list[int]]:
    """Noise of 0.3..11.5 s (more blocks than one streaming chunk) and cut points anywhere."""
    n = draw(st.integers(int(0.3 * SR), int(11.5 * SR)))
    seed = draw(st.integers(0, 2**16))
    y = (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=8)))
    return y, cuts


@SLOW
@given(signal_and_cuts(), st.sampled_from(["whole", "skip", "pad"]))
def test_streamed_features_equal_whole_signal_features(sc: tuple, short: str) -> None:
    y, cuts = sc
    pieces = np.split(y, cuts)  # empty pieces included when cuts repeat or sit at the ends
    whole = deep_voice_features(y, SR, short=short)
    streamed = deep_voice_features_blocks(pieces, SR, short=short)
    np.testing.assert_array_equal(streamed, whole)


@SLOW
@given(st.integers(0, 4 * BLOCK), st.sampled_from(["whole", "skip", "pad"]))
def test_n_windows_equals_the_rows_produced(n: int, short: str) -> None:
    y = (0.1 * np.random.default_rng(n).standard_normal(n)).astype(np.float32)
    if n == 0 and short != "skip":
        with pytest.raises(ParameterError, match="empty signal"):
            deep_voice_features(y, SR, short=short)
        return
    rows = deep_voice_features(y, SR, short=short)
    assert rows.shape == (n_windows(n, SR, short=short), 26)
    assert np.isfinite(rows).all()
