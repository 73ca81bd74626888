"""Registry of time-frequency features for the deep path (``dfaudio fit-deep --feature NAME``).

Every entry is a plain function ``f(y, sr, **params) -> np.ndarray [shape=(n_feat, n_frames)]``.
Entries are lazy ``"module:attr"`` strings, so listing the names imports neither librosa nor scipy.

Examples
--------
>>> from dfaudio.features.registry import TIMEFREQ
>>> TIMEFREQ.names()
['mel', 'mfcc', 'lfcc', 'chroma', 'chroma-cqt', 'cqcc', 'seed-mel']
"""

from __future__ import annotations

from dfaudio.registry import Registry

__all__ = ["TIMEFREQ"]

TIMEFREQ = Registry("time-frequency feature")

TIMEFREQ.register(
    "mel",
    "dfaudio.features.mel:log_mel_spectrogram",
    help="log-mel spectrogram in dB (64 bands, n_fft 1024, hop 512)",
)
TIMEFREQ.register(
    "mfcc",
    "dfaudio.features.cepstral:mfcc",
    help="MFCC (20 coefficients from 64 mel bands, n_fft 1024, hop 512)",
)
TIMEFREQ.register(
    "lfcc",
    "dfaudio.features.cepstral:lfcc",
    help="LFCC (20 ms window, 10 ms hop, 512-pt FFT, 20 linear filters, 20 coefs; "
    "add_deltas=true for 60; preset=baseline-2019 or baseline-2021 for the ASVspoof baselines)",
)
TIMEFREQ.register(
    "chroma",
    "dfaudio.features.chroma:chroma",
    help="STFT chromagram (12 pitch classes, n_fft 1024, hop 512)",
)
TIMEFREQ.register(
    "chroma-cqt",
    "dfaudio.features.chroma:chroma_cqt",
    help="constant-Q chromagram (12 pitch classes, hop 512)",
)
TIMEFREQ.register(
    "cqcc",
    "dfaudio.features.cepstral:cqcc",
    help="CQCC (96 bins/octave from 15 Hz, 20 coefs; preset=baseline-2019: 30 coefs + deltas "
    "from sr/1024 Hz)",
)
TIMEFREQ.register(
    "seed-mel",
    "dfaudio.features.mel:seed_mel_spectrogram",
    help="the seed's tensor: torchaudio MelSpectrogram defaults (HTK, power, no log) on the "
    "first 6 s, 64 x 188 at 16 kHz",
)
