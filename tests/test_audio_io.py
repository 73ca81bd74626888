"""Reading audio: formats, mono mixing, resampling, streaming blocks, and every kind of bad file.

Real files come from ``../shared/data`` (FSDD 8 kHz WAV, ASVspoof 2019 LA FLAC, Resemblyzer MP3 at
44.1 kHz stereo); the bad-audio cases are built in ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dfaudio.exceptions import AUDIO_FAILURE_REASONS, AudioError, DataError, ParameterError
from dfaudio.io.audio import info, iter_blocks, load, validate
from dfaudio.io.files import atomic_path, check_writable, write_json
from tests.conftest import tone, write_wav

FSDD_WAV = "fsdd/recordings/0_george_0.wav"  # 8 kHz mono, 2384 samples
LA_FLAC = "asvspoof2019-la/flac_samples/LA_E_3739591.flac"  # 16 kHz mono, 42260 samples
TRUMP_MP3 = "resemblyzer-trump-real-fake/fake/0ghm5Cqpfwk.mp3"  # 44.1 kHz stereo, 941864 frames


# --------------------------------------------------------------------------- real formats


def test_wav_native_rate(shared_data: Path) -> None:
    y, sr = load(shared_data / FSDD_WAV)
    assert sr == 8000
    assert y.dtype == np.float32 and y.ndim == 1
    assert y.shape == (2384,)
    assert info(shared_data / FSDD_WAV) == (8000, 2384, 1)
    # same samples as soundfile itself
    ref, _ = sf.read(shared_data / FSDD_WAV, dtype="float32")
    np.testing.assert_array_equal(y, ref)


def test_flac_native_rate(shared_data: Path) -> None:
    y, sr = load(shared_data / LA_FLAC)
    assert (sr, y.shape) == (16000, (42260,))
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) > 0.01


def test_mp3_stereo_is_mixed_to_mono(shared_data: Path) -> None:
    path = shared_data / TRUMP_MP3
    assert info(path) == (44100, 941864, 2)
    y, sr = load(path)
    assert sr == 44100
    assert y.ndim == 1 and y.shape == (941864,)
    stereo, sr2 = load(path, mono=False)
    assert sr2 == 44100 and stereo.shape == (2, 941864)
    np.testing.assert_allclose(y, stereo.mean(axis=0), atol=1e-7)


@pytest.mark.parametrize(
    ("rel", "native", "target"),
    [(FSDD_WAV, 8000, 16000), (LA_FLAC, 16000, 8000), (TRUMP_MP3, 44100, 16000)],
)
def test_resampling_changes_length_by_the_rate_ratio(
    shared_data: Path, rel: str, native: int, target: int
) -> None:
    y0, _ = load(shared_data / rel)
    y, sr = load(shared_data / rel, sr=target)
    assert sr == target
    assert abs(len(y) - len(y0) * target / native) <= 1
    assert y.dtype == np.float32


def test_resampling_keeps_a_tone_at_its_frequency(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "t.wav", tone(1000.0, sr=44100, duration_s=1.0), 44100)
    y, sr = load(path, sr=16000)
    spectrum = np.abs(np.fft.rfft(y))
    peak_hz = np.argmax(spectrum) * sr / len(y)
    assert sr == 16000 and len(y) == 16000
    assert abs(peak_hz - 1000.0) <= 1.0


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("rel", [FSDD_WAV, LA_FLAC])
@pytest.mark.parametrize("sr", [None, 16000, 22050])
def test_iter_blocks_concatenate_to_load_lossless(shared_data: Path, rel: str, sr: int) -> None:
    path = shared_data / rel
    whole, out_sr = load(path, sr=sr)
    blocks = list(iter_blocks(path, block_s=0.37, sr=sr))
    assert all(b_sr == out_sr for _, b_sr in blocks)
    # every block but the last has the requested length at the native rate
    if sr is None:
        step = round(0.37 * out_sr)
        assert all(len(b) == step for b, _ in blocks[:-1])
        assert 0 < len(blocks[-1][0]) <= step
    joined = np.concatenate([b for b, _ in blocks])
    assert joined.shape == whole.shape
    np.testing.assert_allclose(joined, whole, atol=1e-6)


@pytest.mark.parametrize("sr", [None, 16000])
def test_iter_blocks_mp3(shared_data: Path, sr: int | None) -> None:
    path = shared_data / TRUMP_MP3
    whole, _ = load(path, sr=sr)
    joined = np.concatenate([b for b, _ in iter_blocks(path, block_s=5.0, sr=sr)])
    assert joined.shape == whole.shape
    # libsndfile's MP3 decoder gives slightly different samples (<= ~7e-4, in one ~2000-sample
    # stretch of this file) when read in pieces rather than in one call; dfaudio adds nothing to it.
    assert np.max(np.abs(joined - whole)) < 2e-3
    assert np.mean(np.abs(joined - whole) > 1e-5) < 0.01


def test_iter_blocks_length_multiple_of_block(tmp_path: Path) -> None:
    """A file of exactly 3 blocks gives 3 full blocks and no empty trailing block."""
    path = write_wav(tmp_path / "t.wav", tone(300.0, sr=8000, duration_s=3.0), 8000)
    lens = [len(b) for b, _ in iter_blocks(path, block_s=1.0)]
    assert lens == [8000, 8000, 8000]
    # resampled streaming also ends on the exact length (the resampler is flushed)
    total = sum(len(b) for b, _ in iter_blocks(path, block_s=1.0, sr=16000))
    assert total == 48000


# --------------------------------------------------------------------------- bad audio


def _make_bad(kind: str, folder: Path) -> Path:
    """Write one bad file of the given kind into ``folder`` and return its path."""
    sr = 16000
    good = tone(440.0, sr=sr, duration_s=2.0)
    path = folder / f"{kind}.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind in ("truncated-header", "truncated-data"):
        full = folder / "_full.wav"
        write_wav(full, good, sr)
        raw = full.read_bytes()
        full.unlink()
        # 44 bytes = the canonical PCM header; the data chunk claims 64000 bytes of samples
        cut = 44 if kind == "truncated-header" else 44 + len(good)  # half the samples
        path.write_bytes(raw[:cut])
    elif kind == "text":
        path.write_text("this is a text file with a .wav name\n" * 20, encoding="utf-8")
    elif kind == "nan":
        y = good.copy()
        y[1000:1010] = np.nan
        sf.write(path, y, sr, subtype="FLOAT")
    elif kind == "inf":
        y = good.copy()
        y[5] = np.inf
        sf.write(path, y, sr, subtype="FLOAT")
    elif kind == "silent":
        sf.write(path, np.zeros(sr, dtype=np.float32), sr, subtype="PCM_16")
    elif kind == "too-short":
        write_wav(path, good[: sr // 20], sr)  # 50 ms
    else:  # pragma: no cover
        raise AssertionError(kind)
    return path


#: kind -> (reason, a word the detail must contain)
BAD_CASES = {
    "empty": ("empty", "0 bytes"),
    "truncated-header": ("unreadable", "truncated"),
    "truncated-data": ("unreadable", "truncated"),
    "text": ("unreadable", ""),
    "nan": ("non-finite samples", "10"),
    "inf": ("non-finite samples", "1"),
    "silent": ("silent", "zero"),
    "too-short": ("too short", "0.050 s"),
}


@pytest.mark.parametrize("kind", list(BAD_CASES))
def test_bad_audio_gives_audio_error_with_reason(tmp_path: Path, kind: str) -> None:
    path = _make_bad(kind, tmp_path)
    reason, word = BAD_CASES[kind]
    with pytest.raises(AudioError) as err:
        load(path, min_duration_s=1.0)
    exc = err.value
    assert exc.category == reason
    assert reason in AUDIO_FAILURE_REASONS
    assert word in exc.detail
    message = str(exc)
    assert message.startswith(str(path))  # names the file
    assert "\n" not in message  # one line
    assert isinstance(exc, DataError)  # the CLI turns it into one `error:` line


def test_text_file_error_says_what_is_wrong(tmp_path: Path) -> None:
    """The detail of a non-audio file explains itself (not just a decoder's exception name)."""
    path = _make_bad("text", tmp_path)
    with pytest.raises(AudioError) as err:
        load(path)
    assert "format" in err.value.detail.lower()


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioError) as err:
        load(tmp_path / "nope.wav")
    assert err.value.category == "not found"
    with pytest.raises(AudioError) as err:
        load(tmp_path)
    assert err.value.category == "unreadable"


def test_streamed_wav_of_unknown_length_is_not_called_truncated(tmp_path: Path) -> None:
    """WAVs written to a pipe carry data size 0xFFFFFFFF; they are read, not refused."""
    path = write_wav(tmp_path / "s.wav", tone(440.0, sr=8000, duration_s=1.5), 8000)
    raw = bytearray(path.read_bytes())
    assert raw[36:40] == b"data"
    raw[40:44] = (0xFFFFFFFF).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    y, sr = load(path)
    assert sr == 8000 and len(y) == 12000


def test_short_clip_passes_without_min_duration(tmp_path: Path) -> None:
    path = _make_bad("too-short", tmp_path)
    y, sr = load(path)
    assert len(y) == 800 and sr == 16000


def test_validate_thresholds() -> None:
    sr = 1000
    validate(np.full(1000, 1e-3, dtype=np.float32), sr, min_duration_s=1.0)  # quiet but not silent
    with pytest.raises(AudioError, match="silent"):
        validate(np.full(1000, 1e-8, dtype=np.float32), sr)
    with pytest.raises(AudioError, match="too short"):
        validate(np.ones(999, dtype=np.float32), sr, min_duration_s=1.0)
    with pytest.raises(AudioError, match="empty"):
        validate(np.zeros(0, dtype=np.float32), sr)


# --------------------------------------------------------------------------- atomic files


def test_atomic_path_writes_whole_file_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
    with atomic_path(target) as tmp:
        tmp.write_text("done", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_no_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    write_json(target, {"a": 1})
    with pytest.raises(ParameterError, match="already exists; pass force=True"):
        write_json(target, {"a": 2})
    assert '"a": 1' in target.read_text(encoding="utf-8")
    write_json(target, {"a": float("nan"), "b": np.float32(0.5)}, force=True)
    text = target.read_text(encoding="utf-8")
    assert '"a": null' in text and '"b": 0.5' in text
    assert check_writable(tmp_path / "new.csv") == tmp_path / "new.csv"
