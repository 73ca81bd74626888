"""Generalization: paired-name grouping, held-out attack/speaker folds, cross-corpus evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfaudio.datasets import load_manifest
from dfaudio.datasets.pairs import group_pairs, pair_key, separated_pairs
from dfaudio.training.splits import plan_splits
from tests.conftest import tone, write_wav

# ----------------------------------------------------------------------------------------------
# pairs
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "key"),
    [
        ("LJ001-0001_gen", "lj001-0001"),
        ("LJ001-0001_generated", "lj001-0001"),
        ("LJ001-0001", "lj001-0001"),
        ("p225_001_melgan", "p225_001"),
        ("hifigan-p225_001", "p225_001"),
        ("encodec_24khz+p225_273", "p225_273"),
        ("genuine+p225_273", "p225_273"),
        ("p225_001_mic1", "p225_001_mic1"),  # no marker: the name itself
    ],
)
def test_pair_key(stem: str, key: str) -> None:
    assert pair_key(stem)[0] == key


def _manifest(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["path", "label", "group"])


def test_group_pairs_merges_only_cross_class_names() -> None:
    m = _manifest(
        [
            ("r/a.wav", "bonafide", "a"),
            ("f/a_gen.wav", "spoof", "a_gen"),
            ("r/b.wav", "bonafide", "b"),
            ("f/c_gen.wav", "spoof", "c_gen"),  # no real c: stays alone
            ("r/d_gen.wav", "bonafide", "d_gen"),  # same class only: not a pair
            ("r/d.wav", "bonafide", "d"),
        ]
    )
    out, info = group_pairs(m)
    g = dict(zip(out["path"], out["group"], strict=True))
    assert g["r/a.wav"] == g["f/a_gen.wav"]
    assert len({g["r/b.wav"], g["f/c_gen.wav"], g["r/d_gen.wav"], g["r/d.wav"]}) == 4
    assert info.n_pairs == 1 and info.n_files == 2
    assert (info.n_groups_before, info.n_groups_after) == (6, 5)
    assert "1 real/fake name pairs" in info.describe()


def test_group_pairs_keeps_speaker_groups_whole() -> None:
    # two utterances of one speaker (one group) + a fake of one of them -> one group of three
    m = _manifest(
        [
            ("r/s1_u1.wav", "bonafide", "spk1"),
            ("r/s1_u2.wav", "bonafide", "spk1"),
            ("f/s1_u1_gen.wav", "spoof", "x"),
            ("f/s2_u1_gen.wav", "spoof", "y"),
        ]
    )
    out, _ = group_pairs(m)
    assert out["group"].iloc[:3].nunique() == 1
    assert out["group"].iloc[3] != out["group"].iloc[0]


def test_wavefake_pairs_are_grouped_by_default(shared_data: Path) -> None:
    root = shared_data / "wavefake-melgan-mh"
    if not root.is_dir():
        pytest.skip("wavefake-melgan-mh not present")
    m = load_manifest([root])
    assert len(m) == 106
    assert m["group"].nunique() == 53
    assert m.attrs["pairs"].n_pairs == 53
    # grouped folds never separate a real clip from its MelGAN copy ...
    y = (m["label"] == "spoof").to_numpy().astype(int)
    plan = plan_splits(y, groups=m["group"].to_numpy(), cv=5)
    for tr, te in plan.folds:
        assert separated_pairs(m, tr, te) == []
    # ... while the per-recording groups of --no-pairs do
    m0 = load_manifest([root], pair_groups=False)
    assert m0["group"].nunique() == 106
    plan0 = plan_splits(y, groups=m0["group"].to_numpy(), cv=5)
    assert any(separated_pairs(m0, tr, te) for tr, te in plan0.folds)


def test_same_name_in_real_and_fake_folders(tmp_path: Path) -> None:
    for name, freq in (("u1", 200), ("u2", 300), ("u3", 400)):
        write_wav(tmp_path / "real" / f"{name}.wav", tone(freq, duration_s=0.2), 16000)
        write_wav(tmp_path / "fake" / "melgan" / f"{name}.wav", tone(freq, duration_s=0.2), 16000)
    m = load_manifest([tmp_path])
    assert m["group"].nunique() == 3
    assert m.attrs["pairs"].rules == {"same-name": 3}
    assert load_manifest([tmp_path], pair_groups=False)["group"].nunique() == 6


def test_tabulate_summary_says_pairs(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dfaudio.cli.main import cli

    for name, freq in (("a", 200), ("b", 300)):
        write_wav(tmp_path / "d" / "real" / f"{name}.wav", tone(freq, duration_s=1.2), 16000)
        write_wav(tmp_path / "d" / "fake" / f"{name}_gen.wav", tone(freq, duration_s=1.2), 16000)
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(cli, ["tabulate", str(tmp_path / "d"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "2 real/fake name pairs" in res.output
    t = pd.read_csv(out)
    assert t.groupby("group")["label"].nunique().eq(2).all()


def test_labels_tsv_folder_is_a_dataset(shared_data: Path) -> None:
    root = shared_data / "codecfake-demo"
    if not root.is_dir():
        pytest.skip("codecfake-demo not present")
    m = load_manifest([root])
    assert len(m) == 80
    assert (m["label"] == "bonafide").sum() == 5
    assert set(m.loc[m["label"] == "bonafide", "attack"]) == {"-"}
    assert m["group"].nunique() == 5  # SYSTEM+UTT: every utterance one group
    assert np.all(m.groupby("group")["label"].nunique() == 2)


# ----------------------------------------------------------------------------------------------
# held-out attacks and speakers
# ----------------------------------------------------------------------------------------------


def _attack_corpus(n_utts: int = 12, attacks: tuple[str, ...] = ("A01", "A02", "A03", "A04")):
    """A paired corpus: every utterance has a real row and one fake per attack, in one group."""
    rows = []
    for u in range(n_utts):
        spk = f"spk{u % 4}"
        rows.append(("bonafide", "-", f"u{u}", spk))
        for a in attacks:
            if (u + len(a)) % 5:  # not every utterance has every attack
                rows.append(("spoof", a, f"u{u}", spk))
    df = pd.DataFrame(rows, columns=["label", "attack", "group", "speaker"])
    y = (df["label"] == "spoof").to_numpy().astype(int)
    return df, y


@pytest.mark.parametrize("cv", [2, 3, 5])
def test_no_fold_tests_an_attack_it_trained_on(cv: int) -> None:
    df, y = _attack_corpus()
    att = df["attack"].to_numpy()
    groups = df["group"].to_numpy()
    plan = plan_splits(y, groups=groups, attacks=att, cv=cv, split_by="attack")
    assert plan.protocol == "attack" and plan.split_type == "grouped"
    assert plan.fold_names is not None and len(plan.fold_names) == len(plan.folds)
    tested = np.zeros(len(y), dtype=int)
    for (tr, te), name in zip(plan.folds, plan.fold_names, strict=True):
        assert name not in set(att[tr])  # the held-out attack never trains
        assert set(att[te][y[te] == 1]) == {name}  # and is the only attack tested
        assert not set(groups[tr]) & set(groups[te])  # a real clip and its fakes stay together
        assert set(y[te]) == {0, 1}
        tested[te[y[te] == 1]] += 1
    assert sorted(set(plan.fold_names)) == ["A01", "A02", "A03", "A04"]
    assert (tested[y == 1] == 1).all()  # every spoof is tested exactly once


def test_split_by_attack_needs_attacks() -> None:
    from dfaudio.exceptions import ParameterError

    df, y = _attack_corpus()
    with pytest.raises(ParameterError, match="needs an 'attack' column"):
        plan_splits(y, groups=df["group"].to_numpy(), split_by="attack")
    one = np.where(y == 1, "A01", "-")
    with pytest.raises(ParameterError, match="at least 2 attacks"):
        plan_splits(y, groups=df["group"].to_numpy(), attacks=one, split_by="attack")


def test_split_by_speaker_keeps_speakers_and_groups_apart() -> None:
    from dfaudio.exceptions import ParameterError

    df, y = _attack_corpus()
    spk, groups = df["speaker"].to_numpy(), df["group"].to_numpy()
    plan = plan_splits(y, groups=groups, speakers=spk, cv=2, split_by="speaker")
    assert plan.protocol == "speaker" and "over 4 speakers" in plan.description
    for tr, te in plan.folds:
        assert not set(spk[tr]) & set(spk[te])
        assert not set(groups[tr]) & set(groups[te])
    with pytest.raises(ParameterError, match="needs a 'speaker' column"):
        plan_splits(y, groups=groups, cv=2, split_by="speaker")


def _feature_table(df: pd.DataFrame, rng: np.random.Generator, *, shift: float = 1.5):
    from dfaudio.schema import DEEP_VOICE_FEATURES
    from dfaudio.tables import validate_table

    X = rng.standard_normal((len(df), len(DEEP_VOICE_FEATURES)))
    X[:, 0] += shift * (df["label"] == "spoof").to_numpy()
    t = pd.DataFrame(X, columns=list(DEEP_VOICE_FEATURES))
    t["label"] = df["label"].to_numpy()
    t["file"] = [f"f{i}.wav" for i in range(len(df))]
    for c in ("group", "attack", "speaker", "split"):
        if c in df.columns:
            t[c] = df[c].to_numpy()
    return validate_table(t, source="synthetic.csv")


def test_fit_sklearn_keeps_eer_per_held_out_attack(rng: np.random.Generator) -> None:
    from dfaudio.training.fit_sklearn import fit_sklearn

    df, _ = _attack_corpus()
    res = fit_sklearn(
        _feature_table(df, rng), model="logreg", cv=3, split_by="attack", runs_dir=None
    )
    m = res.metrics
    per = m["held_out_attacks"]
    assert sorted(per) == ["A01", "A02", "A03", "A04"]
    eers = [v["eer"] for v in per.values()]
    assert m["held_out_eer_mean"] == pytest.approx(np.mean(eers))
    assert m["held_out_eer_worst"] == pytest.approx(max(eers))
    assert per[m["held_out_worst"]]["eer"] == max(eers)
    assert set(res.scores["held_out"]) == set(per)
    # the per-attack EER is the EER of that attack's held-out folds
    from dfaudio.evaluation import eer

    s = res.scores[res.scores["held_out"] == "A02"]
    assert per["A02"]["eer"] == pytest.approx(eer(s["label"], s["score"])[0])


def test_given_split_reports_seen_and_unseen_attacks(rng: np.random.Generator) -> None:
    from dfaudio.training.fit_sklearn import fit_sklearn

    rows = []
    for i in range(40):
        split = "train" if i < 20 else "eval"
        rows.append(("bonafide", "-", f"g{i}", split))
        attack = ("A01", "A02")[i % 2] if split == "train" else ("A01", "A07", "A08")[i % 3]
        rows.append(("spoof", attack, f"h{i}", split))
    df = pd.DataFrame(rows, columns=["label", "attack", "group", "split"])
    m = fit_sklearn(_feature_table(df, rng), model="logreg", runs_dir=None).metrics
    assert m["split_type"] == "given"
    assert {k: v["seen_in_training"] for k, v in m["per_attack"].items()} == {
        "A01": True,
        "A07": False,
        "A08": False,
    }
    assert m["unseen_attacks"] == ["A07", "A08"]


# ----------------------------------------------------------------------------------------------
# the train x test matrix
# ----------------------------------------------------------------------------------------------


def _write_corpus(path: Path, rng: np.random.Generator, *, shift: float, n_files: int = 16) -> Path:
    """A small feature table: 3 windows per file, spoof files shifted along feature 0."""
    rows = []
    for f in range(n_files):
        label = "spoof" if f % 2 else "bonafide"
        for w in range(3):
            rows.append((label, f"{path.stem}_f{f}.wav", w, f"{path.stem}_g{f}"))
    df = pd.DataFrame(rows, columns=["label", "file", "window", "group"])
    t = _feature_table(df, rng, shift=shift)
    out = t.meta.copy()
    for i, c in enumerate(t.features):
        out[c] = t.X[:, i]
    out["label"] = df["label"].to_numpy()
    out.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_matrix_diagonal_equals_the_grouped_cv_run(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    import json

    from click.testing import CliRunner

    from dfaudio.cli.main import cli
    from dfaudio.evaluation import eer
    from dfaudio.generalization.crosseval import crosseval, load_corpus
    from dfaudio.models.scores import model_scores
    from dfaudio.models.sklearn_zoo import make_model
    from dfaudio.tables import read_table

    a = _write_corpus(tmp_path / "a.csv", rng, shift=2.0)
    b = _write_corpus(tmp_path / "b.csv", rng, shift=-1.0)  # the cue flips: cross-corpus fails
    mx = crosseval([load_corpus("A", a), load_corpus("B", b)], cv=3, n_boot=100)
    runner = CliRunner()
    for name, path in (("A", a), ("B", b)):
        res = runner.invoke(
            cli,
            [
                "fit-sklearn",
                "--data",
                str(path),
                "--model",
                "logreg",
                "--cv",
                "3",
                "--json",
                "--runs-dir",
                str(tmp_path / "runs"),
            ],
        )
        assert res.exit_code == 0, res.output
        run = json.loads(res.output)
        diag = mx.cell("logreg", name, name)
        assert diag.kind == "in-corpus"
        assert diag.eer == pytest.approx(run["eer"])
        assert list(diag.ci95) == pytest.approx(run["eer_ci95"])
    # off-diagonal: fitted on all of A, scored on all of B
    ta, tb = read_table(a), read_table(b)
    est = make_model("logreg", seed=0).fit(ta.X, ta.y)
    want = eer(np.where(tb.y == 1, "spoof", "bonafide"), model_scores(est, tb.X)[0])[0]
    cross = mx.cell("logreg", "A", "B")
    assert cross.kind == "cross-corpus" and cross.eer == pytest.approx(want)
    assert cross.eer > 0.5 > mx.cell("logreg", "A", "A").eer  # the flipped cue inverts
    assert cross.ci95[0] <= cross.eer <= cross.ci95[1]


def test_matrix_table_without_provenance_is_a_training_row_only(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    from dfaudio.generalization.crosseval import crosseval, load_corpus, render

    a = _write_corpus(tmp_path / "a.csv", rng, shift=2.0)
    dv = pd.read_csv(a).drop(columns=["file", "group"])
    dv.to_csv(tmp_path / "dv.csv", index=False)
    mx = crosseval([load_corpus("A", a), load_corpus("DV", tmp_path / "dv.csv")], cv=3, n_boot=0)
    assert mx.columns == ["A"]
    assert mx.cell("logreg", "DV", "A").eer is not None
    assert mx.cell("logreg", "A", "DV") is None
    assert mx.cell("logreg", "DV", "DV").eer is None
    text = render(mx, "table")
    assert "training row only" in text and "cross-corpus" in text
    csv = pd.read_csv(__import__("io").StringIO(render(mx, "csv")))
    assert set(csv["kind"]) == {"in-corpus", "cross-corpus"}


def test_crosseval_cli_writes_outputs_once(tmp_path: Path, rng: np.random.Generator) -> None:
    from click.testing import CliRunner

    from dfaudio.cli.main import cli

    a = _write_corpus(tmp_path / "a.csv", rng, shift=2.0, n_files=8)
    b = _write_corpus(tmp_path / "b.csv", rng, shift=2.0, n_files=8)
    out = tmp_path / "mx"
    args = ["crosseval", f"A={a}", f"B={b}", "--cv", "2", "--n-boot", "50", "-o", str(out), "-q"]
    res = CliRunner().invoke(cli, [*args, "--format", "markdown"])
    assert res.exit_code == 0, res.output
    assert "| train \\ test | A | B |" in res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "crosseval.html",
        "heatmap-logreg.png",
        "matrix.csv",
        "matrix.json",
        "matrix.md",
    ]
    assert "Does it generalize?" in (out / "crosseval.html").read_text()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "--force" in res.output
    res = CliRunner().invoke(cli, ["crosseval", f"A={a}", f"A={b}"])
    assert res.exit_code == 2 and "given twice" in res.output


# ----------------------------------------------------------------------------------------------
# --eval-data
# ----------------------------------------------------------------------------------------------


def _tone_corpus(root: Path, *, n: int, base_hz: float, noise: float, seed: int) -> Path:
    """Bona fide = tone, spoof = tone + noise; 2.2 s clips (2 windows each)."""
    r = np.random.default_rng(seed)
    for i in range(n):
        y = tone(base_hz + 37 * i, duration_s=2.2, amp=0.3)
        write_wav(root / "real" / f"r{i}.wav", y, 16000)
        z = y + noise * r.standard_normal(y.size).astype(np.float32)
        write_wav(root / "fake" / f"s{i}.wav", z, 16000)
    return root


@pytest.mark.slow
def test_eval_data_scores_equal_predict(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from dfaudio.cli.main import cli

    runner = CliRunner()
    a = _tone_corpus(tmp_path / "A", n=6, base_hz=200, noise=0.05, seed=1)
    b = _tone_corpus(tmp_path / "B", n=3, base_hz=260, noise=0.02, seed=2)
    for src, out in ((a, "a.csv"), (b, "b.csv")):
        res = runner.invoke(cli, ["tabulate", str(src), "-o", str(tmp_path / out), "-q"])
        assert res.exit_code == 0, res.output
    runs = tmp_path / "runs"
    res = runner.invoke(
        cli,
        [
            "fit-sklearn",
            "--data",
            str(tmp_path / "a.csv"),
            "--model",
            "logreg",
            "--cv",
            "3",
            "--eval-data",
            f"tonesB={tmp_path / 'b.csv'}",
            "--runs-dir",
            str(runs),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads(res.output)
    e = m["eval_sets"]["tonesB"]
    assert e["kind"] == "cross-corpus" and (e["n_bonafide"], e["n_spoof"]) == (6, 6)
    assert e["eer_ci95"][0] <= e["eer"] <= e["eer_ci95"][1]
    run = Path(m["run_dir"])
    scores = pd.read_csv(run / "eval-tonesB" / "scores.csv")
    assert (run / "eval-tonesB" / "det.png").is_file()
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["eval_sets"]["tonesB"]["eer"] == pytest.approx(e["eer"])
    # predict on the same audio: its file score is the mean of the window scores
    res = runner.invoke(cli, ["predict", str(run), str(b), "--json"])
    assert res.exit_code == 0, res.output
    pred = {Path(r["file"]).name: r["score"] for r in json.loads(res.output)}
    mine = scores.groupby(scores["file"].map(lambda f: Path(f).name))["score"].mean()
    assert sorted(pred) == sorted(mine.index)
    for name, value in mine.items():
        assert pred[name] == pytest.approx(value, rel=1e-6, abs=1e-6)
    # the HTML report gives the eval set its own section: its EER and its plots
    html = tmp_path / "report.html"
    res = runner.invoke(cli, ["compare", str(runs), "--html", str(html)])
    assert res.exit_code == 0, res.output
    sections = html.read_text().split("<section class='run'")[1:]
    ev = [s for s in sections if "tonesB (trained on a.csv)" in s]
    assert len(ev) == 1 and f"{100 * e['eer']:.2f} %" in ev[0] and ev[0].count("<img") == 4


def test_eval_data_refuses_other_features_and_rates(tmp_path: Path, rng) -> None:
    from dfaudio.exceptions import DataError, ParameterError
    from dfaudio.generalization.evalsets import parse_eval_data, prepare_eval_sets
    from dfaudio.tables import read_table

    a = _write_corpus(tmp_path / "a.csv", rng, shift=1.0)
    t = pd.read_csv(a)
    t["sr"] = 16000
    t.to_csv(a, index=False)
    other = t.copy()
    other["sr"] = 22050
    other.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"22050\] Hz, the model's at \[16000\] Hz; tabulate it"):
        prepare_eval_sets([f"b={tmp_path / 'b.csv'}"], read_table(a))
    from dataclasses import replace

    from dfaudio.generalization.evalsets import check_compatible

    ta = read_table(a)
    tc = replace(ta, features=[*ta.features[:-1], "spectral_flux"])
    with pytest.raises(DataError, match=r"feature columns differ.*extra \['spectral_flux'\]"):
        check_compatible(ta, tc, "c")
    assert parse_eval_data(["x:unseen-attack=t.csv"])[0].kind == "unseen-attack"
    for bad in ("x=", "t.csv", "x:weird=t.csv", "a/b=t.csv"):
        with pytest.raises(ParameterError):
            parse_eval_data([bad])


# ----------------------------------------------------------------------------------------------
# the leaderboard: one row per (run, test data)
# ----------------------------------------------------------------------------------------------


def _metrics_file(folder: Path, **m: object) -> None:
    import json

    folder.mkdir(parents=True)
    base = {
        "model": "logreg",
        "kind": "sklearn",
        "metrics_schema": 2,
        "data": "a.csv",
        "split_type": "grouped",
        "n_bonafide": 40,
        "n_spoof": 40,
        "eer": 0.1,
        "eer_ci95": [0.05, 0.15],
        "accuracy": 0.9,
    }
    (folder / "metrics.json").write_text(json.dumps({**base, **m}), encoding="utf-8")


def test_compare_rows_per_test_set_and_filter(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dfaudio.cli.main import cli
    from dfaudio.runs.leaderboard import collect

    runs = tmp_path / "runs"
    eval_sets = {
        "itw": {
            "kind": "cross-corpus",
            "eer": 0.4,
            "eer_ci95": [0.3, 0.5],
            "accuracy": 0.6,
            "n_bonafide": 30,
            "n_spoof": 30,
        }
    }
    _metrics_file(runs / "r1", eval_sets=eval_sets)
    _metrics_file(
        runs / "r2",
        eer=0.2,
        protocol="attack",
        held_out_eer_mean=0.25,
        held_out_eer_worst=0.5,
        warnings=["shortcut: codec alone separates the classes of this data (...)"],
    )
    df = collect(runs)
    assert sorted(df["test"]) == ["cross-corpus", "in-corpus", "unseen-attack"]
    cross = df[df["test"] == "cross-corpus"].iloc[0]
    assert cross["eer"] == 0.4 and cross["data"] == "itw (trained on a.csv)"
    assert cross["eer_ci95"][0] <= cross["eer"] <= cross["eer_ci95"][1]
    att = df[df["test"] == "unseen-attack"].iloc[0]
    assert att["held_out_attacks"] == [0.25, 0.5] and att["shortcut"] == "codec"
    res = CliRunner().invoke(cli, ["compare", str(runs), "--test", "cross-corpus"])
    assert res.exit_code == 0, res.output
    body = [ln for ln in res.output.splitlines() if "logreg" in ln]
    assert len(body) == 1 and "itw (trained on a.csv)" in body[0] and "40.00" in body[0]
    res = CliRunner().invoke(cli, ["compare", str(runs), "--test", "unseen-attack"])
    assert "25.00 / 50.00" in res.output


@pytest.mark.slow
def test_fit_deep_eval_data_scores_equal_predict(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from dfaudio.cli.main import cli

    pytest.importorskip("torch")
    runner = CliRunner()
    a = _tone_corpus(tmp_path / "A", n=6, base_hz=200, noise=0.05, seed=1)
    b = _tone_corpus(tmp_path / "B", n=3, base_hz=260, noise=0.02, seed=2)
    res = runner.invoke(
        cli,
        [
            "fit-deep",
            "--model",
            "simple-ann",
            "--feature",
            "mel",
            "--epochs",
            "1",
            "--data",
            str(a),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--no-cache",
            "-q",
            "--eval-data",
            f"B:unseen-attack={b}",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads(res.output[res.output.index("{") :])
    e = m["eval_sets"]["B"]
    assert e["kind"] == "unseen-attack" and (e["n_bonafide"], e["n_spoof"]) == (3, 3)
    run = Path(m["run_dir"])
    assert json.loads((run / "metrics.json").read_text())["eval_sets"]["B"]["eer"] == e["eer"]
    mine = pd.read_csv(run / "eval-B" / "scores.csv")
    res = runner.invoke(cli, ["predict", str(run), str(b), "--json"])
    assert res.exit_code == 0, res.output
    pred = {Path(r["file"]).name: r["score"] for r in json.loads(res.output)}
    got = dict(zip(mine["file"].map(lambda f: Path(f).name), mine["score"], strict=True))
    assert sorted(pred) == sorted(got)
    for k, v in got.items():
        assert pred[k] == pytest.approx(v, rel=1e-5, abs=1e-6)
    bad = runner.invoke(
        cli,
        [
            "fit-deep",
            "--model",
            "simple-ann",
            "--data",
            str(a),
            "--eval-data",
            f"X={tmp_path / 'nope'}",
        ],
    )
    assert bad.exit_code == 2 and "eval set 'X'" in bad.output
