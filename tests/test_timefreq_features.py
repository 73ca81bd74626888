"""Time-frequency features of the deep path: log-mel, MFCC, LFCC, chroma, CQCC.

Analytic cases (tones, ideal flat spectra), agreement with librosa where librosa has the same
feature, and the property that makes LFCC what it is: filters equally spaced in Hz.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from dfaudio.exceptions import ParameterError
from dfaudio.features import cepstral, chroma, mel
from dfaudio.features.registry import TIMEFREQ
from tests.conftest import tone

SR = 16000


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)


@pytest.fixture(scope="module")
def voiced() -> np.ndarray:
    """A harmonic tone plus a little noise (1.5 s): a speech-like, non-flat spectrum."""
    rng = np.random.default_rng(1)
    t = np.arange(int(1.5 * SR)) / SR
    y = sum(0.3 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 8))
    return (y + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


# --------------------------------------------------------------------------- STFT / log-mel


def test_stft_ideal_bin_amplitude() -> None:
    """A sine exactly on bin k: |X[k]| = A * n_fft / 4 with a periodic Hann window, k±1 half."""
    n_fft, k, amp = 1024, 32, 0.5
    y = tone(k * SR / n_fft, sr=SR, duration_s=1.0, amp=amp)
    S = mel.stft_power(y, n_fft=n_fft, hop_length=512, power=1.0)
    mid = S[:, S.shape[1] // 2]
    assert np.argmax(mid) == k
    np.testing.assert_allclose(mid[k], amp * n_fft / 4, rtol=1e-4)
    np.testing.assert_allclose(mid[[k - 1, k + 1]], amp * n_fft / 8, rtol=1e-3)
    assert mid[: k - 2].max() < 1e-3 * mid[k]


def test_log_mel_seed_shape(noise: np.ndarray) -> None:
    """6 s at 16 kHz, 64 mels, n_fft 1024, hop 512 -> 64 x 188 (the seed models' input)."""
    assert mel.log_mel_spectrogram(noise, SR).shape == (64, 1 + 6 * SR // 512) == (64, 188)


@pytest.mark.parametrize("signal", ["noise", "voiced"])
def test_log_mel_matches_librosa(signal: str, request: pytest.FixtureRequest) -> None:
    librosa = pytest.importorskip("librosa")
    y = request.getfixturevalue(signal)
    ours = mel.log_mel_spectrogram(y, SR)
    ref = librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=512, n_mels=64)
    )
    np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_log_mel_tone_peaks_in_its_band() -> None:
    librosa = pytest.importorskip("librosa")
    f0 = 1000.0
    S = mel.log_mel_spectrogram(tone(f0, sr=SR), SR)
    centres = librosa.mel_frequencies(n_mels=64 + 2, fmax=SR / 2)[1:-1]
    band = int(np.argmax(S[:, S.shape[1] // 2]))
    assert abs(centres[band] - f0) <= np.max(np.diff(centres)[band - 1 : band + 1])


def test_power_to_db_floor_and_top_db() -> None:
    S = np.array([[1.0, 1e-3, 0.0]])
    np.testing.assert_allclose(mel.power_to_db(S, top_db=None), [[0.0, -30.0, -100.0]], atol=1e-5)
    np.testing.assert_allclose(mel.power_to_db(S, top_db=20.0), [[0.0, -20.0, -20.0]], atol=1e-5)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ParameterError):
        mel.stft_power(np.zeros((2, 100), dtype=np.float32))
    with pytest.raises(ParameterError):
        mel.stft_power(np.zeros(100, dtype=np.float32), win_length=2048)
    with pytest.raises(ParameterError, match="n_fft"):
        cepstral.lfcc(np.zeros(44100, dtype=np.float32), 44100)  # 20 ms = 882 > 512 samples
    with pytest.raises(ParameterError):
        chroma.chroma(np.zeros(1000, dtype=np.float32), SR, kind="wavelet")


# --------------------------------------------------------------------------- MFCC


@pytest.mark.parametrize("signal", ["noise", "voiced"])
def test_mfcc_matches_librosa(signal: str, request: pytest.FixtureRequest) -> None:
    librosa = pytest.importorskip("librosa")
    y = request.getfixturevalue(signal)
    ours = cepstral.mfcc(y, SR, n_mfcc=20)
    ref = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20, n_fft=1024, hop_length=512, n_mels=64)
    np.testing.assert_allclose(ours, ref, atol=2e-3 * np.abs(ref).max())


def test_mfcc_of_flat_log_mel_is_c0_only() -> None:
    S = np.full((64, 5), -20.0)
    C = cepstral.mfcc(None, SR, S=S, n_mfcc=13)
    np.testing.assert_allclose(C[0], -20.0 * np.sqrt(64), rtol=1e-6)
    np.testing.assert_allclose(C[1:], 0.0, atol=1e-4)


# --------------------------------------------------------------------------- LFCC


def test_lfcc_filters_equally_spaced_in_hz_and_unlike_mel() -> None:
    pytest.importorskip("librosa")
    n_fft, n_filters = 512, 20
    edges = cepstral.linear_filter_edges_hz(sr=SR, n_filters=n_filters)
    assert edges[0] == 0 and edges[-1] == SR / 2
    np.testing.assert_allclose(np.diff(edges), (SR / 2) / (n_filters + 1))

    fb = cepstral.linear_filterbank(sr=SR, n_fft=n_fft, n_filters=n_filters)
    assert fb.shape == (n_filters, 1 + n_fft // 2)
    freqs = np.linspace(0, SR / 2, 1 + n_fft // 2)
    # Each filter's centroid is its centre (symmetric triangles): spacing constant within a bin.
    centroids = (fb * freqs).sum(axis=1) / fb.sum(axis=1)
    np.testing.assert_allclose(np.diff(centroids), (SR / 2) / (n_filters + 1), atol=SR / n_fft)
    np.testing.assert_allclose(centroids, edges[1:-1], atol=SR / n_fft / 2)
    # Triangles peak at 1 (MATLAB trimf) and all have the same width in Hz.
    assert fb.max(axis=1).min() > 0.9

    mel_fb = mel.mel_filterbank(sr=SR, n_fft=n_fft, n_mels=n_filters)
    mel_centroids = (mel_fb * freqs).sum(axis=1) / mel_fb.sum(axis=1)
    mel_spacing = np.diff(mel_centroids)
    assert mel_spacing[-1] > 3 * mel_spacing[0]  # mel filters widen with frequency
    assert np.abs(mel_centroids - centroids).max() > 1000.0


def test_lfcc_differs_from_mfcc_with_same_framing(voiced: np.ndarray) -> None:
    kw = {"n_fft": 512, "hop_length": 160, "win_length": 320, "window": "hamming"}
    S = mel.stft_power(voiced, **kw)
    lf = cepstral.lfcc(None, SR, S=S, n_lfcc=20, n_filters=20)
    mf = cepstral.mfcc(voiced, SR, n_mfcc=20, n_mels=20, **kw)
    assert lf.shape == mf.shape
    assert not np.allclose(lf, mf, atol=1.0)


def test_lfcc_ideal_flat_spectrum_gives_c0_only() -> None:
    """Edges on whole bins (15 filters, 16 bins apart): every filter sums to exactly 16."""
    n_fft, n_filters = 512, 15
    S = np.ones((1 + n_fft // 2, 3))
    C = cepstral.lfcc(None, SR, S=S, n_fft=n_fft, n_filters=n_filters, n_lfcc=n_filters)
    np.testing.assert_allclose(C[0], np.log10(16.0) * np.sqrt(n_filters), rtol=1e-5)
    np.testing.assert_allclose(C[1:], 0.0, atol=1e-5)


def test_lfcc_tone_energy_lands_in_nearest_filter() -> None:
    f0 = 3000.0
    y = tone(f0, sr=SR, duration_s=0.5)
    S = mel.stft_power(y, n_fft=512, hop_length=160, win_length=320, window="hamming")
    fb = cepstral.linear_filterbank(sr=SR, n_fft=512, n_filters=20)
    centres = cepstral.linear_filter_edges_hz(sr=SR, n_filters=20)[1:-1]
    assert np.argmax((fb @ S)[:, 10]) == np.argmin(np.abs(centres - f0))


def test_lfcc_baseline_shapes(noise: np.ndarray) -> None:
    C = cepstral.lfcc(noise, SR)  # 20 ms window, 10 ms hop, 512 FFT, 20 filters, 20 coefs
    assert C.shape == (20, 1 + 6 * SR // 160)
    C3 = cepstral.lfcc(noise, SR, add_deltas=True)
    assert C3.shape == (60, C.shape[1])
    np.testing.assert_array_equal(C3[:20], C)
    assert C.dtype == np.float32 and np.isfinite(C3).all()


def test_deltas_of_ramp_and_constant() -> None:
    ramp = np.tile(np.arange(10.0) * 2.5, (2, 1))
    d = cepstral.deltas(ramp, width=5)
    np.testing.assert_allclose(d[:, 2:-2], 2.5)
    np.testing.assert_allclose(cepstral.deltas(np.ones((3, 7))), 0.0)
    with pytest.raises(ParameterError):
        cepstral.deltas(ramp, width=4)


# --------------------------------------------------------------------------- chroma


@pytest.mark.parametrize("tuning", [0.0, None])
def test_chroma_stft_matches_librosa(voiced: np.ndarray, tuning: float | None) -> None:
    librosa = pytest.importorskip("librosa")
    ours = chroma.chroma(voiced, SR, tuning=tuning)
    kw = {} if tuning is None else {"tuning": tuning}
    ref = librosa.feature.chroma_stft(y=voiced, sr=SR, n_fft=1024, hop_length=512, **kw)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


@pytest.mark.parametrize("kind", ["stft", "cqt"])
def test_chroma_a4_tone_is_pitch_class_a(kind: str) -> None:
    C = chroma.chroma(tone(440.0, sr=SR, duration_s=1.0), SR, kind=kind)
    assert C.shape[0] == 12
    assert np.argmax(C[:, C.shape[1] // 2]) == 9  # C C# D D# E F F# G G# A A# B
    assert C.max() <= 1.0 + 1e-6


# --------------------------------------------------------------------------- CQCC


def test_cqcc_shape_and_tone_differs_from_noise(noise: np.ndarray) -> None:
    C = cepstral.cqcc(noise[:SR], SR, n_cqcc=20)
    assert C.shape[0] == 20 and C.dtype == np.float32 and np.isfinite(C).all()
    T = cepstral.cqcc(tone(1000.0, sr=SR), SR, n_cqcc=20, add_deltas=True)
    assert T.shape == (60, C.shape[1])
    assert np.abs(T[:20].mean(axis=1) - C.mean(axis=1)).max() > 1.0


# --------------------------------------------------------------------------- registry


def test_registry_every_feature_gives_2d_float32(voiced: np.ndarray) -> None:
    assert TIMEFREQ.names() == ["mel", "mfcc", "lfcc", "chroma", "chroma-cqt", "cqcc", "seed-mel"]
    for name in TIMEFREQ.names():
        S = TIMEFREQ.get(name)(voiced, SR)
        assert S.ndim == 2 and S.dtype == np.float32, name
        assert np.isfinite(S).all(), name


def test_registry_import_is_light() -> None:
    code = (
        "import sys, dfaudio.features.registry as r; r.TIMEFREQ.names();"
        "print(any(m in sys.modules for m in ('librosa', 'scipy', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- timefreq tensors


@pytest.fixture
def clips(tmp_path):
    """Two WAVs at 22.05 kHz: a short (2 s) and a long (8 s) one, plus a broken file."""
    from tests.conftest import write_wav

    sr = 22050
    short = write_wav(tmp_path / "audio" / "short.wav", tone(330.0, sr=sr, duration_s=2.0), sr)
    long_y = tone(660.0, sr=sr, duration_s=8.0) * np.linspace(0.2, 1.0, 8 * sr, dtype=np.float32)
    long = write_wav(tmp_path / "audio" / "long.wav", long_y, sr)
    broken = tmp_path / "audio" / "broken.wav"
    broken.write_bytes(b"RIFF not really a wave file")
    return short, long, broken


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import dfaudio.timefreq as tf

    calls: list[int] = []
    original = tf.TimeFreqConfig.extract

    def counted(self, y):  # type: ignore[no-untyped-def]
        calls.append(len(y))
        return original(self, y)

    monkeypatch.setattr(tf.TimeFreqConfig, "extract", counted)
    return calls


def test_default_config_is_the_seed_input() -> None:
    from dfaudio.timefreq import TimeFreqConfig

    cfg = TimeFreqConfig()
    assert (cfg.feature, cfg.sr, cfg.duration_s, cfg.n_samples) == ("mel", 16000, 6.0, 96000)
    assert cfg.shape == (1, 64, 188)
    assert TimeFreqConfig(feature="mfcc").shape == (1, 20, 188)
    assert TimeFreqConfig(feature="chroma").shape == (1, 12, 188)
    assert TimeFreqConfig(feature="lfcc", params={"add_deltas": True}).shape == (1, 60, 601)
    assert TimeFreqConfig(feature="mel", params={"n_mels": 80}).cache_key() != cfg.cache_key()
    with pytest.raises(ParameterError, match="unknown feature"):
        TimeFreqConfig(feature="spectral-flux")
    with pytest.raises(ParameterError, match="bad parameters"):
        _ = TimeFreqConfig(feature="mel", params={"n_mel": 80}).shape


def test_parse_feature_params() -> None:
    from dfaudio.timefreq import parse_feature_params

    got = parse_feature_params(["n_mels=80", "add_deltas=true", "window=hann", "fmax=7600.0"])
    assert got == {"n_mels": 80, "add_deltas": True, "window": "hann", "fmax": 7600.0}
    with pytest.raises(ParameterError):
        parse_feature_params(["n_mels"])


def test_repeat_pad_and_crop() -> None:
    from dfaudio.timefreq import crop_frames, repeat_pad

    y = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(repeat_pad(y, 12), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1])
    assert repeat_pad(y, 3) is y
    S = np.arange(20).reshape(2, 10)
    np.testing.assert_array_equal(crop_frames(S, 4, offset=3), S[:, 3:7])
    np.testing.assert_array_equal(crop_frames(S, 4, offset=99), S[:, 6:])
    assert crop_frames(S[:, :3], 7).shape == (2, 7)


def test_short_clip_is_repeat_padded_before_the_feature(clips, monkeypatch) -> None:
    from dfaudio.io.audio import load
    from dfaudio.timefreq import FeatureCache, TimeFreqConfig

    cfg = TimeFreqConfig()
    S = FeatureCache(cfg, None).load(clips[0])
    y, _ = load(clips[0], sr=16000)
    expected = mel.log_mel_spectrogram(np.tile(y, 3)[:96000], 16000)
    assert S.shape == (64, 188)
    np.testing.assert_allclose(S, expected, atol=1e-4)


def test_disk_cache_second_epoch_and_second_run_compute_nothing(
    clips, tmp_path, monkeypatch
) -> None:
    from dfaudio.timefreq import FeatureCache, TimeFreqConfig, TimeFreqDataset, make_loader

    calls = _counting(monkeypatch)
    cfg = TimeFreqConfig()
    _ = cfg.shape  # the shape probe is one call
    calls.clear()
    cache = FeatureCache(cfg, tmp_path / "cache")
    ds = TimeFreqDataset(clips[:2], [0, 1], cache=cache, train=True, seed=3)
    for epoch in range(2):
        ds.set_epoch(epoch)
        x, y = next(iter(make_loader(ds, batch_size=2)))
        assert x.shape == (2, 1, 64, 188) and x.dtype == torch_float32()
        np.testing.assert_array_equal(y.numpy(), [0.0, 1.0])
    assert len(calls) == 2 and (cache.misses, cache.hits) == (2, 2)

    # A second run (new cache object, same folder) reads everything from disk.
    again = FeatureCache(TimeFreqConfig(), tmp_path / "cache")
    np.testing.assert_array_equal(again.load(clips[1]), cache.load(clips[1]))
    assert len(calls) == 2 and again.misses == 0
    entries = sorted(p.name for p in again.directory.rglob("*") if p.is_file())
    assert len([e for e in entries if e.endswith(".npy")]) == 2 and "config.json" in entries
    assert not [e for e in entries if e.endswith(".part")]

    # Another configuration gets its own folder; an edited file is recomputed.
    other = FeatureCache(TimeFreqConfig(params={"n_mels": 32}), tmp_path / "cache")
    assert other.load(clips[0]).shape[0] == 32 and other.directory != again.directory
    os.utime(clips[0], ns=(1, 1))
    again.load(clips[0])
    assert again.misses == 1


def torch_float32():  # type: ignore[no-untyped-def]
    import torch

    return torch.float32


def test_crops_random_in_training_fixed_in_eval(clips) -> None:
    from dfaudio.timefreq import FeatureCache, TimeFreqConfig, TimeFreqDataset

    cache = FeatureCache(TimeFreqConfig(), None)
    full = cache.load(clips[1])
    assert full.shape[1] > 188  # 8 s -> 251 frames
    ev = TimeFreqDataset([clips[1]], [1], cache=cache, train=False)
    np.testing.assert_array_equal(ev[0][0][0].numpy(), full[:, :188])
    tr = TimeFreqDataset([clips[1]], [1], cache=cache, train=True, seed=0)
    offsets = []
    for epoch in range(6):
        tr.set_epoch(epoch)
        offsets.append(tr.crop_offset(0, full.shape[1]))
        x = tr[0][0][0].numpy()
        np.testing.assert_array_equal(x, full[:, offsets[-1] : offsets[-1] + 188])
    assert len(set(offsets)) > 1 and max(offsets) <= full.shape[1] - 188
    tr.set_epoch(2)
    assert tr.crop_offset(0, full.shape[1]) == offsets[2]  # reproducible


def test_normalizers(clips) -> None:
    from dfaudio.timefreq import FeatureCache, Normalizer, TimeFreqConfig, precompute

    cache = FeatureCache(TimeFreqConfig(), None)
    res = precompute(clips, cache, progress=False)
    assert res.ok.tolist() == [True, True, False]
    assert res.failures[0][0] == str(clips[2]) and res.failures[0][1] == "unreadable"
    assert (res.computed, res.cached) == (2, 0)
    norm = Normalizer.fit_from_stats(res.stats)
    both = np.concatenate([norm(cache.load(p)) for p in clips[:2]], axis=1)
    np.testing.assert_allclose(both.mean(axis=1), 0.0, atol=1e-3)
    live = both.std(axis=1) > 0.5  # rows that are not constant
    np.testing.assert_allclose(both.std(axis=1)[live], 1.0, atol=1e-2)
    restored = Normalizer.from_dict(norm.to_dict())
    np.testing.assert_array_equal(restored(cache.load(clips[0])), norm(cache.load(clips[0])))
    utt = Normalizer(mode="utterance")(cache.load(clips[1]))
    np.testing.assert_allclose(utt.mean(axis=1), 0.0, atol=1e-4)
    assert Normalizer(mode="none")(full := cache.load(clips[1])) is full


def test_precompute_with_worker_processes(clips, tmp_path) -> None:
    from dfaudio.timefreq import FeatureCache, TimeFreqConfig, precompute

    cache = FeatureCache(TimeFreqConfig(feature="mfcc"), tmp_path / "c")
    res = precompute(clips, cache, workers=1, progress=False)
    assert res.ok.tolist() == [True, True, False] and (res.computed, res.cached) == (2, 0)
    res2 = precompute(clips[:2], cache, workers=1, progress=False)
    assert (res2.computed, res2.cached) == (0, 2)
    assert res2.stats.count == 188 + cache.load(clips[1]).shape[1]
