"""The generalization matrix: train on one corpus, test on every other.

Rows are training sets, columns test sets, one matrix per model:

* **diagonal** (``in-corpus``): grouped K-fold cross-validation inside the corpus, exactly the run
  ``dfaudio fit-sklearn --data TABLE --model M --cv K --split-by group --seed S`` makes (it calls
  :func:`dfaudio.training.fit_sklearn.fit_sklearn`); the pooled held-out EER with its 95 %
  group-bootstrap interval.
* **off-diagonal** (``cross-corpus``): the model fitted on *all* rows of the row corpus scores
  every row of the column corpus; pooled EER over its windows with the 95 % bootstrap interval
  resampling the column's groups (recordings, real/fake pairs).

A corpus without provenance (the DEEP-VOICE CSV: no ``file``/``group`` columns) is a training row
only: its windows cannot be grouped into recordings, so neither its diagonal nor a column on it
would have an honest interval. A column whose feature columns differ from the row's is ``n/a``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.tables import FeatureTable

__all__ = [
    "FORMATS",
    "Cell",
    "Corpus",
    "Matrix",
    "crosseval",
    "heatmap",
    "load_corpus",
    "parse_named",
    "render",
]

#: Cell kinds.
IN_CORPUS, CROSS_CORPUS = "in-corpus", "cross-corpus"
#: Cells with fewer held-out trials of a class are marked (the leaderboard's ranking rule).
MIN_TRIALS_PER_CLASS = 25
FORMATS = ("table", "markdown", "csv", "json")


@dataclass
class Corpus:
    """One named data set of the matrix."""

    name: str
    table: FeatureTable
    source: str
    test_ok: bool = True
    note: str = ""
    train_ok: bool = True


@dataclass
class Cell:
    """One (model, train, test) result."""

    model: str
    train: str
    test: str
    kind: str
    eer: float | None = None
    ci95: tuple[float, float] | None = None
    n_bonafide: int = 0
    n_spoof: int = 0
    note: str = ""
    folds: int | None = None

    @property
    def few_trials(self) -> bool:
        """Fewer than :data:`MIN_TRIALS_PER_CLASS` trials of a class: an anecdote, not a rate."""
        return self.eer is not None and min(self.n_bonafide, self.n_spoof) < MIN_TRIALS_PER_CLASS

    def as_dict(self) -> dict[str, Any]:
        """JSON/CSV-ready form."""
        return {
            "model": self.model,
            "train": self.train,
            "test": self.test,
            "kind": self.kind,
            "eer": self.eer,
            "eer_ci95_low": self.ci95[0] if self.ci95 else None,
            "eer_ci95_high": self.ci95[1] if self.ci95 else None,
            "n_bonafide": self.n_bonafide,
            "n_spoof": self.n_spoof,
            "few_trials": self.few_trials,
            "folds": self.folds,
            "note": self.note,
        }


@dataclass
class Matrix:
    """All cells, the corpora, and how they were made."""

    corpora: list[str]
    models: list[str]
    cells: list[Cell]
    cv: int
    seed: int
    notes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def cell(self, model: str, train: str, test: str) -> Cell | None:
        """The cell of (model, train, test), if computed."""
        for c in self.cells:
            if (c.model, c.train, c.test) == (model, train, test):
                return c
        return None

    def frame(self) -> pd.DataFrame:
        """Long form: one row per cell."""
        return pd.DataFrame([c.as_dict() for c in self.cells])

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "corpora": self.corpora,
            "test_columns": self.columns,
            "models": self.models,
            "cv": self.cv,
            "seed": self.seed,
            "diagonal": "grouped K-fold CV inside the corpus (pooled held-out EER)",
            "off_diagonal": "fitted on all rows of the train corpus, scored on the test corpus",
            "interval": "95 % bootstrap of the pooled EER, resampling whole groups",
            "cells": [c.as_dict() for c in self.cells],
            "notes": list(self.notes),
        }


# ----------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------


def parse_named(items: Sequence[str]) -> list[tuple[str, str]]:
    """``NAME=PATH`` items -> (name, path); a bare PATH is named after its file or folder.

    Raises
    ------
    ParameterError
        A repeated name or an empty part.
    """
    out: list[tuple[str, str]] = []
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            path, name = item, Path(item.rstrip("/")).stem
        if not name or not path:
            raise ParameterError(f"data set {item!r}: expected NAME=PATH")
        if name in {n for n, _ in out}:
            raise ParameterError(f"data set name {name!r} given twice")
        out.append((name, path))
    return out


def load_corpus(
    name: str,
    path: str | Path,
    *,
    sr: int | None = 16000,
    jobs: int = 1,
    on_failure: Any = None,
    label_map: dict[str, str] | None = None,
    feature_sets: str | None = None,
) -> Corpus:
    """A table as it is, or audio (any layout ``dfaudio tabulate`` reads) tabulated in memory.

    Audio is resampled to ``sr`` (default 16 kHz) so that every corpus has the same features at
    the same rate; a table keeps the rate it was made at (see its ``sr`` column). ``label_map``
    names extra class folders of audio inputs (``{"LJSpeech": "bonafide"}``); ``feature_sets``
    the sets audio is tabulated with (``"deep-voice"`` by default, see ``tabulate --features``).
    """
    from dfaudio.generalization.audit import is_feature_table
    from dfaudio.tables import read_table, validate_table

    p = Path(path)
    if p.is_file() and is_feature_table(p):
        table = read_table(p)
    else:
        from dfaudio.datasets import load_manifest
        from dfaudio.tabular import tabulate

        manifest = load_manifest([p], label_map=label_map)
        res = tabulate(
            manifest,
            sr=sr,
            progress=False,
            jobs=jobs,
            on_failure=on_failure,
            feature_sets=feature_sets,
        )
        if len(res.table) == 0:
            raise DataError("no file could be used", p)
        table = validate_table(res.table, source=str(p), info=res.info or None)
    corpus = Corpus(name=name, table=table, source=str(p))
    if not table.has_provenance:
        corpus.test_ok = False
        corpus.note = (
            f"{name}: no provenance (no file/group columns): a training row only; its windows "
            "cannot be grouped into recordings, so no in-corpus cell and no test column"
        )
    return corpus


# ----------------------------------------------------------------------------------------------
# the matrix
# ----------------------------------------------------------------------------------------------


def _interval(labels: np.ndarray, scores: np.ndarray, groups: Any, seed: int, n_boot: int) -> Any:
    from dfaudio import evaluation

    if not n_boot:
        return None
    try:
        return evaluation.bootstrap_ci(
            labels, scores, groups=groups, metric="eer", n_boot=n_boot, seed=seed
        )
    except DataError:
        return None


def _diagonal(c: Corpus, model: str, *, cv: int, seed: int, jobs: int) -> Cell:
    from dfaudio.training.fit_sklearn import fit_sklearn

    cell = Cell(model, c.name, c.name, IN_CORPUS)
    if not c.test_ok:
        cell.note = "no provenance"
        return cell
    res = None
    for k in range(cv, 1, -1):  # small corpora: fewer folds, said in the cell
        try:
            res = fit_sklearn(
                c.table, model=model, cv=k, split_by="group", seed=seed, runs_dir=None, jobs=jobs
            )
            break
        except ParameterError as exc:
            cell.note = str(exc)
    if res is None:
        return cell
    cell.folds = k
    cell.note = "" if k == cv else f"{k}-fold (too few groups for {cv})"
    m = res.metrics
    cell.eer = float(m["eer"])
    ci = m.get("eer_ci95")
    cell.ci95 = (float(ci[0]), float(ci[1])) if ci and ci[0] is not None else None
    labels = res.scores["label"].astype(str)
    cell.n_bonafide = int((labels == "bonafide").sum())
    cell.n_spoof = int((labels == "spoof").sum())
    return cell


def _cross(est: Any, train: Corpus, test: Corpus, model: str, *, seed: int, n_boot: int) -> Cell:
    from dfaudio import evaluation
    from dfaudio.labels import CLASS_NAMES
    from dfaudio.models.scores import model_scores

    cell = Cell(model, train.name, test.name, CROSS_CORPUS)
    if list(train.table.features) != list(test.table.features):
        cell.note = "feature columns differ"
        return cell
    score = model_scores(est, test.table.X)[0]
    labels = np.asarray(CLASS_NAMES)[test.table.y]
    cell.eer = float(evaluation.eer(labels, score)[0])
    cell.ci95 = _interval(labels, score, test.table.groups, seed, n_boot)
    cell.n_bonafide = int((test.table.y == 0).sum())
    cell.n_spoof = int((test.table.y == 1).sum())
    return cell


def _rates(t: FeatureTable) -> set[int]:
    if "sr" in t.meta.columns:
        return {int(r) for r in pd.unique(t.meta["sr"])}
    return set()


def crosseval(
    corpora: Sequence[Corpus],
    *,
    models: Sequence[str] = ("logreg",),
    cv: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
    jobs: int = 1,
    progress: Any = None,
) -> Matrix:
    """Compute the train x test matrix of every model (see the module docstring).

    Parameters
    ----------
    corpora : sequence of Corpus
        From :func:`load_corpus`.
    models : sequence of str
        Names from :data:`dfaudio.models.sklearn_zoo.SKLEARN_MODELS`.
    cv : int
        Folds of the in-corpus grouped CV (diagonal).
    seed : int
    n_boot : int
        Bootstrap resamples of the off-diagonal intervals (the diagonal uses the run's own).
    jobs : int
        Folds trained in parallel on the diagonal.
    progress : callable, optional
        Called with one line per cell as it is computed.
    """
    from dfaudio.models.sklearn_zoo import make_model

    if len(corpora) < 1:
        raise ParameterError("give at least one data set")
    for m in models:
        make_model(m, seed=seed)  # fail fast on a bad name
    notes = [c.note for c in corpora if c.note]
    rates = {c.name: _rates(c.table) for c in corpora}
    if len({frozenset(r) for r in rates.values() if r}) > 1:
        shown = ", ".join(f"{k} {sorted(v)}" for k, v in rates.items() if v)
        notes.append(
            f"feature sample rates differ between corpora ({shown}): spectral features (centroid, "
            "roll-off ...) are in Hz and depend on the band; tabulate with one --sr for a fair "
            "matrix"
        )
    cells: list[Cell] = []
    for model in models:
        for row in corpora:
            if not row.train_ok:
                continue
            est = make_model(model, seed=seed)
            est.fit(row.table.X, row.table.y)
            for col in corpora:
                if col is row:
                    cell = _diagonal(row, model, cv=cv, seed=seed, jobs=jobs)
                elif not col.test_ok:
                    continue
                else:
                    cell = _cross(est, row, col, model, seed=seed, n_boot=n_boot)
                cells.append(cell)
                if progress is not None:
                    progress(_cell_line(cell))
    columns = [c.name for c in corpora if c.test_ok]
    names = [c.name for c in corpora if c.train_ok]
    if any(c.few_trials for c in cells):
        notes.append(
            f"*: fewer than {MIN_TRIALS_PER_CLASS} test trials of a class; an anecdote, not a rate"
        )
    return Matrix(names, list(models), cells, cv=cv, seed=seed, notes=notes, columns=columns)


def _cell_line(c: Cell) -> str:
    return f"{c.model}: {c.train} -> {c.test} ({c.kind}): {_fmt(c)}"


def _fmt(c: Cell | None, *, markdown: bool = False) -> str:
    if c is None:
        return "-"
    if c.eer is None:
        return f"n/a ({c.note})" if c.note else "n/a"
    s = f"{100 * c.eer:.1f}"
    if c.ci95:
        s += f" [{100 * c.ci95[0]:.1f}-{100 * c.ci95[1]:.1f}]"
    if c.few_trials:
        s += "*"
    if c.note and c.kind == IN_CORPUS:
        s += f" ({c.note})"
    if markdown and c.kind == IN_CORPUS:
        s = f"**{s}**"
    return s


def render(mx: Matrix, fmt: str = "table") -> str:
    """The matrix as a terminal table, Markdown, CSV (long form) or JSON."""
    import json

    if fmt not in FORMATS:
        raise ParameterError(f"--format must be one of {FORMATS}")
    if fmt == "json":
        from dfaudio.io.files import _json_safe

        return json.dumps(_json_safe(mx.as_dict()), indent=2)
    if fmt == "csv":
        return mx.frame().to_csv(index=False)
    cols = mx.columns
    blocks = []
    for model in mx.models:
        head = ["train \\ test", *cols]
        rows = [
            [r, *(_fmt(mx.cell(model, r, t), markdown=fmt == "markdown") for t in cols)]
            for r in mx.corpora
        ]
        title = (
            f"{model}: EER % [95 % CI]; diagonal = in-corpus grouped {mx.cv}-fold CV, "
            "off-diagonal = cross-corpus (trained on all of the row, tested on the column)"
        )
        if fmt == "markdown":
            lines = [
                f"*{title}*",
                "",
                "| " + " | ".join(head) + " |",
                "|---" + "|---:" * len(cols) + "|",
            ]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
        else:
            widths = [max(len(str(x[i])) for x in [head, *rows]) for i in range(len(head))]
            lines = [title, _row(head, widths), "  ".join("-" * w for w in widths)]
            lines += [_row(r, widths) for r in rows]
        blocks.append("\n".join(lines))
    notes = [f"note: {n}" for n in mx.notes]
    return "\n\n".join(blocks) + ("\n" + "\n".join(notes) if notes else "")


def _row(values: list[str], widths: list[int]) -> str:
    return "  ".join(
        str(v).ljust(w) if i == 0 else str(v).rjust(w)
        for i, (v, w) in enumerate(zip(values, widths, strict=True))
    )


def heatmap(mx: Matrix, path: str | Path, *, model: str | None = None, force: bool = False) -> Path:
    """Save the matrix of ``model`` (default: the first) as an annotated heatmap PNG."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    from dfaudio.io.files import atomic_path

    model = model or mx.models[0]
    cols = mx.columns
    rows = mx.corpora
    Z = np.full((len(rows), len(cols)), np.nan)
    for i, r in enumerate(rows):
        for j, t in enumerate(cols):
            c = mx.cell(model, r, t)
            if c is not None and c.eer is not None:
                Z[i, j] = 100 * c.eer
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(cols), 1.2 + 0.8 * len(rows)))
    im = ax.imshow(Z, cmap="RdYlGn_r", vmin=0, vmax=60, aspect="auto")
    for i, r in enumerate(rows):
        for j, t in enumerate(cols):
            c = mx.cell(model, r, t)
            text = "n/a" if c is None or c.eer is None else f"{100 * c.eer:.1f}"
            if c is not None and c.ci95:
                text += f"\n[{100 * c.ci95[0]:.0f}-{100 * c.ci95[1]:.0f}]"
            weight = "bold" if r == t else "normal"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, fontweight=weight)
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("test corpus")
    ax.set_ylabel("train corpus")
    ax.set_title(f"{model}: EER % (diagonal in-corpus CV, rest cross-corpus)", fontsize=9)
    fig.colorbar(im, ax=ax, label="EER %")
    fig.tight_layout()
    with atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
