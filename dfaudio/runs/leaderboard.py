"""One leaderboard over every run (reads ``metrics.json`` files only; never imports torch).

Rows are sorted by EER (lower is better); the split type is always shown, so a leaky or
provenance-free result cannot pass for a grouped one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.runs.store import iter_runs, load_metrics

#: Printed under the terminal table.
LEGEND = (
    "acc/EER: mean over CV folds, or on the held-out split; CI95: 95 % bootstrap interval of all "
    "held-out scores pooled, resampling whole groups; scored: rows the metrics rest on.\n"
    "split: grouped = no recording/speaker on both sides; given = the corpus's own split; "
    "stratified = table without provenance; leaky = windows of one recording on both sides."
)

FORMATS = ("table", "csv", "markdown", "json")
#: Right-aligned display columns.
_RIGHT = frozenset({"#", "rows", "scored", "acc %", "EER %", "AUC"})
COLUMNS = (
    "model", "kind", "features", "data", "split_type", "n_rows", "n_scored", "accuracy",
    "accuracy_ci95", "eer", "eer_ci95",
    "roc_auc", "created", "run",
)  # fmt: skip


def collect(runs_dir: str | Path) -> pd.DataFrame:
    """One row per finished run below ``runs_dir``, sorted by EER then accuracy.

    Runs whose ``metrics.json`` cannot be read are skipped with a warning row count in
    ``DataFrame.attrs["skipped"]``.
    """
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for run in iter_runs(runs_dir):
        try:
            m = load_metrics(run)
        except DataError as exc:
            skipped.append(str(exc))
            continue
        rows.append(
            {
                "model": m.get("model", "?"),
                "kind": m.get("kind", "?"),
                "features": m.get("features", "?"),
                "data": m.get("data", "?"),
                "split_type": m.get("split_type", "?"),
                "n_rows": m.get("n_rows"),
                "n_scored": m.get("n_test_rows"),
                "accuracy": m.get("accuracy"),
                "accuracy_ci95": _interval(m.get("accuracy_ci95")),
                "eer": m.get("eer"),
                "eer_ci95": _interval(m.get("eer_ci95")),
                "roc_auc": m.get("roc_auc"),
                "created": str(m.get("created", ""))[:19].replace("T", " "),
                "run": str(Path(run).name),
                "run_dir": str(run),
            }
        )
    df = pd.DataFrame(rows, columns=[*COLUMNS, "run_dir"])
    if len(df):
        df = df.sort_values(["eer", "accuracy"], ascending=[True, False], na_position="last")
        df = df.reset_index(drop=True)
    df.attrs["skipped"] = skipped
    return df


def _interval(ci: Any) -> list[float] | None:
    """A ``[low, high]`` pair from metrics.json, else ``None``."""
    return ci if isinstance(ci, list) and len(ci) == 2 else None


def _int(x: Any) -> str:
    return "" if x is None or pd.isna(x) else str(int(x))


def _pct(x: Any) -> str:
    return "" if x is None or pd.isna(x) else f"{100 * float(x):.2f}"


def _ci(ci: Any) -> str:
    if not isinstance(ci, list) or ci[0] is None:
        return ""
    return f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}"


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Human-formatted copy: percentages with two decimals, CI as a range."""
    out = pd.DataFrame(
        {
            "#": range(1, len(df) + 1),
            "model": df["model"],
            "kind": df["kind"],
            "features": df["features"],
            "data": df["data"],
            "split": df["split_type"],
            "rows": df["n_rows"].map(_int),
            "scored": df["n_scored"].map(_int),
            "acc %": df["accuracy"].map(_pct),
            "acc CI95": df["accuracy_ci95"].map(_ci),
            "EER %": df["eer"].map(_pct),
            "EER CI95": df["eer_ci95"].map(_ci),
            "AUC": df["roc_auc"].map(lambda v: "" if v is None or pd.isna(v) else f"{v:.4f}"),
            "date": df["created"],
            "run": df["run"],
        }
    )
    return out


def render(df: pd.DataFrame, fmt: str = "table") -> str:
    """Render the leaderboard as a terminal table, CSV, Markdown or JSON."""
    if fmt not in FORMATS:
        raise ParameterError(f"--format must be one of {FORMATS}")
    if fmt == "json":
        recs = df.drop(columns=["run_dir"]).to_dict("records")
        return json.dumps(recs, indent=2, default=str)
    if fmt == "csv":
        return df.drop(columns=["run_dir"]).to_csv(index=False)
    disp = display_frame(df)
    if fmt == "markdown":
        head = "| " + " | ".join(disp.columns) + " |"
        sep = "|" + "|".join("---:" if c in _RIGHT else "---"
                             for c in disp.columns) + "|"  # fmt: skip
        body = ["| " + " | ".join(str(v) for v in row) + " |" for row in disp.to_numpy()]
        return "\n".join([head, sep, *body])
    return _text_table(disp) + "\n\n" + LEGEND


def _text_table(disp: pd.DataFrame) -> str:
    cols = list(disp.columns)
    cells = [[str(v) for v in row] for row in disp.to_numpy()]
    widths = [
        max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(cols)
    ]

    def fmt_row(vals: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if c in _RIGHT else v.ljust(w)
            for v, w, c in zip(vals, widths, cols, strict=True)
        ).rstrip()

    lines = [fmt_row(cols), "  ".join("-" * w for w in widths)]
    lines += [fmt_row(r) for r in cells]
    return "\n".join(lines)
