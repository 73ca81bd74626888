"""The one evaluation module: EER, DET, t-DCF, summaries, bootstrap intervals and score files.

Every number dfaudio reports about a detector comes from here; nothing else in the project computes
a metric.

Conventions
-----------
- **Scores** are bona fide scores: *higher = more bona fide* (ASVspoof convention, see
  :data:`dfaudio.labels.SCORE_DIRECTION`). Bona fide is the *target* class of EER and t-DCF.
- **Labels** are ``"bonafide"`` / ``"spoof"`` or their ids (bonafide 0, spoof 1,
  :data:`dfaudio.labels.LABEL_IDS`). For precision / recall / F1, **spoof is the positive class**.
- Every rate is a fraction in [0, 1], never a percentage (only the CLI prints percent).
- EER is computed from continuous scores only, with the organisers' algorithm: a stable sort of the
  concatenated ``[bona fide, spoof]`` scores, cumulative counts give the miss rate (FRR, bona fide
  rejected) and false-alarm rate (FAR, spoof accepted) after every score, and the EER is the mean of
  FRR and FAR at the first point where ``|FRR - FAR|`` is smallest. No interpolation.

Ties
----
The official algorithm resolves a tie between a bona fide and a spoof score by putting the bona
fide score first (stable sort of ``[bona fide, spoof]``). That is pessimistic: the curve passes
through the corner of every tied block. In particular a constant score gives **EER 1.0**, not
0.5. dfaudio keeps this behaviour so that its numbers match the official tools on every input;
:func:`summarize` reports ``ties_between_classes`` so that heavily tied scores (tree ensembles,
saturated probabilities) can be spotted.

t-DCF
-----
Both formulations of the tandem detection cost function are implemented: the ASVspoof 2019
challenge one (``"legacy"``, Kinnunen et al., Odyssey 2018) and the revised one (``"revised"``,
Kinnunen et al., IEEE/ACM TASLP 2020, used from ASVspoof 2021). The ASV system is fixed at the
threshold of its own EER on the organisers' ASV scores. The implementation follows the definitions
of the organisers' ``tDCF_python_v2`` package (read, not copied).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.io.scores import as_asv_table as _as_asv_table
from dfaudio.io.scores import asv_arrays as _asv_arrays
from dfaudio.io.scores import read_asv_scores, read_scores
from dfaudio.labels import BONAFIDE, CLASS_NAMES, SCORE_DIRECTION, SPOOF
from dfaudio.metrics._common import as_scores as _as_scores
from dfaudio.metrics._common import label_ids, resampling_units, sorted_rates
from dfaudio.metrics._common import split_labelled as _split

__all__ = [
    "TDCF_COSTS",
    "asv_error_rates",
    "bootstrap_ci",
    "compute_eer",
    "compute_tdcf",
    "det_curve",
    "eer",
    "evaluate_scores",
    "label_ids",
    "min_tdcf",
    "per_attack",
    "read_asv_scores",
    "read_scores",
    "roc_auc",
    "summarize",
]

Formulation = Literal["revised", "legacy"]
ScoreKind = Literal["logodds", "raw"]

_PSPOOF = 0.05
#: t-DCF cost models of the ASVspoof 2019 evaluation plan, per formulation (read-only).
#: ``Ptar`` and ``Pnon`` are written as the organisers write them, ``(1 - Pspoof) * 0.99`` and
#: ``(1 - Pspoof) * 0.01``, so that the floating-point values are the same.
TDCF_COSTS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "legacy": MappingProxyType(
            {
                "Pspoof": _PSPOOF,
                "Ptar": (1 - _PSPOOF) * 0.99,
                "Pnon": (1 - _PSPOOF) * 0.01,
                "Cmiss_asv": 1.0,
                "Cfa_asv": 10.0,
                "Cmiss_cm": 1.0,
                "Cfa_cm": 10.0,
            }
        ),
        "revised": MappingProxyType(
            {
                "Pspoof": _PSPOOF,
                "Ptar": (1 - _PSPOOF) * 0.99,
                "Pnon": (1 - _PSPOOF) * 0.01,
                "Cmiss": 1.0,
                "Cfa": 10.0,
                "Cfa_spoof": 10.0,
            }
        ),
    }
)

# ----------------------------------------------------------------------------------------------
# input checking
# ----------------------------------------------------------------------------------------------


def _require_both(n_bonafide: int, n_spoof: int, what: str = "EER") -> None:
    if n_bonafide == 0 or n_spoof == 0:
        raise DataError(
            f"{what} needs both classes, got {n_bonafide} bona fide and {n_spoof} spoof scores "
            "(a single-class set has no EER, ROC AUC or t-DCF)"
        )


# ----------------------------------------------------------------------------------------------
# DET curve and EER (official algorithm)
# ----------------------------------------------------------------------------------------------


def det_curve(bonafide_scores: Any, spoof_scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Miss and false-alarm rates after every score, as in the ASVspoof tools.

    Parameters
    ----------
    bonafide_scores : array-like [shape=(n_bonafide,)]
        Scores of bona fide (target) trials; higher = more bona fide.
    spoof_scores : array-like [shape=(n_spoof,)]
        Scores of spoof (non-target) trials.

    Returns
    -------
    frr : np.ndarray [shape=(n_bonafide + n_spoof + 1,)]
        Miss rate (bona fide rejected), non-decreasing from 0 to 1.
    far : np.ndarray [shape=(n_bonafide + n_spoof + 1,)]
        False-alarm rate (spoof accepted), non-increasing from 1 to 0.
    thresholds : np.ndarray [shape=(n_bonafide + n_spoof + 1,)]
        ``thresholds[0]`` is the lowest score minus 0.001 (everything accepted); ``thresholds[k]``
        is the k-th smallest score, the point after the first k sorted trials are rejected.

    Notes
    -----
    The scores are concatenated ``[bona fide, spoof]`` and sorted with a *stable* sort, so tied bona
    fide scores come before tied spoof scores (see the module notes on ties).
    """
    bona = _as_scores(bonafide_scores, name="bona fide scores")
    spoof = _as_scores(spoof_scores, name="spoof scores")
    _require_both(bona.size, spoof.size, "a DET curve")
    return sorted_rates(bona, spoof)


def compute_eer(bonafide_scores: Any, spoof_scores: Any) -> tuple[float, float]:
    """Equal error rate with the official ASVspoof algorithm.

    Parameters
    ----------
    bonafide_scores : array-like [shape=(n_bonafide,)]
        Scores of bona fide trials (the target class); higher = more bona fide.
    spoof_scores : array-like [shape=(n_spoof,)]
        Scores of spoof trials.

    Returns
    -------
    eer : float
        Fraction in [0, 1]: the mean of the miss and false-alarm rates at the first point of
        :func:`det_curve` where they are closest. Perfect separation gives 0, inverted scores 1,
        constant scores 1 (official tie handling).
    threshold : float
        The organisers' EER threshold: the score at that point (trials with a score up to it,
        in sorted order, are rejected).

    Raises
    ------
    DataError
        If a class is empty or a score is not finite.

    Examples
    --------
    >>> compute_eer([0.6, 0.8, 0.9], [0.1, 0.7, 0.2])
    (0.3333333333333333, 0.6)
    """
    frr, far, thresholds = det_curve(bonafide_scores, spoof_scores)
    i = int(np.argmin(np.abs(frr - far)))
    return float((frr[i] + far[i]) / 2), float(thresholds[i])


def eer(labels: Any, scores: Any, *, bonafide_value: Any = None) -> tuple[float, float]:
    """EER and its threshold from labels and scores.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
        ``"bonafide"`` / ``"spoof"`` or ids (bonafide 0, spoof 1).
    scores : array-like [shape=(n,)]
        Bona fide scores (higher = more bona fide).

    Returns
    -------
    eer, threshold : float
        See :func:`compute_eer`.
    """
    _, _, bona, spoof = _split(labels, scores, bonafide_value=bonafide_value)
    return compute_eer(bona, spoof)


def _batch_eer(is_bona_sorted: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Official EER of many weighted resamples of one presorted score list, exactly.

    Parameters
    ----------
    is_bona_sorted : np.ndarray [shape=(n,), dtype=bool]
        Class of each trial, in the stable sort order of :func:`det_curve`.
    counts : np.ndarray [shape=(n_rows, n), dtype=int]
        How many times each trial occurs in each resample. Expanding the trials by these counts
        in presorted order gives exactly the stable sort of the resample, so every point of the
        official curve is kept (no approximation).

    Returns
    -------
    eers : np.ndarray [shape=(n_rows,)]
        NaN for a resample without one of the classes.
    """
    n_rows = counts.shape[0]
    flat = np.repeat(np.tile(is_bona_sorted, n_rows), counts.ravel())
    lengths = counts.sum(axis=1)
    out = np.full(n_rows, np.nan)
    if flat.size == 0:
        return out
    if (lengths == lengths[0]).all():
        # equal-size resamples (stratified, no groups): a plain 2-D computation
        seq = flat.reshape(n_rows, lengths[0])
        cum_b = np.cumsum(seq, axis=1, dtype=np.int64)
        n_b = cum_b[:, -1:]
        n_s = lengths[0] - n_b
        with np.errstate(divide="ignore", invalid="ignore"):
            frr = cum_b / n_b
            far = (n_s - (np.arange(1, lengths[0] + 1) - cum_b)) / n_s
        i = np.argmin(np.abs(frr - far), axis=1)[:, None]
        best = np.abs(np.take_along_axis(frr, i, 1) - np.take_along_axis(far, i, 1))[:, 0]
        out = ((np.take_along_axis(frr, i, 1) + np.take_along_axis(far, i, 1)) / 2)[:, 0]
        out[best >= 1.0] = 0.5  # the curve's first point (frr 0, far 1) wins ties at distance 1
        out[(n_b[:, 0] == 0) | (n_s[:, 0] == 0)] = np.nan
        return out
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    row = np.repeat(np.arange(n_rows), lengths)
    cum_all = np.concatenate(([0], np.cumsum(flat, dtype=np.int64)))
    before = cum_all[starts]
    cum_b = cum_all[1:] - before[row]
    pos = np.arange(1, flat.size + 1) - starts[row]
    n_b = cum_all[starts + lengths] - before
    n_s = lengths - n_b
    valid = (n_b > 0) & (n_s > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frr = cum_b / n_b[row]
        far = (n_s[row] - (pos - cum_b)) / n_s[row]
        d = np.abs(frr - far)
    nonempty = lengths > 0
    rowmin = np.full(n_rows, np.inf)
    rowmin[nonempty] = np.minimum.reduceat(d, starts[nonempty])
    hits = np.flatnonzero(d == rowmin[row])
    hit_rows, first = np.unique(row[hits], return_index=True)
    idx = hits[first]
    out[hit_rows] = (frr[idx] + far[idx]) / 2
    # the curve's first point (frr 0, far 1, distance 1) wins ties at distance 1
    out[valid & (rowmin >= 1.0)] = 0.5
    out[~valid] = np.nan
    return out


# ----------------------------------------------------------------------------------------------
# t-DCF
# ----------------------------------------------------------------------------------------------


def asv_error_rates(
    asv_target: Any,
    asv_nontarget: Any,
    asv_spoof: Any,
    *,
    threshold: float | None = None,
) -> dict[str, float]:
    """ASV operating point: error rates at a threshold (default: the ASV EER threshold).

    Parameters
    ----------
    asv_target, asv_nontarget, asv_spoof : array-like [shape=(n_*,)]
        ASV scores of target, zero-effort nontarget and spoof trials (higher = accept).
    threshold : float, optional
        ASV threshold; by default the EER threshold of target vs nontarget (:func:`compute_eer`).

    Returns
    -------
    dict
        ``asv_eer`` (NaN when a threshold is given), ``asv_threshold``, ``pfa_asv`` (nontargets
        accepted, score >= threshold), ``pmiss_asv`` (targets rejected, score < threshold),
        ``pmiss_spoof_asv`` (spoofs rejected) and ``pfa_spoof_asv`` (spoofs accepted).
    """
    tar = _as_scores(asv_target, name="ASV target scores")
    non = _as_scores(asv_nontarget, name="ASV nontarget scores")
    spf = _as_scores(asv_spoof, name="ASV spoof scores")
    for name, arr in (("target", tar), ("nontarget", non), ("spoof", spf)):
        if arr.size == 0:
            raise DataError(f"the ASV scores have no {name} trials (t-DCF needs all three kinds)")
    asv_eer = math.nan
    if threshold is None:
        asv_eer, threshold = compute_eer(tar, non)
    return {
        "asv_eer": asv_eer,
        "asv_threshold": float(threshold),
        "pfa_asv": float(np.count_nonzero(non >= threshold) / non.size),
        "pmiss_asv": float(np.count_nonzero(tar < threshold) / tar.size),
        "pmiss_spoof_asv": float(np.count_nonzero(spf < threshold) / spf.size),
        "pfa_spoof_asv": float(np.count_nonzero(spf >= threshold) / spf.size),
    }


def _cost_model(formulation: str, costs: Mapping[str, float] | None) -> dict[str, float]:
    if formulation not in TDCF_COSTS:
        raise ParameterError(
            f"unknown t-DCF formulation {formulation!r}; use 'revised' or 'legacy'"
        )
    model = dict(TDCF_COSTS[formulation])
    if costs:
        unknown = set(costs) - set(model)
        if unknown:
            raise ParameterError(
                f"unknown {formulation} t-DCF cost(s) {sorted(unknown)}; known: {sorted(model)}"
            )
        model.update({k: float(v) for k, v in costs.items()})
    priors = (model["Ptar"], model["Pnon"], model["Pspoof"])
    if min(priors) < 0 or abs(sum(priors) - 1) > 1e-10:
        raise ParameterError(f"t-DCF priors must be non-negative and sum to 1, got {priors}")
    if min(v for k, v in model.items() if k.startswith("C")) < 0:
        raise ParameterError("t-DCF costs must be non-negative")
    return model


def _tdcf_coefficients(
    formulation: str,
    model: Mapping[str, float],
    pfa_asv: float,
    pmiss_asv: float,
    pmiss_spoof_asv: float,
    pfa_spoof_asv: float,
) -> tuple[float, float, float, float]:
    """-> (C0, C1, C2, normaliser) with ``tDCF_norm = (C0 + C1 Pmiss_cm + C2 Pfa_cm) / norm``."""
    if formulation == "legacy":
        # Odyssey 2018 / ASVspoof 2019: the cost of an error-free CM is not included.
        c0 = 0.0
        c1 = (
            model["Ptar"] * (model["Cmiss_cm"] - model["Cmiss_asv"] * pmiss_asv)
            - model["Pnon"] * model["Cfa_asv"] * pfa_asv
        )
        c2 = model["Cfa_cm"] * model["Pspoof"] * (1 - pmiss_spoof_asv)
        norm = min(c1, c2)
    else:
        # TASLP 2020 / ASVspoof 2021: C0 is the cost of the ASV alone (error-free CM).
        c0 = model["Ptar"] * model["Cmiss"] * pmiss_asv + model["Pnon"] * model["Cfa"] * pfa_asv
        c1 = model["Ptar"] * model["Cmiss"] - c0
        c2 = model["Pspoof"] * model["Cfa_spoof"] * pfa_spoof_asv
        norm = c0 + min(c1, c2)
    if c0 < 0 or c1 < 0 or c2 < 0:
        raise DataError(
            f"negative t-DCF weights (C0={c0:.4g}, C1={c1:.4g}, C2={c2:.4g}); "
            "check the ASV error rates (are the ASV scores the right way round?)"
        )
    if norm <= 0:
        raise DataError(
            "the t-DCF normaliser is 0 (the ASV accepts no spoof, so a CM cannot help); "
            "t-DCF is undefined for these ASV scores"
        )
    return c0, c1, c2, norm


def compute_tdcf(
    bonafide_cm: Any,
    spoof_cm: Any,
    *,
    pfa_asv: float,
    pmiss_asv: float,
    pmiss_spoof_asv: float,
    pfa_spoof_asv: float | None = None,
    formulation: Formulation = "revised",
    costs: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised t-DCF at every CM threshold, for a fixed ASV operating point.

    Parameters
    ----------
    bonafide_cm, spoof_cm : array-like [shape=(n_*,)]
        CM scores of bona fide and spoof trials (higher = more bona fide); soft scores, not
        decisions (at least 3 distinct values).
    pfa_asv, pmiss_asv, pmiss_spoof_asv : float
        ASV error rates at its operating point (fractions), see :func:`asv_error_rates`.
    pfa_spoof_asv : float, optional
        Spoofs accepted by the ASV; default ``1 - pmiss_spoof_asv``.
    formulation : {"revised", "legacy"}
        ``"revised"``: ``(C0 + C1 Pmiss_cm + C2 Pfa_cm) / (C0 + min(C1, C2))`` with
        ``C0 = Ptar Cmiss Pmiss_asv + Pnon Cfa Pfa_asv``, ``C1 = Ptar Cmiss - C0``,
        ``C2 = Pspoof Cfa_spoof Pfa_spoof_asv``.
        ``"legacy"`` (ASVspoof 2019): ``(C1 Pmiss_cm + C2 Pfa_cm) / min(C1, C2)`` with
        ``C1 = Ptar (Cmiss_cm - Cmiss_asv Pmiss_asv) - Pnon Cfa_asv Pfa_asv`` and
        ``C2 = Cfa_cm Pspoof (1 - Pmiss_spoof_asv)``.
    costs : mapping, optional
        Overrides of :data:`TDCF_COSTS` ``[formulation]``.

    Returns
    -------
    tdcf_norm : np.ndarray [shape=(n_bonafide + n_spoof + 1,)]
    thresholds : np.ndarray [shape=(n_bonafide + n_spoof + 1,)]
        The CM thresholds of :func:`det_curve`.
    """
    model = _cost_model(formulation, costs)
    bona = _as_scores(bonafide_cm, name="bona fide CM scores")
    spoof = _as_scores(spoof_cm, name="spoof CM scores")
    _require_both(bona.size, spoof.size, "t-DCF")
    if np.unique(np.concatenate((bona, spoof))).size < 3:
        raise DataError("t-DCF needs soft CM scores (at least 3 distinct values), not decisions")
    if pfa_spoof_asv is None:
        pfa_spoof_asv = 1 - pmiss_spoof_asv
    c0, c1, c2, norm = _tdcf_coefficients(
        formulation, model, pfa_asv, pmiss_asv, pmiss_spoof_asv, pfa_spoof_asv
    )
    pmiss_cm, pfa_cm, thresholds = det_curve(bona, spoof)
    return (c0 + c1 * pmiss_cm + c2 * pfa_cm) / norm, thresholds


def min_tdcf(
    bonafide_cm: Any,
    spoof_cm: Any,
    asv_target: Any,
    asv_nontarget: Any,
    asv_spoof: Any,
    *,
    formulation: Formulation = "revised",
    costs: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Minimum normalised t-DCF of a CM in tandem with an ASV fixed at its EER threshold.

    Parameters
    ----------
    bonafide_cm, spoof_cm : array-like [shape=(n_*,)]
        CM scores (higher = more bona fide).
    asv_target, asv_nontarget, asv_spoof : array-like [shape=(n_*,)]
        The organisers' ASV scores of target, nontarget and spoof trials (see
        :func:`read_asv_scores`).
    formulation : {"revised", "legacy"}
        See :func:`compute_tdcf`. ``"revised"`` (ASVspoof 2021+) is the default; ``"legacy"`` gives
        the numbers of the ASVspoof 2019 challenge.
    costs : mapping, optional
        Overrides of :data:`TDCF_COSTS`.

    Returns
    -------
    dict
        ``min_tdcf``, ``threshold`` (CM threshold of the minimum), ``formulation``, ``asv_eer``,
        ``asv_threshold``, ``pfa_asv``, ``pmiss_asv``, ``pmiss_spoof_asv``, ``pfa_spoof_asv``,
        ``pmiss_cm`` and ``pfa_cm`` (CM error rates at the minimum), ``coefficients``
        (``C0, C1, C2`` divided by the normaliser: ``tDCF = C0 + C1 Pmiss_cm + C2 Pfa_cm``).

    Notes
    -----
    On the organisers' ASVspoof 2019 LA eval files this gives min t-DCF (legacy) 0.2359 for B01
    and 0.2111 for B02, identical to the organisers' ``tDCF_python_v2`` code. The published
    figures are 0.2366 and 0.2116: the gap (< 1e-3) is not a threshold or tie effect (moving the
    ASV threshold by +-1 does not close it) and most likely comes from the different
    implementation that produced the published tables (the MATLAB package).
    """
    rates = asv_error_rates(asv_target, asv_nontarget, asv_spoof)
    model = _cost_model(formulation, costs)
    bona = _as_scores(bonafide_cm, name="bona fide CM scores")
    spoof = _as_scores(spoof_cm, name="spoof CM scores")
    _require_both(bona.size, spoof.size, "t-DCF")
    if np.unique(np.concatenate((bona, spoof))).size < 3:
        raise DataError("t-DCF needs soft CM scores (at least 3 distinct values), not decisions")
    c0, c1, c2, norm = _tdcf_coefficients(
        formulation,
        model,
        rates["pfa_asv"],
        rates["pmiss_asv"],
        rates["pmiss_spoof_asv"],
        rates["pfa_spoof_asv"],
    )
    pmiss_cm, pfa_cm, thresholds = det_curve(bona, spoof)
    curve = (c0 + c1 * pmiss_cm + c2 * pfa_cm) / norm
    i = int(np.argmin(curve))
    return {
        "min_tdcf": float(curve[i]),
        "threshold": float(thresholds[i]),
        "formulation": formulation,
        **rates,
        "pmiss_cm": float(pmiss_cm[i]),
        "pfa_cm": float(pfa_cm[i]),
        "coefficients": {"C0": c0 / norm, "C1": c1 / norm, "C2": c2 / norm},
    }


# ----------------------------------------------------------------------------------------------
# summaries
# ----------------------------------------------------------------------------------------------


def roc_auc(labels: Any, scores: Any, *, bonafide_value: Any = None) -> float:
    """Area under the ROC curve of detecting bona fide with the score.

    The probability that a random bona fide trial scores higher than a random spoof trial, ties
    counting one half (Mann-Whitney; equal to ``sklearn.metrics.roc_auc_score(labels == bonafide,
    scores)``). 1 for perfect separation, 0 for inverted scores, 0.5 for constant scores.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
    scores : array-like [shape=(n,)]
    """
    ids, s, bona, spoof = _split(labels, scores, bonafide_value=bonafide_value)
    _require_both(bona.size, spoof.size, "ROC AUC")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    mid_rank = np.cumsum(counts) - (counts - 1) / 2.0  # average rank of each distinct value
    rank_sum = float(mid_rank[inverse.reshape(-1)][ids == 0].sum())
    n_b, n_s = bona.size, spoof.size
    return (rank_sum - n_b * (n_b + 1) / 2.0) / (n_b * n_s)


def _default_threshold(
    score_kind: str, threshold: float | None, eer_threshold: float
) -> tuple[float, str]:
    if threshold is not None:
        if not np.isfinite(threshold):  # NaN would call every trial bona fide
            raise ParameterError(f"threshold must be a finite number, got {threshold}")
        return float(threshold), "user"
    if score_kind == "logodds":
        return 0.0, "0 log-odds = p_fake 0.5"
    if score_kind == "raw":
        return float(eer_threshold), "EER threshold"
    raise ParameterError(f"unknown score_kind {score_kind!r}; use 'logodds' or 'raw'")


def summarize(
    labels: Any,
    scores: Any,
    *,
    threshold: float | None = None,
    score_kind: ScoreKind = "logodds",
    bonafide_value: Any = None,
) -> dict[str, Any]:
    """All the headline metrics of one score set, as fractions.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
        ``"bonafide"`` / ``"spoof"``, or numbers with ``bonafide_value`` (see :func:`label_ids`).
    scores : array-like [shape=(n,)]
        Bona fide scores, higher = more bona fide.
    threshold : float, optional
        Threshold of the hard decisions: a trial is called bona fide when ``score >= threshold``
        (the ASV convention of the organisers, and ``LogisticRegression.predict`` for log-odds),
        spoof otherwise. Default: 0 for log-odds scores (p_fake 0.5), else the EER threshold.
    score_kind : {"logodds", "raw"}
        ``"logodds"``: scores are ``log((1 - p_fake) / p_fake)`` (dfaudio classifiers);
        ``"raw"``: arbitrary scale (e.g. GMM log-likelihood ratios of unknown calibration).

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy``, ``precision``, ``recall``, ``f1`` (spoof is the
        positive class; precision is 0 when nothing is called spoof), ``roc_auc`` (of detecting
        bona fide with the score), ``eer``, ``eer_threshold``, ``threshold``,
        ``threshold_source``, ``confusion_matrix`` (``{"labels": ["bonafide", "spoof"],
        "matrix": [[tn, fp], [fn, tp]]}``, rows = true class, columns = predicted),
        ``positive_class`` ("spoof"), ``n_bonafide``, ``n_spoof``, ``ties_between_classes``
        (distinct score values that occur in both classes) and ``score_direction``.

    Raises
    ------
    DataError
        If only one class is present (EER and ROC AUC are undefined), or a score is not finite.
    """
    ids, s, bona, spoof = _split(labels, scores, bonafide_value=bonafide_value)
    _require_both(bona.size, spoof.size, "summarize (EER and ROC AUC)")
    eer_value, eer_threshold = compute_eer(bona, spoof)
    thr, source = _default_threshold(score_kind, threshold, eer_threshold)
    pred_spoof = s < thr
    true_spoof = ids == 1
    tp = int(np.count_nonzero(pred_spoof & true_spoof))
    fp = int(np.count_nonzero(pred_spoof & ~true_spoof))
    fn = int(np.count_nonzero(~pred_spoof & true_spoof))
    tn = int(np.count_nonzero(~pred_spoof & ~true_spoof))
    n = tp + fp + fn + tn
    recall = tp / (tp + fn)
    specificity = tn / (tn + fp)
    precision = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {
        "accuracy": (tp + tn) / n,
        "balanced_accuracy": (recall + specificity) / 2,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "positive_class": SPOOF,
        "roc_auc": roc_auc(ids, s, bonafide_value=0),
        "eer": eer_value,
        "eer_threshold": eer_threshold,
        "threshold": thr,
        "threshold_source": source,
        "confusion_matrix": {"labels": list(CLASS_NAMES), "matrix": [[tn, fp], [fn, tp]]},
        "n_bonafide": int(bona.size),
        "n_spoof": int(spoof.size),
        "ties_between_classes": int(np.intersect1d(bona, spoof).size),
        "score_direction": SCORE_DIRECTION,
    }


# ----------------------------------------------------------------------------------------------
# bootstrap
# ----------------------------------------------------------------------------------------------

#: Upper bound on the number of (resample, trial) cells held in memory at once.
_BOOT_CELLS = 2_000_000
#: Metrics :func:`bootstrap_ci` can resample.
_BOOT_METRICS = ("eer", "accuracy", "min_dcf", "act_dcf", "cllr")


def bootstrap_ci(
    labels: Any,
    scores: Any,
    *,
    groups: Any = None,
    metric: Literal["eer", "accuracy", "min_dcf", "act_dcf", "cllr"] = "eer",
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    threshold: float | None = None,
    score_kind: ScoreKind = "logodds",
    bonafide_value: Any = None,
    p_spoof: float = 0.05,
    c_miss: float = 1.0,
    c_fa: float = 10.0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the EER, accuracy, minDCF, actDCF or Cllr.

    Parameters
    ----------
    labels, scores : array-like [shape=(n,)]
    groups : array-like [shape=(n,)], optional
        Cluster ids (recording, speaker). Windows of one recording are not independent, so when
        groups are given whole groups are resampled (cluster bootstrap).
    metric : {"eer", "accuracy", "min_dcf", "act_dcf", "cllr"}
        EER (official algorithm, exact on every resample), accuracy at a fixed threshold, or the
        ASVspoof 5 metrics of :mod:`dfaudio.metrics` (minDCF over the resample's own DET points,
        actDCF at the Bayes threshold, Cllr in bits), each exact on every resample.
    n_boot : int
        Number of resamples.
    alpha : float
        ``1 - alpha`` is the coverage; the interval is the ``alpha/2`` and ``1 - alpha/2``
        percentiles of the resampled metric.
    seed : int
        Seed of ``numpy.random.default_rng``.
    threshold : float, optional
        Accuracy threshold; default as in :func:`summarize` (0 for log-odds scores, else the EER
        threshold of the full sample, held fixed over resamples).
    score_kind : {"logodds", "raw"}
        See :func:`summarize`.
    bonafide_value : optional
        See :func:`label_ids`.
    p_spoof, c_miss, c_fa : float
        Cost model of minDCF and actDCF (ASVspoof 5 defaults).

    Returns
    -------
    low, high : float

    Notes
    -----
    Resampling is stratified by class (the numbers of bona fide and spoof trials, or of
    single-class groups, stay fixed), so no resample loses a class. When some group holds both
    classes, groups are resampled without stratification and resamples that lose a class are
    dropped (they have no EER). The computation is vectorised: a resample is a vector of counts
    over the presorted trials, so 1000 resamples of 70k scores take a few seconds.
    """
    if metric not in _BOOT_METRICS:
        raise ParameterError(
            f"unknown bootstrap metric {metric!r}; use one of {', '.join(_BOOT_METRICS)}"
        )
    if n_boot < 1:
        raise ParameterError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1), got {alpha}")
    ids, s, bona, spoof = _split(labels, scores, bonafide_value=bonafide_value)
    _require_both(bona.size, spoof.size, "a bootstrap interval")
    n = s.size

    # presort once (the stable order of det_curve: bona fide first, then spoof)
    order = np.argsort(np.concatenate((s[ids == 0], s[ids == 1])), kind="stable")
    original_index = np.concatenate((np.flatnonzero(ids == 0), np.flatnonzero(ids == 1)))[order]
    is_bona_sorted = ids[original_index] == 0

    # resampling units: groups, or every trial its own unit
    unit, n_units, strata = resampling_units(ids, groups)
    unit_sorted = unit[original_index]

    if metric == "accuracy":
        if threshold is None:
            eer_thr = compute_eer(bona, spoof)[1] if score_kind == "raw" else 0.0
            threshold, _ = _default_threshold(score_kind, None, eer_thr)
        correct_sorted = (s[original_index] >= threshold) == is_bona_sorted
    if metric in ("min_dcf", "act_dcf"):
        from dfaudio.metrics.dcf import _weights, bayes_threshold

        w_miss, w_fa, norm = _weights(p_spoof, c_miss, c_fa)
        act_thr = bayes_threshold(p_spoof=p_spoof, c_miss=c_miss, c_fa=c_fa)
        s_sorted = s[original_index]
        miss_sorted = (is_bona_sorted & (s_sorted < act_thr)).astype(np.int64)
        fa_sorted = (~is_bona_sorted & (s_sorted >= act_thr)).astype(np.int64)
    if metric == "cllr":
        s_sorted = s[original_index]
        cost_sorted = np.where(
            is_bona_sorted, np.logaddexp(0.0, -s_sorted), np.logaddexp(0.0, s_sorted)
        ) / math.log(2.0)

    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _BOOT_CELLS // max(n, 1)))
    stats: list[np.ndarray] = []
    done = 0
    while done < n_boot:
        rows = min(chunk, n_boot - done)
        unit_counts = np.zeros((rows, n_units), dtype=np.int64)
        offsets = (np.arange(rows) * n_units)[:, None]
        for stratum in strata:
            draws = stratum[rng.integers(0, stratum.size, size=(rows, stratum.size))]
            unit_counts += np.bincount((draws + offsets).ravel(), minlength=rows * n_units).reshape(
                rows, n_units
            )
        counts = unit_counts[:, unit_sorted]
        if metric == "eer":
            stats.append(_batch_eer(is_bona_sorted, counts))
        elif metric in ("min_dcf", "act_dcf", "cllr"):
            bona_counts = counts * is_bona_sorted
            n_b = bona_counts.sum(axis=1)
            n_s = counts.sum(axis=1) - n_b
            with np.errstate(invalid="ignore", divide="ignore"):
                if metric == "min_dcf":
                    # DCF is linear along a run of one class, so the DET points at trial
                    # boundaries (run ends) hold the minimum of the expanded curve
                    cum_b = np.cumsum(bona_counts, axis=1)
                    cum_s = np.cumsum(counts, axis=1) - cum_b
                    p_miss = np.concatenate((np.zeros((rows, 1)), cum_b), axis=1) / n_b[:, None]
                    p_fa = (
                        n_s[:, None] - np.concatenate((np.zeros((rows, 1)), cum_s), axis=1)
                    ) / n_s[:, None]
                    value = (w_miss * p_miss + w_fa * p_fa).min(axis=1) / norm
                elif metric == "act_dcf":
                    value = (
                        w_miss * (counts @ miss_sorted) / n_b + w_fa * (counts @ fa_sorted) / n_s
                    ) / norm
                else:
                    value = 0.5 * (
                        (bona_counts @ cost_sorted) / n_b
                        + ((counts - bona_counts) @ cost_sorted) / n_s
                    )
            value[(n_b == 0) | (n_s == 0)] = np.nan
            stats.append(value)
        else:
            total = counts.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                stats.append(counts @ correct_sorted.astype(np.int64) / total)
        done += rows
    values = np.concatenate(stats)
    values = values[np.isfinite(values)]
    if values.size < max(1, n_boot // 2):
        raise DataError(
            f"only {values.size} of {n_boot} bootstrap resamples hold both classes; "
            "too few groups for a bootstrap interval"
        )
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


# ----------------------------------------------------------------------------------------------
# per-attack and whole-file evaluation
# ----------------------------------------------------------------------------------------------


#: ASVspoof 5 cost model of minDCF and actDCF (Pspoof, Cmiss, Cfa).
ASV5_COSTS: Mapping[str, float] = MappingProxyType({"p_spoof": 0.05, "c_miss": 1.0, "c_fa": 10.0})


def _asv5_cost(cost: Mapping[str, float] | None) -> dict[str, float]:
    model = dict(ASV5_COSTS)
    if cost:
        unknown = set(cost) - set(model)
        if unknown:
            raise ParameterError(f"unknown cost(s) {sorted(unknown)}; known: {sorted(model)}")
        model.update({k: float(v) for k, v in cost.items() if v is not None})
    return model


def _asv5_metrics(
    bona: np.ndarray, spoof: np.ndarray, cost: Mapping[str, float], *, pav: bool = True
) -> dict[str, Any]:
    """minDCF, actDCF, Cllr (and minCllr) of one bona fide / spoof split (dfaudio.metrics)."""
    from dfaudio.metrics import act_dcf, cllr, min_cllr, min_dcf

    out: dict[str, Any] = {
        "min_dcf": min_dcf(bona, spoof, **cost)["value"],
        "act_dcf": act_dcf(bona, spoof, **cost)["value"],
        "cllr": cllr(bona, spoof),
    }
    if pav:
        out["min_cllr"] = min_cllr(bona, spoof)
    return out


def per_attack(
    scores_df: pd.DataFrame,
    *,
    asv: pd.DataFrame | str | Path | None = None,
    formulation: Formulation = "revised",
    cost: Mapping[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """EER, minDCF, actDCF, Cllr (and min t-DCF) of every attack: all bona fide vs one attack.

    Parameters
    ----------
    scores_df : pd.DataFrame
        From :func:`read_scores`; needs ``key``, ``score`` and ``attack`` (``-`` for bona fide).
    asv : DataFrame or path, optional
        ASV scores (:func:`read_asv_scores`). When given, each attack also gets a min t-DCF.
        The 3-column ASV file has no attack column, so its **pooled** spoof scores (all attacks)
        set the ASV spoof miss rate of every attack. A 6-column ASV file whose SOURCE column holds
        attack ids gives per-attack ASV spoof scores, which are then used
        (``asv_spoof_scores`` in each entry says which). The ASV operating point (EER threshold of
        target vs nontarget) is the same for every attack.
    formulation : {"revised", "legacy"}
    cost : mapping, optional
        ``p_spoof``, ``c_miss``, ``c_fa`` of minDCF/actDCF (default :data:`ASV5_COSTS`).

    Returns
    -------
    dict
        attack id (sorted) -> ``{"eer", "eer_threshold", "n_spoof", "min_dcf", "act_dcf",
        "cllr"}`` (as the organisers' ``calculate_metrics_full``) plus ``"min_tdcf"`` and
        ``"asv_spoof_scores"`` ("pooled" or "per-attack") when ``asv`` is given.
    """
    if "attack" not in scores_df.columns:
        raise DataError("per-attack metrics need an attack column (the score file has none)")
    cost = _asv5_cost(cost)
    key = scores_df["key"].to_numpy()
    score = scores_df["score"].to_numpy(dtype=np.float64)
    attack = scores_df["attack"].astype(str).to_numpy()
    bona = score[key == BONAFIDE]
    if bona.size == 0:
        raise DataError("per-attack metrics need bona fide trials (the score file has none)")
    attacks = sorted(set(attack[(key == SPOOF)]) - {"-", ""})
    if not attacks:
        raise DataError("no attack ids among the spoof trials (attack column is all '-')")
    asv_table = None if asv is None else _as_asv_table(asv)
    if asv_table is not None:
        tar, non, spoof_pooled = _asv_arrays(asv_table)
        asv_attack = (
            asv_table["attack"].astype(str).to_numpy() if "attack" in asv_table.columns else None
        )
    out: dict[str, dict[str, Any]] = {}
    for a in attacks:
        spoof = score[(key == SPOOF) & (attack == a)]
        value, thr = compute_eer(bona, spoof)
        entry: dict[str, Any] = {"eer": value, "eer_threshold": thr, "n_spoof": int(spoof.size)}
        entry.update(_asv5_metrics(bona, spoof, cost, pav=False))
        if asv_table is not None:
            asv_spoof, kind = spoof_pooled, "pooled"
            if asv_attack is not None:
                own = spoof_pooled[asv_attack[asv_table["key"].to_numpy() == "spoof"] == a]
                if own.size:
                    asv_spoof, kind = own, "per-attack"
            entry["min_tdcf"] = min_tdcf(bona, spoof, tar, non, asv_spoof, formulation=formulation)[
                "min_tdcf"
            ]
            entry["asv_spoof_scores"] = kind
        out[a] = entry
    return out


def _bootstrap_groups(scores_df: pd.DataFrame) -> tuple[np.ndarray | None, str | None]:
    """Clusters for the bootstrap: ``group``, else the file/utterance when it repeats."""
    if "group" in scores_df.columns:
        return scores_df["group"].astype(str).to_numpy(), "group"
    utt = scores_df["utt"].astype(str)
    if utt.duplicated().any():
        return utt.to_numpy(), "utt"
    return None, None


def per_condition(scores_df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """EER within every condition (e.g. the ASVspoof PA acoustic environment ``aaa``).

    Each condition's bona fide trials are scored against its own spoof trials; conditions that
    lack either class are reported with ``eer`` None.

    Returns
    -------
    dict
        condition (sorted) -> ``{"eer", "eer_threshold", "n_bonafide", "n_spoof"}``.
    """
    if "condition" not in scores_df.columns:
        raise DataError("per-condition metrics need a condition column (the score file has none)")
    out: dict[str, dict[str, Any]] = {}
    key = scores_df["key"].to_numpy()
    score = scores_df["score"].to_numpy(dtype=np.float64)
    cond = scores_df["condition"].astype(str).to_numpy()
    for c in sorted(set(cond)):
        m = cond == c
        bona, spoof = score[m & (key == BONAFIDE)], score[m & (key == SPOOF)]
        entry: dict[str, Any] = {"n_bonafide": int(bona.size), "n_spoof": int(spoof.size)}
        if bona.size and spoof.size:
            entry["eer"], entry["eer_threshold"] = compute_eer(bona, spoof)
        else:
            entry["eer"], entry["eer_threshold"] = None, None
        out[c] = entry
    return out


def evaluate_scores(
    scores_df: pd.DataFrame,
    *,
    asv: pd.DataFrame | str | Path | None = None,
    formulation: Formulation = "revised",
    attacks: bool = True,
    n_boot: int = 0,
    alpha: float = 0.05,
    seed: int = 0,
    threshold: float | None = None,
    score_kind: ScoreKind | None = None,
    cost: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Everything ``dfaudio evaluate`` reports about a score table, as one JSON-ready dict.

    Parameters
    ----------
    scores_df : pd.DataFrame
        From :func:`read_scores`.
    asv : DataFrame or path, optional
        ASV scores; adds ``min_tdcf`` (and per-attack t-DCF).
    formulation : {"revised", "legacy"}
    attacks : bool
        Add ``per_attack`` when the table has attack ids.
    n_boot : int
        Bootstrap resamples for ``eer_ci`` (0: none). Windows of one file (or one ``group``) are
        resampled together.
    alpha, seed : see :func:`bootstrap_ci`.
    threshold : float, optional
        Hard-decision threshold (see :func:`summarize`).
    score_kind : {"logodds", "raw"}, optional
        Default: ``scores_df.attrs["score_kind"]`` (log-odds for dfaudio files, raw otherwise).
    cost : mapping, optional
        ``p_spoof``, ``c_miss``, ``c_fa`` of minDCF and actDCF (default :data:`ASV5_COSTS`).

    Returns
    -------
    dict
        The keys of :func:`summarize`; the ASVspoof 5 set ``min_dcf``, ``act_dcf``, ``cllr``,
        ``min_cllr`` (actDCF and Cllr read the scores as natural-log LLRs), ``cost_model``,
        ``calibration_loss`` (``{"dcf": actDCF - minDCF, "cllr": Cllr - minCllr}``); ``sasv``
        (a-DCF and t-EER) when the table holds ``asv_score`` and ``sasv_key`` columns; plus
        ``min_tdcf`` ({``value``, ``formulation``, ASV operating point ...}), ``per_attack``,
        ``per_condition`` (where the file has a condition column, e.g. ASVspoof PA environments)
        and ``eer_ci``, ``min_dcf_ci``, ``act_dcf_ci``, ``cllr_ci`` ({``low``, ``high``,
        ``alpha``, ``n_boot``, ``groups``}) when asked for. All rates are fractions.
    """
    kind = score_kind or scores_df.attrs.get("score_kind", "raw")
    labels = scores_df["key"].to_numpy()
    scores = scores_df["score"].to_numpy(dtype=np.float64)
    result: dict[str, Any] = summarize(labels, scores, threshold=threshold, score_kind=kind)
    result["layout"] = scores_df.attrs.get("layout")
    model = _asv5_cost(cost)
    key = scores_df["key"].to_numpy()
    bona_all, spoof_all = scores[key == BONAFIDE], scores[key == SPOOF]
    result.update(_asv5_metrics(bona_all, spoof_all, model))
    result["cost_model"] = model
    result["calibration_loss"] = {
        "dcf": result["act_dcf"] - result["min_dcf"],
        "cllr": result["cllr"] - result["min_cllr"],
    }
    if {"asv_score", "sasv_key"} <= set(scores_df.columns):
        result["sasv"] = _sasv_metrics(scores_df)
    asv_table = None if asv is None else _as_asv_table(asv)
    if asv_table is not None:
        tar, non, spf = _asv_arrays(asv_table)
        key = scores_df["key"].to_numpy()
        t = min_tdcf(
            scores[key == BONAFIDE], scores[key == SPOOF], tar, non, spf, formulation=formulation
        )
        t["value"] = t.pop("min_tdcf")
        result["min_tdcf"] = t
    has_attacks = "attack" in scores_df.columns and bool(
        (scores_df.loc[scores_df["key"] == SPOOF, "attack"].astype(str) != "-").any()
    )
    if attacks and has_attacks:
        result["per_attack"] = per_attack(
            scores_df, asv=asv_table, formulation=formulation, cost=model
        )
    if attacks and "condition" in scores_df.columns:
        result["per_condition"] = per_condition(scores_df)
    if n_boot:
        groups, group_source = _bootstrap_groups(scores_df)
        low, high = bootstrap_ci(
            labels, scores, groups=groups, metric="eer", n_boot=n_boot, alpha=alpha, seed=seed
        )
        result["eer_ci"] = {
            "low": low,
            "high": high,
            "alpha": alpha,
            "n_boot": n_boot,
            "groups": group_source,
        }
        for metric in ("min_dcf", "act_dcf", "cllr"):
            low, high = bootstrap_ci(
                labels,
                scores,
                groups=groups,
                metric=metric,  # type: ignore[arg-type]
                n_boot=n_boot,
                alpha=alpha,
                seed=seed,
                **model,
            )
            result[f"{metric}_ci"] = {**result["eer_ci"], "low": low, "high": high}
    return result


def _sasv_metrics(scores_df: pd.DataFrame) -> dict[str, Any]:
    """a-DCF (of the ASV score and of the CM score, each as the one SASV score) and t-EER."""
    from dfaudio.metrics.sasv import a_dcf, split_sasv, t_eer

    keys = scores_df["sasv_key"].to_numpy()
    asv = split_sasv(keys, scores_df["asv_score"].to_numpy(dtype=np.float64))
    cm = split_sasv(keys, scores_df["score"].to_numpy(dtype=np.float64))
    return {
        "n_target": int(asv[0].size),
        "n_nontarget": int(asv[1].size),
        "n_spoof": int(asv[2].size),
        "a_dcf_asv": a_dcf(*asv)["value"],
        "a_dcf_cm": a_dcf(*cm)["value"],
        "t_eer": t_eer(*asv, *cm)["value"],
    }
