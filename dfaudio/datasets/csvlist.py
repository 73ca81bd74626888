"""A CSV list of files: ``path,label[,group][,split][,attack]`` with a header row.

Relative paths are taken relative to the CSV file's folder. Labels go through the usual mapping
(real/fake, bonafide/spoof, ... or ``label_map``); a missing group defaults to the file.
A tab-separated list (``.tsv``) is read the same way and may name the column ``file``:
a folder holding its audio next to a ``labels.tsv`` (``file<TAB>label<TAB>attack<TAB>speaker``,
the form of the corpora in ``../shared/data``) is a data set as it stands (see
:func:`find_label_list`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from dfaudio.datasets.manifest import SPLITS, make_manifest
from dfaudio.exceptions import DataError
from dfaudio.labels import BONAFIDE, canonical_label

__all__ = ["LABEL_LISTS", "find_label_list", "from_csv"]

#: File names of a label list that makes a folder a data set (first found wins).
LABEL_LISTS = ("labels.tsv", "labels.csv")


def find_label_list(folder: str | Path) -> Path | None:
    """``folder/labels.tsv`` (or ``labels.csv``) when it lists files with labels, else None."""
    d = Path(folder)
    for name in LABEL_LISTS:
        f = d / name
        if f.is_file():
            with f.open(encoding="utf-8", errors="replace") as fh:
                header = fh.readline().lower()
            cols = {c.strip() for c in header.replace("\t", ",").split(",")}
            if "label" in cols and cols & {"path", "file"}:
                return f
    return None


def from_csv(path: str | Path, *, label_map: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Manifest from a CSV list.

    Raises
    ------
    DataError
        Missing ``path``/``label`` columns, unknown labels or splits.
    """
    p = Path(path)
    try:
        sep = "\t" if p.suffix.lower() == ".tsv" else ","
        df = pd.read_csv(p, dtype=str, keep_default_na=False, sep=sep)
    except FileNotFoundError:
        raise DataError("CSV list not found", p) from None
    except Exception as exc:
        raise DataError(f"cannot parse CSV: {exc}", p) from None
    df.columns = [c.strip().lower() for c in df.columns]
    listed = p.suffix.lower() == ".tsv" or p.name in LABEL_LISTS
    if listed and "path" not in df.columns and "file" in df.columns:
        df = df.rename(columns={"file": "path"})
    missing = [c for c in ("path", "label") if c not in df.columns]
    if missing:
        raise DataError(
            f"CSV list needs columns path,label[,group][,split]; missing {', '.join(missing)}", p
        )
    rows = []
    for n, rec in enumerate(df.to_dict("records"), 2):
        f = Path(rec["path"])
        if not f.is_absolute():
            f = p.parent / f
        try:
            label = canonical_label(rec["label"], label_map=label_map)
        except DataError as exc:
            raise DataError(f"line {n}: {exc.reason}", p) from None
        row = {"path": str(f), "label": label, "group": rec.get("group") or Path(rec["path"]).stem}
        split = (rec.get("split") or "").strip().lower()
        if split:
            if split not in SPLITS:
                raise DataError(f"line {n}: split {split!r} is not one of {SPLITS}", p)
            row["split"] = split
        for extra in ("attack", "speaker"):
            if rec.get(extra):
                row[extra] = rec[extra]
        if label == BONAFIDE and row.get("attack"):
            row["attack"] = "-"  # the ASVspoof convention: bona fide rows have no attack
        rows.append(row)
    return make_manifest(rows, source=str(p))
