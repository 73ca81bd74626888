"""Reading and validating feature tables (dfaudio's schema or the original DEEP-VOICE CSV).

A table's feature columns are the 26 DEEP-VOICE names and/or columns under the prefix of a
registered feature set (``ss_``, ``egemaps_``, ``compare_``, ``rsz_``, ``ssl_``; see
:mod:`dfaudio.features.sets`). Which sets a table holds, with their versions and parameters, and
the window it was cut with, are recorded by ``tabulate`` as the table's *feature metadata*
(:data:`TABLE_META_KEY`): in the Parquet schema metadata for ``.parquet`` tables (pandas
``DataFrame.attrs``), in a JSON sidecar ``<table>.features.json`` (:func:`sidecar_path`) next to
a CSV table. A table without metadata (the DEEP-VOICE CSV, older tables) is described by its
columns, with default parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError
from dfaudio.labels import encode_labels
from dfaudio.schema import DEEP_VOICE_FEATURES, DEEP_VOICE_LABEL, LABEL, PROVENANCE

__all__ = [
    "MAX_FEATURE_ABS",
    "TABLE_META_KEY",
    "FeatureTable",
    "read_table",
    "read_table_meta",
    "sidecar_path",
    "table_meta",
    "validate_table",
    "write_table_meta",
]


@dataclass
class FeatureTable:
    """A validated feature table.

    Attributes
    ----------
    X : np.ndarray [shape=(n_rows, n_features)], float64
    y : np.ndarray [shape=(n_rows,)], int (bonafide 0, spoof 1)
    meta : pd.DataFrame
        Provenance columns present in the file (``file``, ``window``, ``group`` ...), maybe empty.
    features : list of str
    source : str
        The file it came from.
    feature_sets : list of dict
        The sets the columns come from (``name``, ``spec``, ``version``, ``prefix``, ``params``;
        see :meth:`dfaudio.features.sets.SetSpec.record`); inferred from the column names, with
        ``"inferred": True``, when the table has no feature metadata.
    window : float, "whole" or None
        The window the table was cut with, when its metadata says.
    """

    X: np.ndarray
    y: np.ndarray
    meta: pd.DataFrame
    features: list[str]
    source: str
    feature_sets: list[dict[str, Any]] = field(default_factory=list)
    window: float | str | None = None

    @property
    def feature_set_names(self) -> str:
        """The sets as one label for runs and leaderboards, e.g. ``deep-voice+egemaps``."""
        return "+".join(str(s.get("spec", s["name"])) for s in self.feature_sets) or "?"

    @property
    def has_provenance(self) -> bool:
        """Whether rows can be traced to recordings (a ``group`` or ``file`` column)."""
        return "group" in self.meta.columns or "file" in self.meta.columns

    @property
    def groups(self) -> np.ndarray | None:
        """Group of each row (``group``, else ``file``), or ``None`` without provenance."""
        for col in ("group", "file"):
            if col in self.meta.columns:
                return self.meta[col].astype(str).to_numpy()
        return None

    @property
    def window_s(self) -> float | None:
        """Window length the table was made with (``start_s / window`` of later windows).

        ``None`` when the table does not say (no ``start_s``/``window`` columns, or every file
        gave a single window).
        """
        if not {"start_s", "window"} <= set(self.meta.columns):
            return None
        w = pd.to_numeric(self.meta["window"], errors="coerce").to_numpy(dtype=float)
        t = pd.to_numeric(self.meta["start_s"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(w) & np.isfinite(t) & (w > 0)
        if not ok.any():
            return None
        return float(np.round(np.median(t[ok] / w[ok]), 6))

    @property
    def recordings(self) -> np.ndarray | None:
        """Recording (``file``) of each row, or ``None`` when the table does not say."""
        if "file" in self.meta.columns:
            return self.meta["file"].astype(str).to_numpy()
        return None


def read_table(path: str | Path) -> FeatureTable:
    """Read and validate a feature table (CSV, or Parquet when the name ends in ``.parquet``).

    Accepts dfaudio tables (feature columns of one or more feature sets + ``label`` + provenance)
    and the original DEEP-VOICE ``DATASET-balanced.csv`` (26 features + ``LABEL`` REAL/FAKE). The
    feature metadata (Parquet metadata or the CSV's sidecar) is read when present.

    Raises
    ------
    DataError
        One line naming the file and the problem: missing, extra or non-numeric columns, NaN or
        infinite values, unknown labels, a single class, or metadata that does not match the
        columns.
    """
    from dfaudio.io.tables import read_frame

    p = Path(path)
    df = read_frame(p)
    return validate_table(df, source=str(p), info=read_table_meta(p, df))


#: Key of the feature metadata (Parquet: ``DataFrame.attrs[TABLE_META_KEY]``).
TABLE_META_KEY = "dfaudio"


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar that holds a CSV table's feature metadata: ``<table>.features.json``."""
    p = Path(path)
    return p.with_name(p.name + ".features.json")


def table_meta(
    feature_sets: list[dict[str, Any]],
    *,
    window: float | str,
    short: str | None = None,
    sr: int | None = None,
    n_columns: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Build the feature metadata ``tabulate`` records with a table.

    Parameters
    ----------
    feature_sets : list of dict
        :meth:`dfaudio.features.sets.SetSpec.record` of each set, in column order.
    window : float or "whole"
        Window length in seconds, or ``"whole"`` (one row per file).
    short : str, optional
        The short-clip policy.
    sr : int, optional
        The resampling rate asked for (``None``: native rates; the ``sr`` column says).
    n_columns : dict, optional
        Set spec -> number of columns.
    """
    sets = []
    for rec in feature_sets:
        r = dict(rec)
        if n_columns and r.get("spec") in n_columns:
            r["n_columns"] = int(n_columns[r["spec"]])
        sets.append(r)
    return {"format": 1, "feature_sets": sets, "window": window, "short": short, "sr": sr}


def write_table_meta(path: str | Path, info: dict[str, Any], *, force: bool = False) -> Path:
    """Write a CSV table's sidecar atomically (refuses to overwrite without ``force``)."""
    from dfaudio.io.files import atomic_path

    side = sidecar_path(path)
    with atomic_path(side, force=force) as tmp:
        Path(tmp).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return side


def read_table_meta(path: str | Path, df: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """The feature metadata of a table: Parquet attrs, else the CSV sidecar, else ``None``.

    Raises
    ------
    DataError
        A sidecar that is not valid JSON.
    """
    if df is not None and isinstance(df.attrs.get(TABLE_META_KEY), dict):
        return dict(df.attrs[TABLE_META_KEY])
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        info = json.loads(side.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the feature metadata: {exc}", side) from None
    if not isinstance(info, dict) or not isinstance(info.get("feature_sets"), list):
        raise DataError("feature metadata without a 'feature_sets' list", side)
    return info


def _feature_columns(cols: list[str], source: str) -> list[str]:
    """The feature columns of a table, in table order (every other column is known)."""
    from dfaudio.features.sets import prefixes

    known = set(PROVENANCE) | {LABEL, DEEP_VOICE_LABEL}
    pre = tuple(prefixes())
    dv = set(DEEP_VOICE_FEATURES)
    feats = [c for c in cols if c in dv or (c.startswith(pre) and c not in known)]
    extra = [c for c in cols if c not in known and c not in feats]
    if extra:
        raise DataError(
            f"unexpected column(s): {', '.join(extra[:5])}; a table holds feature columns (the "
            f"26 DEEP-VOICE names or names starting {', '.join(pre)}), a label and provenance "
            "columns (file, window, start_s, group, split ...)",
            source,
        )
    if dv & set(cols) or not feats:
        missing = [c for c in DEEP_VOICE_FEATURES if c not in cols]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise DataError(f"missing feature column(s): {shown}", source)
        # the 26 DEEP-VOICE columns always come first, in their canonical order
        feats = [*DEEP_VOICE_FEATURES, *(c for c in feats if c not in dv)]
    return feats


def _sets_of(feats: list[str], info: dict[str, Any] | None, source: str) -> list[dict[str, Any]]:
    """The feature sets behind ``feats``: from the metadata (checked), else from the names."""
    from dfaudio.features.sets import get, prefixes

    dv = set(DEEP_VOICE_FEATURES)
    by_prefix = prefixes()

    def owner(col: str) -> str:
        if col in dv:
            return "deep-voice"
        return next(n for p, n in by_prefix.items() if col.startswith(p))

    counts: dict[str, int] = {}
    for c in feats:
        counts[owner(c)] = counts.get(owner(c), 0) + 1
    if info is None:
        out = []
        for name in counts:
            e = get(name)
            spec = "ssl:?" if name == "ssl" else name
            out.append(
                {
                    "name": name,
                    "spec": spec,
                    "version": e.version,
                    "prefix": e.prefix,
                    "params": None,
                    "inferred": True,
                }
            )
        return out
    sets = [dict(r) for r in info["feature_sets"]]
    recorded = {str(r.get("name")) for r in sets}
    if recorded != set(counts):
        raise DataError(
            f"the feature metadata lists set(s) {', '.join(sorted(recorded))} but the columns "
            f"belong to {', '.join(sorted(counts)) or 'none'}; re-create the table or remove "
            f"{sidecar_path(source).name}",
            source,
        )
    for r in sets:
        n = r.get("n_columns")
        if n is not None and int(n) != counts[str(r["name"])]:
            raise DataError(
                f"feature set {r.get('spec', r['name'])!r} should have {n} columns, the table "
                f"has {counts[str(r['name'])]}",
                source,
            )
    return sets


#: Largest feature magnitude a table may hold: squares and sums of squares (scalers, variances,
#: distances) of larger values overflow float64 (1e308).
MAX_FEATURE_ABS = 1e150


def validate_table(
    df: pd.DataFrame, *, source: str = "<table>", info: dict[str, Any] | None = None
) -> FeatureTable:
    """Validate an in-memory table (see :func:`read_table`); ``info`` is its feature metadata."""
    cols = [str(c).strip() for c in df.columns]
    df = df.set_axis(cols, axis=1)
    if len(df) == 0:
        raise DataError("table has no rows", source)
    label_col = LABEL if LABEL in cols else DEEP_VOICE_LABEL if DEEP_VOICE_LABEL in cols else None
    if label_col is None:
        raise DataError(f"no label column (expected '{LABEL}' or '{DEEP_VOICE_LABEL}')", source)
    feats = _feature_columns(cols, source)
    sets = _sets_of(feats, info, source)
    block = df[feats]
    non_numeric = [c for c in feats if not pd.api.types.is_numeric_dtype(block[c])]
    if non_numeric:
        c = non_numeric[0]
        bad = pd.to_numeric(block[c], errors="coerce").isna() & block[c].notna()
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2 if bad.any() else 2
        raise DataError(
            f"column {c!r} is not numeric (line {row}: {block[c].iloc[row - 2]!r})", source
        )
    X = block.to_numpy(dtype=np.float64)
    finite = np.isfinite(X)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        n_bad = int((~finite).any(axis=1).sum())
        raise DataError(
            f"{n_bad} row(s) with NaN or infinite values (first: line {r + 2}, column "
            f"{feats[c]!r}); drop or fix them",
            source,
        )
    huge = np.abs(X) > MAX_FEATURE_ABS
    if huge.any():
        r, c = np.argwhere(huge)[0]
        raise DataError(
            f"{int(huge.any(axis=1).sum())} row(s) with values beyond +-{MAX_FEATURE_ABS:.0e} "
            f"(first: line {r + 2}, column {feats[c]!r}: {float(X[r, c]):g}), whose squares "
            "overflow the models' arithmetic; drop or fix them",
            source,
        )
    labels = df[label_col]
    if labels.isna().any():
        raise DataError(f"empty label at line {int(np.flatnonzero(labels.isna())[0]) + 2}", source)
    y = encode_labels(labels.astype(str).to_numpy(), source=source)
    if len(np.unique(y)) < 2:
        only = "bonafide" if y[0] == 0 else "spoof"
        raise DataError(f"only one class ({only}) in the table; need bona fide and spoof", source)
    meta = df[[c for c in PROVENANCE if c in cols]].reset_index(drop=True)
    window = None if info is None else info.get("window")
    return FeatureTable(
        X=X, y=y, meta=meta, features=feats, source=source, feature_sets=sets, window=window
    )
