"""Leakage-aware train/test splits.

The rule: windows of one recording (and, where known, one speaker) never straddle train and test.
:func:`plan_splits` turns the user's options into folds and names the split type that is written
into every run and shown on the leaderboard:

``grouped``
    Stratified group K-fold (or one grouped hold-out) over the table's ``group`` (else ``file``).
``given``
    The data's own ``split`` column (ASVspoof train/dev/eval).
``stratified``
    The table has no provenance (e.g. the original DEEP-VOICE CSV): plain stratified folds, and the
    run says that windows of one recording may sit on both sides.
``leaky``
    The user asked for ``--split-by window`` although the table has groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dfaudio.exceptions import ParameterError

SPLIT_BY = ("auto", "group", "window", "given")


@dataclass
class SplitPlan:
    """Folds and how they were made.

    Attributes
    ----------
    split_type : {"grouped", "given", "stratified", "leaky"}
    folds : list of (train_idx, test_idx)
    description : str
        One line for people ("5-fold stratified group K-fold over 64 groups").
    eval_name : str
        What the test rows are called ("cv", "test", "eval", "dev").
    warnings : list of str
    """

    split_type: str
    folds: list[tuple[np.ndarray, np.ndarray]]
    description: str
    eval_name: str
    warnings: list[str] = field(default_factory=list)


def plan_splits(
    y: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    splits: np.ndarray | None = None,
    cv: int | None = None,
    test_size: float | None = None,
    split_by: str = "auto",
    seed: int = 0,
    recordings: np.ndarray | None = None,
) -> SplitPlan:
    """Decide the folds for a table.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Integer labels (bonafide 0, spoof 1).
    groups : np.ndarray [shape=(n,)], optional
        Recording/speaker group per row.
    splits : np.ndarray [shape=(n,)], optional
        The data's own split names (train/dev/eval).
    cv : int, optional
        Number of folds (K-fold cross-validation).
    test_size : float, optional
        Fraction held out once (instead of ``cv``).
    split_by : {"auto", "group", "window", "given"}
        ``auto``: the given split if the data has one and neither ``cv`` nor ``test_size`` was
        asked for, else grouped folds when groups are known, else stratified folds.
    seed : int
    recordings : np.ndarray [shape=(n,)], optional
        The recording (file) of each row. A given split that puts windows of one recording on
        both sides is marked ``leaky``; one that shares groups (speakers) between its sides
        gets a warning.

    Raises
    ------
    ParameterError
        Impossible requests (more folds than groups, ``given`` without a split column ...).
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if split_by not in SPLIT_BY:
        raise ParameterError(f"--split-by must be one of {SPLIT_BY}, got {split_by!r}")
    if cv is not None and test_size is not None:
        raise ParameterError("give either --cv or --test-size, not both")
    if test_size is not None and not 0.0 < test_size < 1.0:
        raise ParameterError(f"--test-size must be in (0, 1), got {test_size}")
    if cv is not None and cv < 2:
        raise ParameterError(f"--cv must be at least 2, got {cv}")
    y = np.asarray(y)
    has_given = splits is not None and np.isin(splits, ["train"]).any()
    mode = split_by
    if mode == "auto":
        if has_given and cv is None and test_size is None:
            mode = "given"
        elif groups is not None:
            mode = "group"
        else:
            mode = "window"
    if mode == "given":
        if not has_given:
            raise ParameterError("--split-by given needs a 'split' column with 'train' rows")
        return _given(
            y,
            np.asarray(splits, dtype=object),
            groups=groups,
            recordings=recordings,
        )
    if cv is None and test_size is None:
        cv = 5
    if mode == "group":
        if groups is None:
            raise ParameterError("--split-by group needs a 'group' or 'file' column in the table")
        groups = np.asarray(groups)
        n_groups = len(np.unique(groups))
        k, flip = (cv, False) if cv is not None else holdout_folds(float(test_size))
        if n_groups < k:
            raise ParameterError(
                f"only {n_groups} groups for {k} folds; use --cv {n_groups} or fewer"
            )
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        folds = list(splitter.split(np.zeros(len(y)), y, groups))
        if cv is None:
            folds = [_holdout(folds[0], flip)]
        what = f"{k}-fold stratified group K-fold" if cv else f"grouped hold-out ({_frac(k, flip)})"
        plan = SplitPlan("grouped", folds, f"{what} over {n_groups} groups", "cv" if cv else "test")
        _check_both_classes(plan, y)
        return plan
    # window-level (stratified) splits
    leaky = groups is not None
    k, flip = (cv, False) if cv is not None else holdout_folds(float(test_size))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = list(splitter.split(np.zeros(len(y)), y))
    if cv is None:
        folds = [_holdout(folds[0], flip)]
    what = f"{k}-fold stratified K-fold" if cv else f"stratified hold-out ({_frac(k, flip)})"
    if leaky:
        warning = (
            "--split-by window: windows of one recording are on both sides of the split; "
            "this run is marked leaky"
        )
        eval_name = "cv" if cv else "test"
        return SplitPlan("leaky", folds, f"{what} over windows (leaky)", eval_name, [warning])
    warning = (
        "table has no provenance (no group/file column): stratified folds over rows, so windows "
        "of one recording may sit in train and test"
    )
    return SplitPlan("stratified", folds, what, "cv" if cv else "test", [warning])


def holdout_folds(test_size: float) -> tuple[int, bool]:
    """Folds ``k`` whose one fold (or, ``flip``, all but one) is closest to ``test_size``."""
    if test_size <= 0.5:
        return max(2, round(1.0 / test_size)), False
    return max(2, round(1.0 / (1.0 - test_size))), True


def _holdout(fold: tuple[np.ndarray, np.ndarray], flip: bool) -> tuple[np.ndarray, np.ndarray]:
    return (fold[1], fold[0]) if flip else fold


def _frac(k: int, flip: bool) -> str:
    return f"{k - 1}/{k}" if flip else f"1/{k}"


def shared_between(keys: np.ndarray, train: np.ndarray, test: np.ndarray) -> list[str]:
    """The values of ``keys`` (groups, recordings) found on both sides of a split, sorted."""
    keys = np.asarray(keys).astype(str)
    return sorted(set(keys[train]) & set(keys[test]))


def _given(
    y: np.ndarray,
    splits: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    recordings: np.ndarray | None = None,
) -> SplitPlan:
    train = np.flatnonzero(splits == "train")
    for name in ("eval", "dev", "test"):
        test = np.flatnonzero(splits == name)
        if len(test):
            plan = SplitPlan("given", [(train, test)], f"given split: train -> {name}", name)
            _check_both_classes(plan, y)
            shared_rec = [] if recordings is None else shared_between(recordings, train, test)
            if shared_rec:
                plan.split_type = "leaky"
                plan.description += f" (leaky: {len(shared_rec)} recordings on both sides)"
                plan.warnings.append(
                    f"the table's split column puts windows of {len(shared_rec)} recording(s) "
                    f"in both train and {name} (e.g. {shared_rec[0]}); this run is marked leaky"
                )
            elif groups is not None and (shared := shared_between(groups, train, test)):
                plan.warnings.append(
                    f"{len(shared)} group(s) (speakers/recordings) are in both train and {name} "
                    f"(e.g. {shared[0]}): the given split is not speaker-independent"
                )
            return plan
    raise ParameterError("the split column has train rows but no eval/dev/test rows")


def _check_both_classes(plan: SplitPlan, y: np.ndarray) -> None:
    for i, (tr, te) in enumerate(plan.folds):
        for name, idx in (("train", tr), ("test", te)):
            if len(np.unique(y[idx])) < 2:
                raise ParameterError(
                    f"fold {i + 1}: the {name} part has a single class; use fewer folds"
                )
