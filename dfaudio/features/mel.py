"""Short-time spectra and (log-)mel spectrograms as plain functions.

The STFT here is plain numpy (framing + ``rfft``), written to give the same numbers as
:func:`librosa.stft` for the same settings (centred frames, zero padding, periodic window padded to
``n_fft``) without librosa's first-call numba compilation. Mel filters come from
:func:`dfaudio.features.filters.mel` (numpy; equal to :func:`librosa.filters.mel`: Slaney scale and
area normalisation by default), so a log-mel spectrogram here equals
``librosa.power_to_db(librosa.feature.melspectrogram(...))``.

The default ``mel`` feature (:func:`log_mel_spectrogram`) takes the seed models' sizes
(lexxsh/Deepfake-Audio): 64 mel bands, ``n_fft=1024``, ``hop_length=512``; 6 s at 16 kHz gives
``1 + 96000 // 512 = 188`` frames. It is **not** the seed's tensor: the seed fed its models
torchaudio's ``MelSpectrogram`` output as it comes -- HTK mel scale, no filter normalisation,
power, no logarithm, reflect-padded frames, the clip's first 6 s (or the clip right-padded with
zeros). :func:`seed_mel_spectrogram` (feature ``seed-mel``) reproduces that tensor.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator

import numpy as np

from dfaudio.exceptions import ParameterError
from dfaudio.features import filters

__all__ = [
    "log_mel_spectrogram",
    "mel_filterbank",
    "mel_spectrogram",
    "power_to_db",
    "quiet_cqt",
    "seed_mel_spectrogram",
    "stft_power",
]


def _check_signal(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(
            f"expected a mono 1-D signal, got an array of shape {y.shape}; mix the channels "
            "down first (dfaudio.io.audio.load does)"
        )
    if y.size == 0:
        raise ParameterError("empty signal")
    return y.astype(np.float32, copy=False)


@contextlib.contextmanager
def quiet_cqt() -> Iterator[None]:
    """Silence librosa's "n_fft=... is too large" warnings from the CQT's octave-wise downsampling.

    They come from the low octaves of :func:`librosa.cqt` on short inputs and are expected.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large", category=UserWarning)
        yield


@functools.lru_cache(maxsize=32)
def _window(window: str, win_length: int, n_fft: int) -> np.ndarray:
    if window in ("hann", "hamming"):
        w = filters.get_window(window, win_length, periodic=True).astype(np.float32)
    else:
        import scipy.signal

        w = scipy.signal.get_window(window, win_length, fftbins=True).astype(np.float32)
    left = (n_fft - win_length) // 2
    return np.pad(w, (left, n_fft - win_length - left))


def stft_power(
    y: np.ndarray,
    *,
    n_fft: int = 1024,
    hop_length: int = 512,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    pad_mode: str = "constant",
    power: float = 2.0,
) -> np.ndarray:
    """Magnitude (``power=1``) or power (``power=2``) spectrogram.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    n_fft : int
        FFT length (zero-padded frame length).
    hop_length : int
        Frame shift in samples.
    win_length : int, optional
        Window length in samples (``<= n_fft``; default ``n_fft``); the window is centred in the
        ``n_fft`` frame, as in librosa.
    window : str
        Any :func:`scipy.signal.get_window` name (periodic form).
    center : bool
        Pad ``n_fft // 2`` samples on each side so that frame ``t`` is centred at sample
        ``t * hop_length``.
    pad_mode : str
        :func:`numpy.pad` mode used when ``center`` (librosa's default is ``"constant"``).
    power : float
        Exponent applied to the magnitude.

    Returns
    -------
    S : np.ndarray [shape=(1 + n_fft // 2, n_frames)], float32
        ``n_frames = 1 + len(y) // hop_length`` when centred, else
        ``1 + (len(y) - n_fft) // hop_length``.
    """
    y = _check_signal(y)
    win_length = n_fft if win_length is None else int(win_length)
    if not 0 < win_length <= n_fft:
        raise ParameterError(f"win_length={win_length} must be in 1..n_fft={n_fft}")
    if hop_length < 1:
        raise ParameterError(f"hop_length must be >= 1, got {hop_length}")
    if center:
        y = np.pad(y, n_fft // 2, mode=pad_mode)
    if len(y) < n_fft:
        raise ParameterError(f"signal of {len(y)} samples is shorter than n_fft={n_fft}")
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop_length]
    spec = np.fft.rfft(frames * _window(window, win_length, n_fft), axis=-1)
    mag = np.abs(spec).astype(np.float32).T
    if power == 1.0:
        return np.ascontiguousarray(mag)
    return np.ascontiguousarray(mag**power)


def power_to_db(
    S: np.ndarray, *, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0
) -> np.ndarray:
    """``10 * log10(max(S, amin) / ref)`` floored at ``max - top_db`` (:func:`librosa.power_to_db`).

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_frames)]
        Power values.
    ref : float
        Reference power (0 dB).
    amin : float
        Floor before the logarithm.
    top_db : float, optional
        Dynamic range kept below the peak of the whole array; ``None`` keeps everything.
    """
    if amin <= 0:
        raise ParameterError(f"amin must be > 0, got {amin}")
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(max(amin, ref))
    if top_db is not None:
        if top_db < 0:
            raise ParameterError(f"top_db must be >= 0, got {top_db}")
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=32)
def mel_filterbank(
    *,
    sr: int,
    n_fft: int,
    n_mels: int = 64,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Mel triangular filters (:func:`dfaudio.features.filters.mel`, = librosa's), cached.

    Returns
    -------
    M : np.ndarray [shape=(n_mels, 1 + n_fft // 2)], float32
    """
    fb = filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    fb.setflags(write=False)
    return fb


def mel_spectrogram(
    y: np.ndarray,
    sr: int,
    *,
    n_fft: int = 1024,
    hop_length: int = 512,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    n_mels: int = 64,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    norm: str | None = "slaney",
    power: float = 2.0,
    pad_mode: str = "constant",
) -> np.ndarray:
    """Mel power spectrogram (as :func:`librosa.feature.melspectrogram`).

    ``htk``/``norm`` choose the filter bank (:func:`mel_filterbank`); ``pad_mode`` the padding of
    centred frames (librosa ``"constant"``, torchaudio ``"reflect"``).

    Returns
    -------
    M : np.ndarray [shape=(n_mels, n_frames)], float32
    """
    S = stft_power(
        y,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,
        power=power,
    )
    fb = mel_filterbank(
        sr=int(sr), n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm
    )
    return fb @ S


def log_mel_spectrogram(
    y: np.ndarray,
    sr: int,
    *,
    n_fft: int = 1024,
    hop_length: int = 512,
    win_length: int | None = None,
    window: str = "hann",
    center: bool = True,
    n_mels: int = 64,
    fmin: float = 0.0,
    fmax: float | None = None,
    htk: bool = False,
    ref: float = 1.0,
    amin: float = 1e-10,
    top_db: float | None = 80.0,
) -> np.ndarray:
    """Log-mel spectrogram in dB (the seed models' input).

    Equal to ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft,
    hop_length=hop_length, n_mels=n_mels), ref=ref, amin=amin, top_db=top_db)``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int
        Sample rate of ``y``.
    n_fft, hop_length, win_length, window, center
        STFT settings (see :func:`stft_power`).
    n_mels, fmin, fmax, htk
        Mel filterbank settings (see :func:`librosa.filters.mel`).
    ref, amin, top_db
        dB conversion (see :func:`power_to_db`).

    Returns
    -------
    S_db : np.ndarray [shape=(n_mels, n_frames)], float32
    """
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
        htk=htk,
    )
    return power_to_db(M, ref=ref, amin=amin, top_db=top_db)


def seed_mel_spectrogram(
    y: np.ndarray,
    sr: int,
    *,
    duration_s: float | None = 6.0,
    n_fft: int = 1024,
    hop_length: int = 512,
    n_mels: int = 64,
) -> np.ndarray:
    """The seed project's model input: torchaudio ``MelSpectrogram`` defaults on the first 6 s.

    Reproduces ``torchaudio.transforms.MelSpectrogram(sample_rate=sr, n_fft=1024, hop_length=512,
    n_mels=64)(x)`` on ``x`` = the clip's first ``duration_s`` seconds, right zero-padded when
    shorter (lexxsh/Deepfake-Audio): periodic Hann window of ``n_fft`` samples, centred frames
    with reflect padding, power 2, HTK mel scale from 0 to ``sr // 2`` Hz without filter
    normalisation, and no logarithm. 6 s at 16 kHz gives ``64 x 188``.

    This is not the default ``mel`` feature (:func:`log_mel_spectrogram`: Slaney mel with area
    normalisation, zero-padded frames, dB with an 80 dB floor): use it to rerun the seed's
    experiments as they were.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int
        Sample rate (the seed's is 16 kHz).
    duration_s : float, optional
        Crop to / right zero-pad to this many seconds (``None``: the clip as it is).
    n_fft, hop_length, n_mels : int
        torchaudio's arguments as the seed set them.

    Returns
    -------
    M : np.ndarray [shape=(n_mels, n_frames)], float32
    """
    y = _check_signal(y)
    if duration_s is not None:
        n = int(round(duration_s * sr))
        if n < 1:
            raise ParameterError(f"duration_s must be positive, got {duration_s}")
        y = y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))
    if len(y) <= n_fft // 2:
        raise ParameterError(
            f"reflect padding needs more than n_fft // 2 = {n_fft // 2} samples, got {len(y)}"
        )
    return mel_spectrogram(
        y,
        sr,
        n_fft=n_fft,
        hop_length=hop_length,
        window="hann",
        center=True,
        pad_mode="reflect",
        n_mels=n_mels,
        fmin=0.0,
        fmax=float(int(sr) // 2),
        htk=True,
        norm=None,
        power=2.0,
    ).astype(np.float32)
