"""The manifest: one row per recording, the common currency of every dataset layout.

A manifest is a :class:`pandas.DataFrame` with the columns in :data:`REQUIRED` and any of
:data:`OPTIONAL`. ``group`` is what leakage-free splits hold together: the speaker where the corpus
says so, else the recording (or a user-given pattern, e.g. the utterance shared by a real clip and
its vocoded copy).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from dfaudio.exceptions import DataError
from dfaudio.labels import BONAFIDE, SPOOF

__all__ = [
    "OPTIONAL",
    "REQUIRED",
    "SPLITS",
    "describe",
    "make_manifest",
    "missing_files",
    "validate_manifest",
]

REQUIRED = ("path", "label", "group")
OPTIONAL = ("split", "attack", "speaker", "target", "condition")
SPLITS = ("train", "dev", "eval")


def make_manifest(rows: list[dict[str, str]], *, source: str) -> pd.DataFrame:
    """Build and validate a manifest from row dicts.

    Parameters
    ----------
    rows : list of dict
        Each with at least ``path``, ``label``, ``group``.
    source : str
        Where the rows came from (used in errors).

    Raises
    ------
    DataError
        No rows, missing columns or unknown labels.
    """
    if not rows:
        raise DataError("no audio files found", source)
    df = pd.DataFrame(rows)
    return validate_manifest(df, source=source)


def validate_manifest(df: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Check columns and labels; order columns canonically; drop all-empty optional columns."""
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"manifest lacks column(s) {', '.join(missing)}", source)
    bad = sorted(set(df["label"]) - {BONAFIDE, SPOOF})
    if bad:
        raise DataError(f"unknown label(s) {bad}; expected bonafide/spoof", source)
    cols = list(REQUIRED) + [
        c for c in OPTIONAL if c in df.columns and df[c].fillna("").astype(str).str.len().any()
    ]
    out = df[cols].copy()
    for c in cols:
        out[c] = out[c].astype("string").fillna("").astype(object)
    return out.reset_index(drop=True)


def describe(manifest: pd.DataFrame) -> str:
    """One line: files per label, groups, splits."""
    counts = manifest["label"].value_counts()
    parts = [
        f"{len(manifest)} files",
        f"{counts.get(BONAFIDE, 0)} bonafide / {counts.get(SPOOF, 0)} spoof",
        f"{manifest['group'].nunique()} groups",
    ]
    if "split" in manifest.columns:
        parts.append(
            "splits " + ", ".join(f"{k}={v}" for k, v in manifest["split"].value_counts().items())
        )
    return ", ".join(parts)


def missing_files(manifest: pd.DataFrame, *, show: int = 3) -> tuple[int, str] | None:
    """How many of the manifest's files do not exist, with a one-line summary (``None``: none).

    A protocol file without its audio (or a root one folder off) would otherwise give one
    warning per listed file: 71,237 lines for the ASVspoof 2019 LA eval protocol.

    Parameters
    ----------
    manifest : pd.DataFrame
        A manifest (column ``path``).
    show : int
        How many of the missing paths to name.

    Returns
    -------
    (int, str) or None
        The number of missing files and
        ``"N of M listed files do not exist (first: a, b, c); they would be read from FOLDER"``.

    Examples
    --------
    >>> m = pd.DataFrame({"path": ["/no/a.flac", "/no/b.flac"]})
    >>> missing_files(m, show=1)
    (2, '2 of 2 listed files do not exist (first: /no/a.flac); they would be read from /no')
    """
    paths = manifest["path"].astype(str)
    gone = [p for p in paths if not os.path.exists(p)]
    if not gone:
        return None
    folders = sorted({str(Path(p).parent) for p in gone})
    where = folders[0] if len(folders) == 1 else f"{len(folders)} folders, e.g. {folders[0]}"
    first = ", ".join(gone[:show])
    return len(gone), (
        f"{len(gone):,} of {len(paths):,} listed files do not exist (first: {first}); "
        f"they would be read from {where}"
    )
