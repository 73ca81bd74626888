"""Chromagrams (12 pitch classes per frame) from the STFT or the constant-Q transform.

:func:`chroma` with ``kind="stft"`` gives the same numbers as :func:`librosa.feature.chroma_stft`
for the same settings (power spectrum, the chroma filter bank of
:func:`dfaudio.features.filters.chroma` = :func:`librosa.filters.chroma`, each frame scaled to a
maximum of 1). The default ``tuning=0.0`` skips librosa's tuning estimation, which costs more than
the rest of the feature; pass ``tuning=None`` to estimate it as librosa does.
"""

from __future__ import annotations

import functools

import numpy as np

from dfaudio.exceptions import ParameterError
from dfaudio.features import filters
from dfaudio.features.mel import _check_signal, stft_power
from dfaudio.features.mel import quiet_cqt as _quiet_cqt

__all__ = ["chroma", "chroma_cqt"]


@functools.lru_cache(maxsize=32)
def _chroma_filters(sr: int, n_fft: int, n_chroma: int, tuning: float) -> np.ndarray:
    fb = filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning)
    fb.setflags(write=False)
    return fb


def _normalize_frames(C: np.ndarray) -> np.ndarray:
    """Scale each frame (column) to a maximum of 1, leaving near-silent frames at 0."""
    peak = np.max(np.abs(C), axis=0, keepdims=True)
    tiny = np.finfo(np.float32).tiny
    return np.where(peak > tiny, C / np.maximum(peak, tiny), 0.0).astype(np.float32)


def chroma(
    y: np.ndarray,
    sr: int,
    *,
    kind: str = "stft",
    n_fft: int = 1024,
    hop_length: int = 512,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    n_chroma: int = 12,
    tuning: float | None = 0.0,
    bins_per_octave: int = 36,
) -> np.ndarray:
    """Chromagram: energy per pitch class (C, C#, ..., B), each frame scaled to a peak of 1.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int
        Sample rate.
    kind : {"stft", "cqt"}
        ``"stft"``: power STFT folded by :func:`librosa.filters.chroma`; ``"cqt"``:
        :func:`librosa.feature.chroma_cqt` (better pitch resolution at low frequencies, slower).
    n_fft, hop_length, win_length, window, center
        STFT settings (``kind="stft"``; ``hop_length`` is used by both kinds and must be a
        multiple of 64 for ``"cqt"``).
    n_chroma : int
        Bins per octave of the output.
    tuning : float, optional
        Tuning deviation in fractions of a bin; ``None`` estimates it from the signal.
    bins_per_octave : int
        CQT resolution (``kind="cqt"``).

    Returns
    -------
    C : np.ndarray [shape=(n_chroma, n_frames)], float32
    """
    if kind == "stft":
        S = stft_power(
            y,
            n_fft=n_fft,
            hop_length=hop_length,
            win_length=win_length,
            window=window,
            center=center,
        )
        if tuning is None:
            import librosa

            tuning = float(librosa.estimate_tuning(S=S, sr=sr, bins_per_octave=n_chroma))
        fb = _chroma_filters(int(sr), n_fft, n_chroma, float(tuning))
        return _normalize_frames(fb @ S)
    if kind == "cqt":
        import librosa

        y = _check_signal(y)
        with _quiet_cqt():
            C = librosa.feature.chroma_cqt(
                y=y,
                sr=sr,
                hop_length=hop_length,
                n_chroma=n_chroma,
                tuning=tuning,
                bins_per_octave=bins_per_octave,
            )
        return C.astype(np.float32)
    raise ParameterError(f"unknown chroma kind {kind!r}; use 'stft' or 'cqt'")


def chroma_cqt(y: np.ndarray, sr: int, **kwargs: object) -> np.ndarray:
    """Constant-Q chromagram: :func:`chroma` with ``kind="cqt"``.

    Returns
    -------
    C : np.ndarray [shape=(n_chroma, n_frames)], float32
    """
    return chroma(y, sr, kind="cqt", **kwargs)  # type: ignore[arg-type]
