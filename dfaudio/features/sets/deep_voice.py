"""The ``deep-voice`` feature set: the 26 DEEP-VOICE frame means, through the exact fast path.

A thin wrapper of :func:`dfaudio.features.summary.deep_voice_features`; the numbers are the ones
``tabulate`` always gave (column names :data:`dfaudio.schema.DEEP_VOICE_FEATURES`, no prefix).
"""

from __future__ import annotations

import numpy as np

from dfaudio.schema import DEEP_VOICE_FEATURES

__all__ = ["columns", "deep_voice"]


def columns(**params: object) -> list[str]:
    """The 26 DEEP-VOICE column names."""
    return list(DEEP_VOICE_FEATURES)


def deep_voice(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float | None = 1.0,
    short: str = "whole",
    n_fft: int = 2048,
    hop_length: int = 512,
) -> np.ndarray:
    """DEEP-VOICE rows (see :func:`dfaudio.features.summary.deep_voice_features`).

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
    n_fft, hop_length : int
        STFT size and hop.

    Returns
    -------
    X : np.ndarray [shape=(n_windows, 26)]
    """
    from dfaudio.features.summary import deep_voice_features

    if window_s is None:
        n = np.asarray(y).shape[0]
        window_s = n / float(sr) if n else 1.0
    return deep_voice_features(
        y, sr, window_s=window_s, n_fft=n_fft, hop_length=hop_length, short=short
    )
