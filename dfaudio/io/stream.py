"""Live audio input: a file, a pipe or standard input read lazily in blocks.

:func:`read_stream` opens the source and returns its sample rate and an iterator of mono float32
blocks; nothing is read before the consumer asks for the next block, so a microphone pipe is
scored as it arrives (``dfaudio predict --stream``). Resampling a stream is
:func:`dfaudio.io.audio.resample_stream`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from dfaudio.exceptions import AudioError, ParameterError

__all__ = ["RAW_DTYPES", "read_stream"]

#: Sample formats of headerless (raw PCM) input.
RAW_DTYPES = ("int16", "float32")


def read_stream(
    source: str | Path | BinaryIO,
    *,
    block_s: float = 1.0,
    raw_sr: int | None = None,
    raw_dtype: str = "int16",
    channels: int = 1,
) -> tuple[int, Iterator[np.ndarray]]:
    """Open an audio stream and iterate over it in blocks of ``block_s`` seconds.

    Parameters
    ----------
    source : path, ``"-"`` or binary file object
        A file (any format soundfile reads), or a pipe: ``"-"`` is standard input. A pipe must
        carry WAV (libsndfile reads WAV headers from pipes) unless ``raw_sr`` is given.
    block_s : float
        Block length in seconds (the last block may be shorter).
    raw_sr : int, optional
        The input is headerless PCM at this rate (little-endian, ``raw_dtype``).
    raw_dtype : {"int16", "float32"}
        Sample format of raw input.
    channels : int
        Interleaved channels of raw input (averaged to mono).

    Returns
    -------
    sr : int
    blocks : iterator of np.ndarray [shape=(n,)], float32 mono
        Reading is lazy: each block is read when the consumer asks for it.

    Raises
    ------
    AudioError
        The file is missing or unreadable.
    ParameterError
        Bad raw-input parameters.

    Examples
    --------
    >>> import io
    >>> pcm = (np.arange(8, dtype="<i2") * 4096).tobytes()
    >>> sr, blocks = read_stream(io.BytesIO(pcm), raw_sr=4, block_s=1.0)
    >>> [b.tolist() for b in blocks]
    [[0.0, 0.125, 0.25, 0.375], [0.5, 0.625, 0.75, 0.875]]
    """
    import soundfile as sf

    fh: Any
    if isinstance(source, str) and source == "-":
        fh = sys.stdin.buffer
    elif isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_file():
            raise AudioError(p, "not found", "no such file")
        fh = p
    else:
        fh = source
    if raw_sr is not None:
        if raw_dtype not in RAW_DTYPES:
            raise ParameterError(f"raw_dtype must be int16 or float32, got {raw_dtype!r}")
        if raw_sr <= 0 or channels <= 0:
            raise ParameterError("a raw stream needs a positive raw_sr and channels")
        return int(raw_sr), _raw_blocks(fh, block_s, raw_sr, raw_dtype, channels)
    try:
        if fh is sys.stdin.buffer or (hasattr(fh, "fileno") and not hasattr(fh, "seek")):
            f = sf.SoundFile(fh.fileno(), closefd=False)  # pipes: libsndfile reads WAV by fd
        else:
            f = sf.SoundFile(fh if not isinstance(fh, Path) else str(fh))
    except Exception as exc:
        name = "<stdin>" if source == "-" else str(source)
        hint = "; standard input must be WAV, or raw PCM with --stream-sr" if source == "-" else ""
        raise AudioError(name, "unreadable", " ".join(str(exc).split())[:160] + hint) from None
    sr = int(f.samplerate)
    frames = max(1, int(round(block_s * sr)))

    def blocks() -> Iterator[np.ndarray]:
        with f:
            while True:
                data = f.read(frames, dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    break
                yield np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)

    return sr, blocks()


def _raw_blocks(
    fh: Any, block_s: float, raw_sr: int, raw_dtype: str, channels: int
) -> Iterator[np.ndarray]:
    """Blocks of headerless little-endian PCM (a trailing partial frame is dropped)."""
    stream = fh.open("rb") if isinstance(fh, Path) else fh
    dtype = np.dtype("<i2" if raw_dtype == "int16" else "<f4")
    frame_bytes = dtype.itemsize * channels
    n_bytes = int(round(block_s * raw_sr)) * frame_bytes
    pending = b""
    while True:
        data = stream.read(n_bytes - len(pending))
        if not data:
            break
        pending += data
        if len(pending) < n_bytes:
            continue
        yield _pcm_to_mono(pending, dtype, channels)
        pending = b""
    usable = len(pending) - len(pending) % frame_bytes
    if usable:
        yield _pcm_to_mono(pending[:usable], dtype, channels)


def _pcm_to_mono(data: bytes, dtype: np.dtype, channels: int) -> np.ndarray:
    x = np.frombuffer(data, dtype=dtype).astype(np.float32)
    if dtype.kind == "i":
        x /= 32768.0
    return x.reshape(-1, channels).mean(axis=1) if channels > 1 else x
