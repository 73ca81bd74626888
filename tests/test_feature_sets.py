"""Tabular feature sets: the registry, each set against its upstream library, tables that say so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.features import sets as fsets
from dfaudio.features.sets import compute, compute_many, compute_stream, parse_feature_sets
from dfaudio.schema import DEEP_VOICE_FEATURES
from tests.conftest import REPO_ROOT, tone, write_wav

SR = 16000


def speechlike(seconds: float, *, seed: int = 0, sr: int = SR) -> np.ndarray:
    """A voiced-ish test signal: a gliding harmonic tone in noise, with a loudness envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 8))
    y = y * (0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t) ** 2) + 0.02 * rng.standard_normal(t.size)
    return (0.2 * y / np.max(np.abs(y))).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_w2v(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random wav2vec 2.0 model saved with save_pretrained (built offline from a config)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    cfg = Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_stride=(5, 4),
        conv_kernel=(10, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("w2v")
    Wav2Vec2Model(cfg).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------------------------
# The registry


def test_names_import_no_heavy_library() -> None:
    code = (
        "import sys; from dfaudio.features.sets import names, parse_feature_sets; "
        "names(); parse_feature_sets('deep-voice,egemaps,resemblyzer,ssl:x/y:3'); "
        "heavy = [m for m in ('librosa', 'opensmile', 'torch', 'transformers', 'resemblyzer') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_parse_specs_and_errors() -> None:
    specs = parse_feature_sets("deep-voice, spectral-stats,ssl:/m/w2v:3")
    assert [s.spec for s in specs] == ["deep-voice", "spectral-stats", "ssl:/m/w2v:3"]
    assert specs[2].params["model"] == "/m/w2v" and specs[2].params["layer"] == 3
    hub = parse_feature_sets("ssl:facebook/wav2vec2-xls-r-300m")[0]
    assert hub.params == {**hub.params, "model": "facebook/wav2vec2-xls-r-300m", "layer": "mean"}
    assert [s.spec for s in parse_feature_sets(None)] == ["deep-voice"]
    ss = parse_feature_sets("spectral-stats", params={"spectral-stats": {"n_mfcc": 13}})[0]
    assert ss.params["n_mfcc"] == 13 and len(fsets.columns(ss)) == 5 * 2 * (13 + 20 + 7 + 1)
    for bad, msg in [
        ("mfcc-means", "unknown feature set 'mfcc-means'"),
        ("egemaps,egemaps", "given twice: egemaps"),
        ("ssl:a,ssl:b", "two ssl: sets"),
        ("ssl", "needs a model"),
    ]:
        with pytest.raises(ParameterError, match=msg):
            parse_feature_sets(bad)
    with pytest.raises(ParameterError, match="no parameter"):
        parse_feature_sets("egemaps", params={"egemaps": {"n_mfcc": 3}})


def test_record_round_trip_and_version_check() -> None:
    specs = parse_feature_sets("spectral-stats,ssl:/m:2")
    back = fsets.from_records([s.record() for s in specs])
    assert back == specs
    rec = specs[0].record() | {"version": "0"}
    with pytest.raises(ParameterError, match="version 0"):
        fsets.from_records([rec])


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [
        ("egemaps", "opensmile", "opensmile"),
        ("compare", "opensmile", "opensmile"),
        ("resemblyzer", "resemblyzer", "resemblyzer"),
        ("ssl:some/model", "transformers", "ssl"),
    ],
)
def test_missing_extra_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    spec = parse_feature_sets(name)[0]
    with pytest.raises(ParameterError) as err:
        compute(spec, speechlike(1.0), SR)
    msg = str(err.value)
    assert f'pip install -e ".[{extra}]" in the dfaudio checkout' in msg and "\n" not in msg


# --------------------------------------------------------------------------------------------
# The sets


def test_deep_voice_set_is_the_fast_path_exactly() -> None:
    from dfaudio.features.summary import deep_voice_features

    y = speechlike(2.5)
    spec = parse_feature_sets("deep-voice")[0]
    np.testing.assert_array_equal(compute(spec, y, SR), deep_voice_features(y, SR))
    whole = compute(spec, y, SR, window_s=None)
    np.testing.assert_array_equal(whole, deep_voice_features(y, SR, window_s=y.size / SR))
    assert fsets.columns(spec) == list(DEEP_VOICE_FEATURES)


def _librosa_frames(y: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """MFCC (40 Slaney mel bands, dB, orthonormal DCT) and flatness with librosa's own calls."""
    import librosa
    import scipy.fft

    kw = {
        "n_fft": 512,
        "hop_length": 160,
        "win_length": 400,
        "center": True,
        "pad_mode": "constant",
    }
    mel = librosa.feature.melspectrogram(y=y.astype(np.float64), sr=sr, n_mels=40, **kw)
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None)
    mfcc = scipy.fft.dct(db, type=2, axis=0, norm="ortho")[:20]
    S = np.abs(librosa.stft(y.astype(np.float64), **kw))
    return {"mfcc": mfcc, "flatness": librosa.feature.spectral_flatness(S=S, amin=1e-10)[0]}


@pytest.mark.slow
def test_spectral_stats_names_shapes_and_values_against_librosa() -> None:
    from dfaudio.features.cepstral import deltas

    y = speechlike(2.0)
    spec = parse_feature_sets("spectral-stats")[0]
    X = compute(spec, y, SR)
    cols = fsets.columns(spec)
    assert X.shape == (2, 480) and len(cols) == 480 and len(set(cols)) == 480
    assert all(c.startswith("ss_") for c in cols)
    assert cols[:5] == [
        "ss_mfcc1_mean",
        "ss_mfcc1_std",
        "ss_mfcc1_p10",
        "ss_mfcc1_p50",
        "ss_mfcc1_p90",
    ]
    assert "ss_mfcc3_mean" in cols and cols[-1] == "ss_flatness_delta_p90"
    np.testing.assert_array_equal(X, compute(spec, y, SR))  # deterministic
    row = dict(zip(cols, X[1], strict=True))
    ref = _librosa_frames(y[SR : 2 * SR], SR)
    for k in (1, 3, 20):
        c = ref["mfcc"][k - 1]
        np.testing.assert_allclose(row[f"ss_mfcc{k}_mean"], c.mean(), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(row[f"ss_mfcc{k}_std"], c.std(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            row[f"ss_mfcc{k}_p90"], np.percentile(c, 90), rtol=1e-4, atol=1e-4
        )
        d = deltas(c[None, :], width=9)[0]
        np.testing.assert_allclose(row[f"ss_mfcc{k}_delta_std"], d.std(), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(row["ss_flatness_mean"], ref["flatness"].mean(), rtol=1e-4)
    # noise is flat, a tone is not; the deltas of a steady tone are near zero
    noise = np.random.default_rng(1).standard_normal(SR).astype(np.float32) * 0.1
    Xn = dict(zip(cols, compute(spec, noise, SR)[0], strict=True))
    Xt = dict(zip(cols, compute(spec, tone(440.0, sr=SR), SR)[0], strict=True))
    assert Xn["ss_flatness_mean"] > 10 * Xt["ss_flatness_mean"]
    assert abs(Xt["ss_mfcc2_delta_p50"]) < 1e-3 < abs(Xt["ss_mfcc2_mean"])


def test_spectral_stats_low_rate_and_short_clip() -> None:
    spec = parse_feature_sets("spectral-stats")[0]
    X8k = compute(spec, speechlike(0.3, sr=8000), 8000)  # one row over a 0.3 s clip
    assert X8k.shape == (1, 480) and np.isfinite(X8k).all()
    assert compute(spec, speechlike(0.3), SR, short="skip").shape == (0, 480)


def test_egemaps_equals_opensmile_process_signal() -> None:
    import opensmile

    y = speechlike(2.0, seed=3)
    spec = parse_feature_sets("egemaps")[0]
    X = compute(spec, y, SR)
    cols = fsets.columns(spec)
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    assert cols == ["egemaps_" + n for n in smile.feature_names] and X.shape == (2, 88)
    for i in range(2):
        ref = smile.process_signal(y[i * SR : (i + 1) * SR], SR).to_numpy()[0]
        np.testing.assert_array_equal(X[i], ref)


def test_compare_equals_opensmile_on_one_window() -> None:
    import opensmile

    y = speechlike(1.0, seed=4)
    spec = parse_feature_sets("compare")[0]
    X = compute(spec, y, SR)
    assert X.shape == (1, 6373) and fsets.columns(spec)[0].startswith("compare_")
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    np.testing.assert_array_equal(X[0], smile.process_signal(y, SR).to_numpy()[0])


@pytest.mark.slow
def test_resemblyzer_equals_voice_encoder_on_each_window() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from resemblyzer import VoiceEncoder
        from resemblyzer.audio import normalize_volume

    y = speechlike(2.0, seed=5)
    spec = parse_feature_sets("resemblyzer")[0]
    X = compute(spec, y, SR)
    assert X.shape == (2, 256) and fsets.columns(spec)[-1] == "rsz_255"
    enc = VoiceEncoder("cpu", verbose=False)
    for i in range(2):
        wav = normalize_volume(y[i * SR : (i + 1) * SR], -30, increase_only=True)
        np.testing.assert_allclose(X[i], enc.embed_utterance(wav), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-6)
    assert not np.allclose(X[0], X[1])


@pytest.mark.slow
@pytest.mark.parametrize("layer", [1, "mean"])
def test_ssl_equals_the_transformers_model_called_directly(tiny_w2v: Path, layer) -> None:
    import torch
    from transformers import AutoFeatureExtractor, AutoModel

    y = speechlike(2.0, seed=6)
    text = f"ssl:{tiny_w2v}" + ("" if layer == "mean" else f":{layer}")
    spec = parse_feature_sets(text)[0]
    X = compute(spec, y, SR)
    assert fsets.columns(spec) == [f"ssl_{i}" for i in range(16)] and X.shape == (2, 16)
    fe = AutoFeatureExtractor.from_pretrained(tiny_w2v)
    net = AutoModel.from_pretrained(tiny_w2v).eval()
    for i in range(2):
        iv = fe([y[i * SR : (i + 1) * SR]], sampling_rate=SR, return_tensors="pt").input_values
        with torch.no_grad():
            hs = net(iv, output_hidden_states=True).hidden_states
        h = torch.stack(hs).mean(0) if layer == "mean" else hs[layer]
        np.testing.assert_allclose(X[i], h[0].mean(0).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ParameterError, match=r"hidden states 0\.\.2"):
        compute(parse_feature_sets(f"ssl:{tiny_w2v}:7")[0], y, SR)


def test_ssl_resamples_other_rates(tiny_w2v: Path) -> None:
    from dfaudio.io.audio import resample

    y8 = speechlike(1.0, sr=8000)
    spec = parse_feature_sets(f"ssl:{tiny_w2v}:2")[0]
    direct = compute(spec, resample(y8, orig_sr=8000, target_sr=SR), SR)
    np.testing.assert_allclose(compute(spec, y8, 8000), direct, rtol=1e-5, atol=1e-6)


def test_unknown_ssl_model_is_one_line(tmp_path: Path) -> None:
    spec = parse_feature_sets(f"ssl:{tmp_path / 'nowhere'}")[0]
    with pytest.raises(ParameterError, match="cannot be loaded"):
        fsets.columns(spec)


def test_stream_equals_whole_signal() -> None:
    y = speechlike(5.3)
    specs = parse_feature_sets("deep-voice,spectral-stats")
    pieces = [y[:7000], y[7000:30000], y[30000:]]
    got = compute_stream(specs, iter(pieces), SR, window_s=0.5, group_s=1.2)
    np.testing.assert_allclose(got, compute_many(specs, y, SR, window_s=0.5), rtol=1e-12)
    assert got.shape == (10, 26 + 480)


# --------------------------------------------------------------------------------------------
# Tables


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for i in range(3):
        write_wav(root / "real" / f"r{i}.wav", speechlike(2.2, seed=i), SR)
        y = speechlike(1.6, seed=10 + i) + 0.05 * tone(3000.0, sr=SR, duration_s=1.6)
        write_wav(root / "fake" / f"f{i}.wav", y, SR)
    return root


def test_tabulate_default_is_unchanged(corpus: Path) -> None:
    from dfaudio.datasets import load_manifest
    from dfaudio.features.summary import deep_voice_features
    from dfaudio.io.audio import load
    from dfaudio.tabular import tabulate

    res = tabulate(load_manifest([str(corpus)]), progress=False)
    t = res.table
    assert list(t.columns[:26]) == list(DEEP_VOICE_FEATURES) and t.columns[26] == "label"
    path = str(corpus / "real" / "r0.wav")
    y, sr = load(path)
    np.testing.assert_array_equal(
        t.loc[t["file"] == path, DEEP_VOICE_FEATURES].to_numpy(), deep_voice_features(y, sr)
    )
    assert res.info["feature_sets"][0]["spec"] == "deep-voice" and res.info["window"] == 1.0


def test_tabulate_several_sets_window_and_whole(corpus: Path, tmp_path: Path) -> None:
    from dfaudio.datasets import load_manifest
    from dfaudio.io.audio import load
    from dfaudio.tables import read_table, sidecar_path
    from dfaudio.tabular import tabulate, write_table

    man = load_manifest([str(corpus)])
    specs = parse_feature_sets("deep-voice,spectral-stats")
    half = tabulate(man, window_s=0.5, feature_sets=specs, progress=False)
    assert len(half.table) == 3 * 4 + 3 * 3  # 2.2 s -> 4 windows, 1.6 s -> 3
    assert half.table.shape[1] > 26 + 480
    whole = tabulate(man, window_s="whole", feature_sets=specs, progress=False)
    t = whole.table
    assert len(t) == 6 and (t["window"] == 0).all() and (t["start_s"] == 0).all()
    path = str(corpus / "real" / "r1.wav")
    y, sr = load(path)
    row = t.loc[t["file"] == path]
    assert row["duration_s"].item() == pytest.approx(2.2)
    np.testing.assert_allclose(
        row.iloc[:, : 26 + 480].to_numpy()[0],
        compute_many(specs, y, sr, window_s=None)[0],
        rtol=1e-12,
    )
    # CSV: a JSON sidecar; Parquet: the table's own metadata
    csv = write_table(whole.table, tmp_path / "w.csv", info=whole.info)
    meta = json.loads(sidecar_path(csv).read_text())
    assert [s["spec"] for s in meta["feature_sets"]] == ["deep-voice", "spectral-stats"]
    assert meta["window"] == "whole" and meta["feature_sets"][1]["n_columns"] == 480
    pq = write_table(half.table, tmp_path / "h.parquet", info=half.info)
    assert not sidecar_path(pq).exists()
    for p, window in [(csv, "whole"), (pq, 0.5)]:
        ft = read_table(p)
        assert ft.feature_set_names == "deep-voice+spectral-stats" and ft.window == window
        assert ft.X.shape[1] == 26 + 480 and ft.features[26] == "ss_mfcc1_mean"
    # a sidecar that does not match the columns is refused, by name
    bad = dict(meta, feature_sets=[meta["feature_sets"][0]])
    sidecar_path(csv).write_text(json.dumps(bad))
    with pytest.raises(DataError, match="lists set"):
        read_table(csv)
    # without metadata, the sets are inferred from the column prefixes
    sidecar_path(csv).unlink()
    ft = read_table(csv)
    assert [s["name"] for s in ft.feature_sets] == ["deep-voice", "spectral-stats"]
    assert all(s["inferred"] for s in ft.feature_sets)


def test_table_without_deep_voice_columns_and_unknown_columns() -> None:
    from dfaudio.tables import validate_table

    df = pd.DataFrame({"rsz_0": [0.1, 0.2], "rsz_1": [0.3, 0.1], "label": ["bonafide", "spoof"]})
    t = validate_table(df)
    assert t.features == ["rsz_0", "rsz_1"] and t.feature_set_names == "resemblyzer"
    with pytest.raises(DataError, match="unexpected column"):
        validate_table(df.assign(mystery=1.0))
    with pytest.raises(DataError, match="missing feature column"):
        validate_table(df.assign(mfcc1=1.0))


def test_cli_features_and_window_options(corpus: Path, tmp_path: Path) -> None:
    from dfaudio.cli.main import cli

    out = tmp_path / "t.csv"
    res = CliRunner().invoke(
        cli,
        [
            "tabulate",
            str(corpus),
            "-o",
            str(out),
            "--features",
            "deep-voice,spectral-stats",
            "--window-s",
            "0.5",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "deep-voice, spectral-stats (506 columns; window 0.5 s)" in res.output
    assert (tmp_path / "t.csv.features.json").is_file()
    res = CliRunner().invoke(
        cli, ["tabulate", str(corpus), "-o", str(tmp_path / "w.csv"), "--window", "whole", "-q"]
    )
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "w.csv")) == 6
    for args, msg in [
        (["--features", "deep-voice,nope"], "unknown feature set 'nope'"),
        (["--window", "half"], "neither a number of seconds nor 'whole'"),
        (["--window", "-1"], "positive"),
        (["--schema", "deep-voice", "--features", "spectral-stats"], "deep-voice features"),
    ]:
        res = CliRunner().invoke(
            cli, ["tabulate", str(corpus), "-o", str(tmp_path / "x.csv"), *args]
        )
        assert res.exit_code == 2 and msg in res.output, res.output
        assert "Traceback" not in res.output
    # the table exists: without --force nothing is overwritten (the sidecar neither)
    res = CliRunner().invoke(cli, ["tabulate", str(corpus), "-o", str(out), "-q"])
    assert res.exit_code == 2 and "exists" in res.output


# --------------------------------------------------------------------------------------------
# Training and predicting on any set


def _fit_and_predict(corpus: Path, tmp_path: Path, features: str, window) -> None:
    from dfaudio.datasets import load_manifest
    from dfaudio.runs.leaderboard import collect
    from dfaudio.scoring import load_predictor
    from dfaudio.tables import read_table
    from dfaudio.tabular import tabulate, write_table
    from dfaudio.training.fit_sklearn import fit_sklearn

    res = tabulate(
        load_manifest([str(corpus)]), feature_sets=features, window_s=window, progress=False
    )
    path = write_table(res.table, tmp_path / "t.parquet", info=res.info)
    table = read_table(path)
    fit = fit_sklearn(table, model="logreg", cv=3, runs_dir=tmp_path / "runs")
    config = json.loads((fit.run_dir / "config.json").read_text())
    specs = [s.spec for s in parse_feature_sets(features)]
    assert [s["spec"] for s in config["feature_sets"]] == specs
    assert fit.metrics["features"] == "+".join(specs) and config["window"] == window
    board = collect(tmp_path / "runs")
    assert list(board["features"]) == ["+".join(specs)]
    pred = load_predictor(fit.run_dir)
    est = pred.backend.est
    if window == "whole":  # a model of whole files does not score a stream second by second
        with pytest.raises(ParameterError, match="one row per file"):
            list(pred.stream(iter([speechlike(2.0)]), sr=SR))
    for f in (str(corpus / "real" / "r0.wav"), str(corpus / "fake" / "f1.wav")):
        rows = res.table.loc[res.table["file"] == f, table.features].to_numpy()
        want = pred.backend.scores(rows)
        got = pred.score_file(f, per_window=True)
        np.testing.assert_allclose([w["score"] for w in got.windows], want, rtol=1e-9)
        from dfaudio.models.scores import model_scores

        np.testing.assert_allclose(model_scores(est, rows)[0], want)


@pytest.mark.slow
def test_a_run_trained_on_every_set_predicts_with_the_same_features(
    corpus: Path, tmp_path: Path, tiny_w2v: Path
) -> None:
    # one run holding every set but ComParE (each set's columns are recomputed for new audio)
    features = f"deep-voice,spectral-stats,egemaps,resemblyzer,ssl:{tiny_w2v}:1"
    _fit_and_predict(corpus, tmp_path, features, 0.8)


@pytest.mark.slow
def test_a_whole_file_run_on_compare_predicts(corpus: Path, tmp_path: Path) -> None:
    _fit_and_predict(corpus, tmp_path, "compare", "whole")


@pytest.mark.slow
def test_ssl_whisper_encoder_pools_only_the_window_frames(tmp_path: Path) -> None:
    import torch
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    cfg = WhisperConfig(
        d_model=16,
        encoder_layers=2,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_target_positions=32,
    )
    torch.manual_seed(0)
    net = WhisperModel(cfg).eval()
    net.save_pretrained(tmp_path)
    WhisperFeatureExtractor().save_pretrained(tmp_path)
    y = speechlike(2.0, seed=7)
    X = compute(parse_feature_sets(f"ssl:{tmp_path}:2")[0], y, SR)
    feats = WhisperFeatureExtractor()([y[SR:]], sampling_rate=SR, return_tensors="pt")
    with torch.no_grad():
        h = net.get_encoder()(feats.input_features, output_hidden_states=True).hidden_states[2]
    # Whisper pads every input to 30 s; only the 50 frames of the 1 s window are pooled
    np.testing.assert_allclose(X[1], h[0, :50].mean(0).numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(X[1], h[0].mean(0).numpy(), atol=1e-4)


@pytest.mark.parametrize("name", ["deep-voice", "spectral-stats", "egemaps", "resemblyzer", "ssl"])
def test_every_set_is_deterministic_and_names_its_columns(
    name: str, request: pytest.FixtureRequest
) -> None:
    if name == "ssl":
        name = f"ssl:{request.getfixturevalue('tiny_w2v')}:1"
    spec = parse_feature_sets(name)[0]
    y = speechlike(1.5, seed=8)
    a, b = compute(spec, y, SR), compute(spec, y.copy(), SR)
    np.testing.assert_array_equal(a, b)
    cols = fsets.columns(spec)
    assert a.shape == (1, len(cols)) and np.isfinite(a).all() and len(set(cols)) == len(cols)
    assert all(c.startswith(spec.info.prefix) for c in cols)
