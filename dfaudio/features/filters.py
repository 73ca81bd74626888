"""Windows and filter banks in plain numpy, shared by every front end.

One module builds every weight matrix dfaudio multiplies a spectrum by:

* :func:`mel` (Slaney or HTK scale, Slaney area norm or none): the fast DEEP-VOICE path
  (:mod:`dfaudio.features.summary`), the mel spectrogram and MFCC (:mod:`dfaudio.features.mel`,
  :mod:`dfaudio.features.cepstral`), the ``seed-mel`` preset (torchaudio's defaults);
* :func:`chroma`: the STFT chromagram (:mod:`dfaudio.features.chroma`) and the fast path;
* :func:`linear`: the LFCC linear-frequency bank (MATLAB ``trimf`` triangles, as in the ASVspoof
  baselines);
* :func:`get_window`: Hann and Hamming windows, periodic (FFT) or symmetric (MATLAB ``hamming``).

Mel and linear banks are the same construction -- triangles that rise from one edge frequency,
peak at the next and fall to the third -- over different edge grids (:func:`triangles`). Nothing
here imports librosa or scipy (so the fast path pays no numba compilation); the mel and chroma
banks equal librosa 0.11's ``filters.mel`` / ``filters.chroma`` bit for bit, which
``tests/test_summary_features.py`` and ``tests/test_timefreq_features.py`` check.
"""

from __future__ import annotations

import numpy as np

from dfaudio.exceptions import ParameterError

__all__ = [
    "chroma",
    "fft_frequencies",
    "get_window",
    "hann_window",
    "hz_to_mel",
    "linear",
    "linear_edges_hz",
    "mel",
    "mel_frequencies",
    "mel_to_hz",
    "triangles",
]


def fft_frequencies(*, sr: float, n_fft: int) -> np.ndarray:
    """Centre frequency in Hz of each of the ``1 + n_fft // 2`` real-FFT bins.

    Returns
    -------
    freqs : np.ndarray [shape=(1 + n_fft // 2,)], float64
    """
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


def get_window(name: str, n: int, *, periodic: bool = True) -> np.ndarray:
    """A Hann or Hamming window of ``n`` samples (float64).

    ``periodic=True`` is the DFT-even form (scipy ``fftbins=True``, torch ``periodic=True``,
    librosa); ``periodic=False`` the symmetric form (MATLAB ``hamming(n)`` and ``hann(n)``).

    Parameters
    ----------
    name : {"hann", "hamming"}
        Window family (raised-cosine ``a - (1 - a) cos``, ``a`` 0.5 or 0.54).
    n : int
        Length in samples (>= 1).
    periodic : bool
        Periodic (length ``n`` taken from an ``n + 1`` symmetric window) or symmetric.

    Returns
    -------
    w : np.ndarray [shape=(n,)], float64

    Examples
    --------
    >>> get_window("hamming", 5, periodic=False).round(2).tolist()
    [0.08, 0.54, 1.0, 0.54, 0.08]
    """
    coef = {"hann": 0.5, "hamming": 0.54}.get(name)
    if coef is None:
        raise ParameterError(f"window must be 'hann' or 'hamming', got {name!r}")
    if n < 1:
        raise ParameterError(f"window length must be >= 1, got {n}")
    if n == 1:
        return np.ones(1)
    m = n + 1 if periodic else n
    # scipy.signal.windows.general_cosine's sum, term by term, so that the numbers are scipy's
    fac = np.linspace(-np.pi, np.pi, m, dtype=np.float64)
    w = np.zeros(m)
    w += coef * np.cos(0 * fac)
    w += (1.0 - coef) * np.cos(1 * fac)
    return w[:-1] if periodic else w


def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window: ``scipy.signal.get_window("hann", n_fft)``, bit for bit (float64)."""
    return get_window("hann", n_fft, periodic=True)


def hz_to_mel(f: np.ndarray | float, *, htk: bool = False) -> np.ndarray:
    """Hz to mels: Slaney's scale (linear below 1 kHz, log above) or HTK's.

    HTK: ``2595 log10(1 + f / 700)``.

    Returns
    -------
    mels : np.ndarray, float64
    """
    f = np.array(f, dtype=np.float64, ndmin=1)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    mels = f / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = f >= min_log_hz
    mels[log_t] = min_log_hz / f_sp + np.log(f[log_t] / min_log_hz) / logstep
    return mels


def mel_to_hz(mels: np.ndarray | float, *, htk: bool = False) -> np.ndarray:
    """Mels to Hz, the inverse of :func:`hz_to_mel`.

    Returns
    -------
    freqs : np.ndarray, float64
    """
    mels = np.array(mels, dtype=np.float64, ndmin=1)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    freqs = f_sp * mels
    logstep = np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    return freqs


def mel_frequencies(n: int, *, fmin: float, fmax: float, htk: bool = False) -> np.ndarray:
    """``n`` frequencies (Hz) equally spaced on the mel scale from ``fmin`` to ``fmax``."""
    lo, hi = hz_to_mel(np.array([fmin, fmax], dtype=np.float64), htk=htk)
    return mel_to_hz(np.linspace(lo, hi, n), htk=htk)


def triangles(freqs: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Triangular filters over ``freqs`` (MATLAB ``trimf``; librosa's mel ramps).

    Filter ``i`` rises from ``edges[i]`` to a peak of 1 at ``edges[i + 1]`` and falls to 0 at
    ``edges[i + 2]``.

    Parameters
    ----------
    freqs : np.ndarray [shape=(n_freq,)]
        Frequencies the filters are evaluated at (Hz).
    edges : np.ndarray [shape=(n_filters + 2,)]
        Increasing edge frequencies (Hz).

    Returns
    -------
    W : np.ndarray [shape=(n_filters, n_freq)], float64
    """
    edges = np.asarray(edges, dtype=np.float64)
    fdiff = np.diff(edges)
    ramps = np.subtract.outer(edges, np.asarray(freqs, dtype=np.float64))
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    return np.maximum(0.0, np.minimum(lower, upper))


def mel(
    *,
    sr: float,
    n_fft: int,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Mel filter bank: ``librosa.filters.mel`` with the same arguments, bit for bit.

    Parameters
    ----------
    sr : float
        Sample rate.
    n_fft : int
        FFT length.
    n_mels : int
        Number of bands.
    fmin, fmax : float
        Band edges in Hz (``fmax`` default ``sr / 2``).
    htk : bool
        HTK mel scale instead of Slaney's.
    norm : {"slaney", None}
        ``"slaney"``: each triangle divided by its width in Hz / 2 (constant energy per band);
        ``None``: peak 1 (what torchaudio's ``MelSpectrogram`` uses by default).

    Returns
    -------
    M : np.ndarray [shape=(n_mels, 1 + n_fft // 2)], float32
    """
    if norm not in ("slaney", None):
        raise ParameterError(f"mel norm must be 'slaney' or None, got {norm!r}")
    fmax = float(sr) / 2 if fmax is None else float(fmax)
    mel_f = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
    weights = triangles(fft_frequencies(sr=sr, n_fft=n_fft), mel_f).astype(np.float32)
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights


def linear_edges_hz(
    *, sr: float, n_filters: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """The ``n_filters + 2`` equally spaced edge frequencies of a linear filter bank.

    Returns
    -------
    edges : np.ndarray [shape=(n_filters + 2,)], float64
    """
    fmax = sr / 2 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sr / 2:
        raise ParameterError(
            f"need 0 <= fmin < fmax <= sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}"
        )
    if n_filters < 1:
        raise ParameterError(f"n_filters must be >= 1, got {n_filters}")
    return np.linspace(fmin, fmax, n_filters + 2)


def linear(
    *, sr: float, n_fft: int, n_filters: int = 20, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular filters equally spaced in Hz, peak 1 (the ASVspoof LFCC baselines' bank).

    Returns
    -------
    F : np.ndarray [shape=(n_filters, 1 + n_fft // 2)], float32
    """
    edges = linear_edges_hz(sr=sr, n_filters=n_filters, fmin=fmin, fmax=fmax)
    return triangles(fft_frequencies(sr=sr, n_fft=n_fft), edges).astype(np.float32)


def chroma(*, sr: float, n_fft: int, n_chroma: int = 12, tuning: float = 0.0) -> np.ndarray:
    """Chroma filter bank: ``librosa.filters.chroma`` with its defaults otherwise, bit for bit.

    Gaussian bumps in log-frequency around each pitch class (octave weighting centred on C5 with
    a 2-octave spread, L2-normalised per FFT bin, rows starting at C).

    Returns
    -------
    W : np.ndarray [shape=(n_chroma, 1 + n_fft // 2)], float32
    """
    ctroct, octwidth = 5.0, 2.0
    n_freq = 1 + n_fft // 2
    # librosa builds all n_fft columns and drops the aliased ones at the end; every step is
    # column-wise, so building the kept columns only gives the same numbers at half the cost
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1 : n_freq + 1]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (float(a440) / 16))
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.maximum(frqbins[1:] - frqbins[:-1], 1.0)[:n_freq]
    frqbins = frqbins[:n_freq]
    d = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    n_chroma2 = np.round(float(n_chroma) / 2)
    d = np.remainder(d + n_chroma2 + 10 * n_chroma, n_chroma) - n_chroma2
    wts = np.exp(-0.5 * (2 * d / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    length = np.sqrt(np.sum(wts**2, axis=0, keepdims=True))
    length[length < np.finfo(wts.dtype).tiny] = 1.0
    wts = wts / length
    wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - ctroct) / octwidth) ** 2)), (n_chroma, 1))
    wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    return np.ascontiguousarray(wts, dtype=np.float32)
