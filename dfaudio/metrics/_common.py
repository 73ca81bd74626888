"""Input checks and the one sorted pass shared by the metric modules (private)."""

from __future__ import annotations

from typing import Any

import numpy as np

from dfaudio.exceptions import DataError, ParameterError, shown
from dfaudio.labels import CLASS_NAMES, encode_labels

#: Offset of the first threshold below the lowest score (as in the organisers' code).
FIRST_THRESHOLD_OFFSET = 0.001


def as_scores(scores: Any, *, name: str = "scores") -> np.ndarray:
    """1-D float64 array of finite scores, or a :class:`DataError` naming the first bad one."""
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 2 and min(arr.shape) == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise DataError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name} contain {int(bad.sum())} non-finite value(s) (first at index {i}: {arr[i]})"
        )
    return arr


def positive_prior(value: float, name: str) -> float:
    """A prior strictly inside (0, 1)."""
    v = float(value)
    if not 0.0 < v < 1.0:
        raise ParameterError(f"{name} must be in (0, 1), got {shown(value)}")
    return v


def positive_cost(value: float, name: str) -> float:
    """A cost strictly above 0."""
    v = float(value)
    if not v > 0.0 or not np.isfinite(v):
        raise ParameterError(f"{name} must be a finite number > 0, got {shown(value)}")
    return v


def require_both(n_bonafide: int, n_spoof: int, what: str) -> None:
    """Both classes present, or a :class:`DataError`."""
    if n_bonafide == 0 or n_spoof == 0:
        raise DataError(
            f"{what} needs both classes, got {n_bonafide} bona fide and {n_spoof} spoof scores"
        )


def label_ids(labels: Any, *, bonafide_value: Any = None, source: str | None = None) -> np.ndarray:
    """Labels -> int64 ids (bonafide 0, spoof 1): :func:`dfaudio.labels.encode_labels`.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
        Strings (``"bonafide"`` / ``"spoof"``; the spellings of
        :data:`dfaudio.labels.DEFAULT_LABEL_MAP` are accepted), or numbers with ``bonafide_value``.
    bonafide_value : optional
        Which number means bona fide. Numbers are never guessed: 0 = bona fide is dfaudio's id
        convention (``bonafide_value=0``), 1 = bona fide is AASIST's (``bonafide_value=1``).
        Booleans are refused.
    source : str, optional
        File name for error messages.

    Returns
    -------
    ids : np.ndarray [shape=(n,), dtype=int64]
    """
    return encode_labels(labels, bonafide_value=bonafide_value, source=source)


def split_labelled(
    labels: Any, scores: Any, *, bonafide_value: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """-> (ids, scores, bona fide scores, spoof scores) with matching lengths checked."""
    ids = label_ids(labels, bonafide_value=bonafide_value)
    s = as_scores(scores)
    if ids.shape[0] != s.shape[0]:
        raise DataError(f"labels and scores differ in length ({ids.shape[0]} vs {s.shape[0]})")
    return ids, s, s[ids == 0], s[ids == 1]


def split_by_label(
    labels: Any, scores: Any, *, bonafide_value: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """-> (bona fide scores, spoof scores) with lengths checked."""
    _, _, bona, spoof = split_labelled(labels, scores, bonafide_value=bonafide_value)
    return bona, spoof


def resampling_units(ids: np.ndarray, groups: Any) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """Units of a (group) bootstrap and the strata they are drawn from.

    Parameters
    ----------
    ids : np.ndarray [shape=(n,)]
        Label ids (bonafide 0, spoof 1).
    groups : array-like [shape=(n,)] or None
        Group of each trial; ``None``: every trial is its own unit.

    Returns
    -------
    unit : np.ndarray [shape=(n,)]
        Unit index of each trial.
    n_units : int
    strata : list of np.ndarray
        Unit indices drawn from separately: bona fide units and spoof units when every unit holds
        one class (so that each resample keeps both classes), else all units at once.
    """
    n = ids.size
    if groups is None:
        unit = np.arange(n)
    else:
        g = np.asarray(groups).reshape(-1)
        if g.shape[0] != n:
            raise DataError(f"groups and scores differ in length ({g.shape[0]} vs {n})")
        import pandas as pd

        unit = pd.factorize(pd.Series(g, dtype=object))[0]
    n_units = int(unit.max()) + 1
    unit_n_bona = np.bincount(unit, weights=(ids == 0), minlength=n_units)
    unit_size = np.bincount(unit, minlength=n_units)
    single_class = bool(np.all((unit_n_bona == 0) | (unit_n_bona == unit_size)))
    strata = (
        [np.flatnonzero(unit_n_bona > 0), np.flatnonzero(unit_n_bona == 0)]
        if single_class
        else [np.arange(n_units)]
    )
    return unit, n_units, strata


def rates_of_sorted(is_bona_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Miss and false-alarm rates after each trial of trials already in DET order.

    ``is_bona_sorted`` is the class of each trial (True = bona fide) in the stable sort order of
    :func:`sorted_rates`. Returns ``(p_miss, p_fa)``, each of length ``n + 1``.
    """
    n = is_bona_sorted.size
    n_b = int(is_bona_sorted.sum())
    n_s = n - n_b
    rejected_bona = np.concatenate(([0], np.cumsum(is_bona_sorted)))
    rejected_spoof = np.arange(n + 1) - rejected_bona
    return rejected_bona / n_b, (n_s - rejected_spoof) / n_s


def sorted_rates(
    bonafide_scores: np.ndarray, spoof_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Miss and false-alarm rates after each trial of one stable sort (bona fide first at ties).

    Returns ``(p_miss, p_fa, thresholds)``, each of length ``n + 1``: point 0 accepts everything;
    point k rejects the k lowest-scoring trials. This is the organisers' DET curve.
    """
    all_scores = np.concatenate((bonafide_scores, spoof_scores))
    order = np.argsort(all_scores, kind="stable")
    p_miss, p_fa = rates_of_sorted(order < bonafide_scores.size)
    sorted_scores = all_scores[order]
    thresholds = np.concatenate(([sorted_scores[0] - FIRST_THRESHOLD_OFFSET], sorted_scores))
    return p_miss, p_fa, thresholds


__all__ = [
    "CLASS_NAMES",
    "as_scores",
    "label_ids",
    "positive_cost",
    "positive_prior",
    "rates_of_sorted",
    "require_both",
    "resampling_units",
    "sorted_rates",
    "split_by_label",
    "split_labelled",
]
