"""Spoofing-aware speaker verification (SASV) metrics of ASVspoof 5 track 2: a-DCF and t-EER.

A SASV trial is one of three kinds: **target** (bona fide speech of the claimed speaker, to be
accepted), **nontarget** (bona fide speech of another speaker) and **spoof** (to be rejected).

- **a-DCF** (architecture-agnostic DCF, Shim et al., Odyssey 2024) judges one SASV score per trial::

      a-DCF(t) = Cmiss Ptar Pmiss_tar(t) + Cfa_asv Pnon Pfa_non(t) + Cfa_cm Pspoof Pfa_spoof(t)

  normalised by the better of accept-all (``Cfa_asv Pnon + Cfa_cm Pspoof``) and reject-all
  (``Cmiss Ptar``), minimised over thresholds. Defaults: the ASVspoof 5 cost model
  (``Ptar = 0.95 * 0.99``, ``Pnon = 0.95 * 0.01``, ``Pspoof = 0.05``, ``Cmiss = 1``,
  ``Cfa_asv = 10``, ``Cfa_cm = 10``), which ``calculate_metrics.py`` of the organisers' package
  passes. (Their ``a_dcf.CostModel`` has other defaults, those of the Odyssey paper.)
- **t-EER** (tandem EER, Kinnunen et al., IEEE/ACM TASLP 2023) judges an ASV and a CM that both
  score every trial and work in tandem (a trial is accepted when both accept it). It is the
  *concurrent* t-EER of the organisers' package: over the ASV thresholds where the ASV alone
  misses fewer targets than it accepts impostors, the CM threshold that equalises the tandem miss
  and false-alarm rates is taken, and the t-EER is read at the ASV threshold where the
  nontarget/spoof false-alarm ratio of the ASV best matches the CM's.

Both follow the organisers' sorted-score curves exactly (stable sorts, the same points); both are
computed with one sort and cumulative counts (t-EER with a vectorised bisection per ASV threshold
instead of the package's quadratic loop). On the asvspoof5 repository's SASV dev scores they equal
the package's values (``experiments/asvspoof5_reference.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dfaudio.exceptions import DataError
from dfaudio.metrics._common import as_scores, positive_cost, sorted_rates

__all__ = ["ADCF_COSTS", "SASV_KEYS", "a_dcf", "split_sasv", "t_eer"]

_PSPOOF = 0.05
#: ASVspoof 5 a-DCF cost model.
ADCF_COSTS: dict[str, float] = {
    "p_target": (1 - _PSPOOF) * 0.99,
    "p_nontarget": (1 - _PSPOOF) * 0.01,
    "p_spoof": _PSPOOF,
    "c_miss": 1.0,
    "c_fa_asv": 10.0,
    "c_fa_cm": 10.0,
}
#: The three SASV trial kinds.
SASV_KEYS = ("target", "nontarget", "spoof")


def split_sasv(keys: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores of target, nontarget and spoof trials from a key column.

    Parameters
    ----------
    keys : array-like [shape=(n,)]
        ``"target"``, ``"nontarget"`` or ``"spoof"`` (case-insensitive).
    scores : array-like [shape=(n,)]
    """
    k = np.char.lower(np.asarray(keys).astype(str))
    s = as_scores(scores)
    if k.shape[0] != s.shape[0]:
        raise DataError(f"keys and scores differ in length ({k.shape[0]} vs {s.shape[0]})")
    bad = ~np.isin(k, SASV_KEYS)
    if bad.any():
        raise DataError(
            f"unknown SASV key {np.asarray(keys)[bad][0]!r} (expected target, nontarget or spoof)"
        )
    return s[k == "target"], s[k == "nontarget"], s[k == "spoof"]


def _three(target: Any, nontarget: Any, spoof: Any, what: str) -> tuple[np.ndarray, ...]:
    out = (
        as_scores(target, name=f"{what} target scores"),
        as_scores(nontarget, name=f"{what} nontarget scores"),
        as_scores(spoof, name=f"{what} spoof scores"),
    )
    for name, arr in zip(SASV_KEYS, out, strict=True):
        if arr.size == 0:
            raise DataError(f"{what} scores have no {name} trials (SASV metrics need all three)")
    return out


def _three_class_curve(
    tar: np.ndarray, non: np.ndarray, spf: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(Pmiss_tar, Pfa_non, Pfa_spoof, sorted scores) after each trial of one stable sort."""
    n_t, n_n = tar.size, non.size
    all_scores = np.concatenate((tar, non, spf))
    order = np.argsort(all_scores, kind="stable")
    kind = np.zeros(all_scores.size, dtype=np.int8)  # 0 target, 1 nontarget, 2 spoof
    kind[n_t : n_t + n_n] = 1
    kind[n_t + n_n :] = 2
    kind = kind[order]
    rej = [np.concatenate(([0], np.cumsum(kind == c))) for c in (0, 1, 2)]
    p_miss = rej[0] / n_t
    p_fa_non = (n_n - rej[1]) / n_n
    p_fa_spf = (spf.size - rej[2]) / spf.size
    return p_miss, p_fa_non, p_fa_spf, all_scores[order]


def a_dcf(
    target: Any,
    nontarget: Any,
    spoof: Any,
    *,
    p_target: float = ADCF_COSTS["p_target"],
    p_nontarget: float = ADCF_COSTS["p_nontarget"],
    p_spoof: float = ADCF_COSTS["p_spoof"],
    c_miss: float = ADCF_COSTS["c_miss"],
    c_fa_asv: float = ADCF_COSTS["c_fa_asv"],
    c_fa_cm: float = ADCF_COSTS["c_fa_cm"],
) -> dict[str, float]:
    """Minimum normalised a-DCF of one SASV score per trial.

    Parameters
    ----------
    target, nontarget, spoof : array-like
        SASV scores of the three trial kinds (higher = accept).
    p_target, p_nontarget, p_spoof : float
        Priors (ASVspoof 5 defaults, :data:`ADCF_COSTS`).
    c_miss, c_fa_asv, c_fa_cm : float
        Costs of rejecting a target, accepting a nontarget, accepting a spoof.

    Returns
    -------
    dict
        ``value`` (min a-DCF), ``threshold``, ``p_miss``, ``p_fa_nontarget``, ``p_fa_spoof``.
    """
    tar, non, spf = _three(target, nontarget, spoof, "SASV")
    priors = (p_target, p_nontarget, p_spoof)
    if min(priors) < 0:
        raise DataError(f"a-DCF priors must be non-negative, got {priors}")
    w_miss = positive_cost(c_miss, "c_miss") * p_target
    w_non = positive_cost(c_fa_asv, "c_fa_asv") * p_nontarget
    w_spf = positive_cost(c_fa_cm, "c_fa_cm") * p_spoof
    norm = min(w_non + w_spf, w_miss)
    p_miss, p_fa_non, p_fa_spf, sorted_scores = _three_class_curve(tar, non, spf)
    curve = (w_miss * p_miss + w_non * p_fa_non + w_spf * p_fa_spf) / norm
    i = int(np.argmin(curve))
    thresholds = np.concatenate(([sorted_scores[0] - 1e-8], sorted_scores))
    return {
        "value": float(curve[i]),
        "threshold": float(thresholds[i]),
        "p_miss": float(p_miss[i]),
        "p_fa_nontarget": float(p_fa_non[i]),
        "p_fa_spoof": float(p_fa_spf[i]),
    }


def t_eer(
    asv_target: Any,
    asv_nontarget: Any,
    asv_spoof: Any,
    cm_target: Any,
    cm_nontarget: Any,
    cm_spoof: Any,
) -> dict[str, float]:
    """Concurrent tandem EER of an ASV and a CM that scored the same SASV trials.

    Parameters
    ----------
    asv_target, asv_nontarget, asv_spoof : array-like
        ASV scores (higher = same speaker) of the target, nontarget and spoof trials.
    cm_target, cm_nontarget, cm_spoof : array-like
        CM scores (higher = bona fide) of the *same* trials, in the same order within each kind.

    Returns
    -------
    dict
        ``value`` (t-EER, fraction), ``asv_threshold``, ``cm_threshold``. ``value`` is NaN when
        no ASV threshold qualifies (the organisers' code fails there).
    """
    a_tar, a_non, a_spf = _three(asv_target, asv_nontarget, asv_spoof, "ASV")
    c_tar, c_non, c_spf = _three(cm_target, cm_nontarget, cm_spoof, "CM")
    for name, a, c in (
        ("target", a_tar, c_tar),
        ("nontarget", a_non, c_non),
        ("spoof", a_spf, c_spf),
    ):
        if a.size != c.size:
            raise DataError(
                f"t-EER needs the ASV and CM score of the same trials: {a.size} ASV vs "
                f"{c.size} CM {name} scores"
            )
    pmiss_asv, pfa_non_asv, pfa_spf_asv, asv_sorted = _three_class_curve(a_tar, a_non, a_spf)
    asv_thr = np.concatenate(([asv_sorted[0] - 0.001], asv_sorted))
    pmiss_cm, pfa_cm, cm_thr = sorted_rates(np.concatenate((c_tar, c_non)), c_spf)

    rho = 0.5
    allowed = np.flatnonzero(pmiss_asv < (1 - rho) * pfa_non_asv + rho * pfa_spf_asv)
    nan = {"value": float("nan"), "asv_threshold": float("nan"), "cm_threshold": float("nan")}
    if allowed.size == 0:
        return nan
    a = pmiss_asv[allowed][:, None]
    b = pfa_non_asv[allowed][:, None]
    c = pfa_spf_asv[allowed][:, None]

    def h(i: np.ndarray) -> np.ndarray:
        pm, pf = pmiss_cm[i], pfa_cm[i]
        return (pm + (1 - pm) * a) - ((1 - rho) * (1 - pm) * b + rho * pf * c)

    # h is non-decreasing along the CM curve, negative at its start on an allowed ASV threshold
    # and positive at its end: bisect for the first point with h >= 0, in all rows at once.
    n = pmiss_cm.size
    lo = np.zeros((allowed.size, 1), dtype=np.int64)
    hi = np.full((allowed.size, 1), n - 1, dtype=np.int64)
    while (lo < hi).any():
        mid = (lo + hi) // 2
        up = h(mid) >= 0
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid + 1)
    k = lo
    below = np.maximum(k - 1, 0)
    take_below = np.abs(h(below)) <= np.abs(h(k))
    idx = np.where(take_below, below, k)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        crit = np.abs(b[:, 0] / c[:, 0] - pfa_cm[idx] / (1 - pmiss_cm[idx]))
    crit[~np.isfinite(crit)] = np.inf
    if not np.isfinite(crit).any():
        return nan
    best = int(np.argmin(crit))
    j = allowed[best]
    return {
        "value": float(pfa_spf_asv[j] * pfa_cm[idx[best]]),
        "asv_threshold": float(asv_thr[j]),
        "cm_threshold": float(cm_thr[idx[best]]),
    }
