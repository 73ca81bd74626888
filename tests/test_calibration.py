"""Score -> LLR calibration maps: fitting, serialising, and the miscalibrated-scorer test."""

from __future__ import annotations

import json
import math
from pathlib import Path

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


# --------------------------------------------------------------------------------------------
# calibration as a property of every run; dfaudio calibrate
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, shared_data):
    import pandas as pd

    from dfaudio.training.fit_sklearn import fit_sklearn

    df = pd.read_csv(shared_data / "deep-voice" / "DATASET-balanced.csv")
    sub = pd.concat([df[df["LABEL"] == "REAL"].iloc[:300], df[df["LABEL"] == "FAKE"].iloc[:300]])
    runs = tmp_path_factory.mktemp("runs")
    result = fit_sklearn(sub.reset_index(drop=True), model="lda", cv=3, runs_dir=runs)
    return result.run_dir


@pytest.mark.slow
def test_every_run_has_a_cross_fitted_map(small_run):
    from dfaudio.runs.calibration import load_run_calibration
    from dfaudio.scoring import load_predictor

    metrics = json.loads((small_run / "metrics.json").read_text())
    cal = metrics["calibration"]
    assert cal["file"] == "calibration.json" and cal["method"] == "logistic"
    assert "other folds" in cal["measured_on"]
    assert cal["n_measured"] == cal["n_files"] == 600
    assert cal["min_dcf"] <= cal["act_dcf"] + 1e-12
    stored = load_run_calibration(small_run)
    assert stored.slope > 0 and stored.n_bonafide == 300
    pred = load_predictor(small_run, prior_spoof=0.3)
    assert pred.calibration is not None and "p_spoof 0.3" in pred.threshold_source
    assert pred.llr(pred.threshold) == pytest.approx(bayes_threshold(p_spoof=0.3), abs=1e-9)


def test_cross_fitted_llrs_never_use_their_own_fold(rng):
    from dfaudio.runs.calibration import cross_fitted_llr

    labels = np.repeat(["bonafide", "spoof"], 200)
    scores = np.concatenate((rng.normal(1, 1, 200), rng.normal(-1, 1, 200)))
    folds = np.tile([0, 1], 200)
    got = cross_fitted_llr(labels, scores, folds)
    for f in (0, 1):
        other = fit_calibration(labels[folds != f], scores[folds != f])
        assert np.allclose(got[folds == f], other.transform(scores[folds == f]))
        own = fit_calibration(labels[folds == f], scores[folds == f])
        assert not np.allclose(got[folds == f], own.transform(scores[folds == f]))


def _score_file(path, keys, scores):
    lines = [f"u{i} {k} {s:.6f}" for i, (k, s) in enumerate(zip(keys, scores, strict=True))]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_calibrate_cli_repairs_a_miscalibrated_scorer_on_the_other_half(
    small_run, shared_data, tmp_path
):
    from click.testing import CliRunner

    from dfaudio.cli.main import cli
    from dfaudio.runs.calibration import load_run_calibration

    keys, scores = _b02(shared_data)
    bad = scores * 10 + 3
    half = np.random.default_rng(0).permutation(keys.size) < keys.size // 2
    sample = _score_file(tmp_path / "half1.txt", keys[half], bad[half])
    out = tmp_path / "recalibrated"
    res = CliRunner().invoke(
        cli, ["calibrate", str(small_run), "--data", str(sample), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "new run:" in res.output
    assert (out / "model.skops").is_file()  # the model is copied, not retrained
    assert json.loads((out / "config.json").read_text())["calibrated_from"] == str(small_run)
    assert json.loads((out / "metrics.json").read_text())["calibration"]["n_spoof"] == int(
        (keys[half] == "spoof").sum()
    )
    cal = load_run_calibration(out)
    k2, s2 = keys[~half], bad[~half]
    bona, spoof = s2[k2 == "bonafide"], s2[k2 == "spoof"]
    floor = min_dcf(bona, spoof)["value"]
    assert act_dcf(bona, spoof)["value"] > floor + 0.3
    assert act_dcf(cal.transform(bona), cal.transform(spoof))["value"] <= floor + MARGIN
    # the same through evaluate --calibration on the other half's score file
    half2 = _score_file(tmp_path / "half2.txt", k2, s2)
    ev = CliRunner().invoke(cli, ["evaluate", str(half2), "--calibration", str(out), "--json"])
    assert ev.exit_code == 0, ev.output
    data = json.loads(ev.output)
    assert (
        data["calibration_loss"]["dcf"] <= MARGIN and "calibration.json" in data["calibration_map"]
    )
    raw = json.loads(CliRunner().invoke(cli, ["evaluate", str(half2), "--json"]).output)
    assert raw["calibration_loss"]["dcf"] > 0.3
    # the parent run is untouched; a second call without --force refuses to overwrite
    assert load_run_calibration(small_run).fitted_on != cal.fitted_on
    again = CliRunner().invoke(
        cli, ["calibrate", str(small_run), "--data", str(sample), "--out", str(out)]
    )
    assert again.exit_code == 2 and "--force" in again.output


@pytest.mark.slow
def test_calibrate_refuses_a_sample_the_run_ranks_backwards(small_run, tmp_path, rng):
    from click.testing import CliRunner

    from dfaudio.cli.main import cli

    keys = np.repeat(["bonafide", "spoof"], 50)
    scores = np.concatenate((rng.normal(-2, 1, 50), rng.normal(2, 1, 50)))  # inverted
    sample = _score_file(tmp_path / "inv.txt", keys, scores)
    res = CliRunner().invoke(cli, ["calibrate", str(small_run), "--data", str(sample)])
    assert res.exit_code == 2 and "BELOW spoof" in res.output
    assert not small_run.with_name(small_run.name + "-cal").exists()


# --------------------------------------------------------------------------------------------
# fusion
# --------------------------------------------------------------------------------------------


def _voices_and_noises(root, seed, n):
    from tests.conftest import write_wav

    sr = 16000
    rng = np.random.default_rng(seed)
    for i in range(n):
        t = np.arange(int(sr * (1.1 + rng.random()))) / sr
        f0 = 120 + 200 * rng.random()
        mix = rng.random()  # overlapping classes: some voices noisy, some noises tonal
        voiced = 0.2 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3))
        voiced = voiced + 0.1 * mix * rng.standard_normal(t.size)
        write_wav(root / "real" / f"r{i:02d}.wav", voiced.astype(np.float32), sr)
        noise = 0.1 * rng.standard_normal(t.size) + 0.15 * mix * np.sin(2 * np.pi * f0 * t)
        write_wav(root / "fake" / f"f{i:02d}.wav", noise.astype(np.float32), sr)


@pytest.mark.slow
def test_fuse_writes_a_ranked_run_with_out_of_fold_scores(tmp_path):
    from click.testing import CliRunner

    from dfaudio.cli.main import cli
    from dfaudio.metrics.calibration import fit_fusion
    from dfaudio.runs.leaderboard import collect
    from dfaudio.training.fit_sklearn import fit_sklearn

    _voices_and_noises(tmp_path / "train", 0, 10)
    _voices_and_noises(tmp_path / "dev", 1, 9)
    runner = CliRunner()
    tab = runner.invoke(cli, ["tabulate", str(tmp_path / "train"), "-o", str(tmp_path / "t.csv")])
    assert tab.exit_code == 0, tab.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "t.csv")
    runs = tmp_path / "runs"
    members = [fit_sklearn(table, model=m, cv=2, runs_dir=runs).run_dir for m in ("logreg", "gnb")]
    res = runner.invoke(
        cli,
        [
            "fuse",
            *map(str, members),
            "--data",
            str(tmp_path / "dev"),
            "--cv",
            "3",
            "--runs-dir",
            str(runs),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    run = Path(out["run"])
    assert out["kind"] == "fusion" and out["n_rows"] == 18 and out["n_folds"] == 3
    assert len(out["fusion"]["weights"]) == 2 and set(out["member_eer"]) == {
        m.name for m in members
    }
    scores = pd.read_csv(run / "scores.csv")
    assert sorted(scores["fold"].unique()) == [0, 1, 2]
    # each fold's fused score comes from weights learned on the other folds only
    X = scores[["member_1", "member_2"]].to_numpy()
    for k in range(3):
        test = scores["fold"].to_numpy() == k
        w = fit_fusion(scores["label"][~test], X[~test])
        assert np.allclose(w.transform(X[test]), scores["score"][test], atol=1e-4)
    assert (run / "fusion.json").is_file() and (run / "calibration.json").is_file()
    board = collect(runs)
    assert "fusion" in set(board["kind"]) and run.name in set(board["run"])
    # predict with the fusion run: the members score the file, fusion.json's weights fuse them
    from dfaudio.scoring import load_predictor

    pred = load_predictor(run)
    spec = json.loads((run / "fusion.json").read_text())
    row = scores.iloc[0]
    got = pred.score_file(row["file"]).score
    want = row["member_1"] * spec["weights"][0] + row["member_2"] * spec["weights"][1]
    assert got == pytest.approx(want + spec["offset"], abs=1e-3)


# --------------------------------------------------------------------------------------------
# compare --paired and the leaderboard columns
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_compare_paired_on_two_runs_of_the_same_table(small_run, shared_data):
    import pandas as pd
    from click.testing import CliRunner

    from dfaudio.cli.main import cli
    from dfaudio.training.fit_sklearn import fit_sklearn

    df = pd.read_csv(shared_data / "deep-voice" / "DATASET-balanced.csv")
    sub = pd.concat([df[df["LABEL"] == "REAL"].iloc[:300], df[df["LABEL"] == "FAKE"].iloc[:300]])
    other = fit_sklearn(sub.reset_index(drop=True), model="gnb", cv=3, runs_dir=small_run.parent)
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "compare",
            "--paired",
            str(small_run),
            str(other.run_dir),
            "--bootstrap",
            "200",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n_trials"] == 600 and out["level"] == "window"
    for key in ("eer", "min_dcf"):
        v = out[key]
        assert v["diff"] == pytest.approx(v["a"] - v["b"])
        assert v["low"] <= v["diff"] <= v["high"]
    lda = json.loads((small_run / "metrics.json").read_text())
    assert out["eer"]["a"] == pytest.approx(lda["eer"], abs=1e-9)  # the same pooled trials
    m = out["mcnemar"]
    assert m["only_a_wrong"] + m["both_wrong"] == m["errors_a"]
    assert "Bayes" in m["threshold_a_source"]
    swapped = runner.invoke(
        cli,
        [
            "compare",
            "--paired",
            str(other.run_dir),
            str(small_run),
            "--bootstrap",
            "200",
            "--format",
            "json",
        ],
    )
    assert json.loads(swapped.output)["eer"]["diff"] == pytest.approx(-out["eer"]["diff"])
    text = runner.invoke(
        cli, ["compare", "--paired", str(small_run), str(other.run_dir), "--bootstrap", "100"]
    )
    assert text.exit_code == 0 and "McNemar: only A wrong" in text.output
    board = runner.invoke(cli, ["compare", str(small_run.parent)])
    assert "minDCF" in board.output and "actDCF" in board.output


def test_a_few_separable_trials_do_not_give_unbounded_llrs():
    labels = ["bonafide"] * 5 + ["spoof"] * 5
    scores = [0.5, 1.0, 1.5, 2.0, 0.3, -1.0, -2.0, -0.5, -3.0, -1.5]  # perfectly separated
    cal = fit_calibration(labels, scores)
    assert 0 < cal.slope < 5
    assert np.abs(cal.transform([-3.0, 2.0])).max() < 10
    # while thousands of trials are fitted without visible shrinkage (see the affine test)
