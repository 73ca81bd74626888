"""Golden values of the ASVspoof 5 metric set, re-stated from the organisers' evaluation package.

This script is an independent, line-by-line re-statement (read, not copied) of the definitions in
``asvspoof-challenge/asvspoof5``, folder ``evaluation-package/``:

============================  =====================================================================
here                          organisers' definition it follows
============================  =====================================================================
``ref_det_curve``             ``calculate_modules.compute_det_curve``
``ref_eer``                   ``calculate_modules.compute_eer``
``ref_min_dcf``               ``calculate_modules.compute_mindcf`` (the same Python loop)
``ref_act_dcf``               ``calculate_modules.compute_actDCF``
``ref_cllr``                  ``calculate_modules.calculate_CLLR`` (``log1p(exp(-x))`` as written)
``ref_min_cllr``              not in the package: the BOSARIS definition (``opt_loglr`` + ``cllr``):
                              PAV on the labels sorted by score, posterior log-odds minus the
                              empirical prior log-odds, then ``ref_cllr``. Tied scores form one
                              PAV block (a monotone map cannot split a tie).
``ref_a_dcf``                 ``a_dcf._calculate_a_dcf`` + ``a_dcf.compute_a_det_curve`` with the
                              cost model that ``calculate_metrics.calculate_aDCF_tdcf_tEER`` builds
                              (Ptar 0.95*0.99, Pnon 0.95*0.01, Pspoof 0.05, Cmiss 1, Cfa 10,
                              Cfa_spoof 10). ``a_dcf.CostModel``'s own defaults (0.9/0.05/0.05,
                              Cfa_cm 20) are those of the Odyssey 2024 paper, not of ASVspoof 5.
``ref_tdcf_revised``          ``calculate_modules.compute_tDCF`` (revised form, with C0)
``ref_asv_curves``            ``calculate_modules.compute_Pmiss_Pfa_Pspoof_curves``
``ref_teer``                  ``calculate_modules.compute_teer`` (latest version: rho = 0.5 only;
                              returns the concurrent t-EER ``xpoint_tEER``, here as a fraction,
                              the package multiplies by 100)
============================  =====================================================================

Where the package's driver and its definitions disagree, the definitions are followed:

- ``compute_tDCF`` (latest) takes the ASV *spoof false-alarm rate* ``Pfa_spoof_asv`` and builds
  ``C2 = Pspoof * Cfa_spoof * Pfa_spoof_asv``. One version of ``calculate_metrics.py`` passes
  ``1 - Pfa_spf_ASV_org`` (the ASV spoof *miss* rate) in that place, which inflates C2 for any ASV
  that accepts fewer than half of the spoofs. Here the false-alarm rate is passed, as the definition
  says. (Older ``compute_tDCF`` versions took ``Pmiss_spoof_asv`` and used ``1 - Pmiss_spoof_asv``,
  which is the same quantity.)
- An older ``calculate_metrics.py`` passes the scalar ``Pmiss_asv`` to ``compute_teer`` where the
  ASV miss-rate *curve* belongs; the curve is used here.

Inputs (relative to the repository root):

- ``../shared/data/asvspoof2019-la/B01_LA_primary_eval.txt``, ``B02_LA_primary_eval.txt`` (official
  baselines) and ``third_party_scores/ADDMIBM_19LA_eval_cm_scores.txt``: CM metrics.
- ``../shared/data/asvspoof2019-la/ASVspoof2019.LA.asv.eval.gi.trl.scores.txt``: the organisers'
  ASV scores, for the t-DCF of B01/B02 (ASV fixed at its EER threshold). This file has no utterance
  ids and 38,697 bona fide ASV trials against 7,355 bona fide CM trials, so it cannot be joined
  trial by trial with the CM scores: a-DCF and t-EER, which need the ASV and CM score of the *same*
  trial, cannot be computed for B01/B02 from the shared files.
- ``../shared/data/asvspoof2019-la-sasv-scores/dev_scores_label.csv`` (from the same asvspoof5
  repository): ASV and CM scores of the same 29,548 SASV trials (labels 1 target, 2 nontarget,
  0 spoof). a-DCF (with the ASV score, and with the CM score, as the single SASV score) and t-EER
  (ASV + CM) come from this file.

Run from the repository root::

    python experiments/asvspoof5_reference.py > experiments/asvspoof5_reference.txt

Runtime: about a minute on one core (the t-EER loop is quadratic, as in the package).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LA = DATA / "asvspoof2019-la"
FILES = {
    "B01": LA / "B01_LA_primary_eval.txt",
    "B02": LA / "B02_LA_primary_eval.txt",
    "ADDMIBM": LA / "third_party_scores" / "ADDMIBM_19LA_eval_cm_scores.txt",
}
ASV_FILE = LA / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt"
SASV_CSV = DATA / "asvspoof2019-la-sasv-scores" / "dev_scores_label.csv"

# ASVspoof 5 cost model (calculate_metrics.py)
PSPOOF = 0.05
CMISS = 1.0
CFA = 10.0
TDCF_MODEL = {
    "Pspoof": PSPOOF,
    "Ptar": (1 - PSPOOF) * 0.99,
    "Pnon": (1 - PSPOOF) * 0.01,
    "Cmiss": 1.0,
    "Cfa": 10.0,
    "Cfa_spoof": 10.0,
}


# ------------------------------------------------------------------------------------------------
# CM metrics (track 1)
# ------------------------------------------------------------------------------------------------


def ref_det_curve(target_scores, nontarget_scores):
    """compute_det_curve: stable sort of [target, nontarget], cumulative counts."""
    n_scores = target_scores.size + nontarget_scores.size
    all_scores = np.concatenate((target_scores, nontarget_scores))
    labels = np.concatenate((np.ones(target_scores.size), np.zeros(nontarget_scores.size)))
    indices = np.argsort(all_scores, kind="mergesort")
    labels = labels[indices]
    tar_trial_sums = np.cumsum(labels)
    nontarget_trial_sums = nontarget_scores.size - (np.arange(1, n_scores + 1) - tar_trial_sums)
    frr = np.concatenate((np.atleast_1d(0), tar_trial_sums / target_scores.size))
    far = np.concatenate((np.atleast_1d(1), nontarget_trial_sums / nontarget_scores.size))
    thresholds = np.concatenate(
        (np.atleast_1d(all_scores[indices[0]] - 0.001), all_scores[indices])
    )
    return frr, far, thresholds


def ref_eer(target_scores, nontarget_scores):
    """compute_eer: mean of FRR and FAR at the first point where they are closest."""
    frr, far, thresholds = ref_det_curve(target_scores, nontarget_scores)
    min_index = np.argmin(np.abs(frr - far))
    return float(np.mean((frr[min_index], far[min_index]))), frr, far, thresholds


def ref_min_dcf(frr, far, thresholds, p_spoof, c_miss, c_fa):
    """compute_mindcf: the loop over every DET point, normalised by the best trivial cost."""
    min_c_det = float("inf")
    min_c_det_threshold = thresholds
    p_target = 1 - p_spoof
    for i in range(0, len(frr)):
        c_det = c_miss * frr[i] * p_target + c_fa * far[i] * (1 - p_target)
        if c_det < min_c_det:
            min_c_det = c_det
            min_c_det_threshold = thresholds[i]
    c_def = min(c_miss * p_target, c_fa * (1 - p_target))
    return min_c_det / c_def, min_c_det_threshold


def ref_act_dcf(bonafide_scores, spoof_scores, p_spoof, c_miss, c_fa):
    """compute_actDCF: the cost at the Bayes threshold -log(beta), scores read as LLRs."""
    beta = c_miss * (1 - p_spoof) / (c_fa * p_spoof)
    threshold = -np.log(beta)
    rate_miss = np.sum(bonafide_scores < threshold) / bonafide_scores.size
    rate_fa = np.sum(spoof_scores >= threshold) / spoof_scores.size
    act_dcf = c_miss * (1 - p_spoof) * rate_miss + c_fa * p_spoof * rate_fa
    act_dcf = act_dcf / np.min([c_fa * p_spoof, c_miss * (1 - p_spoof)])
    return float(act_dcf), float(threshold)


def ref_cllr(target_llrs, nontarget_llrs):
    """calculate_CLLR: 0.5 (mean -log sigmoid(tar) + mean -log sigmoid(-non)) / log 2."""

    def negative_log_sigmoid(lodds):
        return np.log1p(np.exp(-lodds))

    target_llrs = np.array(target_llrs)
    nontarget_llrs = np.array(nontarget_llrs)
    return float(
        0.5
        * (
            np.mean(negative_log_sigmoid(target_llrs))
            + np.mean(negative_log_sigmoid(-nontarget_llrs))
        )
        / np.log(2)
    )


def ref_pav(y, w):
    """Plain pool-adjacent-violators: the non-decreasing fit of y (weights w), block by block."""
    values: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for yi, wi in zip(y, w, strict=True):
        values.append(float(yi))
        weights.append(float(wi))
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            v2, w2, n2 = values.pop(), weights.pop(), sizes.pop()
            v1, w1, n1 = values.pop(), weights.pop(), sizes.pop()
            values.append((v1 * w1 + v2 * w2) / (w1 + w2))
            weights.append(w1 + w2)
            sizes.append(n1 + n2)
    return np.repeat(values, sizes)


def ref_min_cllr(target_scores, nontarget_scores):
    """BOSARIS min Cllr: Cllr of the optimal monotone (PAV) LLRs, tied scores pooled first."""
    scores = np.concatenate((nontarget_scores, target_scores))
    is_tar = np.concatenate((np.zeros(nontarget_scores.size), np.ones(target_scores.size)))
    # pool exact ties: one point per distinct score, weight = its count, value = its target share
    _, inverse = np.unique(scores, return_inverse=True)
    count = np.bincount(inverse)
    n_tar_at = np.bincount(inverse, weights=is_tar)
    p_opt_distinct = ref_pav(n_tar_at / count, count)
    p_opt = p_opt_distinct[inverse]
    log_prior_odds = np.log(target_scores.size / nontarget_scores.size)
    with np.errstate(divide="ignore"):
        llr = np.log(p_opt) - np.log1p(-p_opt) - log_prior_odds
    tar_llr = llr[nontarget_scores.size :]
    non_llr = llr[: nontarget_scores.size]
    # -log sigmoid(+-inf) terms: 0 for the right sign (log1p(exp(-inf)) = 0); PAV never gives a
    # target an LLR of -inf (its block holds a target, so p_opt > 0) nor a nontarget +inf.
    return ref_cllr(tar_llr, non_llr)


def track1(name: str, path: Path) -> dict[str, float]:
    data = np.genfromtxt(path, dtype=str)
    keys, scores = data[:, -2], data[:, -1].astype(np.float64)
    bona = scores[keys == "bonafide"]
    spoof = scores[keys == "spoof"]
    eer, frr, far, thresholds = ref_eer(bona, spoof)
    min_dcf, min_thr = ref_min_dcf(frr, far, thresholds, PSPOOF, CMISS, CFA)
    act_dcf, act_thr = ref_act_dcf(bona, spoof, PSPOOF, CMISS, CFA)
    cllr = ref_cllr(bona, spoof)
    min_cllr = ref_min_cllr(bona, spoof)
    print(f"{name}: {path.name} ({bona.size} bona fide, {spoof.size} spoof)")
    print(f"  EER        = {eer:.9f}")
    print(f"  minDCF     = {min_dcf:.9f}   (threshold {min_thr:.6f})")
    print(f"  actDCF     = {act_dcf:.9f}   (Bayes threshold {act_thr:.6f})")
    print(f"  Cllr       = {cllr:.9f} bits")
    print(f"  minCllr    = {min_cllr:.9f} bits")
    return {"eer": eer, "min_dcf": min_dcf, "act_dcf": act_dcf, "cllr": cllr, "min_cllr": min_cllr}


# ------------------------------------------------------------------------------------------------
# t-DCF with the 2019 ASV scores (ASV at its EER threshold)
# ------------------------------------------------------------------------------------------------


def ref_asv_rates(tar_asv, non_asv, spoof_asv, asv_threshold):
    """obtain_asv_error_rates."""
    pfa_asv = sum(non_asv >= asv_threshold) / non_asv.size
    pmiss_asv = sum(tar_asv < asv_threshold) / tar_asv.size
    pmiss_spoof_asv = np.sum(spoof_asv < asv_threshold) / spoof_asv.size
    pfa_spoof_asv = np.sum(spoof_asv >= asv_threshold) / spoof_asv.size
    return pfa_asv, pmiss_asv, pmiss_spoof_asv, pfa_spoof_asv


def ref_tdcf_revised(bona_cm, spoof_cm, pfa_asv, pmiss_asv, pfa_spoof_asv, m):
    """compute_tDCF (latest): (C0 + C1 Pmiss_cm + C2 Pfa_cm) / (C0 + min(C1, C2))."""
    pmiss_cm, pfa_cm, _ = ref_det_curve(bona_cm, spoof_cm)
    c0 = m["Ptar"] * m["Cmiss"] * pmiss_asv + m["Pnon"] * m["Cfa"] * pfa_asv
    c1 = m["Ptar"] * m["Cmiss"] - (
        m["Ptar"] * m["Cmiss"] * pmiss_asv + m["Pnon"] * m["Cfa"] * pfa_asv
    )
    c2 = m["Pspoof"] * m["Cfa_spoof"] * pfa_spoof_asv
    tdcf = c0 + c1 * pmiss_cm + c2 * pfa_cm
    return tdcf / (c0 + np.minimum(c1, c2))


def tdcf_2019(name: str, path: Path, asv: np.ndarray) -> float:
    data = np.genfromtxt(path, dtype=str)
    keys, scores = data[:, -2], data[:, -1].astype(np.float64)
    asv_keys, asv_scores = asv[:, 1], asv[:, 2].astype(np.float64)
    tar, non, spf = (asv_scores[asv_keys == k] for k in ("target", "nontarget", "spoof"))
    _, frr, far, thr = ref_eer(tar, non)
    asv_threshold = thr[np.argmin(np.abs(frr - far))]
    pfa, pmiss, _pmiss_spf, pfa_spf = ref_asv_rates(tar, non, spf, asv_threshold)
    curve = ref_tdcf_revised(
        scores[keys == "bonafide"], scores[keys == "spoof"], pfa, pmiss, pfa_spf, TDCF_MODEL
    )
    value = float(np.min(curve))
    # the driver's slip, for the record: the spoof miss rate in the false-alarm rate's place
    slip = float(
        np.min(
            ref_tdcf_revised(
                scores[keys == "bonafide"],
                scores[keys == "spoof"],
                pfa,
                pmiss,
                1 - pfa_spf,
                TDCF_MODEL,
            )
        )
    )
    print(
        f"{name}: min t-DCF (revised, ASV at its EER threshold {asv_threshold:.6f}, "
        f"Pfa {pfa:.6f}, Pmiss {pmiss:.6f}, Pfa_spoof {pfa_spf:.6f}) = {value:.9f}"
        f"   [with the driver's 1 - Pfa_spoof: {slip:.9f}]"
    )
    return value


# ------------------------------------------------------------------------------------------------
# SASV metrics (track 2)
# ------------------------------------------------------------------------------------------------


def ref_a_det_curve(trg_scores, nontrg_scores, spf_scores):
    """compute_a_det_curve: one step per sorted trial (the package's Python loop)."""
    all_scores = np.concatenate((trg_scores, nontrg_scores, spf_scores))
    labels = np.concatenate(
        (np.ones_like(trg_scores), np.zeros_like(nontrg_scores), np.ones_like(spf_scores) + 1)
    )
    indices = np.argsort(all_scores, kind="mergesort")
    labels = labels[indices]
    scores_sorted = all_scores[indices]
    fp_nontrg, fp_spf, fn = len(nontrg_scores), len(spf_scores), 0
    far_asvs, far_cms, frrs = [1.0], [1.0], [0.0]
    thresh = [float(np.min(scores_sorted)) - 1e-8]
    for sco, lab in zip(scores_sorted, labels, strict=True):
        if lab == 0:
            fp_nontrg -= 1
        elif lab == 1:
            fn += 1
        elif lab == 2:
            fp_spf -= 1
        far_asvs.append(fp_nontrg / len(nontrg_scores))
        far_cms.append(fp_spf / len(spf_scores))
        frrs.append(fn / len(trg_scores))
        thresh.append(sco)
    return far_asvs, far_cms, frrs, thresh


def ref_a_dcf(trg, nontrg, spf, *, ptrg, pnon, pspf, cmiss, cfa_asv, cfa_cm):
    """_calculate_a_dcf + normalize: min over thresholds / min(all-accept, all-reject) cost."""
    far_asvs, far_cms, frrs, thresh = ref_a_det_curve(trg, nontrg, spf)
    a_dcfs = (
        np.array([cmiss * ptrg]) * np.array(frrs)
        + np.array([cfa_asv * pnon]) * np.array(far_asvs)
        + np.array([cfa_cm * pspf]) * np.array(far_cms)
    )
    all_accept = np.array([cfa_asv * pnon + cfa_cm * pspf])
    all_reject = np.array([cmiss * ptrg])
    normed = a_dcfs / min(all_accept, all_reject)
    i = np.argmin(normed)
    return float(normed[i]), float(thresh[i])


def ref_asv_curves(tar_scores, non_scores, spf_scores):
    """compute_Pmiss_Pfa_Pspoof_curves."""
    all_scores = np.concatenate((tar_scores, non_scores, spf_scores))
    labels = np.concatenate(
        (np.ones(tar_scores.size), np.zeros(non_scores.size), -1 * np.ones(spf_scores.size))
    )
    indices = np.argsort(all_scores, kind="mergesort")
    labels = labels[indices]
    tar_sums = np.cumsum(labels == 1)
    non_sums = np.cumsum(labels == 0)
    spoof_sums = np.cumsum(labels == -1)
    pmiss = np.concatenate((np.atleast_1d(0), tar_sums / tar_scores.size))
    pfa_non = np.concatenate((np.atleast_1d(1), 1 - (non_sums / non_scores.size)))
    pfa_spoof = np.concatenate((np.atleast_1d(1), 1 - (spoof_sums / spf_scores.size)))
    thresholds = np.concatenate(
        (np.atleast_1d(all_scores[indices[0]] - 0.001), all_scores[indices])
    )
    return pmiss, pfa_non, pfa_spoof, thresholds


def ref_teer(pmiss_cm, pfa_cm, pmiss_asv, pfa_non_asv, pfa_spf_asv):
    """compute_teer (rho = 0.5): the concurrent t-EER at the best intersection point."""
    rho = 0.5
    best_crit = np.inf
    xpoint_teer = np.nan
    for j in range(len(pmiss_asv)):
        pmiss_tdm = pmiss_cm + (1 - pmiss_cm) * pmiss_asv[j]
        pfa_tdm = (1 - rho) * (1 - pmiss_cm) * pfa_non_asv[j] + rho * pfa_cm * pfa_spf_asv[j]
        tmp = np.argmin(abs(pmiss_tdm - pfa_tdm))
        if pmiss_asv[j] < (1 - rho) * pfa_non_asv[j] + rho * pfa_spf_asv[j]:
            with np.errstate(divide="ignore", invalid="ignore"):
                lhs = pfa_non_asv[j] / pfa_spf_asv[j]
                rhs = pfa_cm[tmp] / (1 - pmiss_cm[tmp])
            crit = abs(lhs - rhs)
            if crit < best_crit:
                best_crit = crit
                xpoint_teer = pfa_spf_asv[j] * pfa_cm[tmp]
    return float(xpoint_teer)


def track2() -> dict[str, float]:
    table = np.genfromtxt(SASV_CSV, delimiter=",", skip_header=1)
    asv, cm, lab = table[:, 0], table[:, 1], table[:, 2]
    tar, non, spf = lab == 1, lab == 2, lab == 0
    print(
        f"SASV dev: {SASV_CSV.name} ({tar.sum()} target, {non.sum()} nontarget, {spf.sum()} spoof)"
    )
    cost = dict(
        ptrg=TDCF_MODEL["Ptar"],
        pnon=TDCF_MODEL["Pnon"],
        pspf=TDCF_MODEL["Pspoof"],
        cmiss=TDCF_MODEL["Cmiss"],
        cfa_asv=TDCF_MODEL["Cfa"],
        cfa_cm=TDCF_MODEL["Cfa_spoof"],
    )
    out = {}
    for name, s in (("asv", asv), ("cm", cm)):
        value, thr = ref_a_dcf(s[tar], s[non], s[spf], **cost)
        out[f"a_dcf_{name}"] = value
        label = f"a-DCF ({name.upper()} score as the SASV score)"
        print(f"  {label:<41} = {value:.9f}  (threshold {thr:.6f})")
    pmiss_asv, pfa_non_asv, pfa_spf_asv, _ = ref_asv_curves(asv[tar], asv[non], asv[spf])
    pmiss_cm, pfa_cm, _ = ref_det_curve(np.concatenate([cm[tar], cm[non]]), cm[spf])
    t0 = time.perf_counter()
    teer = ref_teer(pmiss_cm, pfa_cm, pmiss_asv, pfa_non_asv, pfa_spf_asv)
    out["t_eer"] = teer
    seconds = time.perf_counter() - t0
    print(f"  {'t-EER (ASV + CM, concurrent)':<41} = {teer:.9f}  ({seconds:.0f} s)")
    return out


def main() -> int:
    missing = [p for p in (*FILES.values(), ASV_FILE, SASV_CSV) if not p.is_file()]
    if missing:
        print(f"missing input: {missing[0]}", file=sys.stderr)
        return 2
    print(f"ASVspoof 5 metrics (Pspoof {PSPOOF}, Cmiss {CMISS:g}, Cfa {CFA:g})\n")
    results = {name: track1(name, path) for name, path in FILES.items()}
    print()
    asv = np.genfromtxt(ASV_FILE, dtype=str)
    for name in ("B01", "B02"):
        tdcf_2019(name, FILES[name], asv)
    print()
    track2()
    print()
    design = {"min_dcf": 0.197372, "act_dcf": 0.662158, "cllr": 0.644360}
    ok = all(abs(results["B02"][k] - v) < 5e-7 for k, v in design.items())
    print(
        "check against DESIGN.md (B02 minDCF 0.197372, actDCF 0.662158, Cllr 0.644360): "
        + ("reproduced to 6 decimals" if ok else "MISMATCH")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
