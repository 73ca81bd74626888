"""dfaudio.evaluation: hand-computed tables, a brute-force reference, golden ASVspoof files."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfaudio.evaluation import (
    TDCF_COSTS,
    _batch_eer,
    asv_error_rates,
    bootstrap_ci,
    compute_eer,
    compute_tdcf,
    det_curve,
    eer,
    evaluate_scores,
    label_ids,
    min_tdcf,
    per_attack,
    read_asv_scores,
    read_scores,
    roc_auc,
    summarize,
)
from dfaudio.exceptions import DataError, ParameterError
from dfaudio.labels import CLASS_NAMES

# ------------------------------------------------------------------------------------------------
# brute-force reference (plain Python loops, written from the definition)
# ------------------------------------------------------------------------------------------------


def brute_force_eer(bona: list[float], spoof: list[float]) -> tuple[float, float]:
    """Official EER by walking the trials one by one.

    Trials sorted by score with Python's stable sort, bona fide listed first (so tied bona fide
    trials come first). After each trial is rejected: FRR = bona fide rejected / n bona fide,
    FAR = spoof still accepted / n spoof. The first point with the smallest |FRR - FAR| wins.
    """
    trials = sorted([(s, "b") for s in bona] + [(s, "s") for s in spoof], key=lambda t: t[0])
    nb, ns = len(bona), len(spoof)
    best_gap, best_eer, best_thr = 1.0, 0.5, trials[0][0] - 0.001  # the point before any trial
    rejected_b = rejected_s = 0
    for score, kind in trials:
        if kind == "b":
            rejected_b += 1
        else:
            rejected_s += 1
        frr, far = rejected_b / nb, (ns - rejected_s) / ns
        if abs(frr - far) < best_gap:
            best_gap, best_eer, best_thr = abs(frr - far), (frr + far) / 2, score
    return best_eer, best_thr


def sweep_eer(bona: np.ndarray, spoof: np.ndarray) -> float:
    """EER by a threshold sweep 'reject score <= t' (equal to the official one without ties)."""
    ts = np.concatenate(([-np.inf], np.sort(np.concatenate((bona, spoof)))))
    frr = np.array([(bona <= t).mean() for t in ts])
    far = np.array([(spoof > t).mean() for t in ts])
    i = np.argmin(np.abs(frr - far))
    return (frr[i] + far[i]) / 2


# ------------------------------------------------------------------------------------------------
# EER and DET
# ------------------------------------------------------------------------------------------------


def test_eer_hand_table_exact_crossing():
    # sorted: .1s .2s .6b .7s .8b .9b; after .6b: FRR 1/3, FAR 1/3
    assert compute_eer([0.6, 0.8, 0.9], [0.1, 0.7, 0.2]) == pytest.approx((1 / 3, 0.6))


def test_eer_hand_table_mean_of_closest_rates():
    # sorted: 1s 2s 3b 3.5s 4b; points (FRR, FAR): (0,1) (0,2/3) (0,1/3) (1/2,1/3) (1/2,0) (1,0)
    # closest at (1/2, 1/3): EER = 5/12, threshold 3 (no interpolation)
    value, thr = compute_eer([3.0, 4.0], [1.0, 2.0, 3.5])
    assert value == pytest.approx(5 / 12)
    assert thr == 3.0


def test_eer_perfect_and_inverted():
    assert compute_eer([2.0, 3.0], [0.0, 1.0]) == (0.0, 1.0)
    assert compute_eer([0.0, 1.0], [2.0, 3.0])[0] == 1.0


def test_eer_constant_scores_follow_official_tie_order():
    # stable sort puts tied bona fide first: the curve passes (FRR 1, FAR 1) -> EER 1
    assert compute_eer([5.0, 5.0], [5.0, 5.0, 5.0])[0] == 1.0


def test_eer_ties_hand_table():
    # sorted: 1b 2b 2s 3s; points (0,1) (1/2,1) (1,1) (1,1/2) (1,0): first zero gap at (1,1)
    assert compute_eer([1.0, 2.0], [2.0, 3.0]) == (1.0, 2.0)
    # a tie that does not decide: 0s 1b 1s 2b -> (0,1) (0,1/2) (1/2,1/2) -> EER 1/2 at 1
    assert compute_eer([1.0, 2.0], [0.0, 1.0]) == (0.5, 1.0)


@pytest.mark.parametrize("seed", range(12))
def test_eer_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    nb, ns = rng.integers(1, 25, size=2)
    bona = rng.integers(0, 8, nb).astype(float)  # many ties
    spoof = rng.integers(-3, 5, ns).astype(float)
    got = compute_eer(bona, spoof)
    want = brute_force_eer(list(bona), list(spoof))
    assert got[0] == pytest.approx(want[0], abs=1e-12)
    assert got[1] == want[1]


@pytest.mark.parametrize("seed", range(5))
def test_eer_matches_threshold_sweep_without_ties(seed):
    rng = np.random.default_rng(100 + seed)
    bona, spoof = rng.normal(1, 1, 40), rng.normal(0, 1, 60)
    assert compute_eer(bona, spoof)[0] == pytest.approx(sweep_eer(bona, spoof), abs=1e-12)


def test_eer_invariant_under_monotone_transforms(rng):
    bona, spoof = rng.normal(1, 1, 300), rng.normal(0, 1.5, 500)
    value, thr = compute_eer(bona, spoof)
    assert 0 < value < 0.5
    for f in (np.exp, lambda x: 3 * x - 7, np.arctan, lambda x: x**3):
        v2, t2 = compute_eer(f(bona), f(spoof))
        assert v2 == pytest.approx(value, abs=1e-12)
        assert t2 == pytest.approx(f(thr))


def test_eer_is_order_independent_within_class(rng):
    bona, spoof = rng.integers(0, 5, 50).astype(float), rng.integers(0, 5, 70).astype(float)
    ref = compute_eer(bona, spoof)
    assert compute_eer(rng.permutation(bona), rng.permutation(spoof)) == ref


def test_det_curve_shape_and_ends(rng):
    bona, spoof = rng.normal(1, 1, 30), rng.normal(0, 1, 20)
    frr, far, thr = det_curve(bona, spoof)
    assert frr.shape == far.shape == thr.shape == (51,)
    assert (frr[0], far[0], frr[-1], far[-1]) == (0.0, 1.0, 1.0, 0.0)
    assert np.all(np.diff(frr) >= 0) and np.all(np.diff(far) <= 0)
    assert thr[0] == pytest.approx(min(bona.min(), spoof.min()) - 0.001)
    assert np.all(np.diff(thr) >= 0)


def test_eer_from_labels_strings_and_ids():
    labels = ["bonafide", "spoof", "bonafide", "spoof", "spoof", "bonafide"]
    scores = [0.6, 0.1, 0.8, 0.7, 0.2, 0.9]
    ids = [0, 1, 0, 1, 1, 0]
    by_ids = eer(ids, scores, bonafide_value=0)
    assert eer(labels, scores) == by_ids == eer(np.array(ids), scores, bonafide_value=0)
    assert eer(["REAL", "FAKE", "real", "fake", "Fake", "Real"], scores) == by_ids
    with pytest.raises(DataError, match="numeric labels are ambiguous"):
        eer(ids, scores)  # issue 9: 0/1 is never guessed
    assert eer(pd.Series(labels), pd.Series(scores))[0] == pytest.approx(1 / 3)


def test_label_ids_rejects_unknown_and_ambiguous():
    with pytest.raises(DataError, match="unknown label"):
        label_ids(["bonafide", "maybe"])
    with pytest.raises(DataError, match="at most two"):
        label_ids([0, 1, 2], bonafide_value=0)
    with pytest.raises(DataError, match="ambiguous"):
        label_ids([0, 1])
    with pytest.raises(DataError, match="boolean"):
        label_ids([True, False])
    np.testing.assert_array_equal(label_ids([0.0, 1.0], bonafide_value=0), [0, 1])
    np.testing.assert_array_equal(label_ids([0.0, 1.0], bonafide_value=1), [1, 0])


def test_single_class_is_a_clear_error():
    with pytest.raises(DataError, match="both classes"):
        compute_eer([], [1.0, 2.0])
    with pytest.raises(DataError, match="both classes"):
        eer(["spoof", "spoof"], [0.1, 0.2])
    with pytest.raises(DataError, match="both classes"):
        summarize(["bonafide"] * 3, [0.1, 0.2, 0.3])


def test_bad_scores_are_clear_errors():
    with pytest.raises(DataError, match="non-finite"):
        compute_eer([1.0, np.nan], [0.0])
    with pytest.raises(DataError, match="differ in length"):
        eer(["bonafide", "spoof"], [1.0])
    with pytest.raises(DataError, match="numeric"):
        compute_eer(["a"], [1.0])


# ------------------------------------------------------------------------------------------------
# summarize / ROC AUC
# ------------------------------------------------------------------------------------------------


def test_roc_auc_edges():
    assert roc_auc([0, 0, 1, 1], [3, 4, 1, 2], bonafide_value=0) == 1.0
    assert roc_auc([0, 0, 1, 1], [1, 2, 3, 4], bonafide_value=0) == 0.0
    assert roc_auc([0, 0, 1, 1], [5, 5, 5, 5], bonafide_value=0) == 0.5


def test_summarize_matches_sklearn(rng):
    from sklearn import metrics

    ids = rng.integers(0, 2, 400)
    scores = np.round(rng.normal(0, 1, 400) + 1.2 * (ids == 0), 1)  # rounded: ties
    for kind, thr in (("logodds", None), ("raw", None), ("raw", 0.3)):
        out = summarize(ids, scores, score_kind=kind, threshold=thr, bonafide_value=0)
        pred = (scores < out["threshold"]).astype(int)  # spoof = 1 when score < threshold
        assert out["accuracy"] == pytest.approx(metrics.accuracy_score(ids, pred))
        assert out["balanced_accuracy"] == pytest.approx(metrics.balanced_accuracy_score(ids, pred))
        assert out["precision"] == pytest.approx(metrics.precision_score(ids, pred))
        assert out["recall"] == pytest.approx(metrics.recall_score(ids, pred))
        assert out["f1"] == pytest.approx(metrics.f1_score(ids, pred))
        assert out["roc_auc"] == pytest.approx(metrics.roc_auc_score(ids == 0, scores))
        assert out["confusion_matrix"]["matrix"] == metrics.confusion_matrix(ids, pred).tolist()
        assert (out["eer"], out["eer_threshold"]) == eer(ids, scores, bonafide_value=0)


def test_summarize_threshold_sources_and_fields():
    labels = ["bonafide", "bonafide", "spoof", "spoof"]
    scores = [2.0, 0.5, -1.0, 1.0]
    out = summarize(labels, scores)
    assert (out["threshold"], out["threshold_source"]) == (0.0, "0 log-odds = p_fake 0.5")
    assert out["confusion_matrix"] == {"labels": ["bonafide", "spoof"], "matrix": [[2, 0], [1, 1]]}
    assert (out["n_bonafide"], out["n_spoof"], out["positive_class"]) == (2, 2, "spoof")
    assert "bona fide" in out["score_direction"]
    raw = summarize(labels, scores, score_kind="raw")
    assert raw["threshold"] == raw["eer_threshold"] and raw["threshold_source"] == "EER threshold"
    user = summarize(labels, scores, threshold=1.5)
    assert user["threshold_source"] == "user" and user["confusion_matrix"]["matrix"] == [
        [1, 1],
        [0, 2],
    ]
    assert summarize(labels, [1, 1, 1, 1])["ties_between_classes"] == 1
    with pytest.raises(ParameterError):
        summarize(labels, scores, score_kind="probability")


def test_summarize_perfect_detector():
    out = summarize([0, 0, 1, 1], [3.0, 2.0, -2.0, -3.0], bonafide_value=0)
    assert out["eer"] == 0.0 and out["roc_auc"] == 1.0 and out["accuracy"] == 1.0


# ------------------------------------------------------------------------------------------------
# t-DCF
# ------------------------------------------------------------------------------------------------


def test_asv_error_rates_hand_table():
    r = asv_error_rates([1.0, 2.0, 3.0, 4.0], [0.0, 1.5, 5.0], [0.5, 2.5], threshold=2.0)
    assert r["pmiss_asv"] == 0.25  # 1 < 2
    assert r["pfa_asv"] == pytest.approx(1 / 3)  # 5 >= 2
    assert (r["pmiss_spoof_asv"], r["pfa_spoof_asv"]) == (0.5, 0.5)


def test_tdcf_formulas_by_hand():
    bona, spoof = [1.0, 2.0, 3.0, 4.0], [0.0, 1.5, 2.5]
    rates = {"pfa_asv": 0.1, "pmiss_asv": 0.2, "pmiss_spoof_asv": 0.4}
    frr, far, _ = det_curve(bona, spoof)
    m = TDCF_COSTS["legacy"]
    c1 = m["Ptar"] * (m["Cmiss_cm"] - m["Cmiss_asv"] * 0.2) - m["Pnon"] * m["Cfa_asv"] * 0.1
    c2 = m["Cfa_cm"] * m["Pspoof"] * (1 - 0.4)
    legacy, _ = compute_tdcf(bona, spoof, formulation="legacy", **rates)
    np.testing.assert_allclose(legacy, (c1 * frr + c2 * far) / min(c1, c2))
    m = TDCF_COSTS["revised"]
    c0 = m["Ptar"] * m["Cmiss"] * 0.2 + m["Pnon"] * m["Cfa"] * 0.1
    c1, c2 = m["Ptar"] * m["Cmiss"] - c0, m["Pspoof"] * m["Cfa_spoof"] * 0.6
    revised, _ = compute_tdcf(bona, spoof, formulation="revised", **rates)
    np.testing.assert_allclose(revised, (c0 + c1 * frr + c2 * far) / (c0 + min(c1, c2)))
    # a useless CM (accept everything) costs 1 in either normalisation when C2 <= C1
    assert legacy[0] == pytest.approx(1.0) and revised[0] == pytest.approx(1.0)


def test_min_tdcf_perfect_cm(rng):
    tar, non, spf = rng.normal(5, 1, 500), rng.normal(0, 1, 500), rng.normal(4, 1, 500)
    bona, spoof = rng.normal(10, 1, 100), rng.normal(-10, 1, 100)
    legacy = min_tdcf(bona, spoof, tar, non, spf, formulation="legacy")
    revised = min_tdcf(bona, spoof, tar, non, spf, formulation="revised")
    assert legacy["min_tdcf"] == 0.0
    c = revised["coefficients"]
    assert revised["min_tdcf"] == pytest.approx(c["C0"])  # only the ASV's own cost is left
    assert set(legacy) >= {
        "min_tdcf",
        "threshold",
        "formulation",
        "asv_eer",
        "asv_threshold",
        "pfa_asv",
        "pmiss_asv",
        "pmiss_spoof_asv",
    }


def test_tdcf_errors():
    rates = {"pfa_asv": 0.1, "pmiss_asv": 0.2, "pmiss_spoof_asv": 0.4}
    with pytest.raises(DataError, match="soft"):
        compute_tdcf([1.0, 1.0], [0.0, 0.0], **rates)
    with pytest.raises(ParameterError, match="formulation"):
        compute_tdcf([1.0, 2.0], [0.0, 3.0], formulation="2019", **rates)
    with pytest.raises(ParameterError, match="sum to 1"):
        compute_tdcf([1.0, 2.0], [0.0, 3.0], costs={"Pspoof": 0.5}, **rates)
    with pytest.raises(ParameterError, match="unknown"):
        compute_tdcf([1.0, 2.0], [0.0, 3.0], costs={"Cfa_cm": 1.0}, **rates)
    with pytest.raises(DataError, match="no spoof"):
        min_tdcf([1.0, 2.0], [0.0, 3.0], [1.0], [0.0], [])


# ------------------------------------------------------------------------------------------------
# bootstrap
# ------------------------------------------------------------------------------------------------


def test_batch_eer_is_exact_on_resamples(rng):
    ids = rng.integers(0, 2, 60)
    scores = rng.integers(0, 6, 60).astype(float) + (ids == 0)  # ties across classes
    order = np.argsort(np.concatenate((scores[ids == 0], scores[ids == 1])), kind="stable")
    orig = np.concatenate((np.flatnonzero(ids == 0), np.flatnonzero(ids == 1)))[order]
    is_bona = ids[orig] == 0
    # equal-size rows (2-D path) and ragged rows (cluster path)
    for sizes in ([60] * 25, list(rng.integers(2, 90, 25))):
        counts = np.zeros((len(sizes), 60), dtype=np.int64)
        for r, size in enumerate(sizes):
            np.add.at(counts[r], rng.integers(0, 60, size), 1)
        got = _batch_eer(is_bona, counts)
        for r in range(len(sizes)):
            resample = np.repeat(orig, counts[r])
            b, s = scores[resample][ids[resample] == 0], scores[resample][ids[resample] == 1]
            if b.size and s.size:
                assert got[r] == pytest.approx(compute_eer(b, s)[0], abs=1e-12)
            else:
                assert np.isnan(got[r])


def test_bootstrap_ci_basic(rng):
    ids = rng.integers(0, 2, 2000)
    scores = rng.normal(0, 1, 2000) + 1.5 * (ids == 0)
    ids = np.asarray(CLASS_NAMES)[ids]
    point = eer(ids, scores)[0]
    low, high = bootstrap_ci(ids, scores, n_boot=300, seed=1)
    assert low < point < high and high - low < 0.1
    assert bootstrap_ci(ids, scores, n_boot=300, seed=1) == (low, high)
    alow, ahigh = bootstrap_ci(ids, scores, metric="accuracy", n_boot=300)
    assert alow < summarize(ids, scores)["accuracy"] < ahigh
    # the ASVspoof 5 metrics resample exactly like the EER: each interval holds its point
    from dfaudio.metrics import act_dcf, cllr, min_dcf

    b, s = scores[ids == "bonafide"], scores[ids == "spoof"]
    for metric, value in (
        ("min_dcf", min_dcf(b, s)["value"]),
        ("act_dcf", act_dcf(b, s)["value"]),
        ("cllr", cllr(b, s)),
    ):
        lo, hi = bootstrap_ci(ids, scores, metric=metric, n_boot=300, seed=1)
        assert lo < value < hi, metric


def test_bootstrap_groups_widen_the_interval(rng):
    # 100 recordings x 20 windows; windows of a recording share most of their score
    n_rec, n_win = 100, 20
    rec_label = rng.integers(0, 2, n_rec)
    rec_effect = rng.normal(0, 1.5, n_rec) + 1.0 * (rec_label == 0)
    groups = np.repeat(np.arange(n_rec), n_win)
    ids = rec_label[groups]
    scores = rec_effect[groups] + rng.normal(0, 0.3, n_rec * n_win)
    naive = bootstrap_ci(ids, scores, n_boot=200, bonafide_value=0)
    clustered = bootstrap_ci(ids, scores, groups=groups.astype(str), n_boot=200, bonafide_value=0)
    assert clustered[1] - clustered[0] > 2 * (naive[1] - naive[0])


def test_bootstrap_errors():
    two = ["bonafide", "spoof"]
    with pytest.raises(ParameterError):
        bootstrap_ci(two, [1.0, 0.0], metric="auc")
    with pytest.raises(ParameterError):
        bootstrap_ci(two, [1.0, 0.0], n_boot=0)
    with pytest.raises(DataError, match="both classes"):
        bootstrap_ci(["bonafide", "bonafide"], [1.0, 0.0])
    with pytest.raises(DataError, match="length"):
        bootstrap_ci(two, [1.0, 0.0], groups=[1])


# ------------------------------------------------------------------------------------------------
# score files
# ------------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_read_scores_layouts(tmp_path):
    six = _write(
        tmp_path / "six.txt",
        "LA_0039 LA_E_1 - A11 spoof -0.5\nLA_0014 LA_E_2 - - bonafide 1.5\n",
    )
    df = read_scores(six)
    assert list(df.columns) == ["speaker", "utt", "key", "score", "attack"]
    assert df.attrs["layout"] == "asvspoof" and df["attack"].tolist() == ["A11", "-"]
    four = read_scores(_write(tmp_path / "four.txt", "u1 A07 spoof -9.4\nu2 - bonafide 2\n"))
    assert four["key"].tolist() == ["spoof", "bonafide"] and four["score"].tolist() == [-9.4, 2.0]
    three = read_scores(_write(tmp_path / "three.txt", "u1  bonafide\t1e-3\n\nu2 spoof -2\n"))
    assert three["score"].tolist() == [0.001, -2.0] and "attack" not in three


def test_read_scores_dfaudio_csv_and_run_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame(
        {
            "file": ["a.wav", "a.wav", "b.wav"],
            "window": [0, 1, -1],
            "group": ["g1", "g1", "g2"],
            "label": ["bonafide", "bonafide", "spoof"],
            "score": [1.0, 2.0, -1.0],
            "p_fake": [0.27, 0.12, 0.73],
            "fold": [0, 0, 1],
        }
    ).to_csv(run / "scores.csv", index=False)
    df = read_scores(run)
    assert df.attrs == {"layout": "dfaudio-csv", "score_kind": "logodds"}
    assert df["utt"].tolist() == ["a.wav", "a.wav", "b.wav"]
    assert {"window", "group", "fold", "p_fake"} <= set(df.columns)
    ids = _write(tmp_path / "ids.csv", "label,score\n0,1.5\n1,-2\n")
    with pytest.raises(DataError, match="numeric label '0' is ambiguous"):
        read_scores(ids)  # issue 9: 0/1 is never guessed (AASIST files use 1 = bona fide)
    assert read_scores(ids, bonafide_value=0)["key"].tolist() == ["bonafide", "spoof"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("u1 0.5\nu2 0.1\n", "line 1: expected 3, 4 or 6 .* got 2"),
        ("a b c d e\n", "got 5 \\(a protocol file"),
        ("u1 A07 spoof 1\n" * 16 + "u2 1\n", "line 17: expected 4 .* got 2"),
        ("u1 spoof 1\nu2 bonafide abc\n", "line 2: non-numeric score 'abc'"),
        ("u1 spoof 1\nu2 bonafide inf\n", "line 2: non-finite score"),
        ("u1 spoof 1\nu2 genuinish 2\n", "line 2: unknown key 'genuinish'"),
        ("", "empty score file"),
        ("a,b\n1,2\n", "header with 'label' and 'score'"),
        ("label,score\nspoof,x\n", "line 2: non-numeric score"),
        ("label,value\n", "header with 'label' and 'score'"),
    ],
)
def test_read_scores_errors_name_file_and_line(tmp_path, text, message):
    path = _write(tmp_path / "bad.txt", text)
    with pytest.raises(DataError, match=message) as info:
        read_scores(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_read_scores_missing(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_scores(tmp_path / "nope.txt")
    with pytest.raises(DataError, match=r"no scores\.csv"):
        read_scores(tmp_path)


def test_read_asv_scores_three_and_six_columns(tmp_path):
    three = read_asv_scores(
        _write(tmp_path / "a3.txt", "bonafide target 7.9\nbonafide nontarget -3\nspoof spoof 2\n")
    )
    assert three["key"].tolist() == ["target", "nontarget", "spoof"]
    six = read_asv_scores(
        _write(
            tmp_path / "a6.txt",
            "LA_0015 LA_E_1 - bonafide target 7.9\nLA_0015 LA_E_2 - A07 spoof 1.5\n",
        )
    )
    assert six["attack"].tolist() == ["-", "A07"] and six["source"].tolist() == [
        "bonafide",
        "spoof",
    ]
    with pytest.raises(DataError, match="line 2: unknown ASV key 'impostor'"):
        read_asv_scores(_write(tmp_path / "bad.txt", "bonafide target 1\nbonafide impostor 2\n"))


def test_per_attack_uses_per_attack_asv_spoof_scores_when_given(tmp_path, rng):
    n = 200
    cm = pd.DataFrame(
        {
            "utt": [f"u{i}" for i in range(3 * n)],
            "key": ["bonafide"] * n + ["spoof"] * 2 * n,
            "score": np.concatenate(
                (rng.normal(2, 1, n), rng.normal(0, 1, n), rng.normal(-2, 1, n))
            ),
            "attack": ["-"] * n + ["A01"] * n + ["A02"] * n,
        }
    )
    tar, non = rng.normal(5, 1, n), rng.normal(0, 1, n)
    spf1, spf2 = rng.normal(4, 1, n), rng.normal(1, 1, n)
    lines = [f"S U - bonafide target {v}" for v in tar]
    lines += [f"S U - bonafide nontarget {v}" for v in non]
    lines += [f"S U - A01 spoof {v}" for v in spf1] + [f"S U - A02 spoof {v}" for v in spf2]
    asv6 = read_asv_scores(_write(tmp_path / "asv6.txt", "\n".join(lines) + "\n"))
    out = per_attack(cm, asv=asv6, formulation="legacy")
    assert list(out) == ["A01", "A02"] and out["A01"]["asv_spoof_scores"] == "per-attack"
    bona = cm["score"][:n].to_numpy()
    want = min_tdcf(bona, cm["score"][n : 2 * n], tar, non, spf1, formulation="legacy")
    assert out["A01"]["min_tdcf"] == pytest.approx(want["min_tdcf"])
    pooled = per_attack(cm, asv=asv6.drop(columns="attack"))
    assert pooled["A02"]["asv_spoof_scores"] == "pooled"
    assert out["A02"]["eer"] == compute_eer(bona, cm["score"][2 * n :])[0]
    with pytest.raises(DataError, match="attack column"):
        per_attack(cm.drop(columns="attack"))


def test_module_imports_nothing_heavy():
    code = (
        "import sys, dfaudio.evaluation, dfaudio.plots; "
        "heavy = [m for m in ('torch', 'librosa', 'matplotlib', 'sklearn', 'timm') "
        "if m in sys.modules]; print(heavy); sys.exit(bool(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------------
# golden files: ASVspoof 2019 LA eval (organisers' baselines and ASV scores)
# ------------------------------------------------------------------------------------------------

LA = "asvspoof2019-la"


@pytest.fixture(scope="module")
def la_files(shared_data):
    root = shared_data / LA
    return {
        "B01": read_scores(root / "B01_LA_primary_eval.txt"),
        "B02": read_scores(root / "B02_LA_primary_eval.txt"),
        "ADDMIBM": read_scores(root / "third_party_scores" / "ADDMIBM_19LA_eval_cm_scores.txt"),
        "asv": read_asv_scores(root / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt"),
    }


def _tdcf(files, system, formulation):
    df, asv = files[system], files["asv"]
    key, score = df["key"].to_numpy(), df["score"].to_numpy()
    asv_key, asv_score = asv["key"].to_numpy(), asv["score"].to_numpy()
    return min_tdcf(
        score[key == "bonafide"],
        score[key == "spoof"],
        asv_score[asv_key == "target"],
        asv_score[asv_key == "nontarget"],
        asv_score[asv_key == "spoof"],
        formulation=formulation,
    )


def test_golden_counts(la_files):
    for system in ("B01", "B02", "ADDMIBM"):
        counts = la_files[system]["key"].value_counts()
        assert (counts["bonafide"], counts["spoof"]) == (7355, 63882)
    assert la_files["asv"]["key"].value_counts().to_dict() == {
        "spoof": 63882,
        "nontarget": 33327,
        "target": 5370,
    }


@pytest.mark.parametrize(
    ("system", "want", "published"), [("B01", 0.095720, 0.0957), ("B02", 0.080898, 0.0809)]
)
def test_golden_baseline_eer(la_files, system, want, published):
    df = la_files[system]
    value, _ = eer(df["key"], df["score"])
    assert value == pytest.approx(want, abs=5e-7)
    assert round(value * 100, 2) == pytest.approx(published * 100)


def test_golden_asv_operating_point(la_files):
    t = _tdcf(la_files, "B02", "legacy")
    assert t["asv_eer"] == pytest.approx(0.024578, abs=5e-7)
    assert t["asv_threshold"] == pytest.approx(-5.680051)
    assert t["pfa_asv"] == pytest.approx(0.024605, abs=5e-7)
    assert t["pmiss_asv"] == pytest.approx(0.024581, abs=5e-7)
    assert 1 - t["pmiss_spoof_asv"] == pytest.approx(0.760652, abs=5e-7)
    # legacy normalised t-DCF = 2.40595 Pmiss_cm + Pfa_cm
    assert t["coefficients"]["C1"] == pytest.approx(2.40595, abs=5e-6)
    assert t["coefficients"]["C2"] == 1.0


@pytest.mark.parametrize(
    ("system", "legacy", "published", "revised"),
    [("B01", 0.2359, 0.2366, 0.2839), ("B02", 0.2111, 0.2116, 0.2605)],
)
def test_golden_min_tdcf(la_files, system, legacy, published, revised):
    """min t-DCF of the official baselines.

    ``legacy`` equals the organisers' Python package (tDCF_python_v2, ``compute_tDCF_legacy``) to
    1e-4. The published ASVspoof 2019 figures (0.2366 / 0.2116) differ by < 1e-3: moving the ASV
    threshold by +-1 does not close the gap, so they most likely come from another
    implementation (the MATLAB package) rather than from a different operating point; we test
    against them with a 1e-3 tolerance.
    """
    got_legacy = _tdcf(la_files, system, "legacy")["min_tdcf"]
    assert got_legacy == pytest.approx(legacy, abs=1e-4)
    assert got_legacy == pytest.approx(published, abs=1e-3)
    assert _tdcf(la_files, system, "revised")["min_tdcf"] == pytest.approx(revised, abs=1e-4)


def test_golden_third_party_near_perfect(la_files):
    df = la_files["ADDMIBM"]
    assert df.attrs["layout"] == "utt-attack-key-score"
    assert eer(df["key"], df["score"])[0] == pytest.approx(0.001084, abs=5e-7)
    assert _tdcf(la_files, "ADDMIBM", "legacy")["min_tdcf"] == pytest.approx(0.00368, abs=1e-5)
    assert _tdcf(la_files, "ADDMIBM", "revised")["min_tdcf"] == pytest.approx(0.06618, abs=1e-5)


B02_PER_ATTACK_EER_PCT = {
    "A07": 12.86,
    "A08": 0.37,
    "A09": 0.00,
    "A10": 18.97,
    "A11": 0.12,
    "A12": 4.92,
    "A13": 9.57,
    "A14": 1.22,
    "A15": 2.22,
    "A16": 6.31,
    "A17": 7.71,
    "A18": 3.58,
    "A19": 13.94,
}


def test_golden_b02_per_attack(la_files):
    out = per_attack(la_files["B02"], asv=la_files["asv"])
    assert list(out) == list(B02_PER_ATTACK_EER_PCT)
    for attack, want in B02_PER_ATTACK_EER_PCT.items():
        assert out[attack]["eer"] * 100 == pytest.approx(want, abs=0.005 + 1e-9), attack
        assert out[attack]["n_spoof"] == 4914
        assert out[attack]["asv_spoof_scores"] == "pooled"  # 3-column ASV file: no attack ids
    # A09 is perfectly detected: revised t-DCF keeps the ASV's own cost C0 (0.06273 on LA eval,
    # the "optimum value" the organisers' code prints), the legacy one drops to 0
    assert out["A09"]["min_tdcf"] == pytest.approx(0.06273, abs=1e-5)
    assert per_attack(la_files["B02"], asv=la_files["asv"], formulation="legacy")["A09"][
        "min_tdcf"
    ] == pytest.approx(0.0, abs=1e-12)
    assert out["A10"]["min_tdcf"] > out["A07"]["min_tdcf"]


def test_golden_evaluate_scores(la_files):
    result = evaluate_scores(la_files["B02"], asv=la_files["asv"], formulation="legacy")
    assert result["min_tdcf"]["value"] == pytest.approx(0.2111, abs=1e-4)
    assert result["threshold_source"] == "EER threshold"  # ASVspoof text files are raw scores
    assert result["per_attack"]["A10"]["eer"] * 100 == pytest.approx(18.97, abs=0.005)
    assert (result["n_bonafide"], result["n_spoof"]) == (7355, 63882)


@pytest.mark.slow
def test_golden_bootstrap_1000_resamples_is_fast(la_files):
    # about 4 s on one idle core; the bound leaves room for a busy machine
    df = la_files["B02"]
    result = {"eer": eer(df["key"], df["score"])[0]}
    start = time.perf_counter()
    low, high = bootstrap_ci(df["key"], df["score"], n_boot=1000)
    elapsed = time.perf_counter() - start
    assert low < result["eer"] < high and high - low < 0.01
    assert elapsed < 30, f"1000 bootstrap resamples of 71k scores took {elapsed:.1f} s"


def test_golden_files_parse_fast(shared_data):
    start = time.perf_counter()
    read_scores(shared_data / LA / "B01_LA_primary_eval.txt")
    assert time.perf_counter() - start < 3
