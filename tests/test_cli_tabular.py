"""The tabular path from the command line: tabulate, fit-sklearn, compare and demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner, Result

from dfaudio.cli.main import cli
from dfaudio.schema import DEEP_VOICE_FEATURES
from tests.conftest import REPO_ROOT, tone, write_wav

FEATS = list(DEEP_VOICE_FEATURES)
DEMO_REGEX = r"^(LJ\d+-\d+)"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_error_line(res: Result, *fragments: str) -> str:
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")
    for f in fragments:
        assert f in lines[0]
    assert "Traceback" not in res.output
    return lines[0]


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo audio tabulated once through the CLI (grouped by LJ utterance)."""
    from dfaudio.cli.demo import demo_data_dir

    out = tmp_path_factory.mktemp("demo") / "demo.csv"
    res = run("tabulate", demo_data_dir(), "-o", out, "--group-regex", DEMO_REGEX, "-q")
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 recordings x 10 windows, spoof shifted: every model separates it.

    (40 training rows in a half/half hold-out: hist-gb's default ``min_samples_leaf=20`` cannot
    split fewer than 40 rows and would predict a constant.)
    """
    rng = np.random.default_rng(0)
    rows = []
    for f in range(8):
        label = "spoof" if f % 2 else "bonafide"
        for w in range(10):
            x = rng.normal(size=26) + (3.0 if label == "spoof" else 0.0)
            rows.append([*x, label, f"f{f}.wav", w, float(w), 1.0, f"g{f}"])
    cols = [*FEATS, "label", "file", "window", "start_s", "duration_s", "group"]
    path = tmp_path_factory.mktemp("tiny") / "tiny.csv"
    pd.DataFrame(rows, columns=cols).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- help, imports


def test_python_m_dfaudio_help_imports_nothing_heavy() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "dfaudio", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    for cmd in ("tabulate", "fit-sklearn", "compare", "demo"):
        assert cmd in res.stdout
    code = (
        "import json, sys, dfaudio.cli.main\n"
        "print(json.dumps({m: m in sys.modules for m in ('torch', 'librosa', 'xgboost', 'timm')}))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert res.returncode == 0, res.stderr
    loaded = json.loads(res.stdout)
    assert loaded == {"torch": False, "librosa": False, "xgboost": False, "timm": False}


@pytest.mark.parametrize("cmd", ["tabulate", "fit-sklearn", "compare", "demo"])
def test_subcommand_help_has_examples(cmd: str) -> None:
    res = run(cmd, "--help")
    assert res.exit_code == 0
    assert "Examples:" in res.output and f"dfaudio {cmd}" in res.output


def test_version_and_unknown_command() -> None:
    assert run("--version").output.strip().startswith("dfaudio, version")
    assert run("frobnicate").exit_code == 2


# --------------------------------------------------------------------------- tabulate


def _bad_audio_folder(root: Path) -> dict[str, str]:
    """real/ and fake/ with 2 good tones and one file per failure reason; name -> reason."""
    sr = 8000
    write_wav(root / "real" / "good1.wav", tone(220.0, sr=sr, duration_s=2.5), sr)
    write_wav(root / "fake" / "good2.wav", tone(330.0, sr=sr, duration_s=3.0), sr)
    (root / "fake" / "empty.wav").write_bytes(b"")
    full = write_wav(root / "_full.wav", tone(440.0, sr=sr, duration_s=2.0), sr)
    (root / "fake" / "truncated.wav").write_bytes(full.read_bytes()[: 44 + 8000])
    full.unlink()
    (root / "real" / "notes.wav").write_text("not audio at all\n" * 30, encoding="utf-8")
    y = tone(440.0, sr=sr, duration_s=2.0)
    y[10:20] = np.nan
    sf.write(root / "fake" / "nan.wav", y, sr, subtype="FLOAT")
    sf.write(root / "real" / "silent.wav", np.zeros(2 * sr, dtype=np.float32), sr)
    write_wav(root / "real" / "blip.wav", tone(440.0, sr=sr, duration_s=0.05), sr)
    return {
        "empty.wav": "empty",
        "truncated.wav": "unreadable",
        "notes.wav": "unreadable",
        "nan.wav": "non-finite samples",
        "silent.wav": "silent",
        "blip.wav": "too short",
    }


def test_tabulate_bad_audio_folder(tmp_path: Path) -> None:
    bad = _bad_audio_folder(tmp_path / "data")
    out = tmp_path / "t.csv"
    res = run("tabulate", tmp_path / "data", "-o", out)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == len(bad)
    for name, reason in bad.items():
        (line,) = [w for w in warnings if f"/{name}: " in w]
        assert f"{name}: {reason}: " in line
    table = pd.read_csv(out)
    counts = table.groupby(table["file"].map(lambda f: Path(f).name)).size().to_dict()
    assert counts == {"good1.wav": 2, "good2.wav": 3}
    assert "2 of 8 used, 6 failed" in res.stdout
    assert "empty: 1, non-finite samples: 1, silent: 1, too short: 1, unreadable: 2" in res.stdout
    assert "0.5 s of tails shorter than a window dropped (1 files)" in res.stdout


def test_tabulate_json_summary_and_quiet(tmp_path: Path) -> None:
    _bad_audio_folder(tmp_path / "data")
    res = run("tabulate", tmp_path / "data", "-o", tmp_path / "t.csv", "--json", "-q")
    assert res.exit_code == 0
    assert "warning" not in res.stderr
    s = json.loads(res.stdout)
    assert s["failures_by_reason"] == {
        "empty": 1,
        "unreadable": 2,
        "non-finite samples": 1,
        "silent": 1,
        "too short": 1,
    }
    assert (s["files"], s["files_ok"], s["windows"]) == (8, 2, 5)
    assert s["schema"] == "dfaudio" and s["short_policy"] == "whole"


def test_tabulate_refuses_to_overwrite(tmp_path: Path) -> None:
    write_wav(tmp_path / "d" / "real" / "a.wav", tone(200.0, sr=8000, duration_s=2.0), 8000)
    write_wav(tmp_path / "d" / "fake" / "b.wav", tone(300.0, sr=8000, duration_s=2.0), 8000)
    out = tmp_path / "t.csv"
    out.write_text("precious\n", encoding="utf-8")
    res = run("tabulate", tmp_path / "d", "-o", out)
    assert_one_error_line(res, str(out), "already exists", "--force")
    assert out.read_text(encoding="utf-8") == "precious\n"
    res = run("tabulate", tmp_path / "d", "-o", out, "--force", "-q")
    assert res.exit_code == 0
    assert len(pd.read_csv(out)) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "t.csv", "t.csv.features.json"]


def test_tabulate_deep_voice_schema_and_balance(tmp_path: Path, shared_data: Path) -> None:
    d = tmp_path / "AUDIO"
    write_wav(d / "REAL" / "biden-original.wav", tone(200.0, sr=8000, duration_s=2.0), 8000)
    write_wav(d / "FAKE" / "Obama-to-Biden.wav", tone(300.0, sr=8000, duration_s=5.0), 8000)
    out = tmp_path / "dv.csv"
    flags = "--schema deep-voice --balance undersample --seed 3 -q".split()
    res = run("tabulate", tmp_path, "-o", out, *flags)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    original = pd.read_csv(shared_data / "deep-voice" / "DATASET-balanced.csv", nrows=1)
    assert list(table.columns) == list(original.columns)
    assert table["LABEL"].value_counts().to_dict() == {"FAKE": 2, "REAL": 2}
    assert "balanced   4 windows after undersampling" in res.stdout
    # the written table is readable by fit-sklearn's reader as a table without provenance
    from dfaudio.tables import read_table

    assert not read_table(out).has_provenance


def test_tabulate_unknown_class_folder_and_label_map(tmp_path: Path) -> None:
    write_wav(tmp_path / "d" / "human" / "a.wav", tone(200.0, sr=8000, duration_s=1.0), 8000)
    write_wav(tmp_path / "d" / "clones" / "b.wav", tone(300.0, sr=8000, duration_s=1.0), 8000)
    out = tmp_path / "t.csv"
    res = run("tabulate", tmp_path / "d", "-o", out)
    assert_one_error_line(res, "'clones'", "--label-map")
    assert not out.exists()
    res = run("tabulate", tmp_path / "d", "-o", out, "--label-map", "clones=spoof", "-q")
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out)
    assert dict(zip(t["file"].map(lambda f: Path(f).name), t["label"], strict=True)) == {
        "a.wav": "bonafide",
        "b.wav": "spoof",
    }


def test_tabulate_nothing_usable_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "d" / "real").mkdir(parents=True)
    (tmp_path / "d" / "real" / "e.wav").write_bytes(b"")
    out = tmp_path / "t.csv"
    res = run("tabulate", tmp_path / "d", "-o", out)
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines()[-1].startswith("error: no file could be used")
    assert not out.exists()


def test_tabulate_asvspoof_flac_and_short_policy(tmp_path: Path, shared_data: Path) -> None:
    root = shared_data / "asvspoof2019-la" / "flac_samples"
    out = tmp_path / "la.csv"
    flags = "--short skip --sr 8000 --json".split()
    res = run("tabulate", root, "--protocol", root / "labels.txt", "-o", out, *flags)
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out, keep_default_na=False)
    assert {"split", "attack", "group", "file", "window", "start_s"} <= set(t.columns)
    assert t["attack"].tolist() == ["-", "-", "A15"]
    assert json.loads(res.stdout)["windows"] == 3


# --------------------------------------------------------------------------- fit-sklearn


def test_fit_sklearn_json_cv(demo_csv: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    flags = "--model logreg --cv 3 --json".split()
    res = run("fit-sklearn", "--data", demo_csv, "--runs-dir", runs, *flags)
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["split_type"] == "grouped" and m["n_folds"] == 3
    for key in ("accuracy", "eer", "roc_auc", "eer_fold_mean", "balanced_accuracy"):
        assert 0.0 <= m[key] <= 1.0, key  # fractions, not percent
    assert [f["eer"] for f in m["folds"]] and len(m["folds"]) == 3
    assert m["eer_fold_mean"] == pytest.approx(np.mean([f["eer"] for f in m["folds"]]))
    assert m["eer"] == m["pooled"]["eer"]  # the headline is pooled over all held-out rows
    run_dir = Path(m["run_dir"])
    assert run_dir.parent == runs
    for name in ("config.json", "metrics.json", "scores.csv", "model.skops", "environment.json"):
        assert (run_dir / name).is_file(), name
    scores = pd.read_csv(run_dir / "scores.csv")
    assert list(scores.columns[:7]) == [
        "file",
        "window",
        "group",
        "label",
        "score",
        "p_fake",
        "fold",
    ]
    assert scores.groupby("group")["fold"].nunique().max() == 1


def test_fit_sklearn_text_output_and_leaky(demo_csv: Path, tmp_path: Path) -> None:
    flags = "--model lda --cv 2 --split-by window".split()
    res = run("fit-sklearn", "--data", demo_csv, "--runs-dir", tmp_path, *flags)
    assert res.exit_code == 0, res.output
    assert "[leaky]" in res.stdout and "note: --split-by window" in res.stderr
    assert "lda" in res.stdout and "EER" in res.stdout and "->" in res.stdout
    res = run("compare", tmp_path, "--format", "json")
    assert json.loads(res.stdout)[0]["split_type"] == "leaky"


def test_fit_sklearn_model_all(tiny_csv: Path, tmp_path: Path) -> None:
    from dfaudio.cli.fit_sklearn import MODEL_CHOICES

    flags = "--model all --test-size 0.5 --json".split()
    res = run("fit-sklearn", "--data", tiny_csv, "--runs-dir", tmp_path, *flags)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [m["model"] for m in out] == list(MODEL_CHOICES)
    # right way round for every model (an inverted score would give an EER near 1); the boosted
    # trees see only 40 training rows, so they are allowed a few mistakes
    eers = {m["model"]: m["eer"] for m in out}
    assert all(v <= 0.25 for v in eers.values()), eers
    assert eers["logreg"] == eers["lda"] == 0.0
    assert len({m["run_dir"] for m in out}) == len(MODEL_CHOICES)
    board = json.loads(run("compare", tmp_path, "--format", "json").stdout)
    assert len(board) == len(MODEL_CHOICES)


def test_fit_sklearn_original_deep_voice_table(tmp_path: Path, shared_data: Path) -> None:
    full = pd.read_csv(shared_data / "deep-voice" / "DATASET-balanced.csv")
    small = pd.concat([full.iloc[:150], full.iloc[-150:]])  # FAKE rows first, then REAL
    path = tmp_path / "dv.csv"
    small.to_csv(path, index=False)
    flags = "--model lda --cv 3".split()
    res = run("fit-sklearn", "--data", path, "--runs-dir", tmp_path / "runs", *flags)
    assert res.exit_code == 0, res.output
    assert "[stratified]" in res.stdout
    assert "no provenance" in res.stderr


def test_fit_sklearn_too_many_folds(tiny_csv: Path, tmp_path: Path) -> None:
    flags = "--model lda --cv 9".split()
    res = run("fit-sklearn", "--data", tiny_csv, "--runs-dir", tmp_path / "r", *flags)
    assert_one_error_line(res, "only 8 groups for 9 folds")
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- compare


def _metrics_run(base: Path, name: str, model: str, eer: float, split: str) -> None:
    d = base / name
    d.mkdir(parents=True)
    m = {
        "kind": "sklearn",
        "model": model,
        "features": "deep-voice-26",
        "data": "t.csv",
        "split_type": split,
        "n_rows": 10,
        "accuracy": 1 - eer,
        "eer": eer,
        "roc_auc": 0.9,
        "created": "2026-01-02T03:04:05+00:00",
    }
    (d / "metrics.json").write_text(json.dumps(m), encoding="utf-8")


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    base = tmp_path / "runs"
    _metrics_run(base, "1", "svm", 0.30, "grouped")
    _metrics_run(base, "2", "xgb", 0.02, "leaky")
    _metrics_run(base, "3", "lr", 0.10, "given")
    return base


def test_compare_table_sorted_by_eer(runs_dir: Path) -> None:
    res = run("compare", runs_dir)
    assert res.exit_code == 0
    table, legend = res.stdout.strip().split("\n\n")
    assert "leaky = windows of one recording on both sides" in legend
    lines = table.splitlines()
    assert "split" in lines[0] and "EER %" in lines[0]
    assert [ln.split()[1] for ln in lines[2:]] == ["xgb", "lr", "svm"]
    split_col = lines[0].split().index("split")
    assert [ln.split()[split_col] for ln in lines[2:]] == ["leaky", "given", "grouped"]
    # runs without per-class trial counts are listed unranked, with the reason
    assert "2.00" in lines[2] and "trials per class unknown" in lines[2]


@pytest.mark.parametrize("fmt", ["csv", "markdown", "json"])
def test_compare_formats(runs_dir: Path, fmt: str) -> None:
    res = run("compare", runs_dir, "--format", fmt)
    assert res.exit_code == 0
    if fmt == "csv":
        df = pd.read_csv(__import__("io").StringIO(res.stdout))
        assert df["model"].tolist() == ["xgb", "lr", "svm"]
        assert df["split_type"].tolist() == ["leaky", "given", "grouped"]
    elif fmt == "markdown":
        lines = res.stdout.strip().splitlines()
        assert lines[0].startswith("| # | model") and set(lines[1]) <= set("|-:")
        assert "| xgb |" in lines[2] and "| leaky |" in lines[2]
    else:
        recs = json.loads(res.stdout)
        assert [(r["model"], r["split_type"], r["eer"]) for r in recs] == [
            ("xgb", "leaky", 0.02),
            ("lr", "given", 0.10),
            ("svm", "grouped", 0.30),
        ]


def test_compare_filters(runs_dir: Path) -> None:
    res = run("compare", runs_dir, "--split-type", "grouped", "--format", "json")
    assert [r["model"] for r in json.loads(res.stdout)] == ["svm"]


def test_compare_empty_and_missing(tmp_path: Path) -> None:
    res = run("compare", tmp_path)
    assert res.exit_code == 0
    assert res.stdout == ""
    assert f"no finished runs under {tmp_path}" in res.stderr
    res = run("compare", tmp_path / "nope")
    assert_one_error_line(res, "no such runs directory")


def test_compare_skips_corrupt_metrics(runs_dir: Path) -> None:
    bad = runs_dir / "broken"
    bad.mkdir()
    (bad / "metrics.json").write_text('{"model": ', encoding="utf-8")
    res = run("compare", runs_dir, "--format", "json")
    assert res.exit_code == 0
    assert len(json.loads(res.stdout)) == 3
    (warning,) = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert "broken" in warning and "invalid JSON" in warning


# --------------------------------------------------------------------------- demo


@pytest.mark.slow
def test_demo_end_to_end_and_no_clobber(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = run("demo", "--out", out)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    table = pd.read_csv(out / "table.csv")
    # provenance points at the bundled audio itself
    assert table["file"].map(lambda f: Path(f).is_file()).all()
    assert table["file"].map(lambda f: Path(f).parent.name).isin(["real", "fake"]).all()
    assert table["group"].str.match(r"^LJ001-000\d$").all()
    assert set(table["label"]) == {"bonafide", "spoof"}
    from dfaudio.cli.demo import DEMO_MODELS

    runs = sorted((out / "runs").iterdir())
    assert len(runs) == len(DEMO_MODELS)
    assert all((r / "metrics.json").is_file() for r in runs)
    # the leaderboard is printed: header, rule and one row per model, all grouped
    lines = res.stdout.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("#  model"))
    rows = lines[head + 2 : head + 2 + len(DEMO_MODELS)]
    assert sorted(r.split()[1] for r in rows) == sorted(DEMO_MODELS)
    assert all(" grouped " in r for r in rows)
    assert f"table: {out / 'table.csv'}" in res.stdout
    # a second run refuses to overwrite and leaves the first one as it was
    before = (out / "table.csv").read_bytes()
    res2 = run("demo", "--out", out)
    assert_one_error_line(res2, "already exists", "--force")
    assert (out / "table.csv").read_bytes() == before
    assert sorted((out / "runs").iterdir()) == runs


def test_tabulate_protocol_without_audio_summarises_missing_files(tmp_path: Path) -> None:
    """A protocol whose audio is (mostly) absent gives one summary line, not one per file."""
    flac = tmp_path / "LA" / "ASVspoof2019_LA_eval" / "flac"
    flac.mkdir(parents=True)
    sf.write(flac / "LA_E_0000001.flac", tone(440.0, sr=16000, duration_s=2.0), 16000)
    lines = ["LA_0001 LA_E_0000001 - - bonafide"]
    lines += [f"LA_0002 LA_E_{i:07d} - A07 spoof" for i in range(2, 402)]
    protocol = tmp_path / "ASVspoof2019.LA.cm.eval.trl.txt"
    protocol.write_text("\n".join(lines) + "\n")
    res = run("tabulate", tmp_path / "LA", "--protocol", protocol, "-o", tmp_path / "t.csv")
    assert res.exit_code == 0, res.output
    warnings = [x for x in res.stderr.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1, res.stderr
    assert "400 of 401 listed files do not exist" in warnings[0]
    assert "LA/ASVspoof2019_LA_eval/flac" in warnings[0]
    assert "1 of 401 used, 400 failed" in res.stdout
    # nothing there at all: one error line that says so
    (flac / "LA_E_0000001.flac").unlink()
    res = run("tabulate", tmp_path / "LA", "--protocol", protocol, "-o", tmp_path / "u.csv")
    assert res.exit_code == 2
    (error,) = [x for x in res.stderr.splitlines() if x.startswith(("error:", "warning:"))]
    assert error.startswith("error: 401 of 401 listed files do not exist")
    assert "nothing to tabulate" in error
    assert not (tmp_path / "u.csv").exists()
