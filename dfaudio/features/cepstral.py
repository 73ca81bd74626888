"""Cepstral features: MFCC, LFCC (ASVspoof 2019 baseline front-end) and CQCC.

All three are "filterbank (or constant-Q) energies -> log -> DCT-II (orthonormal)":

- **MFCC** uses mel filters; the numbers equal :func:`librosa.feature.mfcc` for the same settings.
- **LFCC** uses *linear*-frequency triangular filters, equally spaced in Hz from ``fmin`` to
  ``fmax``, each peaking at 1 (MATLAB ``trimf``), as in the ASVspoof 2019 LFCC-GMM baseline
  (``extract_lfcc.m``: 20 ms Hamming window, 10 ms shift, 512-point FFT, 20 filters, ``log10``,
  20 coefficients, deltas and delta-deltas over 3 frames). librosa has no LFCC; a mel filterbank
  with ``norm=None`` (what the seed project called LFCC) is *not* LFCC.
- **CQCC** (ASVspoof 2019 CQCC-GMM baseline, Todisco et al. 2017): constant-Q power spectrum
  (librosa CQT), log, uniform resampling of the geometrically spaced bins onto a linear grid, DCT.

Deltas follow the baseline's ``deltas.m`` up to a constant factor: ``(x[t+k] - x[t-k])`` regression
over ``width`` frames with edge repetition, normalised as in HTK (``sum k^2``).
"""

from __future__ import annotations

import functools

import numpy as np

from dfaudio.exceptions import ParameterError
from dfaudio.features.mel import mel_spectrogram, power_to_db, quiet_cqt, stft_power


def _dct(x: np.ndarray, n: int) -> np.ndarray:
    import scipy.fft

    if n > x.shape[0]:
        raise ParameterError(f"asked for {n} coefficients from only {x.shape[0]} bands")
    return scipy.fft.dct(x, type=2, axis=0, norm="ortho")[:n].astype(np.float32)


def deltas(X: np.ndarray, *, width: int = 3) -> np.ndarray:
    """Regression deltas along time (axis -1), edges repeated.

    ``d[t] = sum_k k * (x[t+k] - x[t-k]) / (2 * sum_k k^2)`` for ``k = 1 .. width // 2``.

    Parameters
    ----------
    X : np.ndarray [shape=(n_feat, n_frames)]
    width : int
        Odd window length in frames (>= 3).

    Returns
    -------
    D : np.ndarray [shape=(n_feat, n_frames)], float32
    """
    if width < 3 or width % 2 == 0:
        raise ParameterError(f"delta width must be an odd number >= 3, got {width}")
    half = width // 2
    n = X.shape[-1]
    padded = np.pad(X, [(0, 0)] * (X.ndim - 1) + [(half, half)], mode="edge")
    num = np.zeros_like(X, dtype=np.float64)
    for k in range(1, half + 1):
        num += k * (padded[..., half + k : half + k + n] - padded[..., half - k : half - k + n])
    return (num / (2 * sum(k * k for k in range(1, half + 1)))).astype(np.float32)


def _stack_deltas(C: np.ndarray, add_deltas: bool, width: int) -> np.ndarray:
    if not add_deltas:
        return C
    d1 = deltas(C, width=width)
    d2 = deltas(d1, width=width)
    return np.concatenate([C, d1, d2], axis=0)


def mfcc(
    y: np.ndarray | None,
    sr: int,
    *,
    S: np.ndarray | None = None,
    n_mfcc: int = 20,
    n_mels: int = 64,
    n_fft: int = 1024,
    hop_length: int = 512,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float | None = 80.0,
    add_deltas: bool = False,
    delta_width: int = 3,
) -> np.ndarray:
    """Mel-frequency cepstral coefficients (same numbers as :func:`librosa.feature.mfcc`).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)] or None
        Mono signal (ignored when ``S`` is given).
    sr : int
        Sample rate.
    S : np.ndarray [shape=(n_mels, n_frames)], optional
        A log-power mel spectrogram in dB, used instead of ``y``.
    n_mfcc : int
        Number of coefficients kept (c0 included).
    n_mels, n_fft, hop_length, win_length, window, center, fmin, fmax
        Mel spectrogram settings (defaults: the seed models' 64 bands, 1024, 512).
    top_db : float, optional
        dB floor below the peak (librosa's default 80).
    add_deltas : bool
        Append deltas and delta-deltas (``3 * n_mfcc`` rows).
    delta_width : int
        Delta regression window in frames.

    Returns
    -------
    C : np.ndarray [shape=(n_mfcc or 3 * n_mfcc, n_frames)], float32
    """
    if S is None:
        if y is None:
            raise ParameterError("mfcc needs a signal y or a log-mel spectrogram S")
        M = mel_spectrogram(
            y,
            sr,
            n_fft=n_fft,
            hop_length=hop_length,
            win_length=win_length,
            window=window,
            center=center,
            n_mels=n_mels,
            fmin=fmin,
            fmax=fmax,
        )
        S = power_to_db(M, top_db=top_db)
    return _stack_deltas(_dct(np.asarray(S, dtype=np.float64), n_mfcc), add_deltas, delta_width)


def linear_filter_edges_hz(
    *, sr: int, n_filters: int = 20, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """The ``n_filters + 2`` equally spaced edge frequencies of the linear filterbank.

    Filter ``i`` rises from ``edges[i]``, peaks at ``edges[i + 1]`` (its centre) and falls to
    ``edges[i + 2]``.

    Returns
    -------
    edges : np.ndarray [shape=(n_filters + 2,)]
    """
    fmax = sr / 2 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sr / 2:
        raise ParameterError(
            f"need 0 <= fmin < fmax <= sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}"
        )
    if n_filters < 1:
        raise ParameterError(f"n_filters must be >= 1, got {n_filters}")
    return np.linspace(fmin, fmax, n_filters + 2)


@functools.lru_cache(maxsize=32)
def linear_filterbank(
    *, sr: int, n_fft: int = 512, n_filters: int = 20, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular filters equally spaced in Hz (peak 1, like MATLAB ``trimf``), cached.

    Parameters
    ----------
    sr : int
        Sample rate.
    n_fft : int
        FFT length; the filters act on ``1 + n_fft // 2`` bins at ``k * sr / n_fft`` Hz.
    n_filters : int
        Number of filters.
    fmin, fmax : float
        Band edges (default 0 to ``sr / 2``, as in the ASVspoof baseline).

    Returns
    -------
    F : np.ndarray [shape=(n_filters, 1 + n_fft // 2)], float32
    """
    edges = linear_filter_edges_hz(sr=sr, n_filters=n_filters, fmin=fmin, fmax=fmax)
    freqs = np.linspace(0.0, sr / 2, 1 + n_fft // 2)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (freqs[None, :] - lo) / (mid - lo)
    fall = (hi - freqs[None, :]) / (hi - mid)
    fb = np.maximum(0.0, np.minimum(rise, fall)).astype(np.float32)
    fb.setflags(write=False)
    return fb


def lfcc(
    y: np.ndarray | None,
    sr: int,
    *,
    S: np.ndarray | None = None,
    n_lfcc: int = 20,
    n_filters: int = 20,
    window_s: float = 0.020,
    hop_s: float | None = None,
    n_fft: int = 512,
    window: str = "hamming",
    center: bool = True,
    fmin: float = 0.0,
    fmax: float | None = None,
    amin: float = 1e-10,
    add_deltas: bool = False,
    delta_width: int = 3,
) -> np.ndarray:
    """Linear-frequency cepstral coefficients (the ASVspoof 2019 LFCC baseline front-end).

    Power spectrum (``window_s`` Hamming window, ``hop_s`` shift, ``n_fft``-point FFT) ->
    ``n_filters`` linear triangular filters -> ``log10`` -> orthonormal DCT-II -> the first
    ``n_lfcc`` coefficients (c0 included), optionally with deltas and delta-deltas.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)] or None
        Mono signal (ignored when ``S`` is given).
    sr : int
        Sample rate.
    S : np.ndarray [shape=(1 + n_fft // 2, n_frames)], optional
        A power spectrogram used instead of ``y``.
    n_lfcc : int
        Coefficients kept (``<= n_filters``).
    n_filters : int
        Linear triangular filters.
    window_s : float
        Analysis window length in seconds (baseline: 20 ms).
    hop_s : float, optional
        Frame shift in seconds (default ``window_s / 2``, as in the baseline's ``buffer`` call).
    n_fft : int
        FFT length (baseline 512; must be at least the window length in samples).
    window : str
        Window name (baseline ``hamming``).
    center : bool
        Centre frames (librosa convention; the baseline does not, which drops edge frames).
    fmin, fmax : float
        Filterbank band (default 0 to ``sr / 2``).
    amin : float
        Floor of the filterbank energies before the logarithm.
    add_deltas : bool
        Append deltas and delta-deltas (``3 * n_lfcc`` rows; the baseline uses them).
    delta_width : int
        Delta regression window in frames (baseline: 3).

    Returns
    -------
    C : np.ndarray [shape=(n_lfcc or 3 * n_lfcc, n_frames)], float32
    """
    if n_lfcc > n_filters:
        raise ParameterError(f"n_lfcc={n_lfcc} cannot exceed n_filters={n_filters}")
    if S is None:
        if y is None:
            raise ParameterError("lfcc needs a signal y or a power spectrogram S")
        win_length = int(round(window_s * sr))
        hop_length = int(round((window_s / 2 if hop_s is None else hop_s) * sr))
        if win_length > n_fft:
            raise ParameterError(
                f"a {window_s * 1000:g} ms window at {sr} Hz is {win_length} samples, more than "
                f"n_fft={n_fft}; pass a larger n_fft"
            )
        S = stft_power(
            y,
            n_fft=n_fft,
            hop_length=max(1, hop_length),
            win_length=win_length,
            window=window,
            center=center,
        )
    S = np.asarray(S)
    if S.shape[0] != 1 + n_fft // 2:
        raise ParameterError(f"S has {S.shape[0]} bins, expected 1 + n_fft // 2 = {1 + n_fft // 2}")
    fb = linear_filterbank(sr=int(sr), n_fft=n_fft, n_filters=n_filters, fmin=fmin, fmax=fmax)
    energies = np.maximum(fb.astype(np.float64) @ S, amin)
    return _stack_deltas(_dct(np.log10(energies), n_lfcc), add_deltas, delta_width)


def cqcc(
    y: np.ndarray,
    sr: int,
    *,
    n_cqcc: int = 20,
    bins_per_octave: int = 96,
    fmin: float = 15.0,
    fmax: float | None = None,
    hop_length: int = 256,
    n_uniform: int | None = None,
    amin: float = 1e-10,
    add_deltas: bool = False,
    delta_width: int = 3,
) -> np.ndarray:
    """Constant-Q cepstral coefficients (after the ASVspoof 2019 CQCC baseline).

    Constant-Q power spectrum (:func:`librosa.cqt`, ``bins_per_octave`` from ``fmin`` to about
    ``fmax``) -> ``log`` -> uniform resampling of the geometric frequency axis onto
    ``n_uniform`` linearly spaced points (linear interpolation, in place of the baseline's
    polyphase resampler) -> orthonormal DCT-II -> ``n_cqcc`` coefficients (c0 included).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int
        Sample rate.
    n_cqcc : int
        Coefficients kept.
    bins_per_octave : int
        CQT resolution (baseline 96).
    fmin, fmax : float
        Lowest bin and upper limit (baseline about 15 Hz to ``sr / 2``).
    hop_length : int
        CQT hop in samples (must be divisible by ``2 ** (n_octaves - 1)``; 256 is valid up to 9
        octaves).
    n_uniform : int, optional
        Points of the uniform grid (default: the number of CQT bins).
    amin : float
        Power floor before the logarithm.
    add_deltas : bool
        Append deltas and delta-deltas.
    delta_width : int
        Delta regression window in frames.

    Returns
    -------
    C : np.ndarray [shape=(n_cqcc or 3 * n_cqcc, n_frames)], float32
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    fmax = sr / 2 if fmax is None else float(fmax)
    n_octaves = np.log2(fmax / fmin)
    # librosa refuses bins above Nyquist: keep the top bin strictly below it.
    n_bins = int(np.floor(n_octaves * bins_per_octave)) - 1
    if n_bins < n_cqcc:
        raise ParameterError(f"only {n_bins} CQT bins between {fmin} and {fmax} Hz")
    with quiet_cqt():
        C = librosa.cqt(
            y,
            sr=sr,
            hop_length=hop_length,
            fmin=fmin,
            n_bins=n_bins,
            bins_per_octave=bins_per_octave,
        )
    Q = np.abs(C)
    log_p = np.log(np.maximum(Q.astype(np.float64) ** 2, amin))
    geo = fmin * 2.0 ** (np.arange(n_bins) / bins_per_octave)
    lin = np.linspace(geo[0], geo[-1], n_uniform or n_bins)
    idx = np.searchsorted(geo, lin, side="right").clip(1, n_bins - 1)
    w = ((lin - geo[idx - 1]) / (geo[idx] - geo[idx - 1]))[:, None]
    uniform = (1 - w) * log_p[idx - 1] + w * log_p[idx]
    return _stack_deltas(_dct(uniform, n_cqcc), add_deltas, delta_width)
