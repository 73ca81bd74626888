"""dfaudio predict: scoring real audio the model never saw, files and streams, safe model files.

The models are trained once per module on the bundled demo audio (5 LJ Speech clips and their
WaveFake copies, LJ001-0001..0005). Prediction runs on clips outside that set: LJ007-0169 (a
WaveFake clip of another utterance), LibriSpeech FLAC (16 kHz, another corpus) and an MP3.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dfaudio.cli.main import cli as main_cli

UNSEEN_FAKE = "wavefake-test-samples/special/LJ007-0169.wav"  # 22.05 kHz, 2.64 s
UNSEEN_REAL = "librispeech-test-other-sample/3005/3005-163389-0004.flac"  # 16 kHz, 2.47 s
UNSEEN_MP3 = "resemblyzer-trump-real-fake/fake/0ghm5Cqpfwk.mp3"  # 44.1 kHz, 21.4 s


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """logreg (skops) and xgboost (native) runs trained on the bundled demo table."""
    from dfaudio.cli.demo import DEMO_GROUP_REGEX, demo_data_dir
    from dfaudio.datasets import load_manifest
    from dfaudio.tables import read_table
    from dfaudio.tabular import tabulate, write_table
    from dfaudio.training.fit_sklearn import fit_sklearn

    base = tmp_path_factory.mktemp("predict")
    manifest = load_manifest([demo_data_dir()], layout="folders", group_regex=DEMO_GROUP_REGEX)
    table = tabulate(manifest, progress=False).table
    write_table(table, base / "table.csv")
    ft = read_table(base / "table.csv")
    out = {}
    for model in ("logreg", "xgboost"):
        res = fit_sklearn(ft, model=model, cv=5, runs_dir=base / "runs", data_name="demo")
        out[model] = res.run_dir
    return out


def invoke(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main_cli, [str(a) for a in args], catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def n_seconds(path: Path) -> int:
    from dfaudio.io.audio import load

    y, sr = load(path)
    return math.floor(len(y) / sr)


# ----------------------------------------------------------------------------------- library


def test_fit_writes_plots_and_sample_rates(runs: dict[str, Path]) -> None:
    for run in runs.values():
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["plots"]["files"] == [
            "det.png",
            "roc.png",
            "score_hist.png",
            "confusion.png",
        ]
        for name in metrics["plots"]["files"]:
            assert (run / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert metrics["sample_rates"] == [22050]
    assert (runs["logreg"] / "model.skops").is_file()
    assert (runs["xgboost"] / "model.ubj").is_file()


def test_score_file_unseen_audio(runs: dict[str, Path], shared_data: Path) -> None:
    from dfaudio.scoring import load_predictor

    for model, run in runs.items():
        pred = load_predictor(run)
        # issue 9: every run has a score -> LLR map; the default verdict is the Bayes decision
        from dfaudio.metrics import bayes_threshold
        from dfaudio.metrics.calibration import llr_to_p_fake

        assert pred.calibration is not None and pred.threshold_source.startswith("Bayes")
        assert pred.llr(pred.threshold) == pytest.approx(bayes_threshold(), abs=1e-6)
        for rel in (UNSEEN_FAKE, UNSEEN_REAL, UNSEEN_MP3):
            path = shared_data / rel
            res = pred.score_file(path, per_window=True)
            assert res.n_windows == n_seconds(path) == len(res.windows), (model, rel)
            assert 0.0 <= res.p_fake <= 1.0
            win_scores = [w["score"] for w in res.windows]
            assert res.score == pytest.approx(np.mean(win_scores))
            assert res.llr == pytest.approx(pred.llr(res.score))
            assert res.p_fake == pytest.approx(float(llr_to_p_fake([res.llr], p_spoof=0.05)[0]))
            assert res.verdict == ("spoof" if res.score < pred.threshold else "bonafide")
            for w in res.windows:
                assert 0.0 <= w["p_fake"] <= 1.0
                assert w["verdict"] == ("spoof" if w["score"] < pred.threshold else "bonafide")
            rate_note = any("differs from the training audio" in n for n in res.notes)
            assert rate_note == (res.sr != 22050), (rel, res.notes)


def test_score_file_unreadable_raises_audio_error(runs: dict[str, Path], tmp_path: Path) -> None:
    from dfaudio.exceptions import AudioError
    from dfaudio.scoring import load_predictor

    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wav file")
    pred = load_predictor(runs["logreg"])
    with pytest.raises(AudioError, match=r"bad\.wav"):
        pred.score_file(bad)


def test_load_predictor_errors(tmp_path: Path) -> None:
    from dfaudio.exceptions import DataError
    from dfaudio.scoring import load_predictor

    with pytest.raises(DataError, match="not found"):
        load_predictor(tmp_path / "nope")
    with pytest.raises(DataError, match=r"config\.json"):
        load_predictor(tmp_path)


def test_infer_label() -> None:
    from dfaudio.scoring import infer_label

    assert infer_label("data/real/a.wav") == "bonafide"
    assert infer_label("data/FAKE/x/a.wav") == "spoof"
    assert infer_label("data/other/a.wav") is None
    assert infer_label("data/gen/a.wav", label_map={"GEN": "spoof"}) == "spoof"


# ----------------------------------------------------------------------------------- CLI


def test_cli_json_and_unreadable_files(
    runs: dict[str, Path], shared_data: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.flac"
    bad.write_bytes(b"\x00" * 100)
    missing = tmp_path / "missing.wav"
    good = [shared_data / UNSEEN_FAKE, shared_data / UNSEEN_REAL]
    code, out, err = invoke("predict", runs["xgboost"], good[0], bad, missing, good[1], "--json")
    assert code == 0
    records = json.loads(out)
    assert [r["file"] for r in records] == [str(good[0]), str(bad), str(missing), str(good[1])]
    ok = [r for r in records if "error" not in r]
    assert len(ok) == 2
    assert {r["error"] for r in records if "error" in r} == {"unreadable", "not found"}
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and "broken.flac" in warnings[0] and "missing.wav" in warnings[1]
    for r in ok:
        assert 0 <= r["p_fake"] <= 1 and r["verdict"] in ("bonafide", "spoof")
        assert r["verdict"] == ("spoof" if r["score"] < r["threshold"] else "bonafide")


def test_cli_all_unreadable_exit_2(runs: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"junk")
    code, _out, err = invoke("predict", runs["logreg"], bad)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: no file could be scored")


def test_cli_folder_per_window_and_threshold(runs: dict[str, Path], shared_data: Path) -> None:
    folder = shared_data / "wavefake-test-samples" / "special"
    code, out, _ = invoke("predict", runs["logreg"], folder, "--per-window", "--json")
    assert code == 0
    (rec,) = json.loads(out)
    assert len(rec["windows"]) == rec["n_windows"] == 2
    code, out, _ = invoke("predict", runs["logreg"], folder, "--json", "--threshold", "1e9")
    assert json.loads(out)[0]["verdict"] == "spoof"
    code, out, _ = invoke("predict", runs["logreg"], folder, "--json", "--threshold", "-1e9")
    assert json.loads(out)[0]["verdict"] == "bonafide"
    code, out, _ = invoke("predict", runs["logreg"], folder)
    assert out.splitlines()[0].split()[:2] == ["verdict", "p_fake"]
    assert "LJ007-0169.wav" in out


def test_scores_out_round_trip_with_evaluate(
    runs: dict[str, Path], shared_data: Path, tmp_path: Path
) -> None:
    from dfaudio.evaluation import read_scores

    data = tmp_path / "data"
    (data / "real").mkdir(parents=True)
    (data / "fake").mkdir()
    for rel in (UNSEEN_REAL, "vctk-sample/p225_001_mic1.flac"):
        shutil.copy(shared_data / rel, data / "real")
    shutil.copy(shared_data / UNSEEN_FAKE, data / "fake")
    scores = tmp_path / "scores.txt"
    code, out, err = invoke("predict", runs["logreg"], data, "--scores-out", scores, "--json")
    assert code == 0, err
    predicted = {r["file"]: r for r in json.loads(out)}
    df = read_scores(scores)
    assert df.attrs["layout"] == "utt-attack-key-score"
    assert len(df) == 3
    for utt, key, score in zip(df["utt"], df["key"], df["score"], strict=True):
        assert predicted[utt]["label"] == key
        assert score == pytest.approx(predicted[utt]["score"], abs=1e-6)
    code, out, err = invoke("evaluate", scores, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["n_bonafide"], result["n_spoof"]) == (2, 1)
    assert 0.0 <= result["eer"] <= 1.0
    # existing file is not replaced without --force
    code, _, err = invoke("predict", runs["logreg"], data, "--scores-out", scores)
    assert code == 2 and "--force" in err


def test_scores_out_without_keys(runs: dict[str, Path], shared_data: Path, tmp_path: Path) -> None:
    scores = tmp_path / "s.txt"
    path = shared_data / UNSEEN_FAKE
    code, _, err = invoke("predict", runs["logreg"], path, "--scores-out", scores)
    assert code == 0
    assert "no key" in err
    assert len(scores.read_text().split()) == 2  # UTT SCORE
    code, _, _ = invoke(
        "predict", runs["logreg"], path, "--scores-out", scores, "--force", "--label", "spoof"
    )
    assert scores.read_text().split()[1:3] == ["-", "spoof"]


# ----------------------------------------------------------------------------------- stream


def test_stream_file_matches_per_window(runs: dict[str, Path], shared_data: Path) -> None:
    path = shared_data / UNSEEN_FAKE
    code, out, _ = invoke("predict", runs["xgboost"], "--stream", path, "--json")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    chunks, summary = lines[:-1], lines[-1]["summary"]
    assert len(chunks) == n_seconds(path) == summary["n_windows"]
    assert all(c["latency_ms"] > 0 for c in chunks)
    assert summary["latency_ms_p50"] <= summary["latency_ms_p99"]
    assert 0 < summary["rtf"] < 1
    assert summary["tail_s_not_scored"] == pytest.approx(0.64, abs=0.01)
    code, out, _ = invoke("predict", runs["xgboost"], path, "--per-window", "--json")
    windows = json.loads(out)[0]["windows"]
    assert [c["score"] for c in chunks] == pytest.approx([w["score"] for w in windows], abs=1e-6)


def test_stream_stdin_wav_subprocess(runs: dict[str, Path], shared_data: Path) -> None:
    path = shared_data / UNSEEN_FAKE
    with path.open("rb") as fh:
        # a real pipe (not a file redirect): cat's stdout is not seekable
        cat = subprocess.Popen(["cat"], stdin=fh, stdout=subprocess.PIPE)
        proc = subprocess.run(
            [sys.executable, "-m", "dfaudio", "predict", str(runs["logreg"]), "--stream", "-"],
            stdin=cat.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
        cat.wait()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("stream <stdin>: 22050 Hz")
    rows = [line.split() for line in lines[2:] if line and line.split()[0][0].isdigit()]
    assert len(rows) == 2 and all(r[1] in ("bonafide", "spoof") for r in rows)
    assert float(rows[0][4]) > 0  # latency in ms
    assert lines[-1].startswith("summary: 2 windows") and "real-time factor" in lines[-1]


def test_stream_raw_pcm(runs: dict[str, Path], shared_data: Path) -> None:
    import io

    from dfaudio.io.audio import load
    from dfaudio.io.stream import read_stream
    from dfaudio.scoring import load_predictor

    y, sr = load(shared_data / UNSEEN_REAL)
    pcm = np.round(y * 32768).astype("<i2").tobytes()  # the FLAC is 16-bit: exact
    rate, blocks = read_stream(io.BytesIO(pcm), raw_sr=sr, raw_dtype="int16")
    pred = load_predictor(runs["logreg"])
    out = list(pred.stream(blocks, sr=rate))
    assert rate == 16000 and len(out) == math.floor(len(y) / sr)
    assert pred.stream_tail_s == pytest.approx(len(y) / sr - len(out), abs=1e-3)
    ref = pred.score_file(shared_data / UNSEEN_REAL, per_window=True).windows
    assert [c.score for c in out] == pytest.approx([w["score"] for w in ref], abs=1e-6)


def test_stream_needs_one_source(runs: dict[str, Path]) -> None:
    code, _, err = invoke("predict", runs["logreg"], "--stream")
    assert code == 2 and err.startswith("error: --stream takes exactly one source")


# ----------------------------------------------------------------------------------- safety


def test_modified_skops_file_needs_trust(
    runs: dict[str, Path], shared_data: Path, tmp_path: Path
) -> None:
    import skops.io as sio

    run = tmp_path / "run"
    shutil.copytree(runs["logreg"], run)
    est = sio.load(run / "model.skops", trusted=sio.get_untrusted_types(file=run / "model.skops"))
    est.set_params(logisticregression__C=0.5)  # anything that changes the bytes
    sio.dump(est, run / "model.skops")
    path = shared_data / UNSEEN_FAKE
    code, out, err = invoke("predict", run, path)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error:") and "checksum" in err and "--trust" in err
    code, out, err = invoke("predict", run, path, "--trust", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["verdict"] in ("bonafide", "spoof")


def test_predict_uses_the_training_tables_window(tmp_path: Path, shared_data: Path) -> None:
    # a model fitted on 0.5 s windows used to score new audio in 1 s windows (silently wrong)
    from dfaudio.cli.demo import DEMO_GROUP_REGEX, demo_data_dir
    from dfaudio.datasets import load_manifest
    from dfaudio.scoring import load_predictor
    from dfaudio.tables import read_table
    from dfaudio.tabular import tabulate, write_table
    from dfaudio.training.fit_sklearn import fit_sklearn

    manifest = load_manifest([demo_data_dir()], layout="folders", group_regex=DEMO_GROUP_REGEX)
    write_table(tabulate(manifest, window_s=0.5, progress=False).table, tmp_path / "t.csv")
    ft = read_table(tmp_path / "t.csv")
    assert ft.window_s == 0.5
    run = fit_sklearn(ft, model="lda", cv=2, runs_dir=tmp_path / "runs").run_dir
    assert json.loads((run / "config.json").read_text())["window_s"] == 0.5
    res = load_predictor(run).score_file(shared_data / UNSEEN_FAKE, per_window=True)
    assert res.n_windows == 5  # 2.64 s in 0.5 s windows
    assert [w["start_s"] for w in res.windows] == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_predict_resamples_to_the_training_feature_rate(tmp_path: Path, shared_data: Path) -> None:
    """A table built with ``tabulate --sr 16000`` records sr; predict then scores new audio at
    16 kHz by default, so the same file gives the same windows as in training."""
    from dfaudio.datasets import load_manifest
    from dfaudio.scoring import load_predictor
    from dfaudio.tables import validate_table
    from dfaudio.tabular import tabulate
    from dfaudio.training.fit_sklearn import fit_sklearn

    demo = Path(__file__).resolve().parents[1] / "dfaudio" / "data" / "demo"
    m = load_manifest([demo], group_regex=r"^(LJ\d+-\d+)")
    table = tabulate(m, sr=16000, progress=False).table
    assert set(table["sr"]) == {16000}
    ft = validate_table(table, source=str(tmp_path / "t16.csv"))
    res = fit_sklearn(ft, model="logreg", test_size=0.2, seed=0, runs_dir=tmp_path / "runs")
    assert res.metrics["sample_rates"] == [16000]
    pred = load_predictor(res.run_dir)
    wav = demo / "real" / "LJ001-0001.wav"  # 22.05 kHz on disk
    out = pred.score_file(wav, per_window=True)
    assert out.sr == 16000 and any("22050 Hz -> 16000 Hz" in n for n in out.notes)
    rows = table[table["file"] == str(wav)]
    X = rows[list(ft.features)].to_numpy()
    from dfaudio.models.persist import load_sklearn
    from dfaudio.training.fit_sklearn import model_scores

    expected, _, _ = model_scores(load_sklearn(res.run_dir), X)
    assert [w["score"] for w in out.windows] == pytest.approx(list(expected), abs=1e-6)


# ------------------------------------------------------------------------ score_array, backends


def test_score_array_equals_score_file(runs: dict[str, Path], shared_data: Path) -> None:
    """A signal in memory scores as the file it came from, also when it must be resampled
    (LibriSpeech at 16 kHz, models trained on 22.05 kHz features)."""
    from dfaudio.io.audio import load
    from dfaudio.scoring import load_predictor

    pred = load_predictor(runs["xgboost"])
    for rel in (UNSEEN_FAKE, UNSEEN_REAL):
        y, sr = load(shared_data / rel)
        from_file = pred.score_file(shared_data / rel, per_window=True)
        from_array = pred.score_array(y, sr, per_window=True)
        assert from_array.n_windows == from_file.n_windows
        np.testing.assert_allclose(
            [w["score"] for w in from_array.windows],
            [w["score"] for w in from_file.windows],
            rtol=1e-4,
            atol=1e-4,
        )
        assert from_array.verdict == from_file.verdict and from_array.file == "<array>"
        assert from_array.sr == from_file.sr == 22050
    assert any("resampled 16000 Hz -> 22050 Hz" in n for n in from_array.notes)


def test_score_array_refuses_bad_signals(runs: dict[str, Path]) -> None:
    from dfaudio.exceptions import ParameterError
    from dfaudio.scoring import load_predictor

    pred = load_predictor(runs["logreg"])
    with pytest.raises(ParameterError, match="mono"):
        pred.score_array(np.zeros((2, 22050), np.float32), 22050)
    with pytest.raises(ParameterError, match="NaN"):
        pred.score_array(np.full(22050, np.nan, np.float32), 22050)
    with pytest.raises(ParameterError, match=r"at least 0\.1 s"):
        pred.score_array(np.ones(100, np.float32), 22050)


def test_backends_are_looked_up_by_run_kind(runs: dict[str, Path], tmp_path: Path) -> None:
    """A new run kind plugs in through the registry alone (the predictor has no kind branches);
    an unknown kind is a one-line DataError."""
    from dfaudio.exceptions import DataError
    from dfaudio.scoring import BACKENDS, WindowScores, load_predictor

    run = tmp_path / "run"
    shutil.copytree(runs["logreg"], run)
    cfg = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**cfg, "kind": "toy"}))
    with pytest.raises(DataError, match="unknown run kind 'toy'"):
        load_predictor(run)

    class Toy:
        kind, window_s, sr, rate_reason = "toy", 0.5, 8000, "the toy's rate"

        def score_file(self, path: str, *, sr: int | None = None) -> WindowScores:
            raise AssertionError("not used")

        def score_array(self, y: np.ndarray, sr: int) -> WindowScores:
            n = int(y.size // (self.window_s * sr))
            return WindowScores(np.full(n, -1.0), np.arange(n) * self.window_s, y.size / sr)

    BACKENDS.register("toy", lambda d, c, m, trust=False: Toy())
    try:
        pred = load_predictor(run)
        res = pred.score_array(np.ones(16000, np.float32) * 0.1, 16000)  # 1 s at 16 kHz
        assert (pred.kind, res.n_windows, res.verdict, res.sr) == ("toy", 2, "spoof", 8000)
        assert res.notes[0] == "resampled 16000 Hz -> 8000 Hz (the toy's rate)"
    finally:
        BACKENDS._entries.pop("toy")
        BACKENDS._help.pop("toy")
