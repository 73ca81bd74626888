"""The DEEP-VOICE per-second feature row (Bird & Lotfi 2023), naive and fast.

Each row summarises one block of ``window_s`` seconds at the file's native sample rate with 26
numbers (:data:`DEEP_VOICE_FEATURES`): the mean over frames of librosa's ``chroma_stft`` (all 12
bins pooled), ``rms``, ``spectral_centroid``, ``spectral_bandwidth``, ``spectral_rolloff`` and
``zero_crossing_rate``, then the per-coefficient mean of ``mfcc(n_mfcc=20)``; librosa defaults
otherwise (``n_fft=2048``, ``hop_length=512``, Hann window, centred frames with zero padding, chroma
tuning estimated per block, Slaney mel filters, ``power_to_db`` with ``top_db=80`` per block).

Two routes give the same numbers:

- :func:`deep_voice_features_naive` is the reference: the plain librosa calls, block by block.
- :func:`deep_voice_features` is the fast path: one STFT per block shared by every feature, all the
  blocks of a chunk framed and transformed in one array operation, filter banks built once per
  ``(sr, n_fft)`` (per tuning for chroma) and cached, and librosa's chroma tuning estimate
  (``piptrack`` + ``pitch_tuning``) reproduced exactly but vectorised over blocks and evaluated only
  at the spectral peaks. It needs only numpy and scipy (fft, sparse): it imports neither librosa
  nor numba, so a fresh process pays no JIT compilation and starts in about 0.3 s.
  It agrees with the naive route within ``|fast - naive| <= 1e-4 * max(|naive|, column scale)``
  (see :data:`COLUMN_SCALES`; the measured agreement on real speech is far tighter, about 1e-6).
  :func:`deep_voice_features_blocks` runs the fast path on a stream of pieces (for example
  :func:`dfaudio.io.audio.iter_blocks`), so memory does not grow with the file length.

Window policy
-------------
The block length is ``block_len = round(window_s * sr)`` samples.

- ``n_windows = len(y) // block_len`` full blocks, starting at ``i * block_len``.
- The tail shorter than one block is dropped (the caller counts it; see :func:`n_windows`).
- A clip shorter than one block gives one row over the whole clip when ``short="whole"`` (default),
  zero rows when ``short="skip"``, or one row over the clip zero-padded to a full block when
  ``short="pad"``. An empty clip gives zero rows with ``short="skip"`` and raises otherwise.

Input is treated as float32 (what :func:`dfaudio.io.audio.load` and ``librosa.load`` return); both
routes cast to float32 first, so they see the same samples. Non-finite samples raise.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from dfaudio.exceptions import ParameterError
from dfaudio.features import filters
from dfaudio.schema import DEEP_VOICE_FEATURES

__all__ = [
    "CHUNK_BLOCKS",
    "CHUNK_FRAMES",
    "COLUMN_SCALES",
    "SHORT_POLICIES",
    "block_length",
    "chroma_filters",
    "deep_voice_features",
    "deep_voice_features_blocks",
    "deep_voice_features_naive",
    "hann_window",
    "iter_deep_voice_features_blocks",
    "mel_filters",
    "n_windows",
]

#: Absolute scale per column for the fast-vs-naive tolerance: values whose magnitude is below the
#: scale are compared in absolute terms (``1e-4 * scale``), larger ones in relative terms. The
#: MFCC scale is 1 dB-unit (higher-order coefficients hover around zero).
COLUMN_SCALES: dict[str, float] = {
    "chroma_stft": 0.01,
    "rms": 1e-4,
    "spectral_centroid": 10.0,
    "spectral_bandwidth": 10.0,
    "rolloff": 10.0,
    "zero_crossing_rate": 1e-3,
    **{f"mfcc{i}": 1.0 for i in range(1, 21)},
}

SHORT_POLICIES = ("whole", "skip", "pad")

#: Blocks processed together by the fast path. It bounds the working memory (about 2.5 MB per block
#: at 22.05 kHz with the default n_fft and hop); 4 to 8 is also the fastest (the temporaries stay in
#: cache), larger chunks are slower.
CHUNK_BLOCKS = 8

#: ... and at most this many STFT frames per chunk (8 one-second blocks at 22.05 kHz), so that
#: high sample rates use fewer blocks per chunk.
CHUNK_FRAMES = 352

_N_MFCC = 20
_N_CHROMA = 12
_ROLL_PERCENT = 0.85
_PIP_FMIN, _PIP_FMAX, _PIP_THRESHOLD = 150.0, 4000.0, 0.1
_ZC_THRESHOLD = np.float32(1e-10)


# --------------------------------------------------------------------------------------------
# Argument handling and the window policy


def block_length(sr: float, window_s: float = 1.0) -> int:
    """Samples per block: ``round(window_s * sr)``."""
    return int(round(float(window_s) * float(sr)))


def n_windows(n_samples: int, sr: float, *, window_s: float = 1.0, short: str = "whole") -> int:
    """Number of rows the window policy gives for a clip of ``n_samples`` samples."""
    _check_params(sr, window_s, 2048, 512, short)
    n_full = n_samples // block_length(sr, window_s)
    if n_full or short == "skip" or n_samples == 0:
        return n_full
    return 1


def _check_params(sr: float, window_s: float, n_fft: int, hop_length: int, short: str) -> int:
    if short not in SHORT_POLICIES:
        raise ParameterError(f"short={short!r}: expected one of {', '.join(SHORT_POLICIES)}")
    if not (np.isfinite(sr) and sr > 0):
        raise ParameterError(f"sr={sr!r} must be a positive number")
    if not (np.isfinite(window_s) and window_s > 0):
        raise ParameterError(f"window_s={window_s!r} must be a positive number of seconds")
    if int(n_fft) != n_fft or n_fft < 2:
        raise ParameterError(f"n_fft={n_fft!r} must be an integer >= 2")
    if int(hop_length) != hop_length or hop_length < 1:
        raise ParameterError(f"hop_length={hop_length!r} must be a positive integer")
    block_len = block_length(sr, window_s)
    if block_len < 1:
        raise ParameterError(f"window_s={window_s} at sr={sr} is shorter than one sample")
    return block_len


def _chunk_blocks(block_len: int, hop_length: int) -> int:
    return max(1, min(CHUNK_BLOCKS, CHUNK_FRAMES // (1 + block_len // hop_length)))


def _as_signal(y: Any) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(
            f"expected a mono 1-D signal, got an array of shape {y.shape}; mix the channels "
            "down first (dfaudio.io.audio.load does)"
        )
    if not np.issubdtype(y.dtype, np.floating) and not np.issubdtype(y.dtype, np.integer):
        raise ParameterError(f"expected a real-valued signal, got dtype {y.dtype}")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise ParameterError("signal contains non-finite samples (NaN or inf)")
    return y


def _policy_blocks(y: np.ndarray, block_len: int, short: str) -> tuple[np.ndarray, int]:
    """Return ``(signal, length)``: full blocks are ``signal[i*length:(i+1)*length]``.

    For a clip shorter than one block the signal is the clip itself (``whole``), the padded clip
    (``pad``) or empty (``skip``).
    """
    n = y.shape[0]
    if n >= block_len:
        return y, block_len
    if short == "skip":
        return y[:0], block_len
    if n == 0:
        raise ParameterError(f"empty signal (short={short!r}); use short='skip' to get zero rows")
    if short == "pad":
        return np.pad(y, (0, block_len - n)), block_len
    return y, n


def _blocks_of(
    y: Any, sr: float, window_s: float, n_fft: int, hop_length: int, short: str
) -> tuple[np.ndarray, int]:
    """Checked parameters and signal -> ``(signal, length)`` as in :func:`_policy_blocks`."""
    block_len = _check_params(sr, window_s, n_fft, hop_length, short)
    y = _as_signal(y)
    if y.shape[0] == 0 and short == "skip":
        return y, block_len  # zero blocks
    return _policy_blocks(y, block_len, short)


# --------------------------------------------------------------------------------------------
# The naive reference: plain librosa, block by block


def deep_voice_features_naive(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float = 1.0,
    n_fft: int = 2048,
    hop_length: int = 512,
    short: str = "whole",
) -> np.ndarray:
    """DEEP-VOICE rows with the plain per-block librosa calls (the reference recipe).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal at its native rate (cast to float32).
    sr : float
        Sample rate in Hz.
    window_s : float
        Block length in seconds.
    n_fft, hop_length : int
        STFT size and hop (also the frame length and hop of ``rms`` and ``zero_crossing_rate``).
    short : {"whole", "skip", "pad"}
        What a clip shorter than one block gives (see the module docstring).

    Returns
    -------
    features : np.ndarray [shape=(n_windows, 26), dtype=float64]
        Columns in :data:`DEEP_VOICE_FEATURES` order.
    """
    import librosa

    sig, length = _blocks_of(y, sr, window_s, n_fft, hop_length, short)
    rows = []
    for i in range(sig.shape[0] // length):
        b = sig[i * length : (i + 1) * length]
        stft = {"n_fft": n_fft, "hop_length": hop_length}
        row = [
            np.mean(librosa.feature.chroma_stft(y=b, sr=sr, **stft)),
            np.mean(librosa.feature.rms(y=b, frame_length=n_fft, hop_length=hop_length)),
            np.mean(librosa.feature.spectral_centroid(y=b, sr=sr, **stft)),
            np.mean(librosa.feature.spectral_bandwidth(y=b, sr=sr, **stft)),
            np.mean(librosa.feature.spectral_rolloff(y=b, sr=sr, **stft)),
            np.mean(
                librosa.feature.zero_crossing_rate(b, frame_length=n_fft, hop_length=hop_length)
            ),
            *np.mean(librosa.feature.mfcc(y=b, sr=sr, n_mfcc=_N_MFCC, **stft), axis=1),
        ]
        rows.append(np.asarray(row, dtype=np.float64))
    if not rows:
        return np.zeros((0, len(DEEP_VOICE_FEATURES)))
    return np.vstack(rows)


# --------------------------------------------------------------------------------------------
# The fast path


# Filter banks come from dfaudio.features.filters (numpy alone, so that the fast path imports
# neither librosa nor numba); each equals librosa 0.11's, which the tests check.


def hann_window(n_fft: int) -> np.ndarray:
    """``scipy.signal.get_window("hann", n_fft, fftbins=True)``, bit for bit (float64)."""
    return filters.hann_window(n_fft)


def mel_filters(sr: float, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)`` (Slaney scale and norm).

    Returns
    -------
    weights : np.ndarray [shape=(n_mels, 1 + n_fft // 2), dtype=float32]
    """
    return filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)


def chroma_filters(sr: float, n_fft: int, tuning: float = 0.0, n_chroma: int = 12) -> np.ndarray:
    """``librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning, n_chroma=n_chroma)``.

    Returns
    -------
    weights : np.ndarray [shape=(n_chroma, 1 + n_fft // 2), dtype=float32]
    """
    return filters.chroma(sr=sr, n_fft=n_fft, n_chroma=n_chroma, tuning=tuning)


@functools.lru_cache(maxsize=16)
def _bases(sr: float, n_fft: int) -> dict[str, Any]:
    """Window, frequencies, mel and DCT matrices for one ``(sr, n_fft)``, built once."""
    import scipy.sparse

    n_freq = 1 + n_fft // 2
    freq = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    fmax = min(_PIP_FMAX, float(sr) / 2)
    pip = np.flatnonzero((_PIP_FMIN <= freq) & (freq < fmax))
    # DCT-II, orthonormal (scipy.fft.dct(norm="ortho")), first n_mfcc rows.
    n_mels = 128
    k = np.arange(_N_MFCC)[:, None]
    m = np.arange(n_mels)[None, :]
    dct = np.cos(np.pi * k * (2 * m + 1) / (2 * n_mels)) * np.sqrt(2.0 / n_mels)
    dct[0] /= np.sqrt(2.0)
    return {
        # librosa.stft multiplies float32 frames by this float64 window and transforms in float64
        "window": hann_window(n_fft),
        "freq": freq,
        "moments": np.stack([np.ones(n_freq), freq, freq**2], axis=1),  # (n_freq, 3) float64
        # (128, n_freq) float32, sparse: each FFT bin feeds at most two mel bands
        "mel": scipy.sparse.csr_array(mel_filters(sr, n_fft, n_mels)),
        "dct": dct,  # (20, 128) float64
        "pip_lo": int(pip[0]) if pip.size else 0,
        "pip_hi": int(pip[-1]) + 1 if pip.size else 0,
        "hist_edges": np.linspace(-0.5, 0.5, int(np.ceil(1.0 / 0.01)) + 1),
    }


@functools.lru_cache(maxsize=512)
def _chroma_fb_t(sr: float, n_fft: int, tuning: float) -> np.ndarray:
    """Transposed chroma filter bank ``(n_freq, 12)`` float32 for one tuning."""
    return np.ascontiguousarray(chroma_filters(sr, n_fft, tuning, _N_CHROMA).T)


_WORKSPACE = threading.local()


def _workspace(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per-thread float64 frame buffer and complex64 spectrum buffer for frames of ``shape``.

    Kept between calls (sized for a full chunk of blocks), so that files of
    different lengths reuse them.
    """
    nb, n_t, n_fft = shape
    have = getattr(_WORKSPACE, "buf", None)
    if have is None or have.shape[1:] != (n_t, n_fft) or have.shape[0] < nb:
        cap = max(nb, min(CHUNK_BLOCKS, CHUNK_FRAMES // n_t))
        _WORKSPACE.buf = np.empty((cap, n_t, n_fft))
        _WORKSPACE.spec = np.empty((cap, n_t, n_fft // 2 + 1), dtype=np.complex64)
    return _WORKSPACE.buf[:nb], _WORKSPACE.spec[:nb]


def _frames(padded: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Frames of padded blocks: ``[shape=(nb, L + 2 * (n_fft // 2))]`` ->
    ``[shape=(nb, 1 + L // hop_length, n_fft)]`` (a strided view)."""
    win = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=1)
    return win[:, ::hop_length]


def _frame_sums(x: np.ndarray, n_t: int, n_fft: int, hop_length: int) -> np.ndarray:
    """Sum of ``x [shape=(nb, n)]`` over each frame ``[t * hop_length, t * hop_length + n_fft)``.

    Returns ``[shape=(nb, n_t)]``; sums whole hops when ``n_fft`` is a multiple of the hop,
    else differences of a float64 cumulative sum.
    """
    nb = x.shape[0]
    if n_fft % hop_length == 0:
        k = n_fft // hop_length
        seg = x[:, : (n_t + k - 1) * hop_length].reshape(nb, n_t + k - 1, hop_length)
        seg = seg.sum(axis=-1, dtype=np.float64)
        out = seg[:, :n_t].copy()
        for i in range(1, k):
            out += seg[:, i : i + n_t]
        return out
    cum = np.zeros((nb, x.shape[1] + 1))
    np.cumsum(x, axis=1, dtype=np.float64, out=cum[:, 1:])
    starts = np.arange(n_t) * hop_length
    return cum[:, starts + n_fft] - cum[:, starts]


def _tuning(s_pow: np.ndarray, sr: float, n_fft: int, bases: dict[str, Any]) -> np.ndarray:
    """librosa ``estimate_tuning(S=s_pow, bins_per_octave=12)`` for each block, vectorised.

    ``s_pow [shape=(nb, T, n_freq)]`` float32 -> tunings ``[shape=(nb,)]`` float64 (fractions of a
    semitone, multiples of 0.01 in [-0.5, 0.5)).

    ``piptrack`` keeps the interior bins with ``150 <= f < min(4000, sr/2)`` that are local
    maxima of ``S * (S > 0.1 * max_f S)``; the pitch there is ``(k + shift) * sr / n_fft`` with
    the parabolic-interpolation shift, the magnitude ``S + 0.5 * gradient * shift``.
    ``estimate_tuning`` keeps the peaks with magnitude >= the block median and takes the peak of
    a 0.01-semitone histogram of their residuals. The float32/float64 mix of each step follows
    librosa (and numba's typing of its stencil) so the result is bit-identical.
    """
    nb = s_pow.shape[0]
    edges = bases["hist_edges"]
    n_bins = edges.size - 1
    lo, hi = bases["pip_lo"], bases["pip_hi"]
    if hi <= lo or lo < 1 or hi > s_pow.shape[-1] - 1:
        return _tuning_librosa(s_pow, sr, n_fft)
    ref = np.float32(_PIP_THRESHOLD) * s_pow.max(axis=-1, keepdims=True)
    seg = s_pow[..., lo - 1 : hi + 1]
    x = seg * (seg > ref)
    # localmax at k (lo <= k < hi): x[k] > x[k-1] and x[k] >= x[k+1]
    peak = (x[..., 1:-1] > x[..., :-2]) & (x[..., 1:-1] >= x[..., 2:])
    b_idx, t_idx, k_rel = np.nonzero(peak)
    if b_idx.size == 0:
        return np.zeros(nb)
    k = k_rel + lo
    s0 = s_pow[b_idx, t_idx, k]
    sm = s_pow[b_idx, t_idx, k - 1]
    sp = s_pow[b_idx, t_idx, k + 1]
    # librosa.core.pitch._pi_stencil under numba typing: (f32 + f32) - int*f32 -> float64
    a = (sp + sm).astype(np.float64) - 2.0 * s0.astype(np.float64)
    bq = (sp - sm).astype(np.float64) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(bq) >= np.abs(a), 0.0, -bq / a).astype(np.float32)
    avg = (sp - sm) / np.float32(2.0)  # np.gradient, central difference (float32)
    mag = s0 + (np.float32(0.5) * avg) * shift
    pitch = ((k + shift) * float(sr) / n_fft).astype(np.float32)
    keep = pitch > 0
    b_idx, pitch, mag = b_idx[keep], pitch[keep], mag[keep]
    # per-block median threshold (np.median of float32 values, as librosa)
    order = np.lexsort((mag, b_idx))
    b_sorted, m_sorted = b_idx[order], mag[order]
    counts = np.bincount(b_sorted, minlength=nb)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    thr = np.full(nb, np.inf, dtype=np.float32)
    has = counts > 0
    lo_i = starts[has] + (counts[has] - 1) // 2
    hi_i = starts[has] + counts[has] // 2
    thr[has] = (m_sorted[lo_i] + m_sorted[hi_i]) / np.float32(2.0)
    sel = mag >= thr[b_idx]
    b_sel, f_sel = b_idx[sel], pitch[sel]
    # librosa.pitch_tuning
    residual = np.mod(np.float32(12) * np.log2(f_sel / np.float32(440.0 / 16)), np.float32(1.0))
    residual[residual >= 0.5] -= np.float32(1.0)
    bins = np.searchsorted(edges, residual.astype(np.float64), side="right") - 1
    bins[bins == n_bins] = n_bins - 1  # the last histogram bin is closed on the right
    ok = (bins >= 0) & (bins < n_bins)
    hist = np.bincount(b_sel[ok] * n_bins + bins[ok], minlength=nb * n_bins).reshape(nb, n_bins)
    tuning = edges[np.argmax(hist, axis=1)]
    tuning[hist.sum(axis=1) == 0] = 0.0
    return tuning


def _tuning_librosa(s_pow: np.ndarray, sr: float, n_fft: int) -> np.ndarray:
    """Fallback for unusual parameters: librosa's own estimate, block by block."""
    import warnings

    import librosa

    out = np.zeros(s_pow.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, s in enumerate(s_pow):
            out[i] = librosa.estimate_tuning(S=s.T, sr=sr, n_fft=n_fft, bins_per_octave=12)
    return out


def _features_equal_blocks(
    blocks: np.ndarray, sr: float, n_fft: int, hop_length: int
) -> np.ndarray:
    """Fast path for equal-length blocks ``[shape=(nb, L)]`` float32 -> ``[shape=(nb, 26)]``."""
    import scipy.fft

    bases = _bases(float(sr), int(n_fft))
    nb, length = blocks.shape
    half = n_fft // 2

    # One STFT for everything: float32 frames x float64 window, transformed in float64, stored as
    # complex64 (exactly what librosa.stft does for float32 input). Each block is zero-padded on
    # its own (center=True, pad_mode="constant").
    padded = np.zeros((nb, length + 2 * half), dtype=np.float32)
    padded[:, half : half + length] = blocks
    frames = _frames(padded, n_fft, hop_length)
    n_t = frames.shape[1]
    # reused buffers: allocating these large temporaries anew costs as much as the FFT itself
    buf, spec = _workspace(frames.shape)
    np.multiply(frames, bases["window"], out=buf)
    spec[...] = scipy.fft.rfft(buf, axis=-1, overwrite_x=True)
    s_mag = np.abs(spec)  # (nb, T, F) float32
    s_pow = s_mag**2

    out = np.empty((nb, len(DEEP_VOICE_FEATURES)))

    # centroid and bandwidth from the moments of the magnitude spectrum (float64)
    mom = (s_mag.reshape(-1, s_mag.shape[-1]) @ bases["moments"]).reshape(nb, n_t, 3)
    m0 = mom[..., 0]
    silent = m0 < np.finfo(np.float32).tiny
    m0 = np.where(silent, 1.0, m0)
    cen = np.where(silent, 0.0, mom[..., 1] / m0)
    var = np.where(silent, 0.0, mom[..., 2] / m0 - cen**2)
    out[:, 2] = cen.mean(axis=1)
    out[:, 3] = np.sqrt(np.maximum(var, 0.0)).mean(axis=1)

    # rolloff: first bin where the float32 cumulative magnitude reaches 85 % of the total
    cum = np.cumsum(s_mag, axis=-1)
    thr = np.float32(_ROLL_PERCENT) * cum[..., -1:]
    out[:, 4] = bases["freq"][np.argmax(cum >= thr, axis=-1)].mean(axis=1)
    del cum

    # rms of the zero-padded frames of y (float64 sums)
    energy = _frame_sums(np.square(padded, dtype=np.float64), n_t, n_fft, hop_length)
    out[:, 1] = np.sqrt(energy / n_fft).mean(axis=1)

    # zero-crossing rate of edge-padded frames (no crossing inside the padding): librosa counts
    # sign changes at every sample of a frame but its first; |y| <= 1e-10 counts as positive
    neg = blocks < -_ZC_THRESHOLD
    cross = np.zeros((nb, length + 2 * half), dtype=np.float32)
    cross[:, half + 1 : half + length] = neg[:, 1:] != neg[:, :-1]
    first = cross[:, np.arange(n_t) * hop_length]
    out[:, 5] = ((_frame_sums(cross, n_t, n_fft, hop_length) - first) / n_fft).mean(axis=1)

    # MFCC: mel power -> dB (top_db=80 per block) -> mean over frames -> DCT (linear, so it
    # commutes with the mean)
    mel = (bases["mel"] @ s_pow.reshape(-1, s_pow.shape[-1]).T).T.reshape(nb, n_t, -1)
    log_mel = np.float32(10.0) * np.log10(np.maximum(np.float32(1e-10), mel))
    floor = log_mel.max(axis=(1, 2), keepdims=True) - np.float32(80.0)
    log_mel = np.maximum(log_mel, floor)
    out[:, 6:] = log_mel.mean(axis=1, dtype=np.float64) @ bases["dct"].T

    # chroma with the tuning estimated per block
    tuning = _tuning(s_pow, sr, n_fft, bases)
    fb_t = np.stack([_chroma_fb_t(float(sr), int(n_fft), float(t)) for t in tuning])
    raw = np.matmul(s_pow, fb_t)  # (nb, T, 12) float32
    peak = raw.max(axis=-1, keepdims=True).astype(np.float64)
    peak[peak < np.finfo(np.float32).tiny] = 1.0
    out[:, 0] = (raw / peak).mean(axis=(1, 2))
    return out


def deep_voice_features(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float = 1.0,
    n_fft: int = 2048,
    hop_length: int = 512,
    short: str = "whole",
) -> np.ndarray:
    """DEEP-VOICE rows, fast path (same numbers as :func:`deep_voice_features_naive`).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal at its native rate (cast to float32).
    sr : float
        Sample rate in Hz.
    window_s : float
        Block length in seconds.
    n_fft, hop_length : int
        STFT size and hop (also the frame length and hop of ``rms`` and ``zero_crossing_rate``).
    short : {"whole", "skip", "pad"}
        What a clip shorter than one block gives (see the module docstring).

    Returns
    -------
    features : np.ndarray [shape=(n_windows, 26), dtype=float64]
        Columns in :data:`DEEP_VOICE_FEATURES` order. Blocks are processed
        :data:`CHUNK_BLOCKS` at a time, so working memory does not grow with the clip length.
    """
    sig, length = _blocks_of(y, sr, window_s, n_fft, hop_length, short)
    nb = sig.shape[0] // length
    out = np.empty((nb, len(DEEP_VOICE_FEATURES)))
    step = _chunk_blocks(length, hop_length)
    for i in range(0, nb, step):
        j = min(nb, i + step)
        blocks = sig[i * length : j * length].reshape(j - i, length)
        out[i:j] = _features_equal_blocks(blocks, sr, int(n_fft), int(hop_length))
    return out


def iter_deep_voice_features_blocks(
    pieces: Iterable[np.ndarray | tuple[np.ndarray, int]],
    sr: float,
    *,
    window_s: float = 1.0,
    n_fft: int = 2048,
    hop_length: int = 512,
    short: str = "whole",
) -> Iterator[np.ndarray]:
    """Fast-path rows for a streamed signal, yielded chunk by chunk (bounded memory).

    Parameters
    ----------
    pieces : iterable of np.ndarray [shape=(n_i,)] or of (np.ndarray, sr) pairs
        Consecutive pieces of one mono signal, of any lengths (for example the ``(block, sr)``
        pairs of :func:`dfaudio.io.audio.iter_blocks`). They are re-cut into blocks here.
    sr, window_s, n_fft, hop_length, short
        As in :func:`deep_voice_features`; the short policy applies when the whole stream is
        shorter than one block.

    Yields
    ------
    features : np.ndarray [shape=(n_rows, 26)]
        Rows for the blocks completed so far, in order (at most :data:`CHUNK_BLOCKS` rows each).
    """
    block_len = _check_params(sr, window_s, n_fft, hop_length, short)
    step = _chunk_blocks(block_len, hop_length)
    chunk_len = block_len * step
    buf: list[np.ndarray] = []
    n_buf = 0
    emitted = False
    for piece in pieces:
        if isinstance(piece, tuple):
            piece, piece_sr = piece
            if piece_sr != sr:
                raise ParameterError(f"a piece has sr={piece_sr}, expected sr={sr}")
        piece = _as_signal(piece)
        buf.append(piece)
        n_buf += piece.shape[0]
        if n_buf >= chunk_len:
            data = np.concatenate(buf)
            n_use = (data.shape[0] // block_len) * block_len
            blocks = data[:n_use].reshape(-1, block_len)
            for i in range(0, blocks.shape[0], step):
                yield _features_equal_blocks(blocks[i : i + step], sr, n_fft, hop_length)
            emitted = True
            buf, n_buf = [data[n_use:]], data.shape[0] - n_use
    data = np.concatenate(buf) if buf else np.zeros(0, dtype=np.float32)
    if emitted:
        n_use = (data.shape[0] // block_len) * block_len
        if n_use:
            yield _features_equal_blocks(data[:n_use].reshape(-1, block_len), sr, n_fft, hop_length)
    else:
        rows = deep_voice_features(
            data, sr, window_s=window_s, n_fft=n_fft, hop_length=hop_length, short=short
        )
        if rows.shape[0]:
            yield rows


def deep_voice_features_blocks(
    pieces: Iterable[np.ndarray | tuple[np.ndarray, int]],
    sr: float,
    *,
    window_s: float = 1.0,
    n_fft: int = 2048,
    hop_length: int = 512,
    short: str = "whole",
) -> np.ndarray:
    """Fast-path rows for a streamed signal (see :func:`iter_deep_voice_features_blocks`).

    Returns
    -------
    features : np.ndarray [shape=(n_windows, 26)]
        The same rows :func:`deep_voice_features` gives on the concatenated signal; only
        :data:`CHUNK_BLOCKS` blocks (plus one incoming piece) are held in memory at a time.
    """
    parts = list(
        iter_deep_voice_features_blocks(
            pieces, sr, window_s=window_s, n_fft=n_fft, hop_length=hop_length, short=short
        )
    )
    if not parts:
        return np.zeros((0, len(DEEP_VOICE_FEATURES)))
    return np.vstack(parts)
