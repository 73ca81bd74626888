"""Input checks and the one sorted pass shared by the metric modules (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.labels import CLASS_NAMES, LABEL_IDS, canonical_label

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
        raise ParameterError(f"{name} must be in (0, 1), got {value!r}")
    return v


def positive_cost(value: float, name: str) -> float:
    """A cost strictly above 0."""
    v = float(value)
    if not v > 0.0 or not np.isfinite(v):
        raise ParameterError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def require_both(n_bonafide: int, n_spoof: int, what: str) -> None:
    """Both classes present, or a :class:`DataError`."""
    if n_bonafide == 0 or n_spoof == 0:
        raise DataError(
            f"{what} needs both classes, got {n_bonafide} bona fide and {n_spoof} spoof scores"
        )


def label_ids(labels: Any, *, bonafide_value: Any = None, source: str | None = None) -> np.ndarray:
    """Labels -> int64 ids (bonafide 0, spoof 1), refusing to guess what a number means.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
        Strings (``"bonafide"`` / ``"spoof"`` and the spellings of
        :data:`dfaudio.labels.DEFAULT_LABEL_MAP`), or numbers when ``bonafide_value`` says which
        number is bona fide.
    bonafide_value : int, float or str, optional
        The value that marks a bona fide trial; every other value is spoof. Required for numeric
        labels: 0 = bona fide is dfaudio's id convention, 1 = bona fide is AASIST's protocol
        convention, and guessing inverts every metric of the other one.
    source : str, optional
        File name for error messages.

    Returns
    -------
    ids : np.ndarray [shape=(n,), dtype=int64]
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.dtype.kind == "b":
        raise DataError(
            "boolean labels are ambiguous; pass 'bonafide'/'spoof' strings or numbers with "
            "bonafide_value",
            source,
        )
    if bonafide_value is not None:
        if arr.dtype.kind in "iuf":
            try:
                target = float(bonafide_value)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"bonafide_value {bonafide_value!r} is not a number but the labels are"
                ) from None
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise DataError("labels contain NaN", source)
            values = np.unique(arr)
            if values.size > 2:
                raise DataError(
                    f"numeric labels take {values.size} values {values[:5].tolist()}; "
                    "with bonafide_value they must take at most two",
                    source,
                )
            return np.where(arr == target, 0, 1).astype(np.int64)
        as_text = pd.Series(arr, dtype=object).astype(str).str.strip()
        values = as_text.unique()
        if values.size > 2:
            raise DataError(
                f"labels take {values.size} values {sorted(values)[:5]}; "
                "with bonafide_value they must take at most two",
                source,
            )
        return np.where(as_text.to_numpy() == str(bonafide_value).strip(), 0, 1).astype(np.int64)
    if arr.dtype.kind in "iuf":
        raise DataError(
            "numeric labels are ambiguous (0 = bona fide in dfaudio ids, 1 = bona fide in "
            "AASIST's protocol); pass bonafide_value=0 or bonafide_value=1, or use "
            "'bonafide'/'spoof' strings",
            source,
        )
    codes, uniques = pd.factorize(pd.Series(arr, dtype=object), use_na_sentinel=False)
    table = np.empty(len(uniques), dtype=np.int64)
    for j, value in enumerate(uniques):
        if isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, bool):
            raise DataError(
                f"numeric label {value!r} among strings is ambiguous; pass bonafide_value",
                source,
            )
        table[j] = LABEL_IDS[canonical_label(value, source=source)]
    return table[codes]


def split_by_label(
    labels: Any, scores: Any, *, bonafide_value: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """-> (bona fide scores, spoof scores) with lengths checked."""
    ids = label_ids(labels, bonafide_value=bonafide_value)
    s = as_scores(scores)
    if ids.shape[0] != s.shape[0]:
        raise DataError(f"labels and scores differ in length ({ids.shape[0]} vs {s.shape[0]})")
    return s[ids == 0], s[ids == 1]


def sorted_rates(
    bonafide_scores: np.ndarray, spoof_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Miss and false-alarm rates after each trial of one stable sort (bona fide first at ties).

    Returns ``(p_miss, p_fa, thresholds)``, each of length ``n + 1``: point 0 accepts everything;
    point k rejects the k lowest-scoring trials. This is the organisers' DET curve.
    """
    n_b, n_s = bonafide_scores.size, spoof_scores.size
    all_scores = np.concatenate((bonafide_scores, spoof_scores))
    order = np.argsort(all_scores, kind="stable")
    rejected_bona = np.concatenate(([0], np.cumsum(order < n_b)))
    rejected_spoof = np.arange(n_b + n_s + 1) - rejected_bona
    p_miss = rejected_bona / n_b
    p_fa = (n_s - rejected_spoof) / n_s
    sorted_scores = all_scores[order]
    thresholds = np.concatenate(([sorted_scores[0] - FIRST_THRESHOLD_OFFSET], sorted_scores))
    return p_miss, p_fa, thresholds


__all__ = [
    "CLASS_NAMES",
    "as_scores",
    "label_ids",
    "positive_cost",
    "positive_prior",
    "require_both",
    "sorted_rates",
    "split_by_label",
]
