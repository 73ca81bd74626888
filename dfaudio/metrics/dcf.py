"""Detection cost of a countermeasure alone: minDCF and actDCF (ASVspoof 5 track 1).

The normalised detection cost at a threshold ``t`` on bona fide scores is::

    DCF(t) = (Cmiss (1 - Pspoof) Pmiss(t) + Cfa Pspoof Pfa(t)) / min(Cmiss (1 - Pspoof), Cfa Pspoof)

where ``Pmiss`` is the fraction of bona fide trials rejected (score below ``t``) and ``Pfa`` the
fraction of spoof trials accepted. The denominator is the cost of the better trivial system
(accept all or reject all), so 1.0 means "no better than not deciding".

- **minDCF** is the minimum over every point of the organisers' DET curve (one stable sort of the
  ``[bona fide, spoof]`` scores; a tie between classes puts the bona fide trial first). It needs no
  calibration: any monotone transform of the scores gives the same value.
- **actDCF** reads the scores as log-likelihood ratios (bona fide over spoof, natural log) and
  decides at the Bayes threshold ``log(Cfa Pspoof / (Cmiss (1 - Pspoof)))`` (``-0.6419`` with the
  ASVspoof 5 defaults): accept when ``score >= threshold``. It is only as good as the calibration.

``actDCF - minDCF`` is the calibration loss at this operating point.

Defaults are those of ASVspoof 5: ``Pspoof = 0.05``, ``Cmiss = 1``, ``Cfa = 10``. On the official
ASVspoof 2019 LA B02 scores, minDCF 0.197372 and actDCF 0.662158, as the organisers' package gives
(``experiments/asvspoof5_reference.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dfaudio.metrics._common import (
    as_scores,
    positive_cost,
    positive_prior,
    require_both,
    sorted_rates,
)

__all__ = ["C_FA", "C_MISS", "P_SPOOF", "act_dcf", "bayes_threshold", "dcf_curve", "min_dcf"]

#: ASVspoof 5 prior of a spoofing attack.
P_SPOOF = 0.05
#: ASVspoof 5 cost of rejecting a bona fide trial.
C_MISS = 1.0
#: ASVspoof 5 cost of accepting a spoof trial.
C_FA = 10.0


def _weights(p_spoof: float, c_miss: float, c_fa: float) -> tuple[float, float, float]:
    p = positive_prior(p_spoof, "p_spoof")
    w_miss = positive_cost(c_miss, "c_miss") * (1 - p)
    w_fa = positive_cost(c_fa, "c_fa") * p
    return w_miss, w_fa, min(w_miss, w_fa)


def bayes_threshold(
    *, p_spoof: float = P_SPOOF, c_miss: float = C_MISS, c_fa: float = C_FA
) -> float:
    """Bayes decision threshold on a bona fide log-likelihood ratio.

    Accepting a trial as bona fide when ``llr >= log(c_fa p_spoof / (c_miss (1 - p_spoof)))``
    minimises the expected cost when the LLR is well calibrated.

    Parameters
    ----------
    p_spoof : float
        Prior probability of a spoof trial, in (0, 1).
    c_miss, c_fa : float
        Costs of rejecting a bona fide trial and of accepting a spoof trial (> 0).

    Returns
    -------
    threshold : float
        ``-0.641854`` with the ASVspoof 5 defaults.
    """
    w_miss, w_fa, _ = _weights(p_spoof, c_miss, c_fa)
    return math.log(w_fa / w_miss)


def dcf_curve(
    bonafide_scores: Any,
    spoof_scores: Any,
    *,
    p_spoof: float = P_SPOOF,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised DCF at every point of the DET curve.

    Parameters
    ----------
    bonafide_scores, spoof_scores : array-like [shape=(n_bonafide,), (n_spoof,)]
        Higher = more bona fide.
    p_spoof, c_miss, c_fa : float
        Cost model (ASVspoof 5 defaults).

    Returns
    -------
    dcf : np.ndarray [shape=(n_bonafide + n_spoof + 1,)]
    thresholds : np.ndarray [shape=(n_bonafide + n_spoof + 1,)]
        Point 0 accepts everything (lowest score - 0.001); point k rejects the k lowest scores.
    """
    curve, _, _, thresholds = _points(bonafide_scores, spoof_scores, p_spoof, c_miss, c_fa)
    return curve, thresholds


def _points(
    bonafide_scores: Any, spoof_scores: Any, p_spoof: float, c_miss: float, c_fa: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    bona = as_scores(bonafide_scores, name="bona fide scores")
    spoof = as_scores(spoof_scores, name="spoof scores")
    require_both(bona.size, spoof.size, "a DCF")
    w_miss, w_fa, norm = _weights(p_spoof, c_miss, c_fa)
    p_miss, p_fa, thresholds = sorted_rates(bona, spoof)
    return (w_miss * p_miss + w_fa * p_fa) / norm, p_miss, p_fa, thresholds


def min_dcf(
    bonafide_scores: Any,
    spoof_scores: Any,
    *,
    p_spoof: float = P_SPOOF,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
) -> dict[str, float]:
    """Minimum normalised detection cost over all thresholds.

    Parameters
    ----------
    bonafide_scores, spoof_scores : array-like
        Higher = more bona fide; any scale (minDCF is invariant to monotone transforms).
    p_spoof, c_miss, c_fa : float
        Cost model (ASVspoof 5 defaults: 0.05, 1, 10).

    Returns
    -------
    dict
        ``value`` (minDCF), ``threshold`` (first DET point reaching it), ``p_miss`` and ``p_fa``
        there.

    Examples
    --------
    >>> min_dcf([2.0, 3.0], [0.0, 1.0])["value"]
    0.0
    """
    curve, p_miss, p_fa, thresholds = _points(bonafide_scores, spoof_scores, p_spoof, c_miss, c_fa)
    i = int(np.argmin(curve))
    return {
        "value": float(curve[i]),
        "threshold": float(thresholds[i]),
        "p_miss": float(p_miss[i]),
        "p_fa": float(p_fa[i]),
    }


def act_dcf(
    bonafide_llr: Any,
    spoof_llr: Any,
    *,
    p_spoof: float = P_SPOOF,
    c_miss: float = C_MISS,
    c_fa: float = C_FA,
    threshold: float | None = None,
) -> dict[str, float]:
    """Actual normalised detection cost of scores read as bona fide LLRs.

    Parameters
    ----------
    bonafide_llr, spoof_llr : array-like
        Natural-log likelihood ratios ``log p(x | bona fide) / p(x | spoof)``.
    p_spoof, c_miss, c_fa : float
        Cost model (ASVspoof 5 defaults).
    threshold : float, optional
        Decision threshold; default :func:`bayes_threshold` of the cost model (what the organisers
        use). A trial is accepted as bona fide when ``llr >= threshold``.

    Returns
    -------
    dict
        ``value`` (actDCF), ``threshold``, ``p_miss``, ``p_fa``.
    """
    bona = as_scores(bonafide_llr, name="bona fide LLRs")
    spoof = as_scores(spoof_llr, name="spoof LLRs")
    require_both(bona.size, spoof.size, "actDCF")
    w_miss, w_fa, norm = _weights(p_spoof, c_miss, c_fa)
    thr = math.log(w_fa / w_miss) if threshold is None else float(threshold)
    p_miss = np.count_nonzero(bona < thr) / bona.size
    p_fa = np.count_nonzero(spoof >= thr) / spoof.size
    return {
        "value": float((w_miss * p_miss + w_fa * p_fa) / norm),
        "threshold": thr,
        "p_miss": float(p_miss),
        "p_fa": float(p_fa),
    }
