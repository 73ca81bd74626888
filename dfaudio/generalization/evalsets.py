"""External test sets scored by a run's final model (``fit-sklearn --eval-data NAME=TABLE``).

Each set is a feature table made like the training table (same feature columns, same window
length, same feature sample rate; anything else is refused in one line naming the set). The final
model (refitted on all training rows) scores every row; ``metrics.json`` gets, under
``eval_sets``, per set: its ``kind`` (``cross-corpus`` by default, or the kind given as
``NAME:KIND=TABLE``: ``cross-corpus``, ``unseen-attack``, ``in-corpus``), the pooled EER with its
95 % group-bootstrap interval, accuracy at the run's threshold rule (log-odds 0), AUC, trials
per class, and the per-attack table (seen / unseen in training) when the set has attack ids.
The scores of each set are written to ``eval-NAME/scores.csv`` with its plots beside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.labels import CLASS_NAMES
from dfaudio.tables import FeatureTable

__all__ = [
    "EVAL_KINDS",
    "EvalSpec",
    "check_compatible",
    "parse_eval_data",
    "prepare_eval_sets",
    "score_audio_sets",
    "score_eval_sets",
    "write_eval_scores",
]

#: What a test set is, relative to the training data.
EVAL_KINDS = ("in-corpus", "cross-corpus", "unseen-attack")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass
class EvalSpec:
    """One ``--eval-data`` item."""

    name: str
    kind: str
    path: str


def parse_eval_data(items: Any) -> list[EvalSpec]:
    """``NAME[:KIND]=PATH`` items -> specs.

    Raises
    ------
    ParameterError
        Missing ``=``, a name that is not a plain file-name word, an unknown kind, a repeated
        name.
    """
    out: list[EvalSpec] = []
    for item in items or ():
        head, sep, path = str(item).partition("=")
        if not sep or not head or not path:
            raise ParameterError(f"eval_data {item!r}: expected NAME=TABLE (or NAME:KIND=TABLE)")
        name, _, kind = head.partition(":")
        kind = kind or "cross-corpus"
        if not _NAME.match(name):
            raise ParameterError(
                f"eval_data name {name!r}: use letters, digits, '.', '_' or '-' (it names a folder)"
            )
        if kind not in EVAL_KINDS:
            raise ParameterError(f"eval_data kind {kind!r}: choose one of {EVAL_KINDS}")
        if name in {s.name for s in out}:
            raise ParameterError(f"eval_data name {name!r} given twice")
        out.append(EvalSpec(name, kind, path))
    return out


def _rates(t: FeatureTable) -> list[int]:
    if "sr" not in t.meta.columns:
        return []
    return sorted(int(r) for r in pd.unique(t.meta["sr"]))


def check_compatible(train: FeatureTable, test: FeatureTable, name: str) -> None:
    """Refuse a test table the model cannot score as it was trained.

    Raises
    ------
    DataError
        Other feature columns, another window length or another feature sample rate.
    """
    if list(train.features) != list(test.features):
        missing = [c for c in train.features if c not in test.features][:3]
        extra = [c for c in test.features if c not in train.features][:3]
        raise DataError(
            f"eval set {name!r}: its feature columns differ from the training table's "
            f"(missing {missing or 'none'}, extra {extra or 'none'}); tabulate it with the same "
            "--features",
            test.source,
        )
    if train.window_s and test.window_s and abs(train.window_s - test.window_s) > 1e-6:
        raise DataError(
            f"eval set {name!r}: made with {test.window_s:g} s windows, the model with "
            f"{train.window_s:g} s; tabulate it with --window {train.window_s:g}",
            test.source,
        )
    tr, te = _rates(train), _rates(test)
    if tr and te and tr != te:
        raise DataError(
            f"eval set {name!r}: features computed at {te} Hz, the model's at {tr} Hz; tabulate "
            f"it with --sr {tr[0]} (or score the audio with dfaudio predict, which resamples)",
            test.source,
        )


def prepare_eval_sets(items: Any, train: FeatureTable) -> list[tuple[EvalSpec, FeatureTable]]:
    """Parse ``--eval-data`` items, read each table and check it fits the training table.

    Done before any fitting, so a bad set fails in one line before minutes of work.
    """
    from dfaudio.tables import read_table

    out = []
    for spec in parse_eval_data(items):
        test = read_table(spec.path)
        check_compatible(train, test, spec.name)
        out.append((spec, test))
    return out


def score_eval_sets(
    model: Any,
    train: FeatureTable,
    sets: list[tuple[EvalSpec, FeatureTable]],
    *,
    seed: int = 0,
    n_boot: int = 1000,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Score every eval set (from :func:`prepare_eval_sets`) with the final ``model``.

    Returns
    -------
    metrics : dict
        name -> metrics (see the module docstring).
    scores : dict
        name -> held-out score table (provenance, ``label``, ``score``, ``p_fake``).
    """
    from dfaudio import evaluation
    from dfaudio.models.scores import model_scores

    train_attacks: set[str] = set()
    if "attack" in train.meta.columns:
        train_attacks = set(train.meta["attack"].astype(str))
    metrics: dict[str, Any] = {}
    scores: dict[str, pd.DataFrame] = {}
    for spec, test in sets:
        score, p_fake, _ = model_scores(model, test.X)
        labels = np.asarray(CLASS_NAMES)[test.y]
        part = test.meta.copy()
        part["label"], part["score"], part["p_fake"] = labels, score, p_fake
        summ = evaluation.summarize(labels, score)
        groups = test.groups
        try:
            lo, hi = evaluation.bootstrap_ci(
                labels, score, groups=groups, metric="eer", n_boot=n_boot, seed=seed
            )
            ci: list[float] | None = [lo, hi]
        except DataError:
            ci = None
        entry: dict[str, Any] = {
            "kind": spec.kind,
            "source": str(spec.path),
            "eer": summ["eer"],
            "eer_ci95": ci,
            "accuracy": summ["accuracy"],
            "roc_auc": summ.get("roc_auc"),
            "n_bonafide": int((test.y == 0).sum()),
            "n_spoof": int((test.y == 1).sum()),
            "bootstrap_unit": "group" if groups is not None else "row",
        }
        if "attack" in part.columns:
            att = part["attack"].astype(str).to_numpy()
            bona = labels == "bonafide"
            per = {}
            for a in sorted(set(att[~bona]) - {"", "-", "nan"}):
                m = bona | (att == a)
                if bona.any():
                    per[a] = {
                        "eer": float(evaluation.eer(labels[m], score[m])[0]),
                        "n_spoof": int((att[~bona] == a).sum()),
                        "seen_in_training": a in train_attacks,
                    }
            if per:
                entry["per_attack"] = per
        metrics[spec.name] = entry
        scores[spec.name] = part
    return metrics, scores


def write_eval_scores(
    run_dir: str | Path, scores: dict[str, pd.DataFrame], metrics: dict[str, Any]
) -> list[str]:
    """``eval-NAME/scores.csv`` and its plots in a run directory; the plot errors, if any.

    A failing plot never loses the run: its error is returned (and printed by the CLI).
    """
    errors: list[str] = []
    from dfaudio.io.files import atomic_path

    for name, df in scores.items():
        folder = Path(run_dir) / f"eval-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "scores.csv") as tmp:
            df.to_csv(tmp, index=False, float_format="%.9g")
        try:
            from dfaudio.plots import save_plots

            kind = metrics[name]["kind"]
            save_plots(
                folder, df["label"].to_numpy(), df["score"].to_numpy(), title=f"{name} ({kind})"
            )
        except Exception as exc:  # a plot must never lose a run
            errors.append(f"eval set {name}: plots failed: {' '.join(str(exc).split())[:200]}")
    return errors


def score_audio_sets(
    run_dir: str | Path,
    items: Any,
    *,
    seed: int = 0,
    n_boot: int = 1000,
    on_failure: Any = None,
) -> dict[str, Any]:
    """Score external audio sets (``fit-deep --eval-data NAME=INPUT``) with a finished run.

    Every file of each input (any layout ``tabulate`` reads) is scored exactly as ``dfaudio
    predict`` scores it (:meth:`dfaudio.scoring.Predictor.score_file`: the file score is the mean
    of its window scores). The metrics (file level) are added to the run's ``metrics.json``
    under ``eval_sets``; scores and plots go to ``eval-NAME/``.

    Returns
    -------
    dict
        name -> metrics, as written to ``metrics.json``.
    """
    from dfaudio import evaluation
    from dfaudio.datasets import load_manifest
    from dfaudio.exceptions import AudioError
    from dfaudio.io.files import write_json
    from dfaudio.runs import METRICS, load_json
    from dfaudio.scoring import load_predictor

    specs = parse_eval_data(items)
    predictor = load_predictor(run_dir)
    out: dict[str, Any] = {}
    scores: dict[str, pd.DataFrame] = {}
    for spec in specs:
        manifest = load_manifest([spec.path])
        rows = []
        for rec in manifest.to_dict("records"):
            try:
                fs = predictor.score_file(rec["path"])
            except AudioError as exc:
                if on_failure is not None:
                    on_failure(rec["path"], exc.category, exc.detail)
                continue
            rows.append(
                {
                    **rec,
                    "file": rec["path"],
                    "score": fs.score,
                    "p_fake": fs.p_fake,
                    "verdict": fs.verdict,
                }
            )
        if not rows:
            raise DataError(f"eval set {spec.name!r}: no file could be scored", spec.path)
        df = pd.DataFrame(rows).drop(columns=["path"])
        labels = df["label"].astype(str).to_numpy()
        score = df["score"].to_numpy(dtype=float)
        if len(set(labels)) < 2:
            raise DataError(f"eval set {spec.name!r}: needs bona fide and spoof files", spec.path)
        try:
            lo, hi = evaluation.bootstrap_ci(
                labels,
                score,
                groups=df["group"].astype(str).to_numpy(),
                metric="eer",
                n_boot=n_boot,
                seed=seed,
            )
            ci: list[float] | None = [lo, hi]
        except DataError:
            ci = None
        summ = evaluation.summarize(labels, score)
        out[spec.name] = {
            "kind": spec.kind,
            "source": str(spec.path),
            "level": "file (mean of window scores, as dfaudio predict)",
            "eer": summ["eer"],
            "eer_ci95": ci,
            "accuracy": float(np.mean(df["verdict"].astype(str).to_numpy() == labels)),
            "roc_auc": summ.get("roc_auc"),
            "n_bonafide": int((labels == "bonafide").sum()),
            "n_spoof": int((labels == "spoof").sum()),
            "bootstrap_unit": "group",
        }
        scores[spec.name] = df
    errors = write_eval_scores(run_dir, scores, out)
    metrics = load_json(Path(run_dir) / METRICS)
    metrics["eval_sets"] = out
    metrics["warnings"] = [*(metrics.get("warnings") or []), *errors]
    write_json(Path(run_dir) / METRICS, metrics, force=True)
    return out
