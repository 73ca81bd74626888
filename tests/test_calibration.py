"""Score -> LLR calibration maps: fitting, serialising, and the miscalibrated-scorer test."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.metrics import act_dcf, bayes_threshold, cllr, min_cllr, min_dcf
from dfaudio.metrics.calibration import fit_calibration, from_dict, llr_to_p_fake

#: Stated margin: after calibration on one half, actDCF on the other half is within this of the
#: other half's minDCF (measured 0.0019 logistic / 0.0041 PAV on B02 x 10 + 3, seed 0).
MARGIN = 0.02


def _b02(shared_data):
    data = np.genfromtxt(shared_data / "asvspoof2019-la" / "B02_LA_primary_eval.txt", dtype=str)
    return data[:, 4], data[:, 5].astype(np.float64)


@pytest.mark.parametrize("method", ["logistic", "pav"])
def test_miscalibrated_scorer_is_repaired_on_held_out_half(shared_data, method):
    keys, scores = _b02(shared_data)
    bad = scores * 10 + 3  # miscalibrated on purpose: same ranking, wrong scale and offset
    half = np.random.default_rng(0).permutation(keys.size) < keys.size // 2
    other_keys, other = keys[~half], bad[~half]
    bona, spoof = other[other_keys == "bonafide"], other[other_keys == "spoof"]
    floor = min_dcf(bona, spoof)["value"]
    before = act_dcf(bona, spoof)["value"]
    assert before > floor + 0.3  # far above minDCF

    cal = fit_calibration(keys[half], bad[half], method=method, fitted_on="B02 half 1")
    llr_b, llr_s = cal.transform(bona), cal.transform(spoof)
    after = act_dcf(llr_b, llr_s)["value"]
    assert after <= floor + MARGIN
    assert min_dcf(llr_b, llr_s)["value"] <= floor + 0.01  # a monotone map keeps the ranking
    assert cllr(llr_b, llr_s) < cllr(bona, spoof) / 5
    assert cllr(llr_b, llr_s) <= min_cllr(bona, spoof) + 0.02


def test_logistic_recovers_a_known_affine_llr():
    # N(+mu, 1) bona fide and N(-mu, 1) spoof: the exact LLR is 2 mu x
    rng = np.random.default_rng(1)
    mu = 1.5
    x = np.concatenate((rng.normal(mu, 1, 20000), rng.normal(-mu, 1, 20000)))
    labels = np.repeat(["bonafide", "spoof"], 20000)
    raw = (x - 7.0) / 4.0  # score = (x - 7) / 4, so llr = 2 mu (4 s + 7) = 12 s + 21
    cal = fit_calibration(labels, raw)
    assert cal.slope == pytest.approx(4 * 2 * mu, rel=0.03)
    assert cal.offset == pytest.approx(7 * 2 * mu, rel=0.03)
    # the class proportions of the training set do not leak into the LLR (prior-weighted fit)
    cal_unbalanced = fit_calibration(labels[:25000], raw[:25000])
    assert cal_unbalanced.offset == pytest.approx(cal.offset, abs=0.4)


def test_maps_are_monotone_json_and_round_trip(rng):
    labels = np.repeat(["bonafide", "spoof"], [300, 700])
    scores = np.concatenate((rng.normal(1, 1, 300), rng.normal(-1, 1.5, 700)))
    probe = np.linspace(-8, 8, 101)
    for method in ("logistic", "pav"):
        cal = fit_calibration(labels, scores, method=method)
        out = cal.transform(probe)
        assert np.all(np.diff(out) >= 0)
        assert np.isfinite(out).all()
        data = json.loads(json.dumps(cal.to_dict()))
        again = from_dict(data)
        assert np.array_equal(again.transform(probe), out)
        assert data["method"] == method and data["n_bonafide"] == 300
    pav = fit_calibration(labels, scores, method="pav")
    assert max(abs(v) for v in pav.llrs) <= math.log(1000) + 1e-12


def test_inverted_scores_give_a_decreasing_fit_for_logistic_only(rng):
    labels = np.repeat(["bonafide", "spoof"], 200)
    scores = np.concatenate((rng.normal(-1, 1, 200), rng.normal(1, 1, 200)))  # wrong direction
    assert fit_calibration(labels, scores).slope < 0
    pav = fit_calibration(labels, scores, method="pav")
    assert max(pav.llrs) - min(pav.llrs) < 1.0  # PAV flattens what it cannot order


def test_decide_uses_the_bayes_threshold_and_prior():
    cal = from_dict({"method": "logistic", "slope": 1.0, "offset": 0.0})
    thr = bayes_threshold(p_spoof=0.05)
    out = cal.decide([thr - 1e-6, thr, 5.0], p_spoof=0.05)
    assert out["is_bonafide"].tolist() == [False, True, True]
    assert out["threshold"] == pytest.approx(math.log(0.5 / 0.95))
    # at llr 0 the posterior is the prior
    assert llr_to_p_fake([0.0], p_spoof=0.05)[0] == pytest.approx(0.05)
    assert llr_to_p_fake([0.0], p_spoof=0.5)[0] == pytest.approx(0.5)
    assert llr_to_p_fake([3.0], p_spoof=0.05)[0] < 0.05


def test_bad_maps_and_arguments_are_refused():
    with pytest.raises(DataError, match="unknown calibration method"):
        from_dict({"method": "pickle", "payload": "..."})
    with pytest.raises(DataError, match="finite"):
        from_dict({"method": "logistic", "slope": float("nan"), "offset": 0})
    with pytest.raises(DataError, match="non-decreasing"):
        from_dict({"method": "pav", "scores": [0, 1], "llrs": [1, 0]})
    with pytest.raises(DataError, match="malformed"):
        from_dict({"method": "logistic", "slope": 1})
    with pytest.raises(ParameterError, match="unknown calibration method"):
        fit_calibration(["bonafide", "spoof"], [1.0, 0.0], method="beta")
    with pytest.raises(DataError, match="both classes"):
        fit_calibration(["spoof", "spoof"], [1.0, 0.0])
    with pytest.raises(DataError, match="bonafide_value"):
        fit_calibration([0, 1], [1.0, 0.0])
