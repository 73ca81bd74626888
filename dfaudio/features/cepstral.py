"""Cepstral features: MFCC, LFCC and CQCC, with presets that reproduce the ASVspoof baselines.

All three are "filterbank (or constant-Q) energies -> log -> DCT-II (orthonormal)":

- **MFCC** uses mel filters; the numbers equal :func:`librosa.feature.mfcc` for the same settings.
- **LFCC** uses *linear*-frequency triangular filters, equally spaced in Hz from ``fmin`` to
  ``fmax``, each peaking at 1 (MATLAB ``trimf``). librosa has no LFCC; a mel filterbank with
  ``norm=None`` (what the seed project called LFCC) is *not* LFCC.

  The default (``preset=None``) is the baseline's filter bank and DCT on librosa's framing (centred
  frames, periodic Hamming window, no pre-emphasis, energies floored at ``amin``) and returns the
  20 static coefficients; ``add_deltas=True`` appends deltas and delta-deltas (``3 * n_lfcc``
  rows). Two presets reproduce the organisers' MATLAB code (:data:`LFCC_PRESETS`):

  * ``preset="baseline-2019"``: ASVspoof 2019 ``extract_lfcc.m`` (LFCC-GMM, B02): pre-emphasis
    ``[1, -0.97]``, 20 ms symmetric Hamming window, 10 ms shift, MATLAB ``buffer(..., 'nodelay')``
    framing (frames from sample 0, the last zero-padded), 512-point FFT, 20 filters over 0 to
    ``sr/2``, ``log10(E + eps)``, 20 coefficients, deltas as ``deltas.m`` (``x[t+1] - x[t-1]``,
    *not* divided by 2) -> ``60 x n_frames``. Equal to a re-statement of the MATLAB code within
    1e-4 on LA audio (``tests/test_frontend_references.py``).
  * ``preset="baseline-2021"``: ASVspoof 2021 ``lfcc_bp.m`` (LA LFCC-GMM): no pre-emphasis, 30 ms
    window, 15 ms shift, 1024-point FFT, 70 filters over 0-4 kHz, 19 coefficients (c0 included),
    HTK deltas (``(x[t+1] - x[t-1]) / 2``) -> ``57 x n_frames``.

- **CQCC** (Todisco et al. 2016): constant-Q power spectrum (librosa CQT/VQT), log, uniform
  resampling of the geometrically spaced bins onto a linear grid, DCT. ``preset="baseline-2019"``
  follows the ASVspoof 2019 call ``cqcc(x, fs, 96, fs/2, fs/2^10, 16, 29, 'ZsdD')`` wherever
  librosa allows; :func:`cqcc` lists every remaining difference.

:func:`deltas` computes HTK regression deltas (``sum_k k (x[t+k] - x[t-k]) / (2 sum_k k^2)``, edges
repeated); ``normalize=False`` drops the denominator, as ``deltas.m`` of the 2019 package does.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from dfaudio.exceptions import ParameterError
from dfaudio.features import filters
from dfaudio.features.mel import (
    _check_signal,
    mel_spectrogram,
    power_to_db,
    quiet_cqt,
    stft_power,
)

__all__ = [
    "CQCC_PRESETS",
    "LFCC_PRESETS",
    "buffer_power",
    "cqcc",
    "deltas",
    "lfcc",
    "linear_filter_edges_hz",
    "linear_filterbank",
    "mfcc",
    "preemphasize",
]

#: LFCC presets: parameter values of :func:`lfcc` that reproduce the organisers' front ends.
LFCC_PRESETS: dict[str, dict[str, Any]] = {
    # ASVspoof 2019 LA/PA baseline, extract_lfcc(x, fs, 20, 512, 20)
    "baseline-2019": {
        "n_lfcc": 20,
        "n_filters": 20,
        "window_s": 0.020,
        "hop_s": 0.010,
        "n_fft": 512,
        "window": "hamming",
        "periodic_window": False,
        "framing": "buffer",
        "pre_emphasis": 0.97,
        "fmin": 0.0,
        "fmax": None,
        "log_offset": float(np.finfo(np.float64).eps),
        "add_deltas": True,
        "delta_width": 3,
        "normalize_deltas": False,
    },
    # ASVspoof 2021 LA baseline, lfcc_bp(x, fs, 30, 1024, 70, 19, 0, 4000)
    "baseline-2021": {
        "n_lfcc": 19,
        "n_filters": 70,
        "window_s": 0.030,
        "hop_s": 0.015,
        "n_fft": 1024,
        "window": "hamming",
        "periodic_window": False,
        "framing": "buffer",
        "pre_emphasis": 0.0,
        "fmin": 0.0,
        "fmax": 4000.0,
        "log_offset": float(np.finfo(np.float64).eps),
        "add_deltas": True,
        "delta_width": 3,
        "normalize_deltas": True,
    },
}

#: CQCC presets: parameter values of :func:`cqcc` (``None`` values depend on ``sr``).
CQCC_PRESETS: dict[str, dict[str, Any]] = {
    # ASVspoof 2019 baseline, cqcc(x, fs, 96, fs/2, fs/2^10, 16, 29, 'ZsdD')
    "baseline-2019": {
        "n_cqcc": 30,
        "bins_per_octave": 96,
        "fmin": None,  # sr / 2**10
        "fmax": None,  # sr / 2
        "hop_length": None,  # the smallest valid CQT hop: 2 ** (n_octaves - 1)
        "n_uniform": None,
        "uniform_per_octave": 16,
        "resample": "spline",
        "gamma": "erb",
        "log_offset": float(np.finfo(np.float64).eps),
        "add_deltas": True,
        "delta_width": 7,
        "normalize_deltas": True,
    },
}


def _defaults(func: Any) -> dict[str, Any]:
    """Keyword defaults of ``func`` (to tell parameters a caller changed from untouched ones)."""
    sig = inspect.signature(func)
    return {k: v.default for k, v in sig.parameters.items() if v.default is not v.empty}


def _apply_preset(
    name: str,
    preset: str | None,
    presets: dict[str, dict[str, Any]],
    given: dict[str, Any],
    defaults: dict[str, Any],
) -> dict[str, Any]:
    """Parameters from ``presets[preset]``; explicit ones that disagree with it are refused."""
    if preset is None:
        return given
    if preset not in presets:
        raise ParameterError(
            f"unknown {name} preset {preset!r}; choose one of: {', '.join(presets)}"
        )
    chosen = presets[preset]
    clash = [k for k, v in given.items() if k in chosen and v != defaults[k] and v != chosen[k]]
    if clash:
        raise ParameterError(
            f"{name} preset {preset!r} fixes {', '.join(clash)}; drop the preset to change them"
        )
    return {**given, **chosen}


def _dct(x: np.ndarray, n: int) -> np.ndarray:
    return _dct64(x, n).astype(np.float32)


def deltas(X: np.ndarray, *, width: int = 3, normalize: bool = True) -> np.ndarray:
    """Regression deltas along time (axis -1), edges repeated.

    ``d[t] = sum_k k * (x[t+k] - x[t-k]) / (2 * sum_k k^2)`` for ``k = 1 .. width // 2`` (HTK; the
    ASVspoof 2021 ``Deltas``); with ``normalize=False`` the denominator is dropped, as in the
    ASVspoof 2019 LFCC package's ``deltas.m`` (width 3: ``x[t+1] - x[t-1]``).

    Parameters
    ----------
    X : np.ndarray [shape=(n_feat, n_frames)]
    width : int
        Odd window length in frames (>= 3).
    normalize : bool
        Divide by ``2 * sum_k k^2``.

    Returns
    -------
    D : np.ndarray [shape=(n_feat, n_frames)], float32
    """
    return _deltas64(X, width=width, normalize=normalize).astype(np.float32)


def _deltas64(X: np.ndarray, *, width: int, normalize: bool) -> np.ndarray:
    if width < 3 or width % 2 == 0:
        raise ParameterError(f"delta width must be an odd number >= 3, got {width}")
    half = width // 2
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[-1]
    padded = np.pad(X, [(0, 0)] * (X.ndim - 1) + [(half, half)], mode="edge")
    num = np.zeros_like(X)
    for k in range(1, half + 1):
        num += k * (padded[..., half + k : half + k + n] - padded[..., half - k : half - k + n])
    return num / (2 * sum(k * k for k in range(1, half + 1))) if normalize else num


def _stack_deltas(
    C: np.ndarray, add_deltas: bool, width: int, *, normalize: bool = True
) -> np.ndarray:
    """``C`` (float32), or ``[C; dC; ddC]`` with the deltas computed in float64 from ``C``."""
    if not add_deltas:
        return C.astype(np.float32, copy=False)
    d1 = _deltas64(C, width=width, normalize=normalize)
    d2 = _deltas64(d1, width=width, normalize=normalize)
    return np.concatenate([C, d1, d2], axis=0).astype(np.float32)


def _dct64(x: np.ndarray, n: int) -> np.ndarray:
    import scipy.fft

    if n > x.shape[0]:
        raise ParameterError(f"asked for {n} coefficients from only {x.shape[0]} bands")
    return scipy.fft.dct(x, type=2, axis=0, norm="ortho")[:n]


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
    ``edges[i + 2]`` (:func:`dfaudio.features.filters.linear_edges_hz`).

    Returns
    -------
    edges : np.ndarray [shape=(n_filters + 2,)]
    """
    return filters.linear_edges_hz(sr=sr, n_filters=n_filters, fmin=fmin, fmax=fmax)


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
        Band edges (default 0 to ``sr / 2``, as in the ASVspoof baseline). Bins outside the band
        get weight 0, which is what ``lfcc_bp.m`` (2021) gets by dropping them.

    Returns
    -------
    F : np.ndarray [shape=(n_filters, 1 + n_fft // 2)], float32
    """
    fb = filters.linear(sr=sr, n_fft=n_fft, n_filters=n_filters, fmin=fmin, fmax=fmax)
    fb.setflags(write=False)
    return fb


def preemphasize(y: np.ndarray, coef: float = 0.97) -> np.ndarray:
    """``y[n] - coef * y[n - 1]`` with ``y[-1] = 0`` (MATLAB ``filter([1, -coef], 1, y)``).

    Returns
    -------
    z : np.ndarray [shape=(n,)], float64
    """
    y = np.asarray(y, dtype=np.float64)
    z = y.copy()
    z[1:] -= coef * y[:-1]
    return z


def buffer_power(
    y: np.ndarray,
    *,
    win_length: int,
    hop_length: int,
    n_fft: int,
    window: str = "hamming",
    periodic_window: bool = False,
) -> np.ndarray:
    """Power spectrogram framed like MATLAB ``buffer(y, win_length, overlap, 'nodelay')``.

    Frames start at sample 0 and advance by ``hop_length``; there are
    ``ceil((n - overlap) / hop_length)`` of them (``overlap = win_length - hop_length``), the last
    zero-padded. Each is windowed, zero-padded to ``n_fft`` and transformed (float64 throughout).

    Returns
    -------
    S : np.ndarray [shape=(1 + n_fft // 2, n_frames)], float64
    """
    y = np.asarray(y, dtype=np.float64)
    overlap = win_length - hop_length
    if not 0 < hop_length <= win_length <= n_fft:
        raise ParameterError(
            f"need 0 < hop_length <= win_length <= n_fft, got {hop_length}, {win_length}, {n_fft}"
        )
    if len(y) <= overlap:
        raise ParameterError(
            f"signal of {len(y)} samples is too short for {win_length}-sample frames "
            f"overlapping by {overlap}"
        )
    n_frames = -(-(len(y) - overlap) // hop_length)
    padded = np.zeros((n_frames - 1) * hop_length + win_length)
    padded[: len(y)] = y
    frames = np.lib.stride_tricks.sliding_window_view(padded, win_length)[::hop_length]
    w = filters.get_window(window, win_length, periodic=periodic_window)
    spec = np.fft.rfft(frames * w, n=n_fft, axis=-1)
    return np.ascontiguousarray((spec.real**2 + spec.imag**2).T)


def lfcc(
    y: np.ndarray | None,
    sr: int,
    *,
    preset: str | None = None,
    S: np.ndarray | None = None,
    n_lfcc: int = 20,
    n_filters: int = 20,
    window_s: float = 0.020,
    hop_s: float | None = None,
    n_fft: int = 512,
    window: str = "hamming",
    periodic_window: bool = True,
    center: bool = True,
    framing: str = "librosa",
    pre_emphasis: float = 0.0,
    fmin: float = 0.0,
    fmax: float | None = None,
    amin: float = 1e-10,
    log_offset: float | None = None,
    add_deltas: bool = False,
    delta_width: int = 3,
    normalize_deltas: bool = True,
) -> np.ndarray:
    """Linear-frequency cepstral coefficients.

    Power spectrum (``window_s`` window, ``hop_s`` shift, ``n_fft``-point FFT) -> ``n_filters``
    linear triangular filters -> ``log10`` -> orthonormal DCT-II -> the first ``n_lfcc``
    coefficients (c0 included), optionally with deltas and delta-deltas. ``preset`` selects the
    organisers' exact front ends (:data:`LFCC_PRESETS`; see the module docstring); the default is
    the same filter bank on librosa's framing, static coefficients only.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)] or None
        Mono signal (ignored when ``S`` is given).
    sr : int
        Sample rate.
    preset : {None, "baseline-2019", "baseline-2021"}
        Take every parameter below from :data:`LFCC_PRESETS` (passing one that contradicts the
        preset is an error).
    S : np.ndarray [shape=(1 + n_fft // 2, n_frames)], optional
        A power spectrogram used instead of ``y``.
    n_lfcc : int
        Coefficients kept (``<= n_filters``).
    n_filters : int
        Linear triangular filters.
    window_s : float
        Analysis window length in seconds (2019 baseline: 20 ms).
    hop_s : float, optional
        Frame shift in seconds (default ``window_s / 2``, as in the baseline's ``buffer`` call).
    n_fft : int
        FFT length (baseline 512; must be at least the window length in samples).
    window : {"hamming", "hann"}
        Window family (baseline ``hamming``).
    periodic_window : bool
        Periodic (librosa/scipy) or symmetric (MATLAB ``hamming(n)``) window.
    center : bool
        With ``framing="librosa"``: centre frames (zero padding), or frames from sample 0 with
        only full frames kept.
    framing : {"librosa", "buffer"}
        ``"buffer"``: MATLAB ``buffer(..., 'nodelay')`` (frames from sample 0, the last one
        zero-padded), see :func:`buffer_power`.
    pre_emphasis : float
        Coefficient ``a`` of the pre-emphasis ``y[n] - a y[n-1]`` (0: none; 2019 baseline 0.97).
    fmin, fmax : float
        Filterbank band (default 0 to ``sr / 2``).
    amin : float
        Floor of the filterbank energies before the logarithm (when ``log_offset`` is None).
    log_offset : float, optional
        Add this to the energies instead of flooring them (the baselines add MATLAB ``eps``).
    add_deltas : bool
        Append deltas and delta-deltas (``3 * n_lfcc`` rows).
    delta_width : int
        Delta regression window in frames (baselines: 3).
    normalize_deltas : bool
        HTK deltas (divided by ``2 sum k^2``); ``False`` as in the 2019 package's ``deltas.m``.

    Returns
    -------
    C : np.ndarray [shape=(n_lfcc or 3 * n_lfcc, n_frames)], float32

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).normal(size=16000).astype(np.float32)
    >>> lfcc(y, 16000).shape, lfcc(y, 16000, preset="baseline-2019").shape
    ((20, 101), (60, 99))
    """
    p = _apply_preset(
        "lfcc",
        preset,
        LFCC_PRESETS,
        {
            "n_lfcc": n_lfcc,
            "n_filters": n_filters,
            "window_s": window_s,
            "hop_s": hop_s,
            "n_fft": n_fft,
            "window": window,
            "periodic_window": periodic_window,
            "framing": framing,
            "pre_emphasis": pre_emphasis,
            "fmin": fmin,
            "fmax": fmax,
            "log_offset": log_offset,
            "add_deltas": add_deltas,
            "delta_width": delta_width,
            "normalize_deltas": normalize_deltas,
        },
        _LFCC_DEFAULTS,
    )
    if p["n_lfcc"] > p["n_filters"]:
        raise ParameterError(f"n_lfcc={p['n_lfcc']} cannot exceed n_filters={p['n_filters']}")
    if p["framing"] not in ("librosa", "buffer"):
        raise ParameterError(f"framing must be 'librosa' or 'buffer', got {p['framing']!r}")
    n_fft = int(p["n_fft"])
    if S is None:
        if y is None:
            raise ParameterError("lfcc needs a signal y or a power spectrogram S")
        y = _check_signal(y)
        win_length = int(round(p["window_s"] * sr))
        hop = p["window_s"] / 2 if p["hop_s"] is None else p["hop_s"]
        hop_length = max(1, int(round(hop * sr)))
        if win_length > n_fft:
            raise ParameterError(
                f"a {p['window_s'] * 1000:g} ms window at {sr} Hz is {win_length} samples, more "
                f"than n_fft={n_fft}; pass a larger n_fft"
            )
        x = preemphasize(y, p["pre_emphasis"]) if p["pre_emphasis"] else y
        if p["framing"] == "buffer":
            S = buffer_power(
                x,
                win_length=win_length,
                hop_length=hop_length,
                n_fft=n_fft,
                window=p["window"],
                periodic_window=p["periodic_window"],
            )
        else:
            if not p["periodic_window"]:
                raise ParameterError("a symmetric window needs framing='buffer'")
            S = stft_power(
                np.asarray(x, dtype=np.float32),
                n_fft=n_fft,
                hop_length=hop_length,
                win_length=win_length,
                window=p["window"],
                center=center,
            )
    S = np.asarray(S)
    if S.ndim != 2 or S.shape[0] != 1 + n_fft // 2:
        raise ParameterError(
            f"S has shape {S.shape}, expected (1 + n_fft // 2 = {1 + n_fft // 2}, n_frames)"
        )
    fb = linear_filterbank(
        sr=int(sr), n_fft=n_fft, n_filters=p["n_filters"], fmin=p["fmin"], fmax=p["fmax"]
    )
    energies = fb.astype(np.float64) @ S
    if p["log_offset"] is None:
        log_e = np.log10(np.maximum(energies, amin))
    else:
        log_e = np.log10(energies + p["log_offset"])
    C = _dct64(log_e, p["n_lfcc"])
    return _stack_deltas(C, p["add_deltas"], p["delta_width"], normalize=p["normalize_deltas"])


_LFCC_DEFAULTS = _defaults(lfcc)


def cqcc(
    y: np.ndarray,
    sr: int,
    *,
    preset: str | None = None,
    n_cqcc: int = 20,
    bins_per_octave: int = 96,
    fmin: float | None = 15.0,
    fmax: float | None = None,
    hop_length: int | None = 256,
    n_uniform: int | None = None,
    uniform_per_octave: int | None = None,
    resample: str = "linear",
    gamma: str | float | None = None,
    amin: float = 1e-10,
    log_offset: float | None = None,
    add_deltas: bool = False,
    delta_width: int = 3,
    normalize_deltas: bool = True,
) -> np.ndarray:
    """Constant-Q cepstral coefficients (after the ASVspoof 2019 CQCC baseline).

    Constant-Q power spectrum (:func:`librosa.cqt`, or :func:`librosa.vqt` with ``gamma``;
    ``bins_per_octave`` from ``fmin`` to below ``fmax``) -> ``log`` -> uniform resampling of the
    geometric frequency axis onto a linear grid -> orthonormal DCT-II -> ``n_cqcc`` coefficients
    (c0 included), optionally with deltas and delta-deltas.

    ``preset="baseline-2019"`` (:data:`CQCC_PRESETS`) follows the 2019 baseline call
    ``cqcc(x, fs, 96, fs/2, fs/2^10, 16, 29, 'ZsdD')``: 96 bins per octave from ``sr / 2**10``
    (15.625 Hz at 16 kHz), ERB-like variable-Q bandwidths (``gamma = 228.7 (2^(1/B) -
    2^(-1/B))``, librosa's VQT default), ``log(|X|^2 + eps)``, cubic-spline resampling onto a grid
    of ``fmin / 16`` Hz steps (16 points in the first octave), 30 coefficients (c0 to c29), HTK
    deltas and delta-deltas over 7 frames -> ``90 x n_frames``. What still differs from the
    MATLAB package (so values do not match it, and no test claims they do):

    * the transform: librosa's VQT (Hann-windowed filters, octave-wise early downsampling) instead
      of the Schoerkhuber-Klapuri non-stationary Gabor CQT with ``'rasterize', 'full'``, so
      magnitudes differ by a smooth per-bin gain and window shape;
    * the frame rate: librosa needs a hop divisible by ``2 ** (n_octaves - 1)`` (256 samples = 16
      ms at 16 kHz for 9 octaves); the MATLAB CQT's full raster is set by its top bin's
      bandwidth, so it has several times more frames;
    * the top bin: librosa refuses a bin at Nyquist, so the grid stops one bin below ``sr / 2``;
    * MATLAB ``resample(..., 1, 1, 'spline')`` with ``p = q = 1`` applies no anti-aliasing filter,
      so a not-a-knot cubic spline (scipy) stands in for it.

    The default (``preset=None``) is a lighter CQCC for deep models: plain CQT from 15 Hz, linear
    interpolation onto as many points as CQT bins, 20 static coefficients.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int
        Sample rate.
    preset : {None, "baseline-2019"}
        Take the parameters below from :data:`CQCC_PRESETS`.
    n_cqcc : int
        Coefficients kept (c0 included).
    bins_per_octave : int
        CQT resolution (baseline 96).
    fmin, fmax : float, optional
        Lowest bin and upper limit (``None``: ``sr / 2**10`` and ``sr / 2``).
    hop_length : int, optional
        CQT hop in samples; must be divisible by ``2 ** (n_octaves - 1)`` (``None``: that value).
    n_uniform : int, optional
        Points of the uniform grid (default: the number of CQT bins, or as
        ``uniform_per_octave`` sets).
    uniform_per_octave : int, optional
        Grid step ``fmin / uniform_per_octave`` Hz (the baseline's ``d = 16``).
    resample : {"linear", "spline"}
        Interpolation onto the uniform grid.
    gamma : {None, "erb"} or float
        ``None``: constant-Q (:func:`librosa.cqt`); ``"erb"`` or a bandwidth offset in Hz:
        variable-Q (:func:`librosa.vqt`).
    amin : float
        Power floor before the logarithm (when ``log_offset`` is None).
    log_offset : float, optional
        Add this to the power instead (the baseline adds MATLAB ``eps``).
    add_deltas : bool
        Append deltas and delta-deltas.
    delta_width : int
        Delta regression window in frames (baseline 7: ``Deltas(x, 3)``).
    normalize_deltas : bool
        HTK deltas (divided by ``2 sum k^2``).

    Returns
    -------
    C : np.ndarray [shape=(n_cqcc or 3 * n_cqcc, n_frames)], float32
    """
    p = _apply_preset(
        "cqcc",
        preset,
        CQCC_PRESETS,
        {
            "n_cqcc": n_cqcc,
            "bins_per_octave": bins_per_octave,
            "fmin": fmin,
            "fmax": fmax,
            "hop_length": hop_length,
            "n_uniform": n_uniform,
            "uniform_per_octave": uniform_per_octave,
            "resample": resample,
            "gamma": gamma,
            "log_offset": log_offset,
            "add_deltas": add_deltas,
            "delta_width": delta_width,
            "normalize_deltas": normalize_deltas,
        },
        _CQCC_DEFAULTS,
    )
    import librosa

    y = _check_signal(y)
    bpo = int(p["bins_per_octave"])
    lo = sr / 2**10 if p["fmin"] is None else float(p["fmin"])
    hi = sr / 2 if p["fmax"] is None else float(p["fmax"])
    if not 0 < lo < hi <= sr / 2:
        raise ParameterError(f"need 0 < fmin < fmax <= sr/2, got fmin={lo}, fmax={hi}, sr={sr}")
    n_octaves = np.log2(hi / lo)
    # librosa refuses bins above Nyquist: keep the top bin strictly below it.
    n_bins = int(np.floor(n_octaves * bpo)) - 1
    if n_bins < p["n_cqcc"]:
        raise ParameterError(f"only {n_bins} CQT bins between {lo} and {hi} Hz")
    hop = p["hop_length"]
    if hop is None:
        hop = 2 ** max(0, int(np.ceil(n_bins / bpo)) - 1)
    if p["resample"] not in ("linear", "spline"):
        raise ParameterError(f"resample must be 'linear' or 'spline', got {p['resample']!r}")
    kw = {"sr": sr, "hop_length": int(hop), "fmin": lo, "n_bins": n_bins, "bins_per_octave": bpo}
    with quiet_cqt():
        if p["gamma"] is None:
            X = librosa.cqt(y, **kw)
        else:
            g = None if p["gamma"] == "erb" else float(p["gamma"])
            X = librosa.vqt(y, gamma=g, **kw)
    power = np.abs(X).astype(np.float64) ** 2
    if p["log_offset"] is None:
        log_p = np.log(np.maximum(power, amin))
    else:
        log_p = np.log(power + p["log_offset"])
    geo = lo * 2.0 ** (np.arange(n_bins) / bpo)
    if p["uniform_per_octave"]:
        step = lo / p["uniform_per_octave"]
        lin = geo[0] + step * np.arange(int(np.floor((geo[-1] - geo[0]) / step)) + 1)
    else:
        lin = np.linspace(geo[0], geo[-1], p["n_uniform"] or n_bins)
    if p["resample"] == "spline":
        from scipy.interpolate import CubicSpline

        uniform = CubicSpline(geo, log_p, axis=0, bc_type="not-a-knot")(lin)
    else:
        idx = np.searchsorted(geo, lin, side="right").clip(1, n_bins - 1)
        w = ((lin - geo[idx - 1]) / (geo[idx] - geo[idx - 1]))[:, None]
        uniform = (1 - w) * log_p[idx - 1] + w * log_p[idx]
    C = _dct64(uniform, p["n_cqcc"])
    return _stack_deltas(C, p["add_deltas"], p["delta_width"], normalize=p["normalize_deltas"])


_CQCC_DEFAULTS = _defaults(cqcc)
