"""Dataset layouts -> manifests (one row per recording).

Each layout is a plain function returning a manifest DataFrame (see :mod:`.manifest`);
:func:`load_manifest` picks one (``layout="auto"`` detects it) and concatenates several inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from dfaudio.datasets.asvspoof import find_protocols, from_asvspoof, read_protocol
from dfaudio.datasets.csvlist import find_label_list, from_csv
from dfaudio.datasets.deep_voice import deep_voice_root, from_deep_voice
from dfaudio.datasets.folders import from_folders
from dfaudio.datasets.manifest import describe, missing_files, validate_manifest
from dfaudio.datasets.pairs import PairInfo, group_pairs
from dfaudio.exceptions import DataError, ParameterError

LAYOUTS = ("folders", "deep-voice", "asvspoof", "csv")

__all__ = [
    "LAYOUTS",
    "PairInfo",
    "describe",
    "detect_layout",
    "from_asvspoof",
    "from_csv",
    "from_deep_voice",
    "from_folders",
    "group_pairs",
    "load_manifest",
    "missing_files",
    "read_protocol",
]


def detect_layout(path: str | Path, *, protocols: Sequence[str | Path] | None = None) -> str:
    """Guess the layout of one input.

    ``.csv``/``.tsv`` file -> ``csv``; a folder with ASVspoof protocol folders, or any input when
    protocol files are given -> ``asvspoof``; a folder with a ``labels.tsv``/``labels.csv`` list
    (``file``/``path`` and ``label`` columns) -> ``csv`` (that list); ``REAL/`` + ``FAKE/`` (or
    ``AUDIO/REAL``...) -> ``deep-voice``; any other folder -> ``folders``.
    """
    p = Path(path)
    if not p.exists():
        raise DataError("no such file or directory", p)
    if p.is_file():
        if p.suffix.lower() in (".csv", ".tsv"):
            return "csv"
        raise DataError(
            "a single file is not a dataset; give a folder, a CSV list (path,label,...) or an "
            "ASVspoof root with --protocol",
            p,
        )
    if protocols or find_protocols(p):
        return "asvspoof"
    if find_label_list(p) is not None:
        return "csv"
    if deep_voice_root(p) is not None:
        return "deep-voice"
    return "folders"


def load_manifest(
    inputs: Sequence[str | Path],
    *,
    layout: str = "auto",
    label_map: Mapping[str, str] | None = None,
    protocols: Sequence[str | Path] | None = None,
    group_regex: str | None = None,
    pair_groups: bool = True,
) -> pd.DataFrame:
    """Read one or more inputs into a single manifest.

    Parameters
    ----------
    inputs : sequence of path
        Folders or CSV lists.
    layout : {"auto", "folders", "deep-voice", "asvspoof", "csv"}
    label_map : mapping, optional
        Extra label spellings (class folder names, CSV labels) -> bonafide/spoof.
    protocols : sequence of path, optional
        ASVspoof CM protocol files (implies ``layout="asvspoof"`` under ``auto``).
    group_regex : str, optional
        For plain folders: regex on the file stem whose first group is the group.
    pair_groups : bool
        Put a fake and the real recording it was made from (``X.wav`` / ``X_gen.wav``, the same
        name in the real and fake folders, ``SYSTEM+UTT``) in one group, so that no split
        separates them (:func:`dfaudio.datasets.pairs.group_pairs`). What was merged is in
        ``manifest.attrs["pairs"]`` (a :class:`PairInfo`).

    Returns
    -------
    pd.DataFrame
        Columns ``path, label, group`` and, where known,
        ``split, attack, speaker, target, condition``.
    """
    if not inputs:
        raise ParameterError("no input given")
    if layout != "auto" and layout not in LAYOUTS:
        raise ParameterError(f"unknown layout {layout!r}; choose auto or one of {LAYOUTS}")
    parts = []
    for item in inputs:
        kind = detect_layout(item, protocols=protocols) if layout == "auto" else layout
        if kind == "csv":
            listed = find_label_list(item) if Path(item).is_dir() else None
            parts.append(from_csv(listed or item, label_map=label_map))
        elif kind == "asvspoof":
            parts.append(from_asvspoof(item, protocols=list(protocols or [])))
        elif kind == "deep-voice":
            parts.append(from_deep_voice(item))
        else:
            parts.append(from_folders(item, label_map=label_map, group_regex=group_regex))
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    dup = df["path"].duplicated()
    if dup.any():
        raise DataError(f"file listed twice: {df.loc[dup, 'path'].iloc[0]}")
    df = validate_manifest(df, source=", ".join(map(str, inputs)))
    info = PairInfo(n_groups_before=int(df["group"].nunique()))
    info.n_groups_after = info.n_groups_before
    if pair_groups:
        df, info = group_pairs(df)
    df.attrs["pairs"] = info
    return df
