"""The ``spectral-stats`` feature set: statistics of frame-level spectral descriptors per window.

Per window, one STFT (``frame_s`` = 25 ms Hann frames, ``hop_s`` = 10 ms hop, FFT size the next
power of two, centred frames zero-padded inside the window) feeds every frame descriptor:

- ``mfcc1 .. mfccN`` (``n_mfcc`` = 20): DCT-II (orthonormal) of the log10-power in ``n_mels`` = 40
  Slaney mel bands (dB, floor 1e-10; :func:`dfaudio.features.summary.mel_filters`);
- ``lfcc1 .. lfccN`` (``n_lfcc`` = 20): the same from ``n_lfcc`` linear triangular filters
  (:func:`dfaudio.features.cepstral.linear_filterbank`, the ASVspoof 2019 baseline's filters);
- ``contrast1 .. contrast{n_bands+1}``: librosa's spectral contrast (``n_bands`` = 6 octave bands
  from ``fmin`` = 200 Hz, lowered to ``0.9 * sr/2 / 2**(n_bands-1)`` when the rate is too low for
  six octaves, so every rate gives the same columns);
- ``flatness``: spectral flatness of the power spectrum (geometric / arithmetic mean, floor 1e-10);
- and the regression delta of each (``..._delta``; ``delta_width`` = 9 frames, edges repeated;
  :func:`dfaudio.features.cepstral.deltas`).

Each of these 2 x 48 = 96 descriptors is summarised over the window's frames by ``mean``, ``std``
(population) and the ``percentiles`` 10, 50 and 90 (numpy's linear interpolation): 480 columns,
named ``ss_<descriptor>_<stat>`` in descriptor-major order, e.g. ``ss_mfcc3_mean``,
``ss_mfcc3_std``, ``ss_mfcc3_p10``, ..., ``ss_flatness_delta_p90``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from dfaudio.exceptions import ParameterError

__all__ = [
    "CHUNK_WINDOWS",
    "PREFIX",
    "columns",
    "spectral_stats",
]

PREFIX = "ss_"
#: Windows processed together (bounds the working memory).
CHUNK_WINDOWS = 8


def _descriptors(n_mfcc: int, n_lfcc: int, n_bands: int) -> list[str]:
    base = [
        *(f"mfcc{i}" for i in range(1, n_mfcc + 1)),
        *(f"lfcc{i}" for i in range(1, n_lfcc + 1)),
        *(f"contrast{i}" for i in range(1, n_bands + 2)),
        "flatness",
    ]
    return base + [f"{d}_delta" for d in base]


def _stat_names(percentiles: Sequence[float]) -> list[str]:
    return ["mean", "std", *(f"p{float(p):g}" for p in percentiles)]


def columns(
    *,
    n_mfcc: int = 20,
    n_lfcc: int = 20,
    n_bands: int = 6,
    percentiles: Sequence[float] = (10, 50, 90),
    **_: object,
) -> list[str]:
    """Column names: ``ss_<descriptor>_<stat>``, descriptor-major."""
    stats = _stat_names(percentiles)
    return [f"{PREFIX}{d}_{s}" for d in _descriptors(n_mfcc, n_lfcc, n_bands) for s in stats]


@functools.lru_cache(maxsize=16)
def _bases(sr: float, frame_s: float, hop_s: float, n_mels: int, n_lfcc: int) -> dict:
    from dfaudio.features.cepstral import linear_filterbank
    from dfaudio.features.summary import mel_filters

    win_length = int(round(frame_s * sr))
    hop = int(round(hop_s * sr))
    if win_length < 4 or hop < 1:
        raise ParameterError(f"frame_s={frame_s}, hop_s={hop_s} at sr={sr} give too few samples")
    n_fft = 1 << (win_length - 1).bit_length()
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)  # periodic
    window = np.zeros(n_fft)
    lpad = (n_fft - win_length) // 2
    window[lpad : lpad + win_length] = hann
    return {
        "n_fft": n_fft,
        "hop": hop,
        "window": window,
        "mel": mel_filters(sr, n_fft, n_mels).astype(np.float64).T,  # (F, n_mels)
        "lin": np.asarray(
            linear_filterbank(sr=int(round(sr)), n_fft=n_fft, n_filters=n_lfcc), dtype=np.float64
        ).T,
    }


def _cepstra(power: np.ndarray, fb: np.ndarray, n: int) -> np.ndarray:
    """``power [shape=(nb, T, F)]`` -> DCT-II of the log filterbank energies ``(nb, n, T)``."""
    import scipy.fft

    if n > fb.shape[1]:
        raise ParameterError(f"asked for {n} coefficients from only {fb.shape[1]} bands")
    db = 10.0 * np.log10(np.maximum(1e-10, power @ fb))
    c = scipy.fft.dct(db, type=2, axis=-1, norm="ortho")[..., :n]
    return np.swapaxes(c, 1, 2)


def _frame_descriptors(
    blocks: np.ndarray,
    sr: float,
    *,
    frame_s: float,
    hop_s: float,
    n_mfcc: int,
    n_mels: int,
    n_lfcc: int,
    n_bands: int,
    delta_width: int,
) -> np.ndarray:
    """``blocks [shape=(nb, L)]`` -> frame descriptors ``[shape=(nb, 96, T)]`` (with deltas)."""
    import librosa
    import scipy.fft

    from dfaudio.features.cepstral import deltas

    b = _bases(float(sr), float(frame_s), float(hop_s), int(n_mels), int(n_lfcc))
    n_fft, hop = b["n_fft"], b["hop"]
    nb, length = blocks.shape
    half = n_fft // 2
    padded = np.zeros((nb, length + 2 * half), dtype=np.float64)
    padded[:, half : half + length] = blocks
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=1)[:, ::hop]
    frames = frames[:, : 1 + length // hop]
    mag = np.abs(scipy.fft.rfft(frames * b["window"], axis=-1))  # (nb, T, F)
    power = mag**2
    mfcc = _cepstra(power, b["mel"], n_mfcc)
    lfcc = _cepstra(power, b["lin"], n_lfcc)
    fmin = min(200.0, 0.9 * (sr / 2) / 2 ** (n_bands - 1))
    contrast = librosa.feature.spectral_contrast(
        S=np.swapaxes(mag, 1, 2), sr=sr, n_fft=n_fft, hop_length=hop, fmin=fmin, n_bands=n_bands
    )  # (nb, n_bands + 1, T)
    p = np.maximum(1e-10, power)
    flat = np.exp(np.mean(np.log(p), axis=-1)) / np.mean(p, axis=-1)  # (nb, T)
    base = np.concatenate([mfcc, lfcc, contrast, flat[:, None, :]], axis=1)
    return np.concatenate([base, deltas(base, width=delta_width).astype(np.float64)], axis=1)


def spectral_stats(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float | None = 1.0,
    short: str = "whole",
    frame_s: float = 0.025,
    hop_s: float = 0.010,
    n_mfcc: int = 20,
    n_mels: int = 40,
    n_lfcc: int = 20,
    n_bands: int = 6,
    delta_width: int = 9,
    percentiles: Sequence[float] = (10, 50, 90),
) -> np.ndarray:
    """Per-window statistics of frame MFCC, LFCC, spectral contrast, flatness and their deltas.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : float
        Sample rate in Hz.
    window_s : float or None
        Block length in seconds; ``None``: one row over the whole signal.
    short : {"whole", "pad", "skip"}
        Policy for a clip shorter than one block.
    frame_s, hop_s : float
        STFT frame length and hop in seconds.
    n_mfcc, n_mels, n_lfcc, n_bands, delta_width
        See the module docstring.
    percentiles : sequence of float
        Percentiles (0-100) reported besides mean and std.

    Returns
    -------
    X : np.ndarray [shape=(n_windows, n_descriptors * (2 + len(percentiles)))]
        Columns as :func:`columns` names them (480 with the defaults).
    """
    from dfaudio.features.sets import window_blocks

    blocks = window_blocks(y, sr, window_s=window_s, short=short)
    cols = len(columns(n_mfcc=n_mfcc, n_lfcc=n_lfcc, n_bands=n_bands, percentiles=percentiles))
    out = np.empty((blocks.shape[0], cols))
    q = np.asarray(percentiles, dtype=np.float64)
    for i in range(0, blocks.shape[0], CHUNK_WINDOWS):
        d = _frame_descriptors(
            blocks[i : i + CHUNK_WINDOWS],
            sr,
            frame_s=frame_s,
            hop_s=hop_s,
            n_mfcc=n_mfcc,
            n_mels=n_mels,
            n_lfcc=n_lfcc,
            n_bands=n_bands,
            delta_width=delta_width,
        )
        stats = [d.mean(axis=-1), d.std(axis=-1)]
        if q.size:
            stats.extend(np.percentile(d, q, axis=-1))  # (n_q, nb, D)
        out[i : i + d.shape[0]] = np.stack(stats, axis=-1).reshape(d.shape[0], -1)
    return out
