"""Copy-synthesis attacks: bona fide waveform in, spoofed waveform out.

Every attack is a plain function ``attack(y, sr, *, rng, params) -> y_spoof`` on one mono channel
(``y`` float32 in [-1, 1]); :data:`ATTACKS` registers them by name (functions first, the registry
at the bottom). :func:`apply_attack` runs one and then :func:`match_source`, which gives the copy
exactly the source's length (in samples) and RMS level, clip-safe, so that neither duration nor
loudness gives the class away. What each attack imitates:

``world``
    WORLD analysis/resynthesis (``pyworld``: DIO + StoneMask F0, CheapTrick envelope, D4C
    aperiodicity), optionally with F0 and spectral-envelope perturbation. Imitates statistical
    parametric TTS and voice conversion that use WORLD as their vocoder (many ASVspoof 2019 LA
    attacks): smooth envelope, minimum-phase pulses, noise-excited aperiodicity.
``griffin-lim``
    Mel spectrogram -> linear magnitude (pseudo-inverse, clipped at 0) -> Griffin-Lim phase
    reconstruction (librosa). Imitates mel-spectrogram TTS with a non-neural vocoder (early
    Tacotron): phase incoherence, smeared onsets, harmonics blurred by the mel resolution.
``lpc``
    Source-filter resynthesis: frame-wise LPC envelope excited by a pulse train at the estimated
    F0 (voiced frames) or white noise (unvoiced), overlap-added. Imitates LPC codecs and early
    parametric vocoders: buzzy binary excitation, no natural phase or mixed excitation.
``pvoc``
    Phase-vocoder time-scale round trip: stretched by a random rate, then back. Imitates
    speaking-rate / prosody editing with a phase vocoder: "phasiness", transient smearing,
    reverberant-sounding vowels, with the envelope and F0 left in place.
``neural``
    A vocoder the user supplies as a local TorchScript file (``neural:PATH``): log-mel in,
    waveform out (see :func:`neural_vocoder` for the mel it receives). Loading TorchScript runs
    code from the file, so it needs ``trust=True`` (``--trust``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.exceptions import ParameterError, needs_extra
from dfaudio.registry import Registry

__all__ = [
    "ATTACKS",
    "BUILTIN",
    "NEURAL_MEL_DEFAULTS",
    "PEAK_CEILING",
    "RMS_TOLERANCE_DB",
    "AttackFn",
    "apply_attack",
    "fix_length",
    "griffin_lim",
    "load_vocoder",
    "lpc",
    "match_source",
    "neural_vocoder",
    "parse_attacks",
    "pvoc",
    "rms",
    "vocoder_mel_params",
    "world",
]

#: Highest absolute sample value a copy may have after loudness matching.
PEAK_CEILING = 0.99
#: Copies are RMS-matched to their source within this many dB (unless the ceiling forbids it).
RMS_TOLERANCE_DB = 0.1

#: Mel settings the neural plug-in uses unless the TorchScript module (or params) says otherwise:
#: those of HiFi-GAN V1 trained on LJSpeech.
NEURAL_MEL_DEFAULTS: dict[str, float] = {
    "sample_rate": 22050,
    "n_fft": 1024,
    "hop_length": 256,
    "win_length": 1024,
    "n_mels": 80,
    "fmin": 0.0,
    "fmax": 8000.0,
}

AttackFn = Callable[..., np.ndarray]


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def fix_length(y: np.ndarray, n: int) -> np.ndarray:
    """Trim ``y`` to ``n`` samples or extend it by mirroring its last samples (never with zeros).

    Zero padding would add digital silence at the end of every copy, a trailing-silence
    shortcut; mirroring keeps the noise floor.
    """
    if len(y) >= n:
        return y[:n]
    if len(y) == 0:
        return np.zeros(n, dtype=y.dtype)
    out = y
    while len(out) < n:
        need = n - len(out)
        out = np.concatenate([out, out[::-1][:need]])
    return out


def rms(y: np.ndarray) -> float:
    """Root mean square of ``y`` (0 for an empty array)."""
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0


def _soft_limit(y: np.ndarray, ceiling: float) -> np.ndarray:
    """Compress samples above a knee at 0.7 * ceiling smoothly (tanh) so no sample exceeds it."""
    knee = 0.7 * ceiling
    span = ceiling - knee
    mag = np.abs(y)
    over = mag > knee
    out = y.copy()
    out[over] = np.sign(y[over]) * (knee + span * np.tanh((mag[over] - knee) / span))
    return out


def match_source(
    y_spoof: np.ndarray,
    y_source: np.ndarray,
    *,
    ceiling: float = PEAK_CEILING,
) -> np.ndarray:
    """Give a copy its source's length (samples) and RMS level without clipping.

    The copy is scaled to the source's RMS. If that drives a peak above ``ceiling``, the peaks are
    soft-limited (tanh knee) and the RMS matched again, a few times; only if peaks still exceed
    the ceiling is the whole copy scaled down (then its RMS falls short of the source's).

    Parameters
    ----------
    y_spoof, y_source : np.ndarray [shape=(n,)]
    ceiling : float
        Highest absolute sample value allowed.

    Returns
    -------
    np.ndarray [shape=(len(y_source),)], float32
    """
    z = fix_length(np.nan_to_num(np.asarray(y_spoof, dtype=np.float64)), len(y_source))
    target = rms(y_source)
    for _ in range(6):
        level = rms(z)
        if level > 0:
            z = z * (target / level)
        if float(np.max(np.abs(z), initial=0.0)) <= ceiling:
            break
        z = _soft_limit(z, ceiling)
    peak = float(np.max(np.abs(z), initial=0.0))
    if peak > ceiling:
        z = z * (ceiling / peak)
    return z.astype(np.float32)


def _pow2_at_least(n: float) -> int:
    return int(2 ** int(np.ceil(np.log2(max(n, 16)))))


def _stft_sizes(sr: int, params: dict[str, Any]) -> tuple[int, int]:
    """``n_fft`` (about 64 ms, a power of two) and ``hop_length`` (n_fft / 4) for ``sr``."""
    n_fft = int(params.get("n_fft", _pow2_at_least(0.064 * sr)))
    hop = int(params.get("hop_length", n_fft // 4))
    if n_fft < 16 or hop < 1 or hop > n_fft:
        raise ParameterError(f"need 16 <= n_fft and 1 <= hop_length <= n_fft, got {n_fft}, {hop}")
    return n_fft, hop


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _float_param(params: dict[str, Any], name: str, default: float) -> float:
    try:
        return float(params.get(name, default))
    except (TypeError, ValueError):
        raise ParameterError(
            f"attack parameter {name} must be a number, got {params[name]!r}"
        ) from None


# --------------------------------------------------------------------------------------------
# Attacks
# --------------------------------------------------------------------------------------------


def _import_pyworld() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyworld imports the deprecated pkg_resources
            import pyworld
    except ImportError:
        raise needs_extra("attack 'world'", "pyworld", "synth") from None
    return pyworld


def world(
    y: np.ndarray, sr: int, *, rng: np.random.Generator, params: dict[str, Any]
) -> np.ndarray:
    """WORLD analysis and resynthesis, with optional F0 and spectral-envelope perturbation.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int
    rng : np.random.Generator
        Draws the per-file perturbation when a ``*_jitter`` parameter is non-zero.
    params : dict
        ``frame_period_ms`` (5), ``f0_method`` (``dio``, or the slower, more robust ``harvest``),
        ``f0_shift_semitones`` (0) plus ``f0_jitter_semitones`` (0: the standard deviation of a
        per-file random shift), ``warp`` (1.0: the spectral envelope is resampled along frequency
        so formants move by this factor) plus ``warp_jitter`` (0: standard deviation of a per-file
        random factor around ``warp``).
    """
    pw = _import_pyworld()
    period = _float_param(params, "frame_period_ms", 5.0)
    x = np.ascontiguousarray(y, dtype=np.float64)
    method = str(params.get("f0_method", "dio"))
    if method == "harvest":
        f0, t = pw.harvest(x, sr, frame_period=period)
    elif method == "dio":
        f0, t = pw.dio(x, sr, frame_period=period)
        f0 = pw.stonemask(x, f0, t, sr)
    else:
        raise ParameterError(f"attack parameter f0_method must be dio or harvest, got {method!r}")
    sp = pw.cheaptrick(x, f0, t, sr)
    ap = pw.d4c(x, f0, t, sr)
    shift = _float_param(params, "f0_shift_semitones", 0.0)
    jitter = _float_param(params, "f0_jitter_semitones", 0.0)
    if jitter:
        shift += float(rng.normal(0.0, jitter))
    if shift:
        f0 = f0 * 2.0 ** (shift / 12.0)
    warp = _float_param(params, "warp", 1.0)
    warp_jitter = _float_param(params, "warp_jitter", 0.0)
    if warp_jitter:
        warp *= float(np.exp(rng.normal(0.0, warp_jitter)))
    if warp <= 0:
        raise ParameterError(f"attack parameter warp must be positive, got {warp}")
    if warp != 1.0:
        bins = np.arange(sp.shape[1], dtype=np.float64)
        src = np.clip(bins / warp, 0, sp.shape[1] - 1)
        sp = np.stack([np.interp(src, bins, frame) for frame in sp])
        sp = np.ascontiguousarray(np.maximum(sp, 1e-16))
    out = pw.synthesize(f0, sp, ap, sr, period)
    return fix_length(out.astype(np.float32), len(y))


def griffin_lim(
    y: np.ndarray, sr: int, *, rng: np.random.Generator, params: dict[str, Any]
) -> np.ndarray:
    """Mel spectrogram -> linear magnitude -> Griffin-Lim phase reconstruction.

    Parameters
    ----------
    params : dict
        ``n_fft`` (about 64 ms, power of two), ``hop_length`` (n_fft / 4), ``n_mels`` (80 at
        16 kHz and above, 40 below), ``n_iter`` (32). The random initial phase comes from ``rng``.
    """
    import librosa

    n_fft, hop = _stft_sizes(sr, params)
    n_mels = int(params.get("n_mels", 80 if sr >= 16000 else 40))
    n_iter = int(params.get("n_iter", 32))
    x = np.asarray(y, dtype=np.float32)
    mel = librosa.feature.melspectrogram(
        y=x, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=n_mels, power=1.0
    )
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    mag = np.maximum(np.linalg.pinv(basis) @ mel, 0.0)
    out = librosa.griffinlim(
        mag,
        n_iter=n_iter,
        hop_length=hop,
        n_fft=n_fft,
        length=len(x),
        init="random",
        random_state=_seed(rng),
        momentum=0.99,
    )
    return fix_length(out.astype(np.float32), len(y))


def _frame_f0(frames: np.ndarray, sr: int, *, fmin: float, fmax: float) -> tuple:
    """Per-frame F0 (Hz) and voicing strength from the normalised autocorrelation peak."""
    n = frames.shape[0]
    spec = np.fft.rfft(frames, n=2 * n, axis=0)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=0)[:n]
    energy = ac[0] + 1e-12
    lo = max(1, int(sr / fmax))
    hi = min(n - 1, int(sr / fmin))
    if hi <= lo:
        return np.zeros(frames.shape[1]), np.zeros(frames.shape[1])
    seg = ac[lo:hi] / energy
    lag = np.argmax(seg, axis=0) + lo
    strength = np.max(seg, axis=0)
    return sr / lag, strength


def lpc(y: np.ndarray, sr: int, *, rng: np.random.Generator, params: dict[str, Any]) -> np.ndarray:
    """LPC source-filter resynthesis with a synthetic pulse/noise excitation.

    Frames of ``frame_ms`` (20) every ``frame_ms / 2`` (Hann, overlap-add). Each frame gets an
    all-pole envelope of ``order`` (sr / 1000 + 4) and its prediction-error gain; voiced frames
    (autocorrelation peak above ``voicing_threshold``, 0.45, for F0 within ``fmin``..``fmax``,
    60..400 Hz) are excited by a unit-power pulse train at F0 (continuous phase across frames),
    the others by white noise from ``rng``.
    """
    import librosa
    import scipy.signal

    frame = max(32, int(round(_float_param(params, "frame_ms", 20.0) * sr / 1000)))
    frame += frame % 2
    hop = frame // 2
    order = int(params.get("order", sr // 1000 + 4))
    threshold = _float_param(params, "voicing_threshold", 0.45)
    fmin = _float_param(params, "fmin", 60.0)
    fmax = _float_param(params, "fmax", 400.0)
    n = len(y)
    x = np.asarray(y, dtype=np.float64)
    # A whisper of noise keeps the LPC recursion defined on digital silence.
    x = x + rng.normal(0.0, 1e-7, size=n)
    n_frames = int(np.ceil(max(n - frame, 0) / hop)) + 1
    padded = np.concatenate([x, x[::-1][: n_frames * hop + frame - n]]) if n else x
    padded = fix_length(padded, (n_frames - 1) * hop + frame)
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame)[::hop][:n_frames].T
    window = scipy.signal.get_window("hann", frame, fftbins=True)
    windowed = frames * window[:, None]
    coefs = librosa.lpc(np.ascontiguousarray(windowed.T), order=order, axis=-1)
    coefs = np.nan_to_num(coefs, nan=0.0, posinf=0.0, neginf=0.0)
    coefs[:, 0] = 1.0
    f0, strength = _frame_f0(windowed, sr, fmin=fmin, fmax=fmax)
    voiced = strength > threshold
    out = np.zeros(len(padded))
    phase = 0.0
    for i in range(n_frames):
        a = coefs[i]
        resid = scipy.signal.lfilter(a, [1.0], windowed[:, i])
        gain = np.sqrt(np.mean(resid**2) / np.mean(window**2))
        if voiced[i]:
            period = sr / f0[i]
            # Pulses where the running phase (in periods) crosses an integer.
            ph = phase + np.arange(1, frame + 1) / period
            exc = np.zeros(frame)
            exc[np.flatnonzero(np.diff(np.floor(np.concatenate([[phase], ph]))) > 0)] = np.sqrt(
                period
            )
            phase = phase + hop / period
        else:
            exc = rng.standard_normal(frame)
            phase = 0.0
        seg = scipy.signal.lfilter([gain], a, exc)
        if not np.all(np.isfinite(seg)) or np.max(np.abs(seg)) > 1e3:
            seg = gain * exc  # an unstable envelope: fall back to the bare excitation
        out[i * hop : i * hop + frame] += seg * window
    return fix_length(out.astype(np.float32), n)


def pvoc(y: np.ndarray, sr: int, *, rng: np.random.Generator, params: dict[str, Any]) -> np.ndarray:
    """Phase-vocoder time-scale round trip: stretch by a random rate, then by its inverse.

    Parameters
    ----------
    params : dict
        ``rate_min``/``rate_max`` (0.7 / 0.85: the rate is drawn from ``rng`` per file), ``n_fft``
        (about 64 ms), ``hop_length`` (n_fft / 4).
    """
    import librosa

    lo = _float_param(params, "rate_min", 0.7)
    hi = _float_param(params, "rate_max", 0.85)
    if not 0 < lo <= hi:
        raise ParameterError(f"need 0 < rate_min <= rate_max, got {lo}, {hi}")
    rate = float(rng.uniform(lo, hi))
    n_fft, hop = _stft_sizes(sr, params)
    x = np.asarray(y, dtype=np.float32)
    slow = librosa.effects.time_stretch(x, rate=rate, n_fft=n_fft, hop_length=hop)
    back = librosa.effects.time_stretch(slow, rate=1.0 / rate, n_fft=n_fft, hop_length=hop)
    return fix_length(back.astype(np.float32), len(y))


_NEURAL_CACHE: dict[tuple[str, float], Any] = {}


def load_vocoder(path: str | Path, *, trust: bool = False) -> Any:
    """Load a TorchScript vocoder (cached per process).

    Raises
    ------
    ParameterError
        ``trust`` is false (loading TorchScript runs code from the file), the file is an ONNX
        model, or it is not TorchScript.
    """
    p = Path(path)
    if p.suffix.lower() == ".onnx":
        raise ParameterError(
            f"{p}: ONNX vocoders are not supported (onnxruntime is not a dfaudio dependency); "
            "export the model to TorchScript (torch.jit.script / trace) and pass that file"
        )
    if not p.is_file():
        raise ParameterError(f"{p}: neural vocoder file not found")
    if not trust:
        raise ParameterError(
            f"{p}: loading a TorchScript vocoder runs code from that file; pass trust=True "
            "(--trust) if you trust it"
        )
    key = (str(p.resolve()), p.stat().st_mtime)
    if key not in _NEURAL_CACHE:
        import torch

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # "torch.jit is deprecated"
                model = torch.jit.load(str(p), map_location="cpu")
        except Exception as exc:
            detail = " ".join(str(exc).split())[:160]
            raise ParameterError(f"{p}: not a TorchScript vocoder: {detail}") from None
        model.eval()
        _NEURAL_CACHE[key] = model
    return _NEURAL_CACHE[key]


def vocoder_mel_params(model: Any, params: dict[str, Any]) -> dict[str, float]:
    """Mel settings for a vocoder: ``params`` first, then the module's attributes, then defaults.

    A TorchScript module can carry its own settings as attributes (``sample_rate``, ``n_fft``,
    ``hop_length``, ``win_length``, ``n_mels``, ``fmin``, ``fmax``); see
    :data:`NEURAL_MEL_DEFAULTS`.
    """
    out = {}
    for key, default in NEURAL_MEL_DEFAULTS.items():
        value = params.get(key, getattr(model, key, default) if model is not None else default)
        out[key] = float(value)
    return out


def neural_vocoder(
    y: np.ndarray, sr: int, *, rng: np.random.Generator, params: dict[str, Any]
) -> np.ndarray:
    """Resynthesise with a user-supplied TorchScript vocoder (log-mel in, waveform out).

    The audio is resampled to the vocoder's ``sample_rate``; the vocoder receives a float32 tensor
    of shape ``(1, n_mels, frames)`` holding ``ln(max(mel, 1e-5))`` of the magnitude (power 1)
    mel spectrogram computed by ``librosa.feature.melspectrogram`` (Slaney mel filters, Hann
    window, ``center=True``, ``frames = 1 + n // hop_length``), with the settings of
    :func:`vocoder_mel_params` (default: HiFi-GAN V1 LJSpeech, 22.05 kHz, n_fft 1024, hop 256,
    80 mels, 0-8000 Hz). It must return the waveform at ``sample_rate`` as a tensor of any shape
    whose elements are the samples (e.g. ``(1, 1, frames * hop_length)``); it is resampled back
    to ``sr`` and cut or extended to the source's length.

    Parameters
    ----------
    params : dict
        ``path`` (the TorchScript file), ``trust`` (must be true), optional mel settings.
        ``rng`` seeds torch for vocoders that sample noise.
    """
    import librosa
    import torch

    from dfaudio.io.audio import resample

    model = load_vocoder(params.get("path", ""), trust=bool(params.get("trust", False)))
    mp = vocoder_mel_params(model, params)
    v_sr = int(mp["sample_rate"])
    x = resample(np.asarray(y, dtype=np.float32), orig_sr=sr, target_sr=v_sr)
    mel = librosa.feature.melspectrogram(
        y=x,
        sr=v_sr,
        n_fft=int(mp["n_fft"]),
        hop_length=int(mp["hop_length"]),
        win_length=int(mp["win_length"]),
        n_mels=int(mp["n_mels"]),
        fmin=mp["fmin"],
        fmax=mp["fmax"],
        power=1.0,
    )
    logmel = np.log(np.maximum(mel, 1e-5)).astype(np.float32)
    torch.manual_seed(_seed(rng))
    with torch.no_grad():
        wav = model(torch.from_numpy(logmel)[None])
    out = wav.detach().cpu().numpy().astype(np.float32).reshape(-1)
    out = resample(out, orig_sr=v_sr, target_sr=sr)
    return fix_length(out.astype(np.float32), len(y))


# --------------------------------------------------------------------------------------------
# Registry and entry points
# --------------------------------------------------------------------------------------------

ATTACKS = Registry("attack")
ATTACKS.register("world", world, help="WORLD (pyworld) analysis/resynthesis: parametric TTS/VC")
ATTACKS.register(
    "griffin-lim", griffin_lim, help="mel spectrogram -> Griffin-Lim: non-neural mel TTS"
)
ATTACKS.register("lpc", lpc, help="LPC source-filter, pulse/noise excitation: codecs, old TTS")
ATTACKS.register("pvoc", pvoc, help="phase-vocoder time-scale round trip: prosody editing")
ATTACKS.register(
    "neural", neural_vocoder, help="neural:PATH, your TorchScript vocoder (mel in, wave out)"
)

#: Attacks made by ``--attack all`` (``neural`` needs a file).
BUILTIN = ("world", "griffin-lim", "lpc", "pvoc")


def parse_attacks(spec: str | list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """``"world,lpc,neural:voc.pt"`` -> ``[(label, name, params), ...]``.

    ``label`` is what the list's ``attack`` column and the output folder say: the attack name, or
    ``neural-STEM`` for ``neural:PATH``. ``all`` expands to :data:`BUILTIN`.

    Raises
    ------
    ParameterError
        Unknown attack, ``neural`` without a path, an attack given twice.
    """
    items = spec if isinstance(spec, list) else [spec]
    parts = [p.strip() for item in items for p in item.split(",") if p.strip()]
    if not parts:
        raise ParameterError("no attack given")
    out: list[tuple[str, str, dict[str, Any]]] = []
    for part in parts:
        name, _, arg = part.partition(":")
        if name == "all" and not arg:
            out.extend((b, b, {}) for b in BUILTIN)
            continue
        if name not in ATTACKS:
            raise ParameterError(
                f"unknown attack {name!r}; choose from {', '.join(ATTACKS.names())} or all"
            )
        if name == "neural":
            if not arg:
                raise ParameterError("attack neural needs a vocoder file: neural:PATH")
            out.append((f"neural-{Path(arg).stem}", name, {"path": os.path.expanduser(arg)}))
        elif arg:
            raise ParameterError(f"attack {name!r} takes no ':' argument (got {part!r})")
        else:
            out.append((name, name, {}))
    labels = [label for label, _, _ in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ParameterError(f"attack {dup[0]!r} given twice")
    return out


def apply_attack(
    name: str,
    y: np.ndarray,
    sr: int,
    *,
    rng: np.random.Generator,
    params: dict[str, Any] | None = None,
) -> np.ndarray:
    """Run attack ``name`` on mono ``y`` and match the result to the source (:func:`match_source`).

    Returns
    -------
    np.ndarray [shape=(len(y),)], float32
        Same length as ``y``; RMS within :data:`RMS_TOLERANCE_DB` of ``y``'s unless the peak
        ceiling forbids it; no sample above :data:`PEAK_CEILING`.
    """
    fn = ATTACKS.get(name)
    out = fn(np.asarray(y, dtype=np.float32), int(sr), rng=rng, params=dict(params or {}))
    return match_source(out, y)
