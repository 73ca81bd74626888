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
    The user asked for ``split_by="window"`` although the table has groups.

Two held-out protocols are ``grouped`` splits with a ``protocol`` name:

``attack`` (``split_by="attack"``)
    Leave one attack out: for every spoofing attack, grouped K-fold over the groups where each
    fold tests that attack's spoofs and the bona fide rows of its test groups, and trains on the
    other groups without that attack (:func:`leave_one_attack_out`). ``fold_names`` holds the
    held-out attack of each fold.
``speaker`` (``split_by="speaker"``)
    Grouped K-fold over speakers (merged with the table's groups, so a recording or a real/fake
    pair never straddles), for layouts that know speakers (ASVspoof protocols, labels.tsv lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dfaudio.exceptions import ParameterError

__all__ = [
    "ROLES",
    "SPLIT_BY",
    "RolePlan",
    "SplitPlan",
    "grouped_holdout",
    "holdout_folds",
    "leave_one_attack_out",
    "merge_groups",
    "plan_roles",
    "plan_splits",
    "shared_between",
    "shared_group_warnings",
]

SPLIT_BY = ("auto", "group", "window", "given", "attack", "speaker")


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
    protocol : str
        ``"attack"`` or ``"speaker"`` for the held-out protocols, else ``""``.
    fold_names : list of str, optional
        What each fold holds out (the attack id of a leave-one-attack-out fold).
    """

    split_type: str
    folds: list[tuple[np.ndarray, np.ndarray]]
    description: str
    eval_name: str
    warnings: list[str] = field(default_factory=list)
    protocol: str = ""
    fold_names: list[str] | None = None


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
    attacks: np.ndarray | None = None,
    speakers: np.ndarray | None = None,
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
    attacks : np.ndarray [shape=(n,)], optional
        Attack id of each row (``-`` or empty for bona fide), for ``split_by="attack"``.
    speakers : np.ndarray [shape=(n,)], optional
        Speaker of each row, for ``split_by="speaker"``.

    Raises
    ------
    ParameterError
        Impossible requests (more folds than groups, ``given`` without a split column ...).
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if split_by not in SPLIT_BY:
        raise ParameterError(f"split_by must be one of {SPLIT_BY}, got {split_by!r}")
    if cv is not None and test_size is not None:
        raise ParameterError("give either cv or test_size, not both")
    if test_size is not None and not 0.0 < test_size < 1.0:
        raise ParameterError(f"test_size must be in (0, 1), got {test_size}")
    if cv is not None and cv < 2:
        raise ParameterError(f"cv must be at least 2, got {cv}")
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
            raise ParameterError("split_by='given' needs a 'split' column with 'train' rows")
        return _given(
            y,
            np.asarray(splits, dtype=object),
            groups=groups,
            recordings=recordings,
        )
    if cv is None and test_size is None:
        cv = 5
    if mode == "attack":
        if attacks is None:
            raise ParameterError(
                "split_by='attack' needs an 'attack' column (ASVspoof protocols and labels.tsv "
                "lists give one)"
            )
        k = cv if cv is not None else holdout_folds(float(test_size))[0]
        return leave_one_attack_out(y, attacks, groups=groups, k=k, seed=seed)
    if mode == "speaker":
        spk = None if speakers is None else np.asarray(speakers).astype(str)
        if spk is None or not (np.char.str_len(spk) > 0).all():
            raise ParameterError(
                "split_by='speaker' needs a 'speaker' column on every row (ASVspoof protocols "
                "and labels.tsv lists give one; class folders do not)"
            )
        merged = merge_groups(spk, groups)
        plan = plan_splits(
            y, groups=merged, cv=cv, test_size=test_size, split_by="group", seed=seed
        )
        n_spk = len(np.unique(spk))
        plan.description = plan.description.rsplit(" over ", 1)[0] + f" over {n_spk} speakers"
        if len(np.unique(merged)) < n_spk:
            plan.description += f" ({len(np.unique(merged))} after merging shared groups)"
        plan.protocol = "speaker"
        return plan
    if mode == "group":
        if groups is None:
            raise ParameterError("split_by='group' needs a 'group' or 'file' column in the table")
        groups = np.asarray(groups)
        n_groups = len(np.unique(groups))
        k, flip = (cv, False) if cv is not None else holdout_folds(float(test_size))
        if n_groups < k:
            raise ParameterError(_too_few_groups(n_groups, k, cv=cv, test_size=test_size))
        _check_class_sizes(y, k)
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
    _check_class_sizes(y, k)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = list(splitter.split(np.zeros(len(y)), y))
    if cv is None:
        folds = [_holdout(folds[0], flip)]
    what = f"{k}-fold stratified K-fold" if cv else f"stratified hold-out ({_frac(k, flip)})"
    if leaky:
        warning = (
            "split_by='window': windows of one recording are on both sides of the split; "
            "this run is marked leaky"
        )
        eval_name = "cv" if cv else "test"
        return SplitPlan("leaky", folds, f"{what} over windows (leaky)", eval_name, [warning])
    warning = (
        "table has no provenance (no group/file column): stratified folds over rows, so windows "
        "of one recording may sit in train and test"
    )
    return SplitPlan("stratified", folds, what, "cv" if cv else "test", [warning])


def _too_few_groups(n_groups: int, k: int, *, cv: int | None, test_size: float | None) -> str:
    """Why a grouped split cannot be made, with a remedy that is itself accepted."""
    if n_groups < 2:
        return (
            f"only {n_groups} group (recording/speaker): grouped folds need at least 2; add "
            "recordings, or split_by='window' (leaky)"
        )
    if cv is not None:
        return f"only {n_groups} groups for {k} folds; use cv={n_groups} or fewer"
    return (
        f"only {n_groups} groups, too few for a grouped hold-out of test_size={test_size:g} "
        f"(it needs {k} groups); use test_size={1 / n_groups:.2g} or larger"
    )


def _check_class_sizes(y: np.ndarray, k: int) -> None:
    """Stratified folds need more rows in some class than folds (scikit-learn raises a bare
    ValueError otherwise; a hold-out of ``test_size`` uses ``k = round(1 / test_size)`` folds)."""
    largest = int(np.unique(y, return_counts=True)[1].max()) if len(y) else 0
    if largest < k:
        raise ParameterError(
            f"{k} folds but no class has more than {largest} rows; use cv={largest} or fewer "
            "(or a larger test_size)"
        )


def merge_groups(keys: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Connected components of "same key" and "same group" (e.g. speakers and recordings).

    Returns one label per row, named after the first key of its component.
    """
    keys = np.asarray(keys).astype(str)
    if groups is None:
        return keys
    from dfaudio.datasets.pairs import linked_components

    return linked_components(keys, np.asarray(groups).astype(str))


def leave_one_attack_out(
    y: np.ndarray,
    attacks: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    k: int = 5,
    seed: int = 0,
) -> SplitPlan:
    """Leave-one-attack-out folds, grouped.

    The groups are cut once into ``k`` stratified group folds. For every spoofing attack ``a`` and
    every group fold ``i``: test = the rows of fold ``i`` that are bona fide or attack ``a``;
    train = the rows of the other folds whose attack is not ``a``. So no fold trains on the
    attack it tests, no group is on both sides (a real clip and its fakes stay together), every
    spoof of ``a`` is tested once and every bona fide row once per attack. Group folds without a
    spoof of ``a`` are skipped.

    Raises
    ------
    ParameterError
        Fewer than two attacks, or a fold whose training part lacks a class.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(y)
    a = np.asarray(attacks).astype(str)
    unknown = (y == 1) & np.isin(a, ["", "-", "nan", "None"])
    names = sorted(set(a[(y == 1) & ~unknown]))
    if len(names) < 2:
        raise ParameterError(
            f"split_by='attack' needs spoof rows of at least 2 attacks; found {len(names)}"
        )
    g = np.arange(len(y)).astype(str) if groups is None else np.asarray(groups).astype(str)
    n_groups = len(np.unique(g))
    k = min(k, n_groups)
    if k < 2:
        raise ParameterError(f"only {n_groups} group(s); split_by='attack' needs at least 2")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    group_folds = [te for _, te in splitter.split(np.zeros(len(y)), y, g)]
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    fold_names: list[str] = []
    for name in names:
        is_a = a == name
        for te_idx in group_folds:
            in_test = np.zeros(len(y), dtype=bool)
            in_test[te_idx] = True
            test = np.flatnonzero(in_test & ((y == 0) | is_a))
            train = np.flatnonzero(~in_test & ~is_a & ~unknown)
            if not (y[test] == 1).any() or not (y[test] == 0).any():
                continue
            if len(np.unique(y[train])) < 2:
                raise ParameterError(
                    f"holding out attack {name!r}: a training part has a single class; use "
                    "fewer folds (cv)"
                )
            folds.append((train, test))
            fold_names.append(name)
    missing = sorted(set(names) - set(fold_names))
    if missing:
        raise ParameterError(
            f"attack(s) {missing} could not be tested with bona fide rows beside them; use "
            "fewer folds (cv)"
        )
    warnings = []
    if unknown.any():
        warnings.append(
            f"{int(unknown.sum())} spoof row(s) without an attack id are left out of "
            "leave-one-attack-out folds"
        )
    return SplitPlan(
        "grouped",
        folds,
        f"leave-one-attack-out: {len(names)} attacks x {k}-fold over {n_groups} groups",
        "cv",
        warnings,
        protocol="attack",
        fold_names=fold_names,
    )


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


# --------------------------------------------------------------------------- deep runs: roles

#: The three roles of a deep run: fit on train, select the epoch on dev, report on test.
ROLES = ("train", "dev", "test")


@dataclass
class RolePlan:
    """Train / dev / test role of every file of a deep run.

    Attributes
    ----------
    roles : np.ndarray [shape=(n,)] of {"train", "dev", "test"}
    split_type : {"given", "grouped"}
    description : str
        One line for people, with the counts of each role.
    eval_name : str
        What the test files are called ("eval", "test", "dev").
    warnings : list of str
        Roles that share groups (speakers/recordings): see :func:`shared_group_warnings`.
    """

    roles: np.ndarray
    split_type: str
    description: str
    eval_name: str
    warnings: list[str] = field(default_factory=list)


def plan_roles(
    y: np.ndarray,
    *,
    groups: np.ndarray,
    splits: np.ndarray | None = None,
    test_size: float = 0.2,
    dev_size: float = 0.2,
    seed: int = 0,
) -> RolePlan:
    """Train / dev / test roles for a deep run (one file per row).

    The data's own split is used where it has one (``train``; ``dev``; ``eval`` or ``test``). A
    missing test part is a grouped hold-out of ``test_size``, a missing dev part a grouped
    hold-out of ``dev_size`` of the remaining training files, so one recording or speaker never
    straddles two roles unless the data's own split puts it there (then ``warnings`` says so).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Integer labels (bonafide 0, spoof 1).
    groups : np.ndarray [shape=(n,)]
        Recording/speaker group of each file.
    splits : np.ndarray [shape=(n,)], optional
        The data's own split names (any case).
    test_size, dev_size : float
        Hold-out fractions in (0, 1).
    seed : int

    Returns
    -------
    RolePlan

    Raises
    ------
    ParameterError
        Too few groups per class for a hold-out, or no test files.

    Examples
    --------
    >>> y = np.array([0, 1] * 10)
    >>> plan = plan_roles(y, groups=np.arange(20), test_size=0.2, dev_size=0.25)
    >>> [int((plan.roles == r).sum()) for r in ROLES]
    [12, 4, 4]
    """
    y = np.asarray(y)
    groups = np.asarray(groups).astype(str)
    n = len(y)
    for name, size in (("test_size", test_size), ("dev_size", dev_size)):
        if not 0.0 < size < 1.0:
            raise ParameterError(f"{name} must be in (0, 1), got {size}")
    roles = np.full(n, "", dtype=object)
    given = (
        np.full(n, "", dtype=object)
        if splits is None
        else np.char.lower(np.asarray(splits).astype(str)).astype(object)
    )
    parts: list[str] = []
    if (given == "train").any():
        roles[given == "train"] = "train"
        eval_name = "eval" if (given == "eval").any() else "test"
        has_test = (given == eval_name).any()
        has_dev = (given == "dev").any()
        if has_test:
            roles[given == eval_name] = "test"
            parts.append(f"given {eval_name}")
        if has_dev and has_test:
            roles[given == "dev"] = "dev"
            parts.append("given dev")
        elif has_dev:  # train + dev only: dev is the test set, dev for early stopping is carved
            roles[given == "dev"] = "test"
            eval_name = "dev"
            parts.append("given dev as test")
        split_type = "given"
    else:
        tr, te = grouped_holdout(y, groups, test_size, seed=seed, what="test")
        roles[tr] = "train"
        roles[te] = "test"
        parts.append(f"grouped test hold-out ({len(te)} files)")
        split_type, eval_name = "grouped", "test"
    if not (roles == "dev").any():
        tr_idx = np.flatnonzero(roles == "train")
        _, dev = grouped_holdout(y[tr_idx], groups[tr_idx], dev_size, seed=seed + 1, what="dev")
        roles[tr_idx[dev]] = "dev"
        parts.append(f"grouped dev hold-out ({len(dev)} files) from train")
    if not (roles == "test").any():
        raise ParameterError("no test files: the data needs an eval/test split or more files")
    counts = ", ".join(f"{r} {int((roles == r).sum())}" for r in ROLES)
    return RolePlan(
        roles=roles,
        split_type=split_type,
        description=f"{'; '.join(parts)} ({counts})",
        eval_name=eval_name,
        warnings=shared_group_warnings(groups, roles),
    )


def grouped_holdout(
    y: np.ndarray, groups: np.ndarray, size: float, *, seed: int, what: str = "test"
) -> tuple[np.ndarray, np.ndarray]:
    """One stratified group hold-out of about ``size`` (fewer folds when groups are scarce).

    Returns
    -------
    keep, held_out : np.ndarray of int
        Row indices.
    """
    classes = np.unique(y)
    per_class = min(len(np.unique(groups[y == c])) for c in classes) if len(classes) == 2 else 0
    k, flip = holdout_folds(size)
    k = min(k, per_class)
    if k < 2:
        raise ParameterError(
            f"too few recordings per class for a grouped {what} hold-out ({per_class}); "
            "add data or give a split (CSV 'split' column, ASVspoof protocols)"
        )
    try:
        test_size = (k - 1) / k if flip else 1.0 / k
        plan = plan_splits(y, groups=groups, test_size=test_size, split_by="group", seed=seed)
    except ValueError as exc:  # sklearn's own checks
        raise ParameterError(f"cannot make a grouped {what} hold-out: {exc}") from None
    return plan.folds[0]


def shared_group_warnings(groups: np.ndarray, roles: np.ndarray) -> list[str]:
    """A note for every pair of roles that share a group (speaker/recording).

    Grouped hold-outs never do; a split given by the data (a CSV ``split`` column, protocols)
    can, and then its dev/test figures are not speaker- or recording-independent.
    """
    out = []
    for a, b in (("train", "test"), ("train", "dev"), ("dev", "test")):
        shared = shared_between(groups, np.flatnonzero(roles == a), np.flatnonzero(roles == b))
        if shared:
            out.append(
                f"{len(shared)} group(s) (speakers/recordings) are in both {a} and {b} "
                f"(e.g. {shared[0]}): the split is not speaker-independent"
            )
    return out
