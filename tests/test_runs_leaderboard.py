"""Run directories (fit_sklearn's output), reloading saved models, and the leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfaudio.datasets import load_manifest
from dfaudio.exceptions import DataError, ParameterError
from dfaudio.models.persist import load_sklearn
from dfaudio.runs import SCORE_COLUMNS, environment, iter_runs, load_json, new_run_dir, slug
from dfaudio.runs.leaderboard import collect, render
from dfaudio.schema import DEEP_VOICE_FEATURES
from dfaudio.tables import FeatureTable, read_table
from dfaudio.tabular import tabulate, write_table
from dfaudio.training.fit_sklearn import fit_sklearn, model_scores

DEMO_REGEX = r"^(LJ\d+-\d+)"


@pytest.fixture(scope="module")
def demo_table(tmp_path_factory: pytest.TempPathFactory) -> FeatureTable:
    """The bundled demo audio (5 LJ Speech clips + WaveFake copies) as a table, once."""
    from dfaudio.cli.demo import demo_data_dir

    manifest = load_manifest([demo_data_dir()], group_regex=DEMO_REGEX)
    res = tabulate(manifest, progress=False)
    path = tmp_path_factory.mktemp("demo") / "demo.csv"
    write_table(res.table, path)
    return read_table(path)


@pytest.fixture(scope="module")
def cv_run(demo_table: FeatureTable, tmp_path_factory: pytest.TempPathFactory):
    return fit_sklearn(
        demo_table, model="logreg", cv=3, seed=0, runs_dir=tmp_path_factory.mktemp("runs")
    )


# --------------------------------------------------------------------------- run directory


def test_run_dir_layout(cv_run) -> None:
    d = cv_run.run_dir
    names = {p.name for p in d.iterdir()}
    assert {
        "config.json",
        "metrics.json",
        "scores.csv",
        "model.skops",
        "model.json",
        "environment.json",
    } <= names
    assert not [n for n in names if n.endswith(".part") or n.startswith(".")]  # no leftovers
    assert "-logreg-deep-voice" in d.name
    cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
    assert (cfg["kind"], cfg["model"], cfg["cv"], cfg["seed"]) == ("sklearn", "logreg", 3, 0)
    assert cfg["feature_columns"] == list(DEEP_VOICE_FEATURES)
    env = json.loads((d / "environment.json").read_text(encoding="utf-8"))
    assert env["seed"] == 0
    assert {"python", "numpy", "sklearn"} <= set(env["versions"])
    on_disk = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
    assert on_disk["eer"] == pytest.approx(cv_run.metrics["eer"])


def test_cv_metrics_are_fractions_with_folds_and_pooled(cv_run, demo_table) -> None:
    m = cv_run.metrics
    assert (m["kind"], m["model"], m["split_type"], m["n_folds"]) == (
        "sklearn",
        "logreg",
        "grouped",
        3,
    )
    assert m["metrics_schema"] == 2
    assert m["n_rows"] == len(demo_table.y) == m["n_test_rows"]
    for key in ("accuracy", "balanced_accuracy", "eer", "roc_auc", "f1", "eer_fold_mean"):
        assert 0.0 <= m[key] <= 1.0, key
    assert len(m["folds"]) == 3
    # the headline is the pooled held-out value; the fold mean and std sit beside it
    assert m["eer"] == m["pooled"]["eer"] and m["accuracy"] == m["pooled"]["accuracy"]
    assert m["eer_fold_mean"] == pytest.approx(np.mean([f["eer"] for f in m["folds"]]))
    assert m["eer_fold_std"] == pytest.approx(np.std([f["eer"] for f in m["folds"]], ddof=1))
    assert m["eer_threshold"] == m["pooled"]["eer_threshold"]
    assert m["n_bonafide"] + m["n_spoof"] == m["n_test_rows"]
    assert "higher score = more bona fide" in m["score_direction"]
    lo, hi = m["eer_ci95"]
    assert 0.0 <= lo <= m["eer"] <= hi <= 1.0
    assert m["bootstrap"]["unit"] == "group" and m["bootstrap"]["n_units"] == 5
    assert m["clip_level"]["n_clips"] == 10


def test_pooled_metrics_recompute_from_scores_csv(cv_run) -> None:
    """metrics.json agrees with its own scores.csv: pooled EER and the per-fold EERs."""
    from dfaudio.evaluation import summarize

    scores = pd.read_csv(cv_run.run_dir / "scores.csv")
    m = cv_run.metrics
    assert summarize(scores["label"], scores["score"])["eer"] == pytest.approx(m["eer"], abs=1e-6)
    per_fold = [summarize(p["label"], p["score"])["eer"] for _, p in scores.groupby("fold")]
    assert per_fold == pytest.approx([f["eer"] for f in m["folds"]], abs=1e-6)


def test_model_json_schema(cv_run) -> None:
    info = json.loads((cv_run.run_dir / "model.json").read_text(encoding="utf-8"))
    assert info["kind"] == "sklearn" and info["model"] == "logreg" and info["writer"] == "dfaudio"
    assert info["file"] == "model.skops" and info["format"] == "skops"
    assert info["trained_on"] == "all rows" and "bona fide score" in info["output"]
    from dfaudio.models.persist import sha256

    assert info["sha256"] == sha256(cv_run.run_dir / "model.skops")


def test_fit_in_memory_writes_nothing(demo_table, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = fit_sklearn(demo_table, model="lda", cv=3, seed=0, runs_dir=None)
    assert res.run_dir is None and list(tmp_path.iterdir()) == []
    assert res.metrics["n_folds"] == 3 and 0.0 <= res.metrics["eer"] <= 1.0
    assert len(res.scores) == len(demo_table.y)
    # the in-memory model is the refit on all rows
    from dfaudio.models.sklearn_zoo import make_model

    ref = make_model("lda", seed=0).fit(demo_table.X, demo_table.y)
    np.testing.assert_allclose(
        res.model.predict_proba(demo_table.X), ref.predict_proba(demo_table.X)
    )


def test_scores_csv(cv_run, demo_table) -> None:
    scores = pd.read_csv(cv_run.run_dir / "scores.csv")
    assert list(scores.columns[:7]) == list(SCORE_COLUMNS)
    assert len(scores) == len(demo_table.y)
    assert set(scores["fold"]) == {0, 1, 2}
    assert set(scores["label"]) == {"bonafide", "spoof"}
    # every row is scored once, by the fold that held it out; groups never straddle folds
    assert not scores.duplicated(["file", "window"]).any()
    assert scores.groupby("group")["fold"].nunique().max() == 1
    np.testing.assert_allclose(
        scores["score"], np.log((1 - scores["p_fake"]) / scores["p_fake"]), rtol=1e-4, atol=1e-4
    )


def test_hold_out_model_reloads_and_reproduces_scores(demo_table, tmp_path: Path) -> None:
    res = fit_sklearn(demo_table, model="random-forest", test_size=0.4, seed=0, runs_dir=tmp_path)
    assert res.metrics["n_folds"] == 1 and res.metrics["split_type"] == "grouped"
    assert res.metrics["model_file"].startswith("fold 1 train")
    scores = pd.read_csv(res.run_dir / "scores.csv")
    model = load_sklearn(res.run_dir)
    meta = demo_table.meta.reset_index()
    idx = scores.merge(meta, on=["file", "window"], how="left")["index"].to_numpy()
    score, p_fake, _ = model_scores(model, demo_table.X[idx])
    np.testing.assert_allclose(scores["p_fake"], p_fake, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores["score"], score, rtol=1e-5, atol=1e-5)


def test_cv_saved_model_is_refit_on_all_rows(cv_run, demo_table) -> None:
    model = load_sklearn(cv_run.run_dir)
    from dfaudio.models.sklearn_zoo import make_model

    ref = make_model("logreg", seed=0).fit(demo_table.X, demo_table.y)
    np.testing.assert_allclose(
        model.predict_proba(demo_table.X), ref.predict_proba(demo_table.X), rtol=1e-6
    )
    assert cv_run.metrics["model_file"] == "all rows"


def test_no_provenance_rows_are_numbered(demo_table, tmp_path: Path) -> None:
    bare = FeatureTable(
        X=demo_table.X,
        y=demo_table.y,
        meta=demo_table.meta.iloc[:, :0],
        features=demo_table.features,
        source="bare.csv",
    )
    res = fit_sklearn(bare, model="lda", cv=2, runs_dir=tmp_path)
    assert res.metrics["split_type"] == "stratified"
    assert "no provenance" in res.metrics["warnings"][0]
    scores = pd.read_csv(res.run_dir / "scores.csv")
    assert sorted(scores["row"]) == list(range(len(demo_table.y)))


def test_unknown_model_fails_before_writing(demo_table, tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        fit_sklearn(demo_table, model="nope", runs_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- runs module


def test_new_run_dir_is_unique(tmp_path: Path) -> None:
    a = new_run_dir(tmp_path, "xgb/deep voice")
    b = new_run_dir(tmp_path, "xgb/deep voice")
    assert a != b and a.is_dir() and b.is_dir()
    assert "/" not in a.name.split("-", 2)[-1] and " " not in a.name
    assert slug("a b/c") == "a-b-c" and slug("///") == "run"


def test_iter_runs_only_finished(tmp_path: Path) -> None:
    done = tmp_path / "r1"
    done.mkdir()
    (done / "metrics.json").write_text("{}", encoding="utf-8")
    (tmp_path / "r2").mkdir()  # unfinished: no metrics.json
    assert list(iter_runs(tmp_path)) == [done]
    assert list(iter_runs(done)) == [done]  # a run directory itself
    assert list(iter_runs(tmp_path / "missing")) == []


def test_load_json_errors(tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_text("{oops", encoding="utf-8")
    with pytest.raises(DataError, match="invalid JSON") as err:
        load_json(p)
    assert "\n" not in str(err.value)
    p.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DataError, match="expected a JSON object"):
        load_json(p)
    with pytest.raises(DataError, match="not found"):
        load_json(tmp_path / "none.json")


def test_environment_records_seed_and_versions() -> None:
    env = environment(seed=42)
    assert env["seed"] == 42 and env["versions"]["python"]
    assert "numpy" in env["versions"]


# --------------------------------------------------------------------------- leaderboard


def _fake_run(base: Path, name: str, **metrics) -> Path:
    d = base / name
    d.mkdir(parents=True)
    m = {
        "metrics_schema": 2,
        "kind": "sklearn",
        "features": "deep-voice-26",
        "data": "t.csv",
        "n_rows": 100,
        "n_bonafide": 50,
        "n_spoof": 50,
        "created": "2026-01-01T00:00:00+00:00",
        "eer_ci95": [0.01, 0.2],
        **metrics,
    }
    (d / "metrics.json").write_text(json.dumps(m), encoding="utf-8")
    return d


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    base = tmp_path / "runs"
    _fake_run(base, "r-b", model="b", eer=0.20, accuracy=0.80, roc_auc=0.85, split_type="grouped")
    _fake_run(base, "r-a", model="a", eer=0.05, accuracy=0.90, roc_auc=0.99, split_type="leaky")
    _fake_run(
        base, "r-c", model="c", eer=0.05, accuracy=0.95, roc_auc=0.98, split_type="stratified"
    )
    _fake_run(base, "r-d", model="d", eer=None, accuracy=0.5, roc_auc=None, split_type="given")
    (base / "unfinished").mkdir()
    return base


def test_collect_sorts_by_eer_then_accuracy(runs: Path) -> None:
    df = collect(runs)
    assert df["model"].tolist() == ["c", "a", "b", "d"]  # ties on EER: higher accuracy first
    assert df["split_type"].tolist() == ["stratified", "leaky", "grouped", "given"]
    assert df["rank"].tolist() == [1, 2, 3, None]  # no EER: not ranked
    assert df["note"].iloc[3] == "no EER"
    assert df.attrs["skipped"] == []


def test_tiny_run_is_listed_after_the_ranked_ones(runs: Path) -> None:
    """A perfect score on 2 trials per class does not outrank a real result."""
    _fake_run(
        runs,
        "r-tiny",
        model="tiny",
        eer=0.0,
        accuracy=1.0,
        n_bonafide=2,
        n_spoof=2,
        eer_ci95=[0.0, 0.0],
    )
    _fake_run(runs, "r-edge", model="edge", eer=0.01, accuracy=0.99, n_bonafide=25, n_spoof=24)
    df = collect(runs)
    assert df["model"].tolist() == ["c", "a", "b", "tiny", "edge", "d"]
    assert df["rank"].tolist() == [1, 2, 3, None, None, None]
    assert "2 bona fide / 2 spoof" in df["note"].iloc[3] and "< 25" in df["note"].iloc[3]
    table = render(df, "table").splitlines()
    assert table[5].lstrip().startswith("-") and "tiny" in table[5]
    recs = json.loads(render(df, "json"))
    assert [r["ranked"] for r in recs] == [True, True, True, False, False, False]
    # filtering re-ranks: the ranks stay 1, 2, ...
    from dfaudio.runs.leaderboard import rank

    sub = rank(df[df["model"].isin(["b", "tiny"])].reset_index(drop=True))
    assert sub["rank"].tolist() == [1, None]


def test_schema_1_runs_show_their_pooled_value(tmp_path: Path) -> None:
    """Old metrics.json kept the fold mean under 'eer'; the board shows the pooled value."""
    d = tmp_path / "old"
    d.mkdir()
    m = {
        "model": "old",
        "n_folds": 5,
        "eer": 0.5106,
        "eer_std": 0.1,
        "eer_ci95": [0.333, 0.486],
        "accuracy": 0.7,
        "pooled": {"eer": 0.40, "accuracy": 0.72, "n_bonafide": 40, "n_spoof": 40},
    }
    (d / "metrics.json").write_text(json.dumps(m), encoding="utf-8")
    row = collect(tmp_path).iloc[0]
    assert row["eer"] == 0.40 and row["accuracy"] == 0.72
    assert row["eer_folds"] == [0.5106, 0.1] and row["rank"] == 1


def test_add_column(runs: Path, monkeypatch) -> None:
    from dfaudio.runs import leaderboard

    monkeypatch.setattr(leaderboard, "COLUMNS", list(leaderboard.COLUMNS))
    leaderboard.add_column(
        leaderboard.Column("n_folds", "folds", lambda m: m.get("n_folds", 1), right=True),
        after="split_type",
    )
    df = collect(runs)
    header = render(df, "table").splitlines()[0].split()
    assert header[header.index("split") + 1] == "folds"
    assert json.loads(render(df, "json"))[0]["n_folds"] == 1
    with pytest.raises(ParameterError):
        leaderboard.add_column(leaderboard.Column("eer", "x", lambda m: 0))


def test_collect_skips_corrupt_metrics(runs: Path) -> None:
    bad = runs / "r-bad"
    bad.mkdir()
    (bad / "metrics.json").write_text("{not json", encoding="utf-8")
    df = collect(runs)
    assert len(df) == 4
    (skipped,) = df.attrs["skipped"]
    assert "r-bad" in skipped and "invalid JSON" in skipped


def test_render_formats(runs: Path) -> None:
    df = collect(runs)
    table = render(df, "table").splitlines()
    assert table[0].split()[:7] == ["#", "model", "kind", "features", "data", "test", "split"]
    assert table[2].split()[1] == "c" and "stratified" in table[2] and "5.00" in table[2]
    assert "leaky" in table[3] and "1.0-20.0" in table[3]
    md = render(df, "markdown").splitlines()
    assert md[0].startswith("| # | model |") and md[1].startswith("|---:|")
    assert len(md) == 2 + 4 and "| leaky |" in md[3]
    csv = pd.read_csv(__import__("io").StringIO(render(df, "csv")))
    assert csv["model"].tolist() == ["c", "a", "b", "d"]
    assert csv["eer"].iloc[0] == 0.05  # fractions, not percent
    assert {"eer_fold_mean", "eer_fold_std", "n_bonafide", "ranked"} <= set(csv.columns)
    recs = json.loads(render(df, "json"))
    assert [r["model"] for r in recs] == ["c", "a", "b", "d"]
    assert recs[1]["split_type"] == "leaky" and recs[0]["eer"] == 0.05
    assert recs[0]["eer_ci95"] == [0.01, 0.2] and recs[3]["eer"] is None
    assert "run_dir" not in recs[0]
    with pytest.raises(ParameterError):
        render(df, "html")


def test_empty_leaderboard(tmp_path: Path) -> None:
    df = collect(tmp_path)
    assert len(df) == 0
    assert render(df, "table").splitlines()[0].startswith("#")
    assert json.loads(render(df, "json")) == []


# --------------------------------------------------------------------------- real runs


@pytest.mark.slow
def test_every_leaderboard_point_lies_inside_its_interval(demo_table, cv_run, tmp_path) -> None:
    """Real runs on real audio (grouped CV and a hold-out): each EER and accuracy on the board
    is the pooled held-out value and lies inside its own 95 % interval; the fold mean is not."""
    runs_dir = cv_run.run_dir.parent
    for model, kw in (("knn", {"cv": 5}), ("gnb", {"test_size": 0.4}), ("mlp", {"cv": 4})):
        fit_sklearn(demo_table, model=model, seed=1, runs_dir=runs_dir, **kw)
    df = collect(runs_dir)
    assert len(df) >= 4
    for _, row in df.iterrows():
        m = json.loads((Path(row["run_dir"]) / "metrics.json").read_text(encoding="utf-8"))
        scores = pd.read_csv(Path(row["run_dir"]) / "scores.csv")
        from dfaudio.evaluation import summarize

        pooled = summarize(scores["label"], scores["score"])
        assert row["eer"] == pytest.approx(pooled["eer"], abs=1e-6)
        assert row["accuracy"] == pytest.approx(pooled["accuracy"], abs=1e-6)
        for key in ("eer", "accuracy"):
            lo, hi = row[f"{key}_ci95"]
            assert lo <= row[key] <= hi, (row["model"], key, row[key], (lo, hi))
        assert (row["n_bonafide"], row["n_spoof"]) == (pooled["n_bonafide"], pooled["n_spoof"])
        if m["n_folds"] > 1:
            assert row["eer_folds"][0] == pytest.approx(np.mean([f["eer"] for f in m["folds"]]))
