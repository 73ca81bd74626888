"""Reading and validating feature tables (dfaudio's schema or the original DEEP-VOICE CSV)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError
from dfaudio.labels import LABEL_IDS, canonical_label
from dfaudio.schema import DEEP_VOICE_FEATURES, DEEP_VOICE_LABEL, LABEL, PROVENANCE


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
    """

    X: np.ndarray
    y: np.ndarray
    meta: pd.DataFrame
    features: list[str]
    source: str

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
    """Read and validate a feature table.

    Accepts dfaudio tables (26 features + ``label`` + provenance) and the original DEEP-VOICE
    ``DATASET-balanced.csv`` (26 features + ``LABEL`` REAL/FAKE).

    Raises
    ------
    DataError
        One line naming the file and the problem: missing, extra or non-numeric columns, NaN or
        infinite values, unknown labels, or a single class.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("table not found", p)
    try:
        df = pd.read_csv(p, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError("table is empty", p) from None
    except Exception as exc:
        raise DataError(f"cannot parse CSV: {' '.join(str(exc).split())}", p) from None
    return validate_table(df, source=str(p))


def validate_table(df: pd.DataFrame, *, source: str = "<table>") -> FeatureTable:
    """Validate an in-memory table (see :func:`read_table`)."""
    cols = [str(c).strip() for c in df.columns]
    df = df.set_axis(cols, axis=1)
    if len(df) == 0:
        raise DataError("table has no rows", source)
    label_col = LABEL if LABEL in cols else DEEP_VOICE_LABEL if DEEP_VOICE_LABEL in cols else None
    if label_col is None:
        raise DataError(f"no label column (expected '{LABEL}' or '{DEEP_VOICE_LABEL}')", source)
    missing = [c for c in DEEP_VOICE_FEATURES if c not in cols]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DataError(f"missing feature column(s): {shown}", source)
    known = set(DEEP_VOICE_FEATURES) | set(PROVENANCE) | {LABEL, DEEP_VOICE_LABEL}
    extra = [c for c in cols if c not in known]
    if extra:
        raise DataError(
            f"unexpected column(s): {', '.join(extra[:5])}; a table holds the 26 DEEP-VOICE "
            "features, a label and provenance columns (file, window, start_s, group, split ...)",
            source,
        )
    feats = list(DEEP_VOICE_FEATURES)
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
    labels = df[label_col]
    if labels.isna().any():
        raise DataError(f"empty label at line {int(np.flatnonzero(labels.isna())[0]) + 2}", source)
    uniq = {v: LABEL_IDS[canonical_label(v, source=source)] for v in pd.unique(labels)}
    y = labels.map(uniq).to_numpy(dtype=np.int64)
    if len(np.unique(y)) < 2:
        only = "bonafide" if y[0] == 0 else "spoof"
        raise DataError(f"only one class ({only}) in the table; need bona fide and spoof", source)
    meta = df[[c for c in PROVENANCE if c in cols]].reset_index(drop=True)
    return FeatureTable(X=X, y=y, meta=meta, features=feats, source=source)
