"""Is system A better than system B on the same trials?

- :func:`paired_bootstrap`: both systems are scored on the *same* resamples of the trials (whole
  groups, e.g. speakers or recordings, are resampled together), so the interval is that of the
  **difference** ``metric(A) - metric(B)`` and accounts for the two systems' errors being
  correlated. A difference whose interval excludes 0 is a difference this test set supports.
- :func:`mcnemar`: McNemar's exact test on the hard decisions of A and B at their thresholds (only
  the trials where exactly one system is wrong count).

Metrics: EER (the organisers' algorithm on each resample, exact) and minDCF (ASVspoof 5 cost
model by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.metrics._common import (
    as_scores,
    label_ids,
    rates_of_sorted,
    require_both,
    resampling_units,
)
from dfaudio.metrics.dcf import C_FA, C_MISS, P_SPOOF, _weights

__all__ = ["PAIRED_METRICS", "mcnemar", "paired_bootstrap"]

#: Metrics :func:`paired_bootstrap` can compare.
PAIRED_METRICS = ("eer", "min_dcf")


def _eer_and_min_dcf(
    is_bona: np.ndarray, w_miss: float, w_fa: float, norm: float
) -> tuple[float, float]:
    """EER and minDCF of trials in the organisers' sorted order (bona fide first at ties)."""
    n_b = int(is_bona.sum())
    if n_b == 0 or n_b == is_bona.size:
        return np.nan, np.nan
    frr, far = rates_of_sorted(is_bona)
    i = int(np.argmin(np.abs(frr - far)))
    eer = (frr[i] + far[i]) / 2
    dcf = float(np.min(w_miss * frr + w_fa * far) / norm)
    return float(eer), dcf


def _presort(ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    # score ascending, bona fide (id 0) before spoof (id 1) at ties: the stable order of det_curve
    return np.lexsort((ids, scores))


def paired_bootstrap(
    labels: Any,
    scores_a: Any,
    scores_b: Any,
    *,
    groups: Any = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    bonafide_value: Any = None,
    p_spoof: float = P_SPOOF,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
) -> dict[str, dict[str, float]]:
    """Bootstrap intervals of the EER and minDCF differences of two systems on the same trials.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
        ``"bonafide"`` / ``"spoof"`` (numbers need ``bonafide_value``).
    scores_a, scores_b : array-like [shape=(n,)]
        The two systems' scores of the same trials, in the same order (higher = more bona fide).
    groups : array-like [shape=(n,)], optional
        Cluster ids (speaker, recording): whole groups are resampled. When every group holds one
        class, resampling is stratified by class; otherwise resamples that lose a class are dropped.
    n_boot, alpha, seed : int, float, int
        Resamples, ``1 - alpha`` coverage, seed of ``numpy.random.default_rng``.
    p_spoof, c_miss, c_fa : float
        minDCF cost model.

    Returns
    -------
    dict
        ``{"eer": {...}, "min_dcf": {...}}``, each with ``a``, ``b``, ``diff`` (a - b, on the full
        set), ``low``, ``high`` (percentile interval of the resampled differences), ``p_value``
        (two-sided bootstrap p: twice the smaller share of resampled differences on either side
        of 0, capped at 1), ``n_boot`` (usable resamples).
    """
    if n_boot < 1:
        raise ParameterError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1), got {alpha}")
    ids = label_ids(labels, bonafide_value=bonafide_value)
    a = as_scores(scores_a, name="scores of A")
    b = as_scores(scores_b, name="scores of B")
    if not ids.size == a.size == b.size:
        raise DataError(
            f"labels and the two score sets differ in length ({ids.size}, {a.size}, {b.size}); "
            "a paired comparison needs the same trials"
        )
    require_both(int((ids == 0).sum()), int((ids == 1).sum()), "a paired comparison")
    w_miss, w_fa, norm = _weights(p_spoof, c_miss, c_fa)
    order_a, order_b = _presort(ids, a), _presort(ids, b)
    bona_a, bona_b = ids[order_a] == 0, ids[order_b] == 0
    full_a = _eer_and_min_dcf(bona_a, w_miss, w_fa, norm)
    full_b = _eer_and_min_dcf(bona_b, w_miss, w_fa, norm)

    unit, n_units, strata = resampling_units(ids, groups)
    rng = np.random.default_rng(seed)
    diffs = np.full((n_boot, 2), np.nan)
    for r in range(n_boot):
        unit_counts = np.zeros(n_units, dtype=np.int64)
        for stratum in strata:
            unit_counts += np.bincount(
                stratum[rng.integers(0, stratum.size, size=stratum.size)], minlength=n_units
            )
        counts = unit_counts[unit]
        ra = _eer_and_min_dcf(np.repeat(bona_a, counts[order_a]), w_miss, w_fa, norm)
        rb = _eer_and_min_dcf(np.repeat(bona_b, counts[order_b]), w_miss, w_fa, norm)
        diffs[r] = (ra[0] - rb[0], ra[1] - rb[1])
    ok = np.isfinite(diffs).all(axis=1)
    diffs = diffs[ok]
    if diffs.shape[0] < max(1, n_boot // 2):
        raise DataError(
            f"only {diffs.shape[0]} of {n_boot} resamples hold both classes; too few groups"
        )
    out: dict[str, dict[str, float]] = {}
    for k, name in enumerate(PAIRED_METRICS):
        d = diffs[:, k]
        low, high = np.quantile(d, [alpha / 2, 1 - alpha / 2])
        p = min(1.0, 2 * min(float(np.mean(d <= 0)), float(np.mean(d >= 0))))
        out[name] = {
            "a": full_a[k],
            "b": full_b[k],
            "diff": full_a[k] - full_b[k],
            "low": float(low),
            "high": float(high),
            "p_value": p,
            "alpha": alpha,
            "n_boot": int(d.size),
        }
    return out


def mcnemar(
    labels: Any,
    scores_a: Any,
    scores_b: Any,
    *,
    threshold_a: float,
    threshold_b: float,
    bonafide_value: Any = None,
) -> dict[str, float]:
    """McNemar's exact test of the hard decisions of two systems on the same trials.

    A trial is called bona fide when its score is ``>= threshold``.

    Returns
    -------
    dict
        ``only_a_wrong``, ``only_b_wrong`` (the discordant counts), ``both_wrong``,
        ``errors_a``, ``errors_b``, ``p_value`` (two-sided exact binomial test of the discordant
        counts; 1.0 when there are none), ``threshold_a``, ``threshold_b``.
    """
    from scipy.stats import binomtest

    ids = label_ids(labels, bonafide_value=bonafide_value)
    a = as_scores(scores_a, name="scores of A")
    b = as_scores(scores_b, name="scores of B")
    if not ids.size == a.size == b.size:
        raise DataError("McNemar's test needs the same trials for both systems")
    truth_bona = ids == 0
    wrong_a = (a >= threshold_a) != truth_bona
    wrong_b = (b >= threshold_b) != truth_bona
    only_a = int(np.count_nonzero(wrong_a & ~wrong_b))
    only_b = int(np.count_nonzero(~wrong_a & wrong_b))
    n_disc = only_a + only_b
    p = 1.0 if n_disc == 0 else float(binomtest(only_a, n_disc, 0.5).pvalue)
    return {
        "only_a_wrong": only_a,
        "only_b_wrong": only_b,
        "both_wrong": int(np.count_nonzero(wrong_a & wrong_b)),
        "errors_a": int(wrong_a.sum()),
        "errors_b": int(wrong_b.sum()),
        "p_value": p,
        "threshold_a": float(threshold_a),
        "threshold_b": float(threshold_b),
    }
