"""DEEP-VOICE raw audio (Bird & Lotfi 2023): ``AUDIO/REAL`` and ``AUDIO/FAKE``.

Real files are named ``<speaker>-original.wav`` (e.g. ``biden-original.wav``); fake files
``<Source>-to-<Target>.wav`` (e.g. ``Obama-to-Biden.wav``: Obama's speech in Biden's voice).
The group is the *source* speaker (whose words and prosody the clip carries, here ``obama``), so a
grouped split keeps each speaker's material on one side; the target voice goes to ``target``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from dfaudio.datasets.folders import audio_files
from dfaudio.datasets.manifest import make_manifest
from dfaudio.exceptions import DataError
from dfaudio.labels import BONAFIDE, SPOOF

__all__ = ["deep_voice_root", "from_deep_voice", "parse_name"]

_FAKE = re.compile(r"^(?P<source>.+?)-to-(?P<target>.+)$", re.IGNORECASE)
_REAL = re.compile(r"^(?P<source>.+?)(-original)?$", re.IGNORECASE)


def deep_voice_root(path: str | Path) -> Path | None:
    """The folder that holds ``REAL`` and ``FAKE`` (``path`` or ``path/AUDIO``), else ``None``."""
    p = Path(path)
    for cand in (p, p / "AUDIO"):
        if (cand / "REAL").is_dir() and (cand / "FAKE").is_dir():
            return cand
    return None


def parse_name(stem: str, *, fake: bool) -> tuple[str, str]:
    """``(source speaker, target voice)`` from a DEEP-VOICE file stem, lower-cased."""
    if fake:
        m = _FAKE.match(stem)
        if not m:
            return stem.lower(), ""
        return m["source"].lower(), m["target"].lower()
    m = _REAL.match(stem)
    src = (m["source"] if m else stem).lower()
    return src, src


def from_deep_voice(root: str | Path) -> pd.DataFrame:
    """Manifest of the DEEP-VOICE ``AUDIO`` folder (group = source speaker, plus ``target``)."""
    base = deep_voice_root(root)
    if base is None:
        raise DataError("no REAL/ and FAKE/ folders (nor AUDIO/REAL, AUDIO/FAKE) here", root)
    rows = []
    for sub, label in (("REAL", BONAFIDE), ("FAKE", SPOOF)):
        for f in audio_files(base / sub):
            source, target = parse_name(f.stem, fake=label == SPOOF)
            rows.append(
                {
                    "path": str(f),
                    "label": label,
                    "group": source,
                    "speaker": source,
                    "target": target,
                }
            )
    return make_manifest(rows, source=str(root))
