"""DEEP-VOICE per-second rows: the fast path against the plain librosa recipe, analytic checks.

Tolerance (fast vs naive): ``|fast - naive| <= 1e-4 * max(|naive|, column scale)`` per value, the
column scales being :data:`dfaudio.features.summary.COLUMN_SCALES`. The measured agreement is
about 1e-6 (rolloff and zero-crossing rate are identical, the tuning estimate bit-identical).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from dfaudio.exceptions import ParameterError
from dfaudio.features.summary import (
    COLUMN_SCALES,
    DEEP_VOICE_FEATURES,
    block_length,
    chroma_filters,
    deep_voice_features,
    deep_voice_features_blocks,
    deep_voice_features_naive,
    hann_window,
    mel_filters,
    n_windows,
)
from tests.conftest import tone

RTOL = 1e-4
SCALES = np.array([COLUMN_SCALES[c] for c in DEEP_VOICE_FEATURES])

LIBRISPEECH = "librispeech-test-other-sample/3005/3005-163389-0005.flac"  # 16 kHz FLAC
WAVEFAKE_REAL = "wavefake-test-samples/LJSpeech/LJ001-0002.wav"  # 22.05 kHz WAV
WAVEFAKE_FAKE = "wavefake-test-samples/generated/LJ001-0002_gen.wav"
FSDD = "fsdd/recordings/0_george_27.wav"  # 8 kHz, shorter than one second


def _load(shared_data: Path, rel: str, *, max_s: float | None = None) -> tuple[np.ndarray, int]:
    path = shared_data / rel
    if not path.is_file():
        pytest.skip(f"missing {path}")
    try:
        from dfaudio.io.audio import load
    except ImportError:  # pragma: no cover - before io.audio existed
        import soundfile as sf

        y, sr = sf.read(path, dtype="float32")
    else:
        y, sr = load(path)
    if max_s is not None:
        y = y[: int(max_s * sr)]
    return y, int(sr)


def _naive(y: np.ndarray, sr: int, **kw: object) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_fft larger than a short clip, empty mel filters
        return deep_voice_features_naive(y, sr, **kw)


def assert_close(fast: np.ndarray, naive: np.ndarray) -> None:
    assert fast.shape == naive.shape
    err = np.abs(fast - naive) / np.maximum(np.abs(naive), SCALES)
    worst = err.max(axis=0) if err.size else np.zeros(len(SCALES))
    bad = {c: float(w) for c, w in zip(DEEP_VOICE_FEATURES, worst, strict=True) if w > RTOL}
    assert not bad, f"columns beyond the tolerance: {bad}"


def test_columns() -> None:
    assert len(DEEP_VOICE_FEATURES) == 26
    assert list(DEEP_VOICE_FEATURES[:6]) == [
        "chroma_stft",
        "rms",
        "spectral_centroid",
        "spectral_bandwidth",
        "rolloff",
        "zero_crossing_rate",
    ]
    assert list(DEEP_VOICE_FEATURES[6:]) == [f"mfcc{i}" for i in range(1, 21)]
    assert set(COLUMN_SCALES) == set(DEEP_VOICE_FEATURES)


@pytest.mark.parametrize("rel", [LIBRISPEECH, WAVEFAKE_REAL, WAVEFAKE_FAKE])
@pytest.mark.parametrize("short", ["whole", "skip", "pad"])
def test_fast_matches_naive_real_audio(shared_data: Path, rel: str, short: str) -> None:
    y, sr = _load(shared_data, rel, max_s=6.5)
    fast = deep_voice_features(y, sr, short=short)
    assert fast.shape == (len(y) // sr, 26)  # the 0.5 s tail is dropped
    assert_close(fast, _naive(y, sr, short=short))


@pytest.mark.parametrize("short", ["whole", "skip", "pad"])
def test_fast_matches_naive_short_clip(shared_data: Path, short: str) -> None:
    y, sr = _load(shared_data, FSDD)
    assert sr == 8000 and len(y) < sr
    fast = deep_voice_features(y, sr, short=short)
    assert fast.shape == ({"whole": 1, "skip": 0, "pad": 1}[short], 26)
    assert_close(fast, _naive(y, sr, short=short))


def test_short_policies_differ(shared_data: Path) -> None:
    y, sr = _load(shared_data, FSDD)
    whole = deep_voice_features(y, sr, short="whole")
    pad = deep_voice_features(y, sr, short="pad")
    padded = np.pad(y, (0, sr - len(y)))
    np.testing.assert_array_equal(pad, deep_voice_features(padded, sr))
    assert not np.allclose(whole, pad)  # padding with silence lowers rms, moves the MFCCs
    assert pad[0, 1] < whole[0, 1]


@pytest.mark.parametrize(
    ("n_fft", "hop_length", "window_s"), [(1024, 256, 0.5), (1000, 300, 1.0), (2048, 400, 0.37)]
)
def test_fast_matches_naive_other_parameters(
    shared_data: Path, n_fft: int, hop_length: int, window_s: float
) -> None:
    y, sr = _load(shared_data, LIBRISPEECH, max_s=3.0)
    kw = {"n_fft": n_fft, "hop_length": hop_length, "window_s": window_s}
    fast = deep_voice_features(y, sr, **kw)
    assert fast.shape[0] == len(y) // block_length(sr, window_s)
    assert_close(fast, _naive(y, sr, **kw))


def test_stream_equals_whole_signal(shared_data: Path) -> None:
    y, sr = _load(shared_data, LIBRISPEECH)
    whole = deep_voice_features(y, sr)
    pieces = (y[i : i + 7777] for i in range(0, len(y), 7777))
    np.testing.assert_array_equal(deep_voice_features_blocks(pieces, sr), whole)
    pairs = ((y[i : i + sr * 9], sr) for i in range(0, len(y), sr * 9))
    np.testing.assert_array_equal(deep_voice_features_blocks(pairs, sr), whole)
    short = y[: sr // 3]
    np.testing.assert_array_equal(
        deep_voice_features_blocks([short[:100], short[100:]], sr, short="pad"),
        deep_voice_features(short, sr, short="pad"),
    )
    assert deep_voice_features_blocks([short], sr, short="skip").shape == (0, 26)


def test_values_look_like_the_deep_voice_table(shared_data: Path) -> None:
    """Real speech lands inside the published table's ranges (units: Hz, dB-based MFCCs)."""
    import pandas as pd

    table_path = shared_data / "deep-voice" / "DATASET-balanced.csv"
    if not table_path.is_file():
        pytest.skip("DEEP-VOICE table missing")
    table = pd.read_csv(table_path)
    y, sr = _load(shared_data, LIBRISPEECH)
    med = np.median(deep_voice_features(y, sr), axis=0)
    for col, value in zip(DEEP_VOICE_FEATURES, med, strict=True):
        lo, hi = table[col].quantile([0.01, 0.99])
        assert lo <= value <= hi, (col, value, lo, hi)
    assert -600 < med[6] < -200  # mfcc1


# ------------------------------------------------------------------------------------------
# Analytic checks on tones (librosa pads each block: edge frames see fewer signal samples)


def _valid_fraction(sr: int, *, n_fft: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Fraction of each centred frame that lies inside a one-second block."""
    starts = np.arange(1 + sr // hop_length) * hop_length - n_fft // 2
    inside = np.clip(starts + n_fft, 0, sr) - np.clip(starts, 0, sr)
    return inside / n_fft


@pytest.mark.parametrize("sr", [8000, 16000, 22050])
def test_tone_rms_and_zero_crossings(sr: int) -> None:
    freq, amp = 1000.0, 0.5
    row = deep_voice_features(tone(freq, sr=sr, amp=amp), sr)[0]
    frac = _valid_fraction(sr)
    # rms of a sine is amp / sqrt(2); zero padding scales a frame's rms by sqrt(fraction)
    np.testing.assert_allclose(row[1], np.mean(amp / np.sqrt(2) * np.sqrt(frac)), rtol=2e-3)
    # a tone crosses zero 2 f times a second: 2 f / sr crossings per sample
    np.testing.assert_allclose(row[5], np.mean(2 * freq / sr * frac), rtol=1e-2)


@pytest.mark.parametrize(("freq", "sr"), [(1000.0, 16000), (440.0, 22050), (2500.0, 8000)])
def test_tone_centroid_and_rolloff(freq: float, sr: int) -> None:
    row = deep_voice_features(tone(freq, sr=sr), sr)[0]
    bin_hz = sr / 2048
    assert abs(row[2] - freq) < 0.03 * freq  # centroid
    # 85 % of the magnitude lies within a few bins (edge frames leak more)
    assert abs(row[4] - freq) < max(4 * bin_hz, 0.02 * freq)
    assert row[3] < 0.2 * freq  # a narrow spectrum


def test_tone_chroma_peaks() -> None:
    """An A4 tone: one chroma bin dominates, so the pooled mean is small but positive."""
    sr = 22050
    row = deep_voice_features(tone(440.0, sr=sr), sr)[0]
    assert 1 / 12 <= row[0] < 0.35
    assert_close(row[None], _naive(tone(440.0, sr=sr), sr))


def test_silence_and_tiny_signals() -> None:
    sr = 16000
    zeros = np.zeros(sr, dtype=np.float32)
    row = deep_voice_features(zeros, sr)[0]
    assert row[0] == 0 and row[1] == 0 and row[2] == 0 and row[5] == 0
    assert_close(row[None], _naive(zeros, sr))
    blip = zeros.copy()
    blip[8000:8100] = 0.1
    assert_close(deep_voice_features(blip, sr), _naive(blip, sr))
    assert_close(deep_voice_features(blip[:100], sr), _naive(blip[:100], sr))


# ------------------------------------------------------------------------------------------
# Filter banks (numpy copies of librosa's) and imports


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100])
@pytest.mark.parametrize("n_fft", [2048, 1000])
def test_filter_banks_equal_librosa(sr: int, n_fft: int) -> None:
    import librosa
    import scipy.signal

    np.testing.assert_array_equal(
        hann_window(n_fft), scipy.signal.get_window("hann", n_fft, fftbins=True)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty mel filters at low sr
        np.testing.assert_array_equal(
            mel_filters(sr, n_fft), librosa.filters.mel(sr=sr, n_fft=n_fft)
        )
    for tuning in (0.0, -0.5, 0.23):
        np.testing.assert_array_equal(
            chroma_filters(sr, n_fft, tuning),
            librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning),
        )


def test_fast_path_imports_neither_librosa_nor_numba() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from dfaudio.features.summary import deep_voice_features\n"
        "deep_voice_features(np.random.default_rng(0).standard_normal(9000), 8000)\n"
        "print(sorted(m for m in ('librosa', 'numba') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------
# Window policy and errors


def test_window_policy_counts() -> None:
    sr = 8000
    y = tone(300.0, sr=sr, duration_s=2.6)
    assert deep_voice_features(y, sr).shape == (2, 26)
    assert n_windows(len(y), sr) == 2
    assert n_windows(100, sr, short="whole") == 1
    assert n_windows(100, sr, short="skip") == 0
    assert n_windows(0, sr) == 0
    # (batched BLAS products may differ in the last bits between batch sizes)
    np.testing.assert_allclose(
        deep_voice_features(y, sr)[1], deep_voice_features(y[sr:], sr)[0], rtol=1e-10
    )


@pytest.mark.parametrize(
    ("y", "kw"),
    [
        (np.zeros((2, 8000), dtype=np.float32), {}),
        (np.array([0.0, np.nan] * 4000, dtype=np.float32), {}),
        (np.zeros(8000, dtype=np.float32), {"short": "drop"}),
        (np.zeros(8000, dtype=np.float32), {"window_s": 0.0}),
        (np.zeros(8000, dtype=np.float32), {"hop_length": 0}),
        (np.zeros(0, dtype=np.float32), {}),
    ],
)
def test_errors(y: np.ndarray, kw: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        deep_voice_features(y, 8000, **kw)
    with pytest.raises(ParameterError):
        deep_voice_features_naive(y, 8000, **kw)


def test_empty_signal_skip_gives_no_rows() -> None:
    assert deep_voice_features(np.zeros(0, dtype=np.float32), 8000, short="skip").shape == (0, 26)


def test_enable_numba_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dfaudio.features import enable_numba_cache

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = enable_numba_cache()
    assert path == tmp_path / "dfaudio" / "numba" and path.is_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(path)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert enable_numba_cache(tmp_path / "other") == tmp_path / "mine"  # the user's choice wins
