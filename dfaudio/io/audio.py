"""The only code in dfaudio that reads audio.

:func:`load` reads a whole file; :func:`iter_blocks` streams it in fixed-length blocks so that a
one-hour recording is never held whole. Both use :mod:`soundfile` (libsndfile: WAV, FLAC, OGG and,
from libsndfile 1.1, MP3) first and fall back to :func:`librosa.load` (audioread, which uses ffmpeg
or GStreamer where installed) for anything else. Resampling uses soxr (HQ), as librosa does.

Every problem becomes an :class:`~dfaudio.exceptions.AudioError` naming the file and one of the
reasons in :data:`~dfaudio.exceptions.AUDIO_FAILURE_REASONS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from dfaudio.exceptions import AudioError, ParameterError

__all__ = [
    "AUDIO_EXTENSIONS",
    "SILENCE_PEAK",
    "info",
    "iter_blocks",
    "load",
    "probe_sample_rates",
    "resample",
    "resample_stream",
    "validate",
]

#: File extensions that the dataset layouts treat as audio.
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aiff", ".aif")

#: Peak amplitude under which a file counts as silent (about -120 dBFS).
SILENCE_PEAK = 1e-6


def info(path: str | Path) -> tuple[int, int, int]:
    """Sample rate, number of samples (frames) and channels of an audio file.

    Raises
    ------
    AudioError
        If the file is missing or its header cannot be read.
    """
    import soundfile as sf

    p = _existing(path)
    try:
        i = sf.info(str(p))
    except Exception as exc:  # libsndfile errors are plain RuntimeErrors/LibsndfileError
        if p.suffix.lower() in (".mp3", ".m4a", ".opus"):
            y, sr = _load_fallback(p)
            return sr, len(y), 1
        raise AudioError(p, "unreadable", _short(exc)) from None
    return int(i.samplerate), int(i.frames), int(i.channels)


def probe_sample_rates(
    files: Iterable[str | Path], *, base: str | Path | None = None, max_files: int = 500
) -> list[int] | None:
    """Distinct sample rates of audio files, from their headers only.

    Paths are tried as given, then relative to ``base``; at most ``max_files`` distinct files
    are read. Returns ``None`` when no file can be found (a table whose ``file`` column is
    relative to a folder that is gone). Never raises: a run records what it can find.

    Examples
    --------
    >>> probe_sample_rates(["no/such/file.wav"]) is None
    True
    """
    import soundfile as sf

    rates: set[int] = set()
    for f in list(dict.fromkeys(str(x) for x in files))[:max_files]:
        for cand in (Path(f), Path(base) / f if base is not None else None):
            if cand is not None and cand.is_file():
                try:
                    rates.add(int(sf.info(str(cand)).samplerate))
                except Exception:
                    pass
                break
    return sorted(rates) or None


def load(
    path: str | Path,
    *,
    sr: int | None = None,
    mono: bool = True,
    min_duration_s: float = 0.0,
    check: bool = True,
) -> tuple[np.ndarray, int]:
    """Read an audio file as float32.

    Parameters
    ----------
    path : str or Path
        Audio file (WAV, FLAC, OGG, MP3, ...).
    sr : int, optional
        Target sample rate; ``None`` keeps the file's native rate.
    mono : bool
        Average the channels.
    min_duration_s : float
        Files shorter than this raise ``AudioError(reason="too short")``.
    check : bool
        Validate the samples (non-finite, silent).

    Returns
    -------
    y : np.ndarray [shape=(n,) or (channels, n)], float32
    sr : int

    Raises
    ------
    AudioError
        not found, empty, unreadable, non-finite samples, silent, too short.
    """
    import soundfile as sf

    p = _existing(path)
    try:
        data, native_sr = sf.read(str(p), dtype="float32", always_2d=True)
        y = data.T  # (channels, n)
    except Exception as exc:
        try:
            y1, native_sr = _load_fallback(p)
        except Exception as fallback_exc:
            # Report libsndfile's reason ("Format not recognised") first: the fallback decoder's
            # own error is often just an exception name (audioread's "NoBackendError").
            why = getattr(fallback_exc, "detail", None) or _short(fallback_exc)
            raise AudioError(p, "unreadable", f"{_short(exc)} (fallback decoder: {why})") from None
        y = y1[np.newaxis, :]
    if y.shape[-1] == 0:
        raise AudioError(p, "empty", "no samples")
    if mono:
        y = y.mean(axis=0) if y.shape[0] > 1 else y[0]
    if sr is not None and int(sr) != int(native_sr):
        y = resample(y, orig_sr=int(native_sr), target_sr=int(sr))
        native_sr = int(sr)
    if check:
        validate(y, int(native_sr), path=p, min_duration_s=min_duration_s)
    return np.ascontiguousarray(y, dtype=np.float32), int(native_sr)


def validate(
    y: np.ndarray, sr: int, *, path: str | Path = "<array>", min_duration_s: float = 0.0
) -> None:
    """Raise :class:`AudioError` if ``y`` is empty, non-finite, silent or too short."""
    if y.size == 0:
        raise AudioError(path, "empty", "no samples")
    if not np.all(np.isfinite(y)):
        bad = int(np.count_nonzero(~np.isfinite(y)))
        raise AudioError(path, "non-finite samples", f"{bad} NaN/inf samples")
    if float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise AudioError(path, "silent", "all samples are (near) zero")
    duration = y.shape[-1] / sr
    if duration < min_duration_s:
        raise AudioError(
            path, "too short", f"{duration:.3f} s is shorter than {min_duration_s:g} s"
        )


def resample(y: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample with soxr (high quality), along the last axis."""
    import soxr

    if orig_sr == target_sr:
        return y
    if y.ndim == 1:
        return soxr.resample(y, orig_sr, target_sr, quality="HQ").astype(np.float32)
    return np.stack([resample(c, orig_sr=orig_sr, target_sr=target_sr) for c in y])


def iter_blocks(
    path: str | Path, *, block_s: float = 60.0, sr: int | None = None, mono: bool = True
) -> Iterator[tuple[np.ndarray, int]]:
    """Stream a file in blocks of ``block_s`` seconds (the last block may be shorter).

    Memory stays bounded by one block whatever the file length. Resampling (when ``sr`` is given)
    is done per block with soxr's streaming resampler, so block edges are seamless.

    Yields
    ------
    block : np.ndarray [shape=(n,)], float32
    sr : int
        Sample rate of the yielded blocks.
    """
    import soundfile as sf

    p = _existing(path)
    try:
        f = sf.SoundFile(str(p))
    except Exception:
        # Formats libsndfile cannot stream: decode whole (fallback decoders cannot stream anyway).
        y, out_sr = load(p, sr=sr, mono=mono, check=False)
        step = max(1, int(round(block_s * out_sr)))
        for start in range(0, y.shape[-1], step):
            yield y[..., start : start + step], out_sr
        return
    with f:
        native_sr = int(f.samplerate)
        out_sr = native_sr if sr is None else int(sr)
        if out_sr != native_sr and not mono:
            raise ParameterError("iter_blocks resamples mono streams only; pass mono=True")
        frames = max(1, int(round(block_s * native_sr)))

        def blocks() -> Iterator[np.ndarray]:
            while True:
                data = f.read(frames, dtype="float32", always_2d=True)
                if data.shape[0]:
                    yield data.mean(axis=1) if mono else data.T
                if data.shape[0] < frames:
                    return

        pieces = blocks()
        if out_sr != native_sr:
            pieces = resample_stream(pieces, orig_sr=native_sr, target_sr=out_sr)
        for block in pieces:
            yield np.ascontiguousarray(block, dtype=np.float32), out_sr


def resample_stream(
    chunks: Iterable[np.ndarray], *, orig_sr: int, target_sr: int
) -> Iterator[np.ndarray]:
    """Resample a stream of mono chunks on the fly with soxr's streaming resampler (HQ).

    Chunk edges are seamless: the output equals resampling the concatenated signal, whatever
    the chunk lengths. Used by :func:`iter_blocks` and by ``dfaudio predict --stream``.

    Yields
    ------
    np.ndarray [shape=(m,)], float32
        Resampled pieces (empty pieces are skipped; the resampler's tail comes last).
    """
    import soxr

    rs = soxr.ResampleStream(orig_sr, target_sr, 1, dtype="float32", quality="HQ")
    for chunk in chunks:
        out = rs.resample_chunk(np.ascontiguousarray(chunk, dtype=np.float32).reshape(-1))
        if out.size:
            yield out
    tail = rs.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
    if tail.size:
        yield tail


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise AudioError(p, "not found", "no such file")
    if p.is_dir():
        raise AudioError(p, "unreadable", "is a directory")
    from dfaudio.io.files import special_file_kind

    kind = special_file_kind(p)
    if kind is not None:  # a FIFO or /dev/null has st_size 0 but is not an empty file
        raise AudioError(p, "unreadable", f"is {kind} (not an audio file)")
    if p.stat().st_size == 0:
        raise AudioError(p, "empty", "file has 0 bytes")
    truncated = _wav_truncation(p)
    if truncated:
        raise AudioError(p, "unreadable", truncated)
    return p


def _wav_truncation(p: Path) -> str | None:
    """Why a RIFF/WAVE file is cut short (its ``data`` chunk smaller than declared), else ``None``.

    libsndfile silently reads whatever samples a truncated WAV still holds, which would turn a
    broken download into a shorter recording without notice. A data size of 0 or 0xFFFFFFFF
    (written by streaming encoders that cannot seek back) means "unknown" and is accepted.
    """
    size = p.stat().st_size
    with p.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk = fh.read(8)
            n = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                held = size - pos - 8
                if n not in (0, 0xFFFFFFFF) and held < n:
                    return f"truncated: header declares {n} bytes of samples, file holds {held}"
                return None
            pos += 8 + n + (n & 1)
    return "truncated: no data chunk before the end of the file"


def _load_fallback(p: Path) -> tuple[np.ndarray, int]:
    """Decode with librosa/audioread (MP3 and others libsndfile cannot read)."""
    import warnings

    try:
        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, sr = librosa.load(str(p), sr=None, mono=True)
    except Exception as exc:
        raise AudioError(p, "unreadable", _short(exc)) from None
    return y.astype(np.float32), int(sr)


def _short(exc: BaseException) -> str:
    """One line from an exception (libsndfile messages can span lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
