"""Manifest -> per-second feature table: windows, tails, short clips, provenance, schemas,
balancing, parallel and distributed runs, long files read in chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from dfaudio.datasets import load_manifest
from dfaudio.exceptions import ParameterError
from dfaudio.features.summary import deep_voice_features
from dfaudio.io.audio import load
from dfaudio.schema import DEEP_VOICE_FEATURES, FILE_FACTS
from dfaudio.tabular import (
    balance_undersample,
    features_for_file,
    tabulate,
    to_schema,
    write_table,
)
from tests.conftest import tone, write_wav

FEATS = list(DEEP_VOICE_FEATURES)
SR = 8000
#: file name -> (class folder, seconds, frequency)
TONES = {
    "a.wav": ("real", 2.5, 220.0),
    "b.wav": ("real", 3.0, 330.0),
    "c.wav": ("fake", 1.25, 440.0),
    "d.wav": ("fake", 2.0, 550.0),
}


def _noisy_tone(freq: float, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = tone(freq, sr=SR, duration_s=seconds, amp=0.4)
    return (y + 0.02 * rng.standard_normal(len(y))).astype(np.float32)


@pytest.fixture(scope="module")
def tone_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tones")
    for i, (name, (cls, seconds, freq)) in enumerate(TONES.items()):
        write_wav(root / cls / name, _noisy_tone(freq, seconds, i), SR)
    return root


@pytest.fixture(scope="module")
def tone_manifest(tone_dir: Path) -> pd.DataFrame:
    return load_manifest([tone_dir])


@pytest.fixture(scope="module")
def tone_result(tone_manifest: pd.DataFrame):
    return tabulate(tone_manifest, progress=False)


# --------------------------------------------------------------------------- windows and tails


def test_rows_per_file_are_whole_seconds(tone_result, tone_dir: Path) -> None:
    table = tone_result.table
    per_file = table.groupby("file", sort=False).size()
    expected = {str(tone_dir / cls / n): int(s) for n, (cls, s, _) in TONES.items()}
    assert per_file.to_dict() == expected
    # manifest order (class folders sorted: fake before real), then window order
    order = ("fake/c.wav", "fake/d.wav", "real/a.wav", "real/b.wav")
    assert list(per_file.index) == [str(tone_dir / f) for f in order]
    b = table[table["file"].str.endswith("b.wav")]
    assert b["window"].tolist() == [0, 1, 2]
    assert b["start_s"].tolist() == [0.0, 1.0, 2.0]
    assert b["duration_s"].tolist() == [1.0, 1.0, 1.0]


def test_tail_is_counted_not_silently_lost(tone_result) -> None:
    s = tone_result.summary
    assert s["files"] == 4 and s["files_ok"] == 4 and s["files_failed"] == 0
    assert s["windows"] == 2 + 3 + 1 + 2
    assert s["windows_bonafide"] == 5 and s["windows_spoof"] == 3
    assert s["audio_s"] == pytest.approx(2.5 + 3.0 + 1.25 + 2.0)
    assert s["tail_s_dropped"] == pytest.approx(0.5 + 0.25)
    assert s["files_with_tail"] == 2
    assert s["short_clips"] == 0
    assert s["failures_by_reason"] == {}


def test_rows_equal_features_of_each_block(tone_result, tone_dir: Path) -> None:
    path = tone_dir / "real" / "a.wav"
    y, sr = load(path)
    expected = deep_voice_features(y[: 2 * sr], sr)
    got = tone_result.table.loc[tone_result.table["file"] == str(path), FEATS].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # second block alone gives the second row: blocks are independent
    np.testing.assert_allclose(deep_voice_features(y[sr : 2 * sr], sr)[0], got[1], rtol=1e-9)


def test_provenance_columns_exact(tone_result) -> None:
    cols = list(tone_result.table.columns)
    assert cols == [
        *FEATS,
        "label",
        "file",
        "window",
        "start_s",
        "duration_s",
        "sr",
        "group",
        *FILE_FACTS,
    ]
    assert set(tone_result.table["sr"]) == {SR}
    assert set(tone_result.table["label"]) == {"bonafide", "spoof"}
    assert tone_result.table["window"].dtype.kind == "i"
    assert tone_result.table[FEATS].to_numpy().dtype == np.float64


def test_asvspoof_rows_carry_split_and_attack(shared_data: Path) -> None:
    root = shared_data / "asvspoof2019-la" / "flac_samples"
    m = load_manifest([root], protocols=[root / "labels.txt"])
    res = tabulate(m, progress=False)
    t = res.table
    assert list(t.columns) == [
        *FEATS,
        "label",
        "file",
        "window",
        "start_s",
        "duration_s",
        "sr",
        "group",
        "split",
        "attack",
        "speaker",
        *FILE_FACTS,
    ]
    # 42260 and 26594 samples at 16 kHz -> 2 + 1 windows
    assert t.groupby("file", sort=False).size().tolist() == [2, 1]
    assert t["attack"].tolist() == ["-", "-", "A15"]
    assert set(t["split"]) == {"eval"}
    assert t["label"].tolist() == ["bonafide", "bonafide", "spoof"]


def test_resampling_gives_rows_at_the_new_rate(tone_manifest: pd.DataFrame, tone_dir) -> None:
    res = tabulate(tone_manifest.iloc[:1], sr=16000, progress=False)
    path = tone_dir / "fake" / "c.wav"
    y, sr = load(path, sr=16000)
    assert len(res.table) == 1
    expected = deep_voice_features(y[:sr], sr)
    np.testing.assert_allclose(res.table[FEATS].to_numpy(), expected, rtol=1e-4, atol=1e-6)
    native = tabulate(tone_manifest.iloc[:1], progress=False).table
    # a different rate gives different features (the spectral centroid cannot exceed Nyquist)
    assert not np.allclose(native[FEATS].to_numpy(), res.table[FEATS].to_numpy())


def test_window_length_option(tone_manifest: pd.DataFrame) -> None:
    res = tabulate(tone_manifest, window_s=0.5, progress=False)
    assert res.summary["windows"] == 5 + 6 + 2 + 4
    assert res.summary["tail_s_dropped"] == pytest.approx(0.25)
    assert set(res.table["duration_s"]) == {0.5}
    with pytest.raises(ParameterError):
        tabulate(tone_manifest, window_s=0, progress=False)


def test_bad_options(tone_manifest: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="short-clip policy"):
        tabulate(tone_manifest, short="drop", progress=False)
    with pytest.raises(ParameterError, match="backend"):
        tabulate(tone_manifest, backend="ray", progress=False)


# --------------------------------------------------------------------------- short clips (FSDD)

FSDD_CLIPS = ("0_george_0.wav", "1_jackson_0.wav", "2_theo_0.wav")


@pytest.fixture(scope="module")
def fsdd_manifest(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    rec = shared_data / "fsdd" / "recordings"
    lst = tmp_path_factory.mktemp("fsdd") / "list.csv"
    lines = ["path,label,group"]
    for i, name in enumerate(FSDD_CLIPS):
        lines.append(f"{rec / name},{'real' if i % 2 else 'fake'},{name.split('_')[1]}")
    lst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_manifest([lst])


def test_fsdd_clips_are_shorter_than_one_second(shared_data: Path) -> None:
    for name in FSDD_CLIPS:
        i = sf.info(shared_data / "fsdd" / "recordings" / name)
        assert i.samplerate == 8000 and 0.1 < i.frames / 8000 < 1.0


def test_short_policy_whole(fsdd_manifest: pd.DataFrame, shared_data: Path) -> None:
    res = tabulate(fsdd_manifest, short="whole", progress=False)
    t = res.table
    assert len(t) == 3 and res.summary["short_clips"] == 3 and res.failures == []
    lengths = [sf.info(shared_data / "fsdd" / "recordings" / n).frames for n in FSDD_CLIPS]
    np.testing.assert_allclose(t["duration_s"], np.array(lengths) / 8000)
    assert t["window"].tolist() == [0, 0, 0] and t["start_s"].tolist() == [0.0, 0.0, 0.0]
    assert res.summary["tail_s_dropped"] == 0.0
    y, sr = load(fsdd_manifest["path"][0])
    np.testing.assert_allclose(t[FEATS].to_numpy()[0], deep_voice_features(y, sr)[0], rtol=1e-9)


def test_short_policy_pad(fsdd_manifest: pd.DataFrame) -> None:
    whole = tabulate(fsdd_manifest, short="whole", progress=False).table
    res = tabulate(fsdd_manifest, short="pad", progress=False)
    t = res.table
    assert len(t) == 3 and res.summary["short_clips"] == 3
    assert t["duration_s"].tolist() == [1.0, 1.0, 1.0]
    # zero padding to a full block lowers the mean RMS: a different row from "whole"
    assert (t["rms"] < whole["rms"]).all()
    y, sr = load(fsdd_manifest["path"][0])
    padded = np.zeros(sr, dtype=np.float32)
    padded[: len(y)] = y
    np.testing.assert_allclose(
        t[FEATS].to_numpy()[0], deep_voice_features(padded, sr)[0], rtol=1e-6, atol=1e-9
    )


def test_short_policy_skip_reports_each_clip(fsdd_manifest: pd.DataFrame) -> None:
    seen: list[tuple[str, str, str]] = []
    res = tabulate(
        fsdd_manifest, short="skip", progress=False, on_failure=lambda *f: seen.append(f)
    )
    assert len(res.table) == 0
    assert list(res.table.columns[:26]) == FEATS
    assert res.summary["failures_by_reason"] == {"too short": 3}
    assert res.summary["files_failed"] == 3 and res.summary["short_clips"] == 0
    assert [f[0] for f in res.failures] == list(fsdd_manifest["path"])
    assert seen == res.failures
    assert all("shorter than one 1 s window" in f[2] for f in res.failures)


def test_clip_under_minimum_fails_in_every_policy(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "x.wav", tone(300.0, sr=SR, duration_s=0.05), SR)
    for short in ("whole", "pad", "skip"):
        r = features_for_file({"path": str(path), "label": "spoof", "group": "x"}, short=short)
        assert r.rows is None and r.failure is not None and r.failure[0] == "too short"
        # the message names the limit that applies: whole/pad keep clips under one window
        limit = "one 1 s window" if short == "skip" else "the 0.1 s minimum"
        assert f"0.050 s is shorter than {limit}" in r.failure[1], (short, r.failure)


# --------------------------------------------------------------------------- failures


def test_bad_files_are_reported_and_the_rest_kept(tone_manifest: pd.DataFrame, tmp_path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "text.wav"
    text.write_text("not audio\n" * 50, encoding="utf-8")
    nan_file = tmp_path / "nan.wav"
    y = tone(440.0, sr=SR, duration_s=2.0)
    y[100] = np.nan
    sf.write(nan_file, y, SR, subtype="FLOAT")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(2 * SR, dtype=np.float32), SR)
    bad = pd.DataFrame(
        {
            "path": [str(p) for p in (empty, text, nan_file, silent)],
            "label": "spoof",
            "group": ["e", "t", "n", "s"],
        }
    )
    m = pd.concat([bad.iloc[:2], tone_manifest, bad.iloc[2:]], ignore_index=True)
    res = tabulate(m, progress=False)
    assert res.summary["failures_by_reason"] == {
        "empty": 1,
        "unreadable": 1,
        "non-finite samples": 1,
        "silent": 1,
    }
    assert [f[0] for f in res.failures] == list(bad["path"])
    assert res.summary["files"] == 8 and res.summary["files_ok"] == 4
    assert len(res.table) == 8  # every good file's rows
    assert set(res.table["file"]) == set(tone_manifest["path"])


# --------------------------------------------------------------------------- schema, balance, write


def test_deep_voice_schema_matches_the_original_csv(tone_result, shared_data: Path) -> None:
    original = pd.read_csv(shared_data / "deep-voice" / "DATASET-balanced.csv", nrows=2)
    out = to_schema(tone_result.table, "deep-voice")
    assert list(out.columns) == list(original.columns)
    assert len(out.columns) == 27
    assert set(out["LABEL"]) == {"REAL", "FAKE"}
    labels = tone_result.table["label"].map({"bonafide": "REAL", "spoof": "FAKE"})
    assert out["LABEL"].tolist() == labels.tolist()
    assert to_schema(tone_result.table, "dfaudio") is tone_result.table
    with pytest.raises(ParameterError):
        to_schema(tone_result.table, "kaggle")


def test_balance_undersample(tone_result) -> None:
    t = tone_result.table  # 5 bonafide, 3 spoof rows
    a = balance_undersample(t, seed=0)
    assert a["label"].value_counts().to_dict() == {"bonafide": 3, "spoof": 3}
    # every spoof row kept; rows are a subset of the original in the original order
    assert a[a["label"] == "spoof"]["file"].tolist() == t[t["label"] == "spoof"]["file"].tolist()
    merged = a.merge(t.reset_index(), on=list(t.columns))
    assert len(merged) == 6 and merged["index"].is_monotonic_increasing
    pd.testing.assert_frame_equal(a, balance_undersample(t, seed=0))
    picks = {tuple(balance_undersample(t, seed=s)["start_s"]) for s in range(8)}
    assert len(picks) > 1  # the seed matters
    one_class = t[t["label"] == "spoof"]
    assert len(balance_undersample(one_class)) == len(one_class)


def test_write_table_atomic_and_no_clobber(tone_result, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    write_table(tone_result.table, out)
    back = pd.read_csv(out)
    assert list(back.columns) == list(tone_result.table.columns)
    np.testing.assert_allclose(
        back[FEATS].to_numpy(), tone_result.table[FEATS].to_numpy(), rtol=1e-8
    )
    before = out.read_bytes()
    with pytest.raises(ParameterError, match="already exists; pass force=True"):
        write_table(tone_result.table.iloc[:1], out)
    assert out.read_bytes() == before
    write_table(tone_result.table.iloc[:1], out, force=True)
    assert len(pd.read_csv(out)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary files left


# --------------------------------------------------------------------------- long files, parallel


def test_long_file_in_chunks_equals_whole_signal(tmp_path: Path) -> None:
    """130.5 s: read in 60 s chunks (block edges at 60 s and 120 s) == features of the whole."""
    rng = np.random.default_rng(1)
    t = np.arange(int(130.5 * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * (200 + 20 * t) * t) + 0.03 * rng.standard_normal(len(t))
    path = tmp_path / "long.wav"
    sf.write(path, y.astype(np.float32), SR, subtype="FLOAT")
    r = features_for_file({"path": str(path), "label": "bonafide", "group": "long"})
    assert r.failure is None
    assert len(r.rows) == 130
    assert r.tail_s == pytest.approx(0.5) and r.seconds == pytest.approx(130.5)
    whole, sr = load(path)
    expected = deep_voice_features(whole, sr)
    np.testing.assert_array_equal(r.rows[FEATS].to_numpy(), expected)
    np.testing.assert_array_equal(r.rows["start_s"].to_numpy(), np.arange(130.0))


def test_two_jobs_give_the_same_table(tone_manifest: pd.DataFrame, tone_result) -> None:
    res = tabulate(tone_manifest, jobs=2, progress=False)
    pd.testing.assert_frame_equal(res.table, tone_result.table)
    assert res.summary == tone_result.summary


def test_dask_local_cluster_equals_local(tone_manifest: pd.DataFrame, tone_result) -> None:
    pytest.importorskip("dask.distributed")
    res = tabulate(tone_manifest, backend="dask", jobs=2, progress=False)
    pd.testing.assert_frame_equal(res.table, tone_result.table)
    assert res.summary == tone_result.summary


def test_dask_explicit_scheduler_address(tone_manifest: pd.DataFrame, tone_result) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        host="127.0.0.1",
        protocol="tcp",
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        seen: list[tuple[str, str, str]] = []
        m = pd.concat(
            [
                tone_manifest,
                pd.DataFrame({"path": ["/no/such.wav"], "label": ["spoof"], "group": ["x"]}),
            ],
            ignore_index=True,
        )
        res = tabulate(m, scheduler=address, progress=False, on_failure=lambda *f: seen.append(f))
    pd.testing.assert_frame_equal(res.table, tone_result.table)
    assert res.summary["failures_by_reason"] == {"not found": 1}
    assert seen == [("/no/such.wav", "not found", "no such file")]
