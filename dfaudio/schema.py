"""Column names of the per-second feature table (no heavy imports).

The DEEP-VOICE ``DATASET-balanced.csv`` schema is 26 feature columns then ``LABEL`` (REAL/FAKE).
dfaudio's default schema keeps the same 26 feature names and adds provenance columns so that a
table can be split without leakage.
"""

from __future__ import annotations

__all__ = [
    "DEEP_VOICE_FEATURES",
    "DEEP_VOICE_LABEL",
    "FILE_FACTS",
    "LABEL",
    "PROVENANCE",
    "SCHEMAS",
]

#: The 26 DEEP-VOICE feature columns, in order (a list, so it can index a DataFrame; do not mutate).
DEEP_VOICE_FEATURES: list[str] = [
    "chroma_stft",
    "rms",
    "spectral_centroid",
    "spectral_bandwidth",
    "rolloff",
    "zero_crossing_rate",
    *(f"mfcc{i}" for i in range(1, 21)),
]
#: The label column of the original DEEP-VOICE table (values REAL / FAKE).
DEEP_VOICE_LABEL = "LABEL"
#: dfaudio's label column (values bonafide / spoof).
LABEL = "label"
#: Per-file nuisance facts that ``tabulate`` records for ``dfaudio audit`` (defined in
#: :data:`dfaudio.generalization.audit.FACTS`; repeated on every window of a file).
FILE_FACTS: tuple[str, ...] = (
    "file_duration_s",
    "lead_silence_s",
    "trail_silence_s",
    "level_dbfs",
    "peak_dbfs",
    "clip_share",
    "native_sr",
    "channels",
    "codec",
    "bytes_per_s",
)
#: Provenance columns, in output order; ``split``/``attack``/... only where the layout gives them.
PROVENANCE: tuple[str, ...] = (
    "file",
    "window",
    "start_s",
    "duration_s",
    "sr",
    "group",
    "split",
    "attack",
    "speaker",
    "target",
    "condition",
    *FILE_FACTS,
)
SCHEMAS = ("dfaudio", "deep-voice")
