"""One leaderboard over every run (reads ``metrics.json`` files only; never imports torch).

Every number on a row is one quantity with its own interval: the EER and accuracy are computed
over **all held-out scores of the run pooled** (the same scores ``scores.csv`` holds and the EER
threshold ``predict`` uses), and ``EER CI95`` / ``acc CI95`` are the 95 % bootstrap intervals of
that same pooled value, resampling whole recordings (groups). The mean and standard deviation over
folds of K-fold runs sit in their own columns (``EER folds``), never beside an interval they do
not belong to.

Runs are ranked by pooled EER (lower is better; ties: higher accuracy). A run scored on fewer than
:data:`MIN_TRIALS_PER_CLASS` bona fide or spoof trials is **not ranked**: it is listed after the
ranked runs, marked ``-`` in the ``#`` column with the reason in ``note``. With ``n`` trials per
class one trial moves an error rate by ``1/n``, and an EER of 0 on ``n`` trials is consistent at
95 % with a true error rate up to about ``3/n`` (the rule of three): ``3/25`` = 12 %, an honest
floor for "this point says something"; the README's two-file deep demo (one trial per class) would
otherwise rank first with EER 0.00 %.

The table is a list of column specs (:data:`COLUMNS`, :class:`Column`): each says how to read its
value from ``metrics.json``, how to print it and how to align it; :func:`add_column` inserts a new
one (minDCF, feature-set names ...) without touching the renderers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.runs.record import headline
from dfaudio.runs.store import iter_runs, load_metrics

__all__ = [
    "COLUMNS",
    "FORMATS",
    "LEGEND",
    "MIN_TRIALS_PER_CLASS",
    "Column",
    "add_column",
    "collect",
    "display_frame",
    "rank",
    "render",
    "right_aligned",
]

#: Fewest held-out trials (scored windows or clips) per class for a run to be ranked.
MIN_TRIALS_PER_CLASS = 25

FORMATS = ("table", "csv", "markdown", "json")

#: Printed under the terminal table.
LEGEND = (
    "EER/acc: over all held-out scores of the run pooled; CI95: 95 % bootstrap interval of that "
    "same pooled value, resampling whole recordings/groups; folds: mean +/- std over CV folds. "
    "bona/spoof: held-out trials per class.\n"
    f"#: rank by pooled EER; '-' = not ranked (fewer than {MIN_TRIALS_PER_CLASS} trials per "
    "class, see note), listed after the ranked runs.\n"
    "split: grouped = no recording/speaker on both sides; given = the corpus's own split; "
    "stratified = table without provenance; leaky = windows of one recording on both sides.\n"
    "test: in-corpus = held out from the training corpus; unseen-attack = held-out attacks no "
    "training row had; cross-corpus = another corpus (fit-sklearn --eval-data), one row per "
    "(run, test set). attacks mean/worst: EER over held-out attacks (--split-by attack). "
    "shortcut: nuisance facts dfaudio audit flagged in the training data. file minDCF/actDCF "
    "(compare): ASVspoof 5 costs over the run's held-out FILE scores (not the pooled windows of "
    "EER/acc), actDCF through the run's cross-fitted calibration map; no interval (dfaudio "
    "evaluate --bootstrap gives one)."
)


# ---------------------------------------------------------------------------------- columns


def _int(x: Any) -> str:
    return "" if x is None or pd.isna(x) else str(int(x))


def _pct(x: Any) -> str:
    return _number(x, lambda v: f"{100 * v:.2f}")


def _num4(x: Any) -> str:
    return _number(x, lambda v: f"{v:.4f}")


def _number(x: Any, show: Callable[[float], str]) -> str:
    """'' for a missing value, 'nan' for NaN or infinity (never a blank or 'inf' cell)."""
    if x is None:
        return ""
    v = float(x)
    return show(v) if math.isfinite(v) else "nan"


def _ci(ci: Any) -> str:
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or ci[0] is None:
        return ""
    return f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f}"


def _mean_std(pair: Any) -> str:
    if not isinstance(pair, (list, tuple)) or pair[0] is None or pd.isna(pair[0]):
        return ""
    mean, std = pair
    return f"{100 * mean:.2f}" + ("" if std is None or pd.isna(std) else f" ± {100 * std:.2f}")


def _text(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x)


def _interval(ci: Any) -> list[float] | None:
    """A ``[low, high]`` pair from metrics.json, else ``None``."""
    return list(ci) if isinstance(ci, list) and len(ci) == 2 else None


def _fold(m: dict[str, Any], key: str) -> list[float | None] | None:
    """``[mean, std]`` over folds (schema 2 keys, or schema 1's fold mean under ``key``)."""
    if m.get("metrics_schema", 1) >= 2:
        if m.get(f"{key}_fold_mean") is None:
            return None
        return [m.get(f"{key}_fold_mean"), m.get(f"{key}_fold_std")]
    if int(m.get("n_folds") or 1) > 1 and m.get(key) is not None:
        return [m.get(key), m.get(f"{key}_std")]
    return None


def _test_kind(m: dict[str, Any]) -> str:
    """What the held-out rows of a run are: ``in-corpus``, or ``unseen-attack`` for
    leave-one-attack-out runs and given splits whose every held-out attack is new to training."""
    if m.get("protocol") == "attack":
        return "unseen-attack"
    per = m.get("per_attack")
    if isinstance(per, dict) and per and not any(v.get("seen_in_training") for v in per.values()):
        return "unseen-attack"
    return "in-corpus"


def _held_out_attacks(m: dict[str, Any]) -> list[float] | None:
    """``[mean, worst]`` EER over held-out attacks (``--split-by attack`` runs)."""
    if m.get("held_out_eer_mean") is None:
        return None
    return [m["held_out_eer_mean"], m.get("held_out_eer_worst")]


def _mean_worst(pair: Any) -> str:
    if not isinstance(pair, (list, tuple)) or pair[0] is None:
        return ""
    return f"{100 * pair[0]:.2f} / {100 * pair[1]:.2f}"


def _shortcuts(m: dict[str, Any]) -> str:
    """Facts ``dfaudio audit`` flagged in the training data (from the run's warnings)."""
    facts = [
        str(w).split()[1]
        for w in m.get("warnings") or []
        if str(w).startswith("shortcut: ") and len(str(w).split()) > 1
    ]
    return ",".join(facts)


def _eval_rows(m: dict[str, Any], row: dict[str, Any]) -> list[dict[str, Any]]:
    """One more row per external test set of a run (``eval_sets``, ``fit-sklearn --eval-data``)."""
    out = []
    keep = {"model", "kind", "features", "split_type", "created", "run", "shortcut", "run_dir"}
    for name, e in (m.get("eval_sets") or {}).items():
        r = {k: (v if k in keep else None) for k, v in row.items()}  # no run metric leaks in
        r.update(
            data=f"{name} (trained on {row.get('data')})",
            test=e.get("kind", "cross-corpus"),
            n_rows=None,
            n_scored=(e.get("n_bonafide") or 0) + (e.get("n_spoof") or 0),
            n_bonafide=e.get("n_bonafide"),
            n_spoof=e.get("n_spoof"),
            eer=e.get("eer"),
            eer_ci95=_interval(e.get("eer_ci95")),
            eer_folds=None,
            accuracy=e.get("accuracy"),
            accuracy_ci95=_interval(e.get("accuracy_ci95")),
            accuracy_folds=None,
            held_out_attacks=None,
            roc_auc=e.get("roc_auc"),
        )
        r["eval_set"] = name
        r["note"] = _rank_note(r)
        r["ranked"] = r["note"] == ""
        out.append(r)
    return out


def _trials(m: dict[str, Any], cls: str) -> int | None:
    value = m.get(f"n_{cls}")
    if value is None and isinstance(m.get("pooled"), dict):
        value = m["pooled"].get(f"n_{cls}")
    return None if value is None else int(value)


@dataclass(frozen=True)
class Column:
    """One leaderboard column.

    Attributes
    ----------
    key : str
        Name in CSV / JSON output and in the :func:`collect` frame.
    header : str
        Heading in the terminal, Markdown and HTML tables.
    value : callable
        ``value(metrics) -> raw value`` (fractions, lists, strings), from one run's
        ``metrics.json`` (with ``run_dir`` added).
    fmt : callable
        Raw value -> display text.
    right : bool
        Right-align (numbers).
    export : bool
        Include in CSV / JSON.
    display : bool
        Include in the human tables.
    """

    key: str
    header: str
    value: Callable[[dict[str, Any]], Any]
    fmt: Callable[[Any], str] = _text
    right: bool = False
    export: bool = True
    display: bool = True


#: The columns, in order. ``rank``, ``ranked`` and ``note`` are filled in by :func:`collect`.
COLUMNS: list[Column] = [
    Column("rank", "#", lambda m: None, fmt=lambda r: "-" if r is None else _int(r), right=True),
    Column("model", "model", lambda m: m.get("model", "?")),
    Column("kind", "kind", lambda m: m.get("kind", "?")),
    Column("features", "features", lambda m: m.get("features", "?")),
    Column("data", "data", lambda m: m.get("data", "?")),
    Column("test", "test", _test_kind),
    Column("split_type", "split", lambda m: m.get("split_type", "?")),
    Column("n_rows", "rows", lambda m: m.get("n_rows"), fmt=_int, right=True),
    Column(
        "n_scored", "scored", lambda m: m.get("n_test_rows"), fmt=_int, right=True, display=False
    ),
    Column("n_bonafide", "bona", lambda m: _trials(m, "bonafide"), fmt=_int, right=True),
    Column("n_spoof", "spoof", lambda m: _trials(m, "spoof"), fmt=_int, right=True),
    Column("eer", "EER %", lambda m: headline(m, "eer"), fmt=_pct, right=True),
    Column("eer_ci95", "EER CI95", lambda m: _interval(m.get("eer_ci95")), fmt=_ci, right=True),
    Column("eer_folds", "EER folds", lambda m: _fold(m, "eer"), fmt=_mean_std, right=True),
    Column(
        "held_out_attacks", "attacks mean/worst", _held_out_attacks, fmt=_mean_worst, right=True
    ),
    Column("accuracy", "acc %", lambda m: headline(m, "accuracy"), fmt=_pct, right=True),
    Column(
        "accuracy_ci95",
        "acc CI95",
        lambda m: _interval(m.get("accuracy_ci95")),
        fmt=_ci,
        right=True,
    ),
    Column(
        "accuracy_folds", "acc folds", lambda m: _fold(m, "accuracy"), fmt=_mean_std, right=True
    ),
    Column("roc_auc", "AUC", lambda m: headline(m, "roc_auc"), fmt=_num4, right=True),
    Column(
        "created", "date", lambda m: str(m.get("created", ""))[:19].replace("T", " "), display=False
    ),
    Column("run", "run", lambda m: Path(str(m.get("run_dir", ""))).name),
    Column("shortcut", "shortcut", _shortcuts),
    Column("eval_set", "eval set", lambda m: None, display=False),
    Column("note", "note", lambda m: ""),
]


def add_column(column: Column, *, after: str | None = None) -> None:
    """Insert ``column`` after the column keyed ``after`` (default: before ``created``).

    Raises
    ------
    ParameterError
        The key exists already, or ``after`` names no column.
    """
    keys = [c.key for c in COLUMNS]
    if column.key in keys:
        raise ParameterError(f"leaderboard column {column.key!r} exists already")
    anchor = after if after is not None else keys[keys.index("created") - 1]
    if anchor not in keys:
        raise ParameterError(f"no leaderboard column {anchor!r} to insert after")
    COLUMNS.insert(keys.index(anchor) + 1, column)


# ---------------------------------------------------------------------------------- rows


def _rank_note(row: dict[str, Any]) -> str:
    """Why a run is not ranked ('' when it is)."""
    nb, ns = row.get("n_bonafide"), row.get("n_spoof")
    if row.get("eer") is None or pd.isna(row.get("eer")):
        return "no EER"
    if nb is None or ns is None or pd.isna(nb) or pd.isna(ns):
        return "trials per class unknown"
    if min(nb, ns) < MIN_TRIALS_PER_CLASS:
        return (
            f"too few trials to rank: {int(nb)} bona fide / {int(ns)} spoof "
            f"(< {MIN_TRIALS_PER_CLASS} per class)"
        )
    return ""


def collect(runs_dir: str | Path) -> pd.DataFrame:
    """One row per finished run below ``runs_dir``: ranked runs by pooled EER, then the rest.

    Runs whose ``metrics.json`` cannot be read are skipped; their errors are listed in
    ``DataFrame.attrs["skipped"]``.

    Returns
    -------
    pd.DataFrame
        One column per :data:`COLUMNS` key, plus ``ranked`` (bool) and ``run_dir``.
    """
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for run in iter_runs(runs_dir):
        try:
            m = load_metrics(run)
            row = {c.key: c.value(m) for c in COLUMNS}
            row["note"] = _rank_note(row)
            row["ranked"] = row["note"] == ""
            for c in COLUMNS:  # a value that cannot be shown (a list where a number belongs)
                c.fmt(row[c.key])
        except DataError as exc:
            skipped.append(str(exc))
            continue
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            detail = " ".join(str(exc).split())[:120] or type(exc).__name__
            skipped.append(f"{Path(run) / 'metrics.json'}: unusable values ({detail})")
            continue
        row["run_dir"] = str(run)
        rows.append(row)
        rows += _eval_rows(m, row)  # one row per (run, external test set)
    df = rank(pd.DataFrame(rows, columns=[*(c.key for c in COLUMNS), "ranked", "run_dir"]))
    df.attrs["skipped"] = skipped
    return df


def rank(df: pd.DataFrame) -> pd.DataFrame:
    """Sort ranked runs by pooled EER (ties: higher accuracy), unranked after; number them.

    Call it again after filtering rows, so that ranks stay 1, 2, 3 ...
    """
    attrs = dict(df.attrs)
    if len(df):
        keys = pd.DataFrame(
            {
                "ranked": df["ranked"].astype(bool),
                "eer": pd.to_numeric(df["eer"], errors="coerce"),
                "acc": pd.to_numeric(df["accuracy"], errors="coerce"),
            }
        )
        order = keys.sort_values(
            ["ranked", "eer", "acc"],
            ascending=[False, True, False],
            na_position="last",
            kind="stable",
        ).index
        df = df.loc[order].reset_index(drop=True)
        n_ranked = int(df["ranked"].sum())
        df["rank"] = pd.Series(
            [i + 1 if i < n_ranked else None for i in range(len(df))], dtype=object
        )
    df.attrs = attrs
    return df


# ---------------------------------------------------------------------------------- output


def _columns(df: pd.DataFrame) -> list[Column]:
    return [c for c in COLUMNS if c.key in df.columns]


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Human-formatted copy: percentages with two decimals, intervals as ranges."""
    cols = [c for c in _columns(df) if c.display]
    return pd.DataFrame(
        {c.header: [_visible(c.fmt(v)) for v in df[c.key]] for c in cols}, index=df.index
    )


def _visible(text: str) -> str:
    """Control characters (newlines, terminal escapes) shown as ``\\n``, ``\\x1b``: a model
    name cannot break a table row or reach the terminal as a command."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: repr(m.group())[1:-1], str(text))


def right_aligned() -> frozenset[str]:
    """Headers of the right-aligned (numeric) columns."""
    return frozenset(c.header for c in COLUMNS if c.right)


def _export(df: pd.DataFrame) -> pd.DataFrame:
    out = df[[c.key for c in _columns(df) if c.export] + ["ranked"]].copy()
    for key in ("eer_folds", "accuracy_folds"):  # [mean, std] -> two plain columns
        if key in out.columns:
            base = key.removesuffix("_folds")
            pairs = [v if isinstance(v, (list, tuple)) else [None, None] for v in out[key]]
            pos = out.columns.get_loc(key)
            out.insert(pos, f"{base}_fold_std", [p[1] for p in pairs])
            out.insert(pos, f"{base}_fold_mean", [p[0] for p in pairs])
            out = out.drop(columns=[key])
    return out


def render(df: pd.DataFrame, fmt: str = "table") -> str:
    """Render the leaderboard as a terminal table, CSV, Markdown or JSON.

    CSV and JSON hold the raw values (fractions, ``[low, high]`` intervals, fold mean and std as
    separate fields); the terminal and Markdown tables the formatted ones.

    Raises
    ------
    ParameterError
        Unknown ``fmt``.
    """
    if fmt not in FORMATS:
        raise ParameterError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if fmt == "json":
        out = _export(df).astype(object)
        recs = out.where(pd.notna(out), None).to_dict("records")
        return json.dumps(recs, indent=2, default=_json_default)
    if fmt == "csv":
        return _export(df).to_csv(index=False)
    disp = display_frame(df)
    right = right_aligned()
    if fmt == "markdown":
        head = "| " + " | ".join(disp.columns) + " |"
        sep = "|" + "|".join("---:" if c in right else "---" for c in disp.columns) + "|"
        body = [
            "| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |"
            for row in disp.to_numpy()
        ]
        return "\n".join([head, sep, *body])
    return _text_table(disp, right) + "\n\n" + LEGEND


def _json_default(x: Any) -> Any:
    if isinstance(x, float) and x != x:
        return None
    if hasattr(x, "item"):
        return x.item()
    return str(x)


def _text_table(disp: pd.DataFrame, right: frozenset[str]) -> str:
    cols = list(disp.columns)
    cells = [[str(v) for v in row] for row in disp.to_numpy()]
    widths = [
        max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(cols)
    ]

    def fmt_row(vals: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if c in right else v.ljust(w)
            for v, w, c in zip(vals, widths, cols, strict=True)
        ).rstrip()

    lines = [fmt_row(cols), "  ".join("-" * w for w in widths)]
    lines += [fmt_row(r) for r in cells]
    return "\n".join(lines)
