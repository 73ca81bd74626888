"""ASVspoof 2019 LA and PA: a corpus root plus CM protocol files.

Protocol lines are ``SPEAKER UTT_ID ENV ATTACK KEY`` (LA: ``LA_0039 LA_E_2834763 - A11 spoof``;
PA: the third column names the acoustic environment). Audio is looked up, in order, at
``<root>/ASVspoof2019_<track>_<split>/flac/<UTT>.flac``, ``<root>/flac/<UTT>.flac`` and
``<root>/<UTT>.flac``. Speaker is the group (ASVspoof splits are speaker-disjoint already).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dfaudio.datasets.manifest import make_manifest
from dfaudio.exceptions import DataError
from dfaudio.labels import canonical_label

__all__ = [
    "find_protocols",
    "from_asvspoof",
    "read_protocol",
    "split_of",
]

_SPLIT_WORDS = {"train": "train", "trn": "train", "dev": "dev", "eval": "eval", "evl": "eval"}
_UTT_SPLIT = {"T": "train", "D": "dev", "E": "eval"}


def find_protocols(root: str | Path) -> list[Path]:
    """CM protocol files in the standard place ``<root>/ASVspoof2019_<track>_cm_protocols``."""
    r = Path(root)
    found: list[Path] = []
    for d in sorted(r.glob("ASVspoof2019_*_cm_protocols")):
        found += sorted(d.glob("ASVspoof2019.*.cm.*.txt"))
    return found


def split_of(protocol: Path, utt: str) -> str:
    """Split from the protocol name (``...cm.dev.trl.txt``), else from the id (``LA_D_...``)."""
    for word in protocol.name.lower().replace("_", ".").split("."):
        if word in _SPLIT_WORDS:
            return _SPLIT_WORDS[word]
    parts = utt.split("_")
    if len(parts) >= 3 and parts[1] in _UTT_SPLIT:
        return _UTT_SPLIT[parts[1]]
    return ""


def read_protocol(path: str | Path) -> pd.DataFrame:
    """Parse a CM protocol into columns ``speaker, utt, condition, attack, key``.

    Raises
    ------
    DataError
        A line without 5 columns, or a key that is not bonafide/spoof.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("protocol file not found", p)
    rows = []
    with p.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            cols = line.split()
            if not cols:
                continue
            if len(cols) < 5:
                raise DataError(
                    f"line {n}: expected 5 columns 'SPEAKER UTT ENV ATTACK KEY', got {len(cols)}", p
                )
            try:
                key = canonical_label(cols[4])
            except DataError:
                raise DataError(f"line {n}: key {cols[4]!r} is not bonafide/spoof", p) from None
            rows.append((cols[0], cols[1], cols[2], cols[3], key))
    if not rows:
        raise DataError("protocol file is empty", p)
    return pd.DataFrame(rows, columns=["speaker", "utt", "condition", "attack", "key"])


def from_asvspoof(root: str | Path, *, protocols: list[str | Path] | None = None) -> pd.DataFrame:
    """Manifest of an ASVspoof 2019 LA/PA corpus.

    Parameters
    ----------
    root : str or Path
        Corpus root (``LA/`` holding ``ASVspoof2019_LA_train`` ...) or a folder of flac files.
    protocols : list of path, optional
        CM protocol files; default: those found by :func:`find_protocols`.
    """
    r = Path(root)
    protos = [Path(p) for p in protocols] if protocols else find_protocols(r)
    if not protos:
        raise DataError(
            "no CM protocol files found (expected ASVspoof2019_<LA|PA>_cm_protocols/); "
            "pass --protocol FILE",
            r,
        )
    rows = []
    for proto in protos:
        df = read_protocol(proto)
        for spk, utt, cond, attack, key in df.itertuples(index=False):
            split = split_of(proto, utt)
            track = utt.split("_")[0]
            rows.append(
                {
                    "path": str(_audio_path(r, track, split, utt)),
                    "label": key,
                    "group": spk,
                    "split": split,
                    "attack": attack,
                    "speaker": spk,
                    "condition": "" if cond == "-" else cond,
                }
            )
    return make_manifest(rows, source=str(r))


def _audio_path(root: Path, track: str, split: str, utt: str) -> Path:
    candidates = [
        root / f"ASVspoof2019_{track}_{split}" / "flac" / f"{utt}.flac",
        root / "flac" / f"{utt}.flac",
        root / f"{utt}.flac",
    ]
    for c in candidates:
        if c.exists():
            return c
    return candidates[0] if split else candidates[-1]
