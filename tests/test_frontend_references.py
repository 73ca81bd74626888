"""Front ends against their references, on real ASVspoof 2019 LA audio (issue 12 section 4).

Each reference below is an independent re-statement, written for this test from the reference
code's own definitions, step by step and without dfaudio's helpers:

* ``extract_lfcc.m`` + ``deltas.m`` (ASVspoof 2019 LFCC package, M. Sahidullah; D. Ellis) as
  the 2019 baseline ran it, ``extract_lfcc(x, fs, 20, 512, 20)``: MATLAB ``filter``, ``buffer
  (..., 'nodelay')``, ``hamming``, ``fft``, ``trimf``, ``dct`` and ``filter``-based deltas;
* ``lfcc_bp.m`` (ASVspoof 2021 LA baseline, ``lfcc_bp(x, fs, 30, 1024, 70, 19, 0, 4000)``);
* torchaudio's ``MelSpectrogram(sample_rate=16000, n_fft=1024, hop_length=512, n_mels=64)`` (the
  seed's input), from the definitions of ``torchaudio.functional.spectrogram`` and
  ``melscale_fbanks``: torchaudio is not installed here, so the reference is that definition in
  numpy (periodic Hann window, reflect padding, power 2, HTK mel from 0 to ``sr // 2`` without
  normalisation, no log), computed in float32 like torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dfaudio.exceptions import ParameterError
from dfaudio.features import cepstral, chroma, mel
from dfaudio.features.registry import TIMEFREQ

FILES = ["LA_E_3739591.flac", "LA_E_6204844.flac"]  # bona fide, spoof (A15)
MATLAB_EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module", params=FILES)
def la_audio(request: pytest.FixtureRequest, shared_data: Path) -> tuple[np.ndarray, int]:
    """``audioread`` of a LA eval file: float64 samples (int16 / 32768) and the rate."""
    import soundfile as sf

    path = shared_data / "asvspoof2019-la" / "flac_samples" / request.param
    if not path.is_file():
        pytest.skip(f"{path} not found")
    x, fs = sf.read(path, dtype="float64")
    return x, fs


# --------------------------------------------------------------------------- MATLAB re-statement


def matlab_filter(b: list[float], x: np.ndarray, axis: int = -1) -> np.ndarray:
    """MATLAB ``filter(b, 1, x, [], dim)``: FIR with zero initial state."""
    import scipy.signal

    return scipy.signal.lfilter(np.asarray(b, dtype=float), [1.0], x, axis=axis)


def matlab_buffer_nodelay(x: np.ndarray, n: int, p: int) -> np.ndarray:
    """MATLAB ``buffer(x, n, p, 'nodelay')``: columns of ``n`` samples, ``p`` repeated from the
    previous column, the first filled from ``x(1)``, the last zero-padded. Returns ``(n, cols)``."""
    cols = [x[:n]]
    i = n
    while i < len(x):
        new = x[i : i + n - p]
        cols.append(np.concatenate([cols[-1][n - p :], new]))
        i += n - p
    cols[-1] = np.concatenate([cols[-1], np.zeros(n - len(cols[-1]))])
    return np.stack(cols, axis=1)


def matlab_hamming(n: int) -> np.ndarray:
    return 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(n) / (n - 1))


def matlab_trimf(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """MATLAB ``trimf`` as the Fuzzy Logic Toolbox writes it (piecewise, exact 1 at ``b``)."""
    y = np.zeros_like(x)
    if a != b:
        i = (a < x) & (x < b)
        y[i] = (x[i] - a) / (b - a)
    if b != c:
        i = (b < x) & (x < c)
        y[i] = (c - x[i]) / (c - b)
    y[x == b] = 1.0
    return y


def matlab_dct(x: np.ndarray) -> np.ndarray:
    """MATLAB ``dct`` along the first dimension (orthonormal DCT-II), as a matrix product."""
    n = x.shape[0]
    k = np.arange(n)[:, None]
    m = np.arange(n)[None, :]
    w = np.full((n, 1), np.sqrt(2.0 / n))
    w[0] = np.sqrt(1.0 / n)
    return (w * np.cos(np.pi * (2 * m + 1) * k / (2 * n))) @ x


def matlab_deltas(x: np.ndarray, w: int, *, htk: bool) -> np.ndarray:
    """``deltas.m`` (``htk=False``) or the 2021 package's ``Deltas`` (HTK-normalised), rows."""
    hlen = w // 2
    win = np.arange(hlen, -hlen - 1, -1)
    xx = np.concatenate([np.repeat(x[:, :1], hlen, 1), x, np.repeat(x[:, -1:], hlen, 1)], 1)
    d = matlab_filter(list(win), xx, axis=1)[:, 2 * hlen : 2 * hlen + x.shape[1]]
    return d / (2 * np.sum(np.arange(1, hlen + 1) ** 2)) if htk else d


def extract_lfcc_2019(speech: np.ndarray, fs: int) -> np.ndarray:
    """``[stat, delta, double_delta] = extract_lfcc(speech, fs, 20, 512, 20)``, as (60, frames)."""
    window_length, nfft, no_filter = 20, 512, 20
    speech = matlab_filter([1, -0.97], speech)
    frame_len = int(fs / 1000 * window_length)
    framed = matlab_buffer_nodelay(speech, frame_len, frame_len // 2).T
    y_framed = framed * matlab_hamming(frame_len)[None, :]
    f = (fs / 2) * np.linspace(0, 1, nfft // 2 + 1)
    edges = np.linspace(f.min(), f.max(), no_filter + 2)
    fr_all = np.abs(np.fft.fft(y_framed, nfft, axis=1)) ** 2
    fa_all = fr_all[:, : nfft // 2 + 1]
    filterbank = np.stack(
        [matlab_trimf(f, edges[i], edges[i + 1], edges[i + 2]) for i in range(no_filter)], 1
    )
    filbanksum = fa_all @ filterbank
    t = matlab_dct(np.log10(filbanksum.T + MATLAB_EPS))[:no_filter]
    delta = matlab_deltas(t, 3, htk=False)
    return np.concatenate([t, delta, matlab_deltas(delta, 3, htk=False)])


def lfcc_bp_2021(speech: np.ndarray, fs: int) -> np.ndarray:
    """``lfcc_bp(speech, fs, 30, 1024, 70, 19, 0, 4000)`` (ASVspoof 2021 LA), as (57, frames)."""
    window_length, nfft, no_filter, no_coeff, low, high = 30, 1024, 70, 19, 0.0, 4000.0
    frame_len = int(fs / 1000 * window_length)
    framed = matlab_buffer_nodelay(speech, frame_len, frame_len // 2).T
    y_framed = framed * matlab_hamming(frame_len)[None, :]
    f = (fs / 2) * np.linspace(0, 1, nfft // 2 + 1)
    edges = np.linspace(low, high, no_filter + 2)
    fr_all = np.abs(np.fft.fft(y_framed, nfft, axis=1)) ** 2
    i_lo, i_hi = np.argmin(np.abs(f - low)), np.argmin(np.abs(f - high))
    fa_all = fr_all[:, i_lo : i_hi + 1]
    f = f[i_lo : i_hi + 1]
    filterbank = np.stack(
        [matlab_trimf(f, edges[i], edges[i + 1], edges[i + 2]) for i in range(no_filter)], 1
    )
    t = matlab_dct(np.log10((fa_all @ filterbank).T + MATLAB_EPS))[:no_coeff]
    delta = matlab_deltas(t, 3, htk=True)
    return np.concatenate([t, delta, matlab_deltas(delta, 3, htk=True)])


def test_lfcc_baseline_2019_equals_extract_lfcc_m(la_audio: tuple[np.ndarray, int]) -> None:
    x, fs = la_audio
    ref = extract_lfcc_2019(x, fs)
    ours = cepstral.lfcc(x.astype(np.float32), fs, preset="baseline-2019")
    assert ours.shape == ref.shape == (60, int(np.ceil((len(x) - 160) / 160)))
    assert np.abs(ours - ref).max() < 1e-4
    # the preset matters: the default LFCC (no pre-emphasis, librosa framing) is far from it
    default = cepstral.lfcc(x.astype(np.float32), fs, add_deltas=True)
    n = min(default.shape[1], ref.shape[1]) - 2
    assert np.abs(default[:20, 1 : n + 1] - ref[:20, :n]).max() > 1.0


def test_lfcc_baseline_2021_equals_lfcc_bp_m(la_audio: tuple[np.ndarray, int]) -> None:
    x, fs = la_audio
    ref = lfcc_bp_2021(x, fs)
    ours = cepstral.lfcc(x.astype(np.float32), fs, preset="baseline-2021")
    assert ours.shape == ref.shape and ref.shape[0] == 57
    assert np.abs(ours - ref).max() < 1e-4


def test_restated_matlab_helpers_on_hand_examples() -> None:
    # MATLAB documentation example: buffer(1:30, 7, 3, 'nodelay') has 7 columns, the last
    # [25 26 27 28 29 30 0]
    B = matlab_buffer_nodelay(np.arange(1.0, 31.0), 7, 3)
    assert B.shape == (7, 7)
    np.testing.assert_array_equal(B[:, 0], np.arange(1, 8))
    np.testing.assert_array_equal(B[:, 1], np.arange(5, 12))
    np.testing.assert_array_equal(B[:, -1], [25, 26, 27, 28, 29, 30, 0])
    np.testing.assert_allclose(matlab_hamming(3), [0.08, 1.0, 0.08])
    np.testing.assert_allclose(
        matlab_deltas(np.arange(6.0)[None, :] ** 2, 3, htk=False), [[1, 4, 8, 12, 16, 9]]
    )
    np.testing.assert_allclose(
        matlab_dct(np.eye(4)) @ matlab_dct(np.eye(4)).T, np.eye(4), atol=1e-12
    )


def test_deltas_unnormalised_is_deltas_m() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 30))
    for width in (3, 5, 7):
        ours = cepstral.deltas(X, width=width, normalize=False)
        np.testing.assert_allclose(ours, matlab_deltas(X, width, htk=False), atol=1e-5)
        htk = cepstral.deltas(X, width=width)
        np.testing.assert_allclose(htk, matlab_deltas(X, width, htk=True), atol=1e-6)


def test_lfcc_presets_refuse_contradicting_parameters() -> None:
    y = np.random.default_rng(0).normal(size=8000).astype(np.float32)
    with pytest.raises(ParameterError, match="fixes n_fft"):
        cepstral.lfcc(y, 16000, preset="baseline-2019", n_fft=1024)
    with pytest.raises(ParameterError, match="unknown lfcc preset 'baseline-2020'"):
        cepstral.lfcc(y, 16000, preset="baseline-2020")
    # restating a preset value is fine
    a = cepstral.lfcc(y, 16000, preset="baseline-2019", n_fft=512)
    np.testing.assert_array_equal(a, cepstral.lfcc(y, 16000, preset="baseline-2019"))


def test_default_lfcc_is_static_only_and_deltas_are_opt_in() -> None:
    """What README and experiments/deep/README.md say: 20 x frames; 60 with add_deltas=true."""
    y = np.random.default_rng(1).normal(size=6 * 16000).astype(np.float32)
    assert cepstral.lfcc(y, 16000).shape == (20, 601)
    assert cepstral.lfcc(y, 16000, add_deltas=True).shape == (60, 601)
    assert TIMEFREQ.get("lfcc")(y, 16000, add_deltas=True).shape == (60, 601)


# --------------------------------------------------------------------------- CQCC


@pytest.mark.slow
def test_cqcc_baseline_2019_structure() -> None:
    """30 static coefficients (c0..c29) + HTK deltas over 7 frames + delta-deltas; fmin sr/2^10."""
    y = np.random.default_rng(2).normal(size=8000).astype(np.float32)
    C = cepstral.cqcc(y, 16000, preset="baseline-2019")
    assert C.shape[0] == 90 and C.dtype == np.float32 and np.isfinite(C).all()
    np.testing.assert_allclose(C[30:60], cepstral.deltas(C[:30], width=7), atol=1e-4)
    np.testing.assert_allclose(C[60:], cepstral.deltas(C[30:60], width=7), atol=1e-4)
    explicit = cepstral.cqcc(
        y,
        16000,
        n_cqcc=30,
        fmin=16000 / 2**10,
        fmax=8000,
        hop_length=256,
        gamma="erb",
        uniform_per_octave=16,
        resample="spline",
        log_offset=MATLAB_EPS,
        add_deltas=True,
        delta_width=7,
    )
    np.testing.assert_array_equal(C, explicit)
    assert not np.allclose(C[:20], cepstral.cqcc(y, 16000), atol=1e-2)


# --------------------------------------------------------------------------- seed mel


def torchaudio_mel_spectrogram(x: np.ndarray, sr: int) -> np.ndarray:
    """``MelSpectrogram(sample_rate=sr, n_fft=1024, hop_length=512, n_mels=64)(x)`` by definition:
    Spectrogram(n_fft, win_length=n_fft, hop, pad=0, window=hann_window(periodic), power=2,
    normalized=False, center=True, pad_mode="reflect", onesided=True), then MelScale(n_mels, sr,
    f_min=0, f_max=sr // 2, norm=None, mel_scale="htk"): ``(spec.T @ fb).T``."""
    n_fft, hop, n_mels = 1024, 512, 64
    x = x.astype(np.float32)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    padded = np.pad(x, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    frames = np.stack([padded[t * hop : t * hop + n_fft] for t in range(n_frames)])
    spec = np.abs(np.fft.rfft(frames * window, axis=1)).astype(np.float32) ** 2  # (T, F)
    n_freqs = n_fft // 2 + 1
    all_freqs = np.linspace(0, sr // 2, n_freqs, dtype=np.float32)
    m_min, m_max = (2595.0 * np.log10(1.0 + f / 700.0) for f in (0.0, float(sr // 2)))
    m_pts = np.linspace(m_min, m_max, n_mels + 2, dtype=np.float32)
    f_pts = (700.0 * (10.0 ** (m_pts / 2595.0) - 1.0)).astype(np.float32)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up)).astype(np.float32)  # (n_freqs, n_mels)
    return (spec @ fb).T


def seed_crop(x: np.ndarray, sr: int) -> np.ndarray:
    """The seed dataset: the first 6 s, or the clip right-padded with zeros to 6 s."""
    n = 6 * sr
    return x[:n] if len(x) >= n else np.concatenate([x, np.zeros(n - len(x))])


def test_seed_mel_equals_torchaudio_defaults_on_real_audio(
    la_audio: tuple[np.ndarray, int],
) -> None:
    x, fs = la_audio
    ref = torchaudio_mel_spectrogram(seed_crop(x, fs), fs)
    ours = mel.seed_mel_spectrogram(x.astype(np.float32), fs)
    assert ours.shape == ref.shape == (64, 188) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6 * ref.max())
    assert TIMEFREQ.get("seed-mel")(x.astype(np.float32), fs).shape == (64, 188)
    # the default log-mel is a different tensor (dB, Slaney mel): the docs say so
    default = mel.log_mel_spectrogram(seed_crop(x, fs).astype(np.float32), fs)
    assert default.shape == ref.shape and not np.allclose(default, ref, rtol=0.1)


def test_seed_mel_crops_long_clips_to_their_first_six_seconds() -> None:
    sr = 16000
    rng = np.random.default_rng(3)
    x = rng.normal(size=8 * sr).astype(np.float32)
    ours = mel.seed_mel_spectrogram(x, sr)
    np.testing.assert_allclose(
        ours, torchaudio_mel_spectrogram(x[: 6 * sr], sr), rtol=1e-4, atol=1e-3
    )
    # only the first 6 s count
    y = x.copy()
    y[6 * sr :] = 0
    np.testing.assert_array_equal(mel.seed_mel_spectrogram(y, sr), ours)


# --------------------------------------------------------------------------- multi-channel input


@pytest.mark.parametrize(
    ("name", "params"),
    [(n, {}) for n in TIMEFREQ.names()]
    + [
        ("lfcc", {"preset": "baseline-2019"}),
        ("lfcc", {"preset": "baseline-2021"}),
        ("cqcc", {"preset": "baseline-2019"}),
    ],
)
@pytest.mark.parametrize("shape", [(2, 16000), (16000, 2)])
def test_every_front_end_refuses_multichannel_arrays(
    name: str, params: dict, shape: tuple[int, int]
) -> None:
    y = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    with pytest.raises(ParameterError, match=r"mono 1-D signal, got an array of shape") as err:
        TIMEFREQ.get(name)(y, 16000, **params)
    assert str(shape) in str(err.value)


@pytest.mark.parametrize("shape", [(2, 16000), (16000, 2)])
def test_deep_voice_rows_refuse_multichannel_arrays_the_same_way(shape: tuple[int, int]) -> None:
    from dfaudio.features import summary

    y = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    for f in (summary.deep_voice_features, summary.deep_voice_features_naive):
        with pytest.raises(ParameterError, match=r"mono 1-D signal, got an array of shape"):
            f(y, 16000)


def test_chroma_cqt_mono_still_works() -> None:
    y = np.random.default_rng(5).normal(size=16000).astype(np.float32)
    assert chroma.chroma_cqt(y, 16000).shape[0] == 12


# --------------------------------------------------------------------------- shared filter banks


@pytest.mark.parametrize("name", ["hann", "hamming"])
@pytest.mark.parametrize("n", [1, 2, 7, 320, 1024])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_equal_scipy_bit_for_bit(name: str, n: int, periodic: bool) -> None:
    import scipy.signal

    from dfaudio.features import filters

    ref = scipy.signal.get_window(name, n, fftbins=periodic)
    np.testing.assert_array_equal(filters.get_window(name, n, periodic=periodic), ref)


@pytest.mark.parametrize(
    ("sr", "n_fft", "n_mels", "fmin", "fmax", "htk", "norm"),
    [
        (16000, 1024, 64, 0.0, None, True, None),  # torchaudio's defaults (seed-mel)
        (16000, 512, 40, 20.0, 7600.0, True, "slaney"),
        (22050, 2048, 128, 0.0, None, False, "slaney"),  # the fast path's bank
        (44100, 1024, 80, 50.0, 16000.0, False, None),
    ],
)
def test_mel_bank_equals_librosa_bit_for_bit(sr, n_fft, n_mels, fmin, fmax, htk, norm) -> None:
    librosa = pytest.importorskip("librosa")
    from dfaudio.features import filters

    ours = filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    ref = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm
    )
    assert ours.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(ours, ref)


def test_one_bank_module_feeds_every_front_end() -> None:
    """mel, chroma and LFCC (and the fast path) take their weights from features.filters."""
    from dfaudio.features import filters, summary

    np.testing.assert_array_equal(
        mel.mel_filterbank(sr=16000, n_fft=1024, n_mels=64),
        filters.mel(sr=16000, n_fft=1024, n_mels=64),
    )
    np.testing.assert_array_equal(
        summary.mel_filters(22050, 2048), filters.mel(sr=22050, n_fft=2048)
    )
    np.testing.assert_array_equal(
        summary.chroma_filters(22050, 2048, 0.1), filters.chroma(sr=22050, n_fft=2048, tuning=0.1)
    )
    np.testing.assert_array_equal(
        cepstral.linear_filterbank(sr=16000, n_fft=512, n_filters=20),
        filters.linear(sr=16000, n_fft=512, n_filters=20),
    )
    # the linear and mel banks are one construction over two edge grids
    edges = filters.linear_edges_hz(sr=16000, n_filters=20)
    np.testing.assert_array_equal(
        filters.linear(sr=16000, n_fft=512, n_filters=20),
        filters.triangles(filters.fft_frequencies(sr=16000, n_fft=512), edges).astype(np.float32),
    )


@pytest.mark.parametrize(
    ("feature", "params", "shape"),
    [
        ("lfcc", {"preset": "baseline-2019"}, (1, 60, 599)),  # ceil((96000 - 160) / 160)
        ("lfcc", {"preset": "baseline-2021"}, (1, 57, 399)),  # ceil((96000 - 240) / 240)
        ("seed-mel", {}, (1, 64, 188)),
        ("lfcc", {}, (1, 20, 601)),
    ],
)
def test_presets_are_selectable_as_fit_deep_feature_params(feature, params, shape) -> None:
    """``fit-deep --feature lfcc --feature-param preset=baseline-2019`` reaches the front end."""
    from dfaudio.deep.config import TimeFreqConfig, parse_feature_params

    parsed = parse_feature_params([f"{k}={v}" for k, v in params.items()])
    assert parsed == params
    assert TimeFreqConfig(feature=feature, params=parsed).shape == shape
    with pytest.raises(ParameterError, match="unknown lfcc preset"):
        TimeFreqConfig(feature="lfcc", params={"preset": "2019"}).extract(np.ones(16000))
