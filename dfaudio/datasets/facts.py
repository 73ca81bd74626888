"""Per-file nuisance facts: what a file says about how it was stored, not about the voice.

``tabulate`` records them on every window of a file (provenance columns, see
:data:`dfaudio.schema.FILE_FACTS`) and ``dfaudio audit`` (:mod:`dfaudio.generalization.audit`)
asks whether any of them separates bona fide from spoof.

Definitions (all on the file as stored, before any resampling):

* **silence**: the audio is cut into :data:`SILENCE_FRAME_S` (20 ms) frames; a frame is silent
  when its RMS (over all channels) is more than :data:`SILENCE_TOP_DB` (40 dB) below the loudest
  frame of the file. ``lead_silence_s`` / ``trail_silence_s`` are the silent frames before the
  first / after the last non-silent frame (a digital-zero frame is always silent).
* **level_dbfs**: RMS of all samples in dB re full scale (a full-scale sine is -3 dBFS).
* **peak_dbfs**: largest absolute sample in dBFS; **clip_share**: share of samples whose absolute
  value is at least :data:`CLIP_LEVEL` (0.999 of full scale; float files above 1.0 count too).
* **native_sr**, **channels**: from the header; **codec**: ``FORMAT/SUBTYPE`` as libsndfile names
  it (``WAV/PCM_16``, ``WAV/FLOAT``, ``MP3/MPEG_LAYER_III`` ...); **bytes_per_s**: file size over
  duration (bit rate of the stored file, container included).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.schema import FILE_FACTS

__all__ = [
    "CLIP_LEVEL",
    "FACTS",
    "FACT_COLUMNS",
    "SILENCE_FRAME_S",
    "SILENCE_TOP_DB",
    "add_file_facts",
    "file_facts",
]

#: fact -> (kind, what it means when it separates the classes).
FACTS: dict[str, tuple[str, str]] = {
    "file_duration_s": (
        "numeric",
        "clip length differs between the classes: a model can learn how long a clip is (on "
        "windows: how many windows a file gives, where its tail falls)",
    ),
    "lead_silence_s": (
        "numeric",
        "leading silence separates the classes (as in ASVspoof 2019 LA, Mueller et al. 2021): a "
        "model may learn the pause before speech, not the voice; trim silence and re-check",
    ),
    "trail_silence_s": (
        "numeric",
        "trailing silence separates the classes: a model may learn the pause after speech; trim "
        "silence and re-check",
    ),
    "level_dbfs": (
        "numeric",
        "the classes sit at different loudness (recording or normalisation): level-normalise "
        "before features and re-check",
    ),
    "peak_dbfs": (
        "numeric",
        "peak level differs: one class was peak-normalised or limited differently",
    ),
    "clip_share": (
        "numeric",
        "one class clips (samples at full scale) more than the other",
    ),
    "native_sr": (
        "numeric",
        "the classes come at different sample rates: a model can read the bandwidth, not the "
        "voice; resample all audio to one rate (tabulate --sr) and re-check",
    ),
    "channels": ("numeric", "mono vs multi-channel differs between the classes"),
    "codec": (
        "category",
        "the classes are stored in different formats or bit depths (e.g. float vs 16-bit PCM): "
        "quantisation or codec artefacts alone separate them; re-encode both classes alike",
    ),
    "bytes_per_s": (
        "numeric",
        "the stored bit rate differs (bit depth, compression, rate): the encoding separates the "
        "classes",
    ),
}
#: Facts recorded per file as table provenance columns (same order as :data:`FACTS`).
FACT_COLUMNS: tuple[str, ...] = tuple(FACTS)
assert FACT_COLUMNS == tuple(FILE_FACTS), "dfaudio.schema.FILE_FACTS must list FACTS in order"
#: Silence analysis frame length (seconds).
SILENCE_FRAME_S = 0.02
#: A frame is silent when its RMS is this many dB below the file's loudest frame.
SILENCE_TOP_DB = 40.0
#: Absolute sample value counted as clipped.
CLIP_LEVEL = 0.999


def _db(x: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.maximum(x, 1e-20))


def file_facts(path: str | Path) -> dict[str, Any]:
    """The nuisance facts of one audio file (see the module docstring for definitions).

    Reads the file in blocks (memory does not grow with its length).

    Raises
    ------
    AudioError
        The file cannot be read.
    """
    import soundfile as sf

    from dfaudio.exceptions import AudioError
    from dfaudio.io.audio import info, iter_blocks

    p = Path(path)
    sr, _frames, channels = info(p)
    try:
        i = sf.info(str(p))
        codec = f"{i.format}/{i.subtype}"
    except Exception:
        codec = p.suffix.lower().lstrip(".").upper() + "/decoded"
    frame = max(1, int(round(SILENCE_FRAME_S * sr)))
    energies: list[np.ndarray] = []
    carry = np.zeros(0, dtype=np.float64)
    total = 0
    sum_sq = 0.0
    peak = 0.0
    clipped = 0
    for block, _ in iter_blocks(p, sr=None, mono=False):
        b = np.atleast_2d(block).astype(np.float64)
        a = np.abs(b).max(axis=0)  # per sample over channels
        total += a.size
        peak = max(peak, float(a.max(initial=0.0)))
        clipped += int(np.count_nonzero(a >= CLIP_LEVEL))
        ms = (b**2).mean(axis=0)  # mean square over channels, per sample
        sum_sq += float(ms.sum())
        seq = np.concatenate((carry, ms))
        n_full = seq.size // frame
        if n_full:
            energies.append(seq[: n_full * frame].reshape(n_full, frame).mean(axis=1))
        carry = seq[n_full * frame :]
    if carry.size:
        energies.append(np.array([carry.mean()]))
    if total == 0:
        raise AudioError(p, "empty", "no samples")
    e = np.concatenate(energies) if energies else np.zeros(1)
    e_db = np.asarray(_db(e))
    loud = e_db > (e_db.max() - SILENCE_TOP_DB)
    loud &= e > 0
    if loud.any():
        first, last = int(np.argmax(loud)), int(len(loud) - 1 - np.argmax(loud[::-1]))
        lead = first * frame / sr
        trail = max(0.0, (total - (last + 1) * frame) / sr)
    else:
        lead, trail = total / sr, 0.0
    duration = total / sr
    size = os.path.getsize(p)
    return {
        "file_duration_s": duration,
        "lead_silence_s": lead,
        "trail_silence_s": trail,
        "level_dbfs": float(_db(sum_sq / total)),
        "peak_dbfs": float(20.0 * np.log10(max(peak, 1e-10))),
        "clip_share": clipped / total,
        "native_sr": int(sr),
        "channels": int(channels),
        "codec": codec,
        "bytes_per_s": size / duration if duration > 0 else float("nan"),
    }


def add_file_facts(rows: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Add the facts of ``path`` to every row of its feature windows (for ``tabulate``).

    Never raises: a file whose facts cannot be computed gets empty values (the audit then skips
    it), so a table is never lost over its provenance.
    """
    try:
        facts = file_facts(path)
    except Exception:
        facts = {k: (np.nan if kind == "numeric" else "") for k, (kind, _) in FACTS.items()}
    for k in FACT_COLUMNS:
        rows[k] = facts[k]
    return rows
