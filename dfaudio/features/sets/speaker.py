"""The ``resemblyzer`` feature set: the pretrained speaker encoder shipped in ``resemblyzer``.

Per window: the samples are resampled to 16 kHz (soxr, :func:`dfaudio.io.audio.resample`), the
level is raised to ``normalize_dbfs`` (-30 dBFS, never lowered; resemblyzer's
``normalize_volume(..., increase_only=True)``; ``None`` skips it) and the window is embedded with
``VoiceEncoder.embed_utterance(wav, rate=1.3, min_coverage=0.75)``: 1.6 s partial utterances (a 1 s
window is one zero-padded partial), embedded by the 3-layer LSTM, averaged and L2-normalised.
Resemblyzer's voice-activity trimming (``preprocess_wav``) is *not* applied: it would change the
window's length and can remove a whole second of audio. The partials of all windows go through
the network in one batch. Columns ``rsz_0 .. rsz_255``. The weights are the ``pretrained.pt`` file
inside the package (nothing is downloaded). Needs the ``resemblyzer`` extra.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = [
    "N_DIM",
    "SR",
    "columns",
    "encoder",
    "resemblyzer",
]

#: Resemblyzer's sample rate.
SR = 16000
N_DIM = 256


def columns(**_: object) -> list[str]:
    """``rsz_0 .. rsz_255``."""
    return [f"rsz_{i}" for i in range(N_DIM)]


@functools.lru_cache(maxsize=2)
def encoder(device: str = "cpu") -> Any:
    """The (cached) resemblyzer ``VoiceEncoder`` on ``device``, in eval mode."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # webrtcvad imports the deprecated pkg_resources
            from resemblyzer import VoiceEncoder
    except ImportError:
        from dfaudio.features.sets import missing_extra

        raise missing_extra("resemblyzer", "resemblyzer", "resemblyzer") from None
    return VoiceEncoder(device=device, verbose=False).eval()


def resemblyzer(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float | None = 1.0,
    short: str = "whole",
    normalize_dbfs: float | None = -30.0,
    rate: float = 1.3,
    min_coverage: float = 0.75,
) -> np.ndarray:
    """Resemblyzer embedding of each window.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : float
        Sample rate in Hz (resampled to 16 kHz per window).
    window_s : float or None
        Block length in seconds; ``None``: one row over the whole signal.
    short : {"whole", "pad", "skip"}
        Policy for a clip shorter than one block.
    normalize_dbfs : float or None
        Target level (raised only); ``None``: the samples as they are.
    rate, min_coverage : float
        ``embed_utterance``'s partial-utterance rate and last-partial coverage.

    Returns
    -------
    X : np.ndarray [shape=(n_windows, 256)]
    """
    import torch
    from resemblyzer import audio as rz_audio

    from dfaudio.features.sets import window_blocks
    from dfaudio.io.audio import resample

    enc = encoder("cpu")
    blocks = window_blocks(y, sr, window_s=window_s, short=short)
    mels, owner = [], []
    for i, b in enumerate(blocks):
        wav = resample(np.asarray(b, dtype=np.float32), orig_sr=int(round(sr)), target_sr=SR)
        if normalize_dbfs is not None:
            wav = rz_audio.normalize_volume(wav, normalize_dbfs, increase_only=True)
        wav_slices, mel_slices = enc.compute_partial_slices(len(wav), rate, min_coverage)
        if wav_slices[-1].stop >= len(wav):
            wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)), "constant")
        mel = rz_audio.wav_to_mel_spectrogram(wav)
        for s in mel_slices:
            mels.append(mel[s])
            owner.append(i)
    out = np.zeros((blocks.shape[0], N_DIM))
    if not mels:
        return out
    with torch.no_grad():
        partial = enc(torch.from_numpy(np.stack(mels)).to(enc.device)).cpu().numpy()
    owner_a = np.asarray(owner)
    for i in range(blocks.shape[0]):
        raw = partial[owner_a == i].mean(axis=0)
        out[i] = raw / np.linalg.norm(raw, 2)
    return out
