"""Explanations: permutation importance under the run's folds, SHAP, contributions, plots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dfaudio import explain as why
from dfaudio.exceptions import DataError, ParameterError


def _data(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list]:
    """Column 0 decides the class; the other columns are noise. Folds of whole groups."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.standard_normal((n, 5))
    X[:, 0] += 2.0 * y
    groups = np.arange(n) // 8
    folds = []
    for k in range(3):
        te = np.flatnonzero(groups % 3 == k)
        folds.append((np.setdiff1d(np.arange(n), te), te))
    return X, y, folds


def test_permutation_importance_ranks_the_informative_column_first() -> None:
    from sklearn.linear_model import LogisticRegression

    X, y, folds = _data()
    ests = [LogisticRegression().fit(X[tr], y[tr]) for tr, _ in folds]
    cols = ["mfcc1", "rms", "ss_mfcc1_mean", "rsz_0", "egemaps_x"]
    imp = why.permutation_importance_folds(ests, folds, X, y, cols, n_repeats=3)
    feats = imp["features"]
    assert feats[0]["feature"] == "mfcc1" and feats[0]["mean"] > 0.2
    assert all(abs(f["mean"]) < 0.05 for f in feats[1:])
    assert len(feats[0]["fold_means"]) == 3 and imp["folds_used"] == [1, 2, 3]
    assert {f["feature"]: f["set"] for f in feats}["ss_mfcc1_mean"] == "spectral-stats"
    # a fold with one class only cannot give an AUC: it is skipped, not scored
    one = [(folds[0][0], folds[0][1][y[folds[0][1]] == 0]), *folds[1:]]
    assert why.permutation_importance_folds(ests, one, X, y, cols, n_repeats=2)["folds_used"] == [
        2,
        3,
    ]
    with pytest.raises(DataError, match="both classes"):
        why.permutation_importance_folds(ests[:1], one[:1], X, y, cols)


def test_shap_for_tree_models_only_and_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.ensemble import RandomForestClassifier

    from dfaudio.models.sklearn_zoo import make_model

    X, y, _ = _data()
    cols = [f"c{i}" for i in range(5)]
    for est in (RandomForestClassifier(n_estimators=20, random_state=0), make_model("xgboost")):
        est.fit(X, y)
        summary, sv, rows = why.shap_summary(est, X, cols, max_rows=100)
        assert summary["features"][0]["feature"] == "c0" and sv.shape == (100, 5)
        # class 1 (spoof) rises with column 0: its SHAP values correlate positively with it
        assert np.corrcoef(rows[:, 0], sv[:, 0])[0, 1] > 0.5
    assert why.shap_summary(make_model("logreg").fit(X, y), X, cols) is None
    monkeypatch.setitem(sys.modules, "shap", None)
    with pytest.raises(ParameterError, match=r"-e \"\.\[explain\]\" in the dfaudio checkout"):
        why.shap_summary(RandomForestClassifier(n_estimators=5).fit(X, y), X, cols)


def test_file_contributions_of_a_linear_score_are_exact() -> None:
    w = np.array([2.0, -1.0, 0.0, 0.5])
    X = np.array([[1.0, 3.0, 9.0, 0.0], [3.0, 1.0, -9.0, 2.0]])  # column means 2, 2, 0, 1
    ref = np.array([0.0, 0.0, 5.0, 1.0])
    out = why.file_contributions(lambda Z: Z @ w, X, ref, ["a", "b", "c", "d"], top=4, batch=3)
    got = {o["feature"]: o["contribution"] for o in out}
    assert got == pytest.approx({"a": 4.0, "b": -2.0, "c": 0.0, "d": 0.0})
    assert [o["feature"] for o in out[:2]] == ["a", "b"]
    assert out[0]["toward"] == "bonafide" and out[1]["toward"] == "spoof"
    assert out[0]["value"] == 2.0 and out[0]["reference"] == 0.0


def test_reference_round_trip(tmp_path: Path) -> None:
    X = np.array([[1.0, 10.0], [3.0, 30.0]])
    why.write_reference(tmp_path, X, ["a", "b"])
    np.testing.assert_array_equal(why.read_reference(tmp_path, ["b", "a"]), [20.0, 2.0])
    with pytest.raises(DataError, match="lacks column"):
        why.read_reference(tmp_path, ["c"])
    with pytest.raises(DataError, match="re-run fit-sklearn"):
        why.read_reference(tmp_path / "old", ["a"])


@pytest.mark.slow
def test_fit_explain_then_predict_explain_and_plot(tmp_path: Path) -> None:
    from dfaudio.cli.demo import demo_data_dir
    from dfaudio.cli.main import cli
    from dfaudio.datasets import load_manifest
    from dfaudio.tables import read_table
    from dfaudio.tabular import tabulate, write_table
    from dfaudio.training.fit_sklearn import fit_sklearn

    demo = Path(demo_data_dir())
    res = tabulate(load_manifest([str(demo)]), progress=False)
    table = read_table(write_table(res.table, tmp_path / "t.csv", info=res.info))
    fit = fit_sklearn(table, model="random-forest", cv=3, runs_dir=tmp_path / "runs", explain=True)
    run = fit.run_dir
    for name in ("importance.json", "importance.png", "shap.json", "shap.png"):
        assert (run / name).stat().st_size > 0, name
    ex = json.loads((run / "metrics.json").read_text())["explain"]
    imp = json.loads((run / "importance.json").read_text())
    assert ex["top_permutation"] == [f["feature"] for f in imp["features"][:5]]
    assert len(imp["features"]) == 26
    fake = str(next((demo / "fake").glob("*.wav")))
    out = CliRunner().invoke(
        cli, ["predict", str(run), fake, "--explain", "3", "--plot", str(tmp_path / "tl.png")]
    )
    assert out.exit_code == 0, out.output
    assert out.stdout.count("  why: ") == 3
    assert (tmp_path / "tl.png").read_bytes()[:4] == b"\x89PNG"
    out = CliRunner().invoke(cli, ["predict", str(run), fake, "--explain", "--json"])
    rec = json.loads(out.stdout)[0]
    assert len(rec["explain"]) == 5 and "windows" not in rec
    # the explanation is the model's own response: setting the top feature to its training
    # mean moves the file's score by the reported contribution
    from dfaudio.scoring import load_predictor

    pred = load_predictor(run)
    X, _ = pred.backend.file_features(fake)
    top = rec["explain"][0]
    j = pred.backend.columns.index(top["feature"])
    Z = X.copy()
    Z[:, j] = top["reference"]
    moved = pred.backend.scores(X).mean() - pred.backend.scores(Z).mean()
    assert moved == pytest.approx(top["contribution"], rel=1e-9)
    out = CliRunner().invoke(cli, ["predict", str(run), fake, "--plot", str(tmp_path / "tl.png")])
    assert out.exit_code == 2 and "exists" in out.output
    # the HTML report shows both pictures in the run's section
    from dfaudio.report import render_html
    from dfaudio.runs.leaderboard import collect

    html = render_html(collect(tmp_path / "runs"))
    assert "Permutation importance under the run" in html and "SHAP summary" in html
