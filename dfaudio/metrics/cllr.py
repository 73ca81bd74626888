"""Log-likelihood-ratio cost: Cllr and minCllr (bits).

``Cllr`` judges scores *as LLRs* (bona fide over spoof, natural log) over all operating points at
once::

    Cllr = ( mean_bona log2(1 + e^-s) + mean_spoof log2(1 + e^s) ) / 2

0 is perfect, 1 bit is a system that always says ``llr = 0`` (no information), above 1 the
scores mislead. ``minCllr`` is the Cllr after the best monotone recalibration of the scores (pool
adjacent violators, PAV, on the labels ordered by score); it measures discrimination only, and
``Cllr - minCllr`` is the calibration loss over all operating points.

On the official ASVspoof 2019 LA B02 scores, Cllr = 0.644360 bits as the organisers' package gives
(``experiments/asvspoof5_reference.py``). The package has no minCllr; dfaudio follows the BOSARIS
definition (PAV posteriors, minus the empirical prior log-odds), with tied scores pooled into one
PAV block, since no monotone map can separate them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dfaudio.metrics._common import as_scores, require_both

__all__ = ["cllr", "min_cllr", "pav_llr"]

_LN2 = math.log(2.0)


def cllr(bonafide_llr: Any, spoof_llr: Any) -> float:
    """Cllr in bits of scores read as natural-log LLRs (bona fide over spoof).

    Parameters
    ----------
    bonafide_llr, spoof_llr : array-like [shape=(n_bonafide,), (n_spoof,)]

    Returns
    -------
    cllr : float
        Bits; 1.0 for an uninformative ``llr = 0`` system.

    Notes
    -----
    ``log(1 + e^x)`` is evaluated as ``logaddexp(0, x)``, so very confident wrong scores give a
    large finite cost instead of overflowing.

    Examples
    --------
    >>> cllr([0.0], [0.0])
    1.0
    """
    bona = as_scores(bonafide_llr, name="bona fide LLRs")
    spoof = as_scores(spoof_llr, name="spoof LLRs")
    require_both(bona.size, spoof.size, "Cllr")
    c_bona = np.logaddexp(0.0, -bona).mean()
    c_spoof = np.logaddexp(0.0, spoof).mean()
    return float((c_bona + c_spoof) / (2.0 * _LN2))


def pav_llr(
    bonafide_scores: Any, spoof_scores: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Optimal monotone LLRs of a score set (PAV), per trial and per distinct score.

    Parameters
    ----------
    bonafide_scores, spoof_scores : array-like
        Higher = more bona fide.

    Returns
    -------
    bonafide_llr, spoof_llr : np.ndarray
        The LLR PAV gives each trial (``-inf`` / ``+inf`` where a block holds one class only).
    distinct_scores : np.ndarray [shape=(n_distinct,)]
        Sorted distinct scores.
    distinct_llr : np.ndarray [shape=(n_distinct,)]
        Their LLRs (non-decreasing).
    """
    from sklearn.isotonic import isotonic_regression

    bona = as_scores(bonafide_scores, name="bona fide scores")
    spoof = as_scores(spoof_scores, name="spoof scores")
    require_both(bona.size, spoof.size, "PAV")
    scores = np.concatenate((bona, spoof))
    distinct, inverse = np.unique(scores, return_inverse=True)
    count = np.bincount(inverse).astype(np.float64)
    n_bona_at = np.bincount(inverse[: bona.size], minlength=distinct.size).astype(np.float64)
    posterior = isotonic_regression(n_bona_at / count, sample_weight=count, increasing=True)
    posterior = np.clip(posterior, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        log_odds = np.log(posterior) - np.log1p(-posterior)
    llr = log_odds - math.log(bona.size / spoof.size)
    per_trial = llr[inverse]
    return per_trial[: bona.size], per_trial[bona.size :], distinct, llr


def min_cllr(bonafide_scores: Any, spoof_scores: Any) -> float:
    """Cllr (bits) after the optimal monotone recalibration (PAV) of the scores.

    Parameters
    ----------
    bonafide_scores, spoof_scores : array-like
        Any scale, higher = more bona fide.

    Returns
    -------
    min_cllr : float
        0 for perfectly separated classes, 1 when the scores carry no information.
    """
    bona_llr, spoof_llr, _, _ = pav_llr(bonafide_scores, spoof_scores)
    # +-inf only ever lands on the right side: log(1 + e^-inf) = 0
    c_bona = np.logaddexp(0.0, -bona_llr).mean()
    c_spoof = np.logaddexp(0.0, spoof_llr).mean()
    return float((c_bona + c_spoof) / (2.0 * _LN2))
