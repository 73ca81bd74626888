"""ASVspoof 5 metrics: golden values from the organisers' definitions, brute-force references,
invariances and edge cases.

The golden numbers come from ``experiments/asvspoof5_reference.py`` (a line-by-line re-statement of
the organisers' ``evaluation-package``; its output is ``experiments/asvspoof5_reference.txt``). The
B02 values also match DESIGN.md (minDCF 0.197372, actDCF 0.662158, Cllr 0.644360).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.metrics import (
    a_dcf,
    act_dcf,
    bayes_threshold,
    cllr,
    label_ids,
    min_cllr,
    min_dcf,
    pav_llr,
    t_eer,
)

# experiments/asvspoof5_reference.txt
GOLDEN_CM = {
    "B01_LA_primary_eval.txt": (0.220454428, 0.540308694, 0.842110076, 0.319515773),
    "B02_LA_primary_eval.txt": (0.197372380, 0.662158354, 0.644359724, 0.277514644),
    "third_party_scores/ADDMIBM_19LA_eval_cm_scores.txt": (
        0.003131084,
        0.004093758,
        0.010861218,
        0.006866307,
    ),
}
GOLDEN_SASV = {"a_dcf_asv": 0.333636857, "a_dcf_cm": 0.156125155, "t_eer": 0.019896988}
TOL = 1e-6


def _cm(shared_data, name):
    data = np.genfromtxt(shared_data / "asvspoof2019-la" / name, dtype=str)
    key, score = data[:, -2], data[:, -1].astype(np.float64)
    return score[key == "bonafide"], score[key == "spoof"]


@pytest.mark.parametrize("name", sorted(GOLDEN_CM))
def test_golden_cm_metrics(shared_data, name):
    bona, spoof = _cm(shared_data, name)
    want_min, want_act, want_cllr, want_min_cllr = GOLDEN_CM[name]
    assert min_dcf(bona, spoof)["value"] == pytest.approx(want_min, abs=TOL)
    assert act_dcf(bona, spoof)["value"] == pytest.approx(want_act, abs=TOL)
    assert cllr(bona, spoof) == pytest.approx(want_cllr, abs=TOL)
    assert min_cllr(bona, spoof) == pytest.approx(want_min_cllr, abs=TOL)


def test_golden_b02_matches_design_figures(shared_data):
    bona, spoof = _cm(shared_data, "B02_LA_primary_eval.txt")
    assert round(min_dcf(bona, spoof)["value"], 6) == 0.197372
    assert round(act_dcf(bona, spoof)["value"], 6) == 0.662158
    assert round(cllr(bona, spoof), 6) == 0.644360


def test_golden_sasv_metrics(shared_data):
    path = shared_data / "asvspoof2019-la-sasv-scores" / "dev_scores_label.csv"
    table = np.genfromtxt(path, delimiter=",", skip_header=1)
    asv, cm, lab = table[:, 0], table[:, 1], table[:, 2]
    kinds = [lab == 1, lab == 2, lab == 0]  # target, nontarget, spoof (the file's 0.0 = spoof)
    assert a_dcf(*(asv[k] for k in kinds))["value"] == pytest.approx(
        GOLDEN_SASV["a_dcf_asv"], abs=TOL
    )
    assert a_dcf(*(cm[k] for k in kinds))["value"] == pytest.approx(
        GOLDEN_SASV["a_dcf_cm"], abs=TOL
    )
    got = t_eer(*(asv[k] for k in kinds), *(cm[k] for k in kinds))
    assert got["value"] == pytest.approx(GOLDEN_SASV["t_eer"], abs=TOL)


# --------------------------------------------------------------------------------------------
# brute-force references (the organisers' loops, on small inputs with ties)
# --------------------------------------------------------------------------------------------


def _det(t, n):
    s = np.concatenate((t, n))
    lab = np.concatenate((np.ones(t.size), np.zeros(n.size)))[np.argsort(s, kind="mergesort")]
    frr = np.concatenate(([0], np.cumsum(lab) / t.size))
    far = np.concatenate(([1], (n.size - (np.arange(1, s.size + 1) - np.cumsum(lab))) / n.size))
    return frr, far


def _brute_min_dcf(b, s, p=0.05, cm=1.0, cf=10.0):
    frr, far = _det(b, s)
    best = min(cm * frr[i] * (1 - p) + cf * far[i] * p for i in range(frr.size))
    return best / min(cm * (1 - p), cf * p)


def _brute_a_dcf(t, n, s, pt, pn, ps, cm, ca, cc):
    allv = np.concatenate((t, n, s))
    lab = np.concatenate((np.ones(t.size), np.zeros(n.size), 2 * np.ones(s.size)))
    lab = lab[np.argsort(allv, kind="mergesort")]
    fn, fpn, fps = 0, n.size, s.size
    costs = [cm * pt * 0 + ca * pn * 1 + cc * ps * 1]
    for lb in lab:
        fn += lb == 1
        fpn -= lb == 0
        fps -= lb == 2
        costs.append(cm * pt * fn / t.size + ca * pn * fpn / n.size + cc * ps * fps / s.size)
    return min(costs) / min(ca * pn + cc * ps, cm * pt)


def _brute_t_eer(at, an, asp, ct, cn, csp):
    alls = np.concatenate((at, an, asp))
    lab = np.concatenate((np.ones(at.size), np.zeros(an.size), -np.ones(asp.size)))
    lab = lab[np.argsort(alls, kind="mergesort")]
    pm_a = np.concatenate(([0], np.cumsum(lab == 1) / at.size))
    pn_a = np.concatenate(([1], 1 - np.cumsum(lab == 0) / an.size))
    ps_a = np.concatenate(([1], 1 - np.cumsum(lab == -1) / asp.size))
    pm_c, pf_c = _det(np.concatenate((ct, cn)), csp)
    best, value = np.inf, np.nan
    for j in range(pm_a.size):
        h = (pm_c + (1 - pm_c) * pm_a[j]) - (0.5 * (1 - pm_c) * pn_a[j] + 0.5 * pf_c * ps_a[j])
        i = np.argmin(abs(h))
        if pm_a[j] < 0.5 * pn_a[j] + 0.5 * ps_a[j]:
            with np.errstate(divide="ignore", invalid="ignore"):
                crit = abs(pn_a[j] / ps_a[j] - pf_c[i] / (1 - pm_c[i]))
            if crit < best:
                best, value = crit, ps_a[j] * pf_c[i]
    return value


@pytest.mark.parametrize("seed", range(6))
def test_min_dcf_and_a_dcf_equal_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    b = np.round(rng.normal(1.0, 1.0, 40), 1)  # rounding makes ties within and across classes
    s = np.round(rng.normal(-0.5, 1.0, 70), 1)
    assert min_dcf(b, s)["value"] == pytest.approx(_brute_min_dcf(b, s), abs=1e-12)
    assert min_dcf(b, s, p_spoof=0.3, c_fa=2)["value"] == pytest.approx(
        _brute_min_dcf(b, s, 0.3, 1.0, 2.0), abs=1e-12
    )
    t, n = b[:25], b[25:]
    got = a_dcf(t, n, s, p_target=0.6, p_nontarget=0.3, p_spoof=0.1, c_fa_cm=20)["value"]
    want = _brute_a_dcf(t, n, s, 0.6, 0.3, 0.1, 1.0, 10.0, 20.0)
    assert got == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_t_eer_equals_brute_force_loop(seed):
    rng = np.random.default_rng(100 + seed)
    n_t, n_n, n_s = 30, 50, 60
    asv = np.concatenate(
        (rng.normal(2, 1, n_t), rng.normal(-1, 1, n_n), rng.normal(1 + seed % 3, 1.5, n_s))
    )
    cm = np.concatenate((rng.normal(1, 1, n_t + n_n), rng.normal(-1, 1.2, n_s)))
    if seed % 2:
        asv, cm = np.round(asv, 1), np.round(cm, 1)  # ties
    parts = np.split(np.arange(n_t + n_n + n_s), [n_t, n_t + n_n])
    got = t_eer(*(asv[p] for p in parts), *(cm[p] for p in parts))["value"]
    want = _brute_t_eer(*(asv[p] for p in parts), *(cm[p] for p in parts))
    assert got == pytest.approx(want, abs=1e-12)


# --------------------------------------------------------------------------------------------
# definitions, invariances and edge cases
# --------------------------------------------------------------------------------------------


def test_bayes_threshold_of_asvspoof5_costs():
    assert bayes_threshold() == pytest.approx(math.log(0.5 / 0.95))
    assert bayes_threshold() == pytest.approx(-0.641853886, abs=1e-9)
    assert bayes_threshold(p_spoof=0.5, c_fa=1) == 0.0


def test_min_dcf_is_invariant_to_monotone_maps_but_act_dcf_is_not(rng):
    b, s = rng.normal(1, 1, 300), rng.normal(-1, 1, 500)
    base = min_dcf(b, s)["value"]
    assert min_dcf(np.exp(b), np.exp(s))["value"] == pytest.approx(base, abs=1e-12)
    assert min_dcf(10 * b + 3, 10 * s + 3)["value"] == pytest.approx(base, abs=1e-12)
    # N(+-1, 1) scores: the true LLR is 2 x; a badly scaled and shifted copy costs more
    calibrated = act_dcf(2 * b, 2 * s)["value"]
    assert calibrated < base + 0.05
    assert act_dcf(10 * b - 20, 10 * s - 20)["value"] > calibrated + 0.2


def test_perfect_inverted_and_constant_scores():
    b, s = np.array([2.0, 3.0, 4.0]), np.array([-3.0, -2.0, -1.0])
    assert min_dcf(b, s)["value"] == 0.0
    assert act_dcf(b, s)["value"] == 0.0
    assert min_cllr(b, s) == 0.0
    assert min_dcf(s, b)["value"] == 1.0  # inverted: only the trivial decisions remain
    assert min_cllr(s, b) == pytest.approx(1.0)  # PAV flattens inverted scores to no information
    assert cllr(np.zeros(4), np.zeros(9)) == pytest.approx(1.0)
    assert min_cllr(np.zeros(4), np.zeros(9)) == pytest.approx(1.0)


def test_act_dcf_counts_the_bayes_decision_exactly():
    thr = bayes_threshold()
    b = np.array([thr, thr - 1e-9, 5.0, 5.0])  # one bona fide just below: a miss
    s = np.array([thr, -5.0])  # one spoof exactly at the threshold: accepted
    got = act_dcf(b, s)
    assert got["p_miss"] == 0.25 and got["p_fa"] == 0.5
    assert got["value"] == pytest.approx((0.95 * 0.25 + 0.5 * 0.5) / 0.5)


def test_cllr_is_direction_aware_and_stable(rng):
    b, s = rng.normal(2, 1, 200), rng.normal(-2, 1, 200)
    assert cllr(b, s) < 0.5 < 1.5 < cllr(s, b)
    assert np.isfinite(cllr([-800.0], [800.0]))  # overflows with log1p(exp(.))
    assert cllr([-800.0], [800.0]) == pytest.approx(800 / math.log(2), rel=1e-9)


def test_min_cllr_bounds_cllr_and_pav_is_monotone(rng):
    b, s = rng.normal(1, 1, 400), rng.normal(-1, 2, 600)
    assert min_cllr(b, s) <= cllr(b, s)
    assert min_cllr(b, s) <= cllr(3 * b - 2, 3 * s - 2)
    bl, sl, distinct, llr = pav_llr(b, s)
    assert np.all(llr[1:] >= llr[:-1])
    assert distinct.size == 1000
    # PAV LLRs are themselves the best LLRs: recalibrating them changes nothing
    assert cllr(bl.clip(-50, 50), sl.clip(-50, 50)) == pytest.approx(min_cllr(b, s), abs=1e-9)


def test_min_cllr_pools_ties():
    # one tied score holding both classes: no monotone map can split it
    assert min_cllr([0.0, 1.0], [0.0, -1.0]) == pytest.approx(0.5)


def test_bad_input_is_refused():
    with pytest.raises(DataError, match="both classes"):
        min_dcf([], [1.0])
    with pytest.raises(DataError, match="non-finite"):
        act_dcf([np.nan, 1.0], [0.0])
    with pytest.raises(ParameterError, match="p_spoof"):
        min_dcf([1.0], [0.0], p_spoof=1.0)
    with pytest.raises(ParameterError, match="c_fa"):
        act_dcf([1.0], [0.0], c_fa=0)
    with pytest.raises(DataError, match="same trials"):
        t_eer([1.0], [0.0], [0.0], [1.0, 2.0], [0.0], [0.0])
    with pytest.raises(DataError, match="no spoof trials"):
        a_dcf([1.0], [0.0], [])


def test_numeric_labels_need_an_explicit_bonafide_value():
    with pytest.raises(DataError, match="bonafide_value"):
        label_ids([0, 0, 1, 1])
    assert label_ids([0, 0, 1, 1], bonafide_value=0).tolist() == [0, 0, 1, 1]
    assert label_ids([0, 0, 1, 1], bonafide_value=1).tolist() == [1, 1, 0, 0]
    assert label_ids(np.array([2.0, 0.0]), bonafide_value=2).tolist() == [0, 1]
    assert label_ids(["real", "FAKE"]).tolist() == [0, 1]
    with pytest.raises(DataError, match="at most two"):
        label_ids([0, 1, 2], bonafide_value=0)


# --------------------------------------------------------------------------------------------
# paired comparison
# --------------------------------------------------------------------------------------------


def test_paired_bootstrap_sees_a_real_difference_and_not_a_fake_one():
    from dfaudio.metrics.paired import mcnemar, paired_bootstrap

    rng = np.random.default_rng(3)
    n = 600
    labels = np.repeat(["bonafide", "spoof"], n // 2)
    signal = np.where(labels == "bonafide", 1.0, -1.0)
    good = signal * 1.5 + rng.normal(0, 1, n)
    bad = signal * 0.5 + rng.normal(0, 1, n)
    out = paired_bootstrap(labels, good, bad, n_boot=200)
    assert out["eer"]["diff"] < 0 and out["eer"]["high"] < 0  # A (good) has the lower EER
    assert out["min_dcf"]["high"] < 0
    assert out["eer"]["low"] <= out["eer"]["diff"] <= out["eer"]["high"]
    # swapping A and B flips the sign
    swapped = paired_bootstrap(labels, bad, good, n_boot=200)
    assert swapped["eer"]["diff"] == pytest.approx(-out["eer"]["diff"])
    # a system against a monotone copy of itself: identical on every resample
    same = paired_bootstrap(labels, good, np.exp(good), n_boot=50)
    assert same["eer"]["low"] == same["eer"]["high"] == 0.0
    assert same["eer"]["p_value"] == 1.0
    m = mcnemar(labels, good, bad, threshold_a=0.0, threshold_b=0.0)
    assert m["only_b_wrong"] > m["only_a_wrong"] and m["p_value"] < 1e-6
    assert mcnemar(labels, good, good, threshold_a=0.0, threshold_b=0.0)["p_value"] == 1.0


def test_paired_bootstrap_resamples_whole_groups():
    from dfaudio.metrics.paired import paired_bootstrap

    rng = np.random.default_rng(4)
    labels = np.repeat(["bonafide", "spoof"], 200)
    groups = np.repeat(np.arange(8), 50)  # 4 bona fide groups, 4 spoof groups
    a = np.where(labels == "bonafide", 1.0, -1.0) + rng.normal(0, 1, 400)
    b = a + rng.normal(0, 1, 400)
    trial = paired_bootstrap(labels, a, b, n_boot=200, seed=1)
    grouped = paired_bootstrap(labels, a, b, groups=groups, n_boot=200, seed=1)
    assert grouped["eer"]["diff"] == trial["eer"]["diff"]
    with pytest.raises(DataError, match="same trials"):
        paired_bootstrap(labels, a, b[:-1])
