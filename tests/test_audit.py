"""Shortcut audit: per-file nuisance facts and the grouped-CV baselines on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from click.testing import CliRunner

from dfaudio.cli.main import cli
from dfaudio.datasets import load_manifest
from dfaudio.generalization.audit import (
    FACT_COLUMNS,
    audit,
    facts_of_files,
    facts_of_table,
    file_facts,
)
from dfaudio.schema import FILE_FACTS
from tests.conftest import tone, write_wav


def test_fact_columns_match_schema() -> None:
    assert tuple(FILE_FACTS) == FACT_COLUMNS


def test_file_facts_of_a_known_signal(tmp_path: Path) -> None:
    sr = 16000
    body = tone(440, sr=sr, duration_s=1.0, amp=0.9)
    body[:100] = 1.0  # 100 clipped samples (the sine itself stays below 0.999)
    y = np.concatenate([np.zeros(int(0.3 * sr)), body, np.zeros(int(0.2 * sr))]).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, y, sr, subtype="FLOAT")
    f = file_facts(path)
    assert f["file_duration_s"] == pytest.approx(1.5)
    assert f["lead_silence_s"] == pytest.approx(0.3, abs=0.021)
    assert f["trail_silence_s"] == pytest.approx(0.2, abs=0.021)
    # a full-scale sine is -3 dBFS; 0.9 of it, and 0.5 s of zeros in 1.5 s lower that
    assert f["level_dbfs"] == pytest.approx(
        -3.01 + 20 * np.log10(0.9) - 10 * np.log10(1.5), abs=0.1
    )
    assert f["peak_dbfs"] == pytest.approx(0.0, abs=1e-3)
    assert f["clip_share"] == pytest.approx(100 / len(y))
    assert (f["native_sr"], f["channels"], f["codec"]) == (sr, 1, "WAV/FLOAT")
    assert f["bytes_per_s"] == pytest.approx(4 * sr, rel=0.01)


def _librispeech(shared_data: Path, n: int = 24) -> list[Path]:
    root = shared_data / "librispeech-test-other-sample"
    files = sorted(root.rglob("*.flac"))
    if len(files) < n:
        pytest.skip("LibriSpeech sample not present")
    return files[:n]


def _planted(tmp_path: Path, files: list[Path], *, silence_s: float) -> pd.DataFrame:
    """Real speech, labels alternating file by file; spoof files get leading zeros."""
    for i, f in enumerate(files):
        y, sr = sf.read(f, dtype="float32")
        label = "fake" if i % 2 else "real"
        if label == "fake" and silence_s:
            y = np.concatenate([np.zeros(int(silence_s * sr), dtype=np.float32), y])
        write_wav(tmp_path / label / f"{f.stem}.wav", y, sr)
    return facts_of_files(load_manifest([tmp_path]))


@pytest.mark.slow
def test_planted_leading_silence_is_flagged_and_clean_audio_is_not(
    shared_data: Path, tmp_path: Path
) -> None:
    files = _librispeech(shared_data)
    planted = audit(_planted(tmp_path / "p", files, silence_s=0.5), n_boot=200)
    by = {f.fact: f for f in planted.facts}
    assert by["lead_silence_s"].shortcut
    assert by["lead_silence_s"].eer < 0.2
    assert "lead_silence_s" in [f.fact for f in planted.shortcuts]
    assert any("lead_silence_s alone separates" in w for w in planted.warnings())

    clean = audit(_planted(tmp_path / "c", files, silence_s=0.0), n_boot=200)
    by = {f.fact: f for f in clean.facts}
    assert not by["lead_silence_s"].shortcut
    assert by["lead_silence_s"].eer > 0.3
    assert clean.shortcuts == []
    assert clean.warnings() == []


@pytest.mark.slow
def test_codecfake_is_flagged(shared_data: Path) -> None:
    root = shared_data / "codecfake-demo"
    if not root.is_dir():
        pytest.skip("codecfake-demo not present")
    res = audit(facts_of_files(load_manifest([root])), n_boot=0)
    flagged = [f.fact for f in res.shortcuts]
    assert "codec" in flagged  # float32 bona fide vs 16-bit PCM spoofs
    codec = next(f for f in res.facts if f.fact == "codec")
    assert codec.eer == 0.0
    assert "WAV/FLOAT" in codec.by_class["bonafide"]


def test_audit_of_a_table_equals_audit_of_its_audio(tmp_path: Path) -> None:
    for i in range(6):
        lead = 0.4 if i % 2 else 0.0
        for label in ("real", "fake"):
            y = tone(200 + 50 * i, duration_s=1.2)
            if label == "fake":
                y = np.concatenate([np.zeros(int(lead * 16000), dtype=np.float32), y])
            write_wav(tmp_path / "d" / label / f"u{i}_{label}.wav", y, 16000)
    m = load_manifest([tmp_path / "d"])
    runner = CliRunner()
    out = tmp_path / "t.csv"
    res = runner.invoke(cli, ["tabulate", str(tmp_path / "d"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    from_table = facts_of_table(pd.read_csv(out)).set_index("file").sort_index()
    from_audio = facts_of_files(m).set_index("file").sort_index()
    for c in FACT_COLUMNS:
        if c == "codec":
            assert (from_table[c] == from_audio[c]).all()
        else:
            assert np.allclose(from_table[c].astype(float), from_audio[c].astype(float))
    res = runner.invoke(cli, ["audit", str(out), "--json", "--n-boot", "0", "--cv", "3"])
    assert res.exit_code == 0, res.output
    j = json.loads(res.output)
    assert j["n_files"] == 12 and j["n_groups"] == 6  # u{i}_real + u{i}_fake pairs
    assert [f["fact"] for f in j["facts"]][-1] == "all facts"


def test_audit_cli_text_and_errors(tmp_path: Path, shared_data: Path) -> None:
    runner = CliRunner()
    dv = shared_data / "deep-voice" / "DATASET-balanced.csv"
    if dv.is_file():
        res = runner.invoke(cli, ["audit", str(dv)])
        assert res.exit_code == 2
        assert "no per-file facts" in res.output and "\n" not in res.output.strip()
    for i in range(4):
        write_wav(tmp_path / "real" / f"a{i}.wav", tone(300 + i, duration_s=0.5), 16000)
        y = tone(300 + i, duration_s=0.5, amp=0.05)  # 20 dB quieter
        write_wav(tmp_path / "fake" / f"b{i}.wav", y, 16000)
    res = runner.invoke(cli, ["audit", str(tmp_path), "--n-boot", "0", "--cv", "2"])
    assert res.exit_code == 0, res.output
    assert "level_dbfs" in res.output and "SHORTCUT" in res.output
    res = runner.invoke(cli, ["audit", str(tmp_path), "--threshold", "0.7"])
    assert res.exit_code == 2 and "--threshold" in res.output


def test_fit_on_a_table_with_a_shortcut_carries_the_warning(tmp_path: Path) -> None:
    from dfaudio.tables import read_table
    from dfaudio.training.fit_sklearn import fit_sklearn

    for i in range(6):
        write_wav(tmp_path / "d" / "real" / f"a{i}.wav", tone(200 + 40 * i, duration_s=1.1), 16000)
        quiet = tone(220 + 40 * i, duration_s=1.1, amp=0.02)  # about 28 dB quieter
        write_wav(tmp_path / "d" / "fake" / f"b{i}.wav", quiet, 16000)
    out = tmp_path / "t.csv"
    res = CliRunner().invoke(cli, ["tabulate", str(tmp_path / "d"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    fit = fit_sklearn(read_table(out), model="logreg", cv=3, runs_dir=None)
    shortcut = [w for w in fit.metrics["warnings"] if w.startswith("shortcut:")]
    assert any("level_dbfs" in w for w in shortcut)
    assert not any("lead_silence_s" in w for w in shortcut)


def test_audit_reports_groups_that_separate_real_fake_pairs(tmp_path: Path) -> None:
    for i in range(4):
        write_wav(tmp_path / "real" / f"u{i}.wav", tone(200 + 30 * i, duration_s=0.5), 16000)
        write_wav(tmp_path / "fake" / f"u{i}_gen.wav", tone(200 + 30 * i, duration_s=0.5), 16000)
    split = audit(facts_of_files(load_manifest([tmp_path], pair_groups=False)), n_boot=0, cv=2)
    assert split.separated_pairs == 4
    assert any("4 real/fake name pair(s) lie in different groups" in n for n in split.notes)
    kept = audit(facts_of_files(load_manifest([tmp_path])), n_boot=0, cv=2)
    assert kept.separated_pairs == 0 and kept.n_groups == 4


@pytest.mark.slow
def test_fit_deep_run_carries_the_shortcut_warning(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    for i in range(8):
        write_wav(tmp_path / "d" / "real" / f"a{i}.wav", tone(200 + 40 * i, duration_s=1.0), 16000)
        quiet = tone(220 + 40 * i, duration_s=1.0, amp=0.02)  # about 28 dB quieter
        write_wav(tmp_path / "d" / "fake" / f"b{i}.wav", quiet, 16000)
    res = CliRunner().invoke(
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
            str(tmp_path / "d"),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--no-cache",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "note: shortcut: level_dbfs alone separates" in res.output
    run = next((tmp_path / "runs").iterdir())
    warnings = json.loads((run / "metrics.json").read_text())["warnings"]
    assert any(w.startswith("shortcut: level_dbfs") for w in warnings)
    assert not any(w.startswith("shortcut: lead_silence_s") for w in warnings)
