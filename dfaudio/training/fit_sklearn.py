"""Fit and cross-validate a scikit-learn / XGBoost baseline on a feature table, write a run.

The split comes from :func:`dfaudio.training.splits.plan_splits` (grouped by recording whenever
the table says which recording each row came from); every fold is scored on held-out rows only and
evaluated with :mod:`dfaudio.evaluation`. For K-fold runs the saved model is refit on all rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.labels import CLASS_NAMES, SCORE_DIRECTION, p_fake_to_score
from dfaudio.models.sklearn_zoo import make_model
from dfaudio.runs import RunWriter, new_run_dir, now
from dfaudio.tables import FeatureTable
from dfaudio.training.splits import SplitPlan, plan_splits

#: Feature-set name written into runs trained on the 26 DEEP-VOICE columns.
FEATURE_SET = "deep-voice-26"


@dataclass
class FitResult:
    """Outcome of one fit: where the run was written and its metrics."""

    run_dir: Path
    metrics: dict[str, Any]


def model_scores(est: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Bona fide scores and ``p_fake`` of a fitted binary classifier (spoof = class 1).

    Returns
    -------
    score : np.ndarray [shape=(n,)]
        Higher = more bona fide (log-odds for probabilistic models, minus the decision function
        otherwise).
    p_fake : np.ndarray [shape=(n,)]
    calibrated : bool
        False when ``p_fake`` is a logistic squashing of a decision function (SVMs).
    """
    if hasattr(est, "predict_proba"):  # False for SVC(probability=False): it raises
        proba = est.predict_proba(X)
        classes = list(getattr(est, "classes_", [0, 1]))
        p_fake = proba[:, classes.index(1)]
        return p_fake_to_score(p_fake), p_fake, True
    d = np.asarray(est.decision_function(X), dtype=np.float64)
    return -d, 1.0 / (1.0 + np.exp(-np.clip(d, -700, 700))), False


def _fit_fold(name: str, seed: int, X: np.ndarray, y: np.ndarray, tr: np.ndarray) -> Any:
    est = make_model(name, seed=seed)
    est.fit(X[tr], y[tr])
    return est


def fit_sklearn(
    table: FeatureTable,
    *,
    model: str,
    cv: int | None = None,
    test_size: float | None = None,
    split_by: str = "auto",
    seed: int = 0,
    runs_dir: str | Path = "runs",
    data_name: str | None = None,
    jobs: int = 1,
    refit: bool = True,
    plan: SplitPlan | None = None,
) -> FitResult:
    """Train ``model`` on ``table`` with leakage-aware validation and write a run directory.

    Parameters
    ----------
    table : FeatureTable
        From :func:`dfaudio.tables.read_table`.
    model : str
        A name from :data:`dfaudio.models.sklearn_zoo.SKLEARN_MODELS`.
    cv, test_size, split_by, seed
        See :func:`dfaudio.training.splits.plan_splits`.
    runs_dir : path
        Parent of the new run directory.
    data_name : str, optional
        Name of the data shown on the leaderboard (default: the table's file name).
    jobs : int
        Folds trained in parallel (joblib).
    refit : bool
        For K-fold runs, refit on all rows and save that model (for ``dfaudio predict``).
    plan : SplitPlan, optional
        Reuse precomputed folds (``--model all`` plans once).

    Returns
    -------
    FitResult
    """
    from joblib import Parallel, delayed

    from dfaudio import evaluation
    from dfaudio.models.persist import save_sklearn

    make_model(model, seed=seed)  # fail fast on an unknown name
    X, y = table.X, table.y
    meta = table.meta
    splits = meta["split"].astype(str).to_numpy() if "split" in meta.columns else None
    if plan is None:
        plan = plan_splits(
            y, groups=table.groups, splits=splits, cv=cv, test_size=test_size,
            split_by=split_by, seed=seed, recordings=table.recordings,
        )  # fmt: skip
    ests = Parallel(n_jobs=jobs)(delayed(_fit_fold)(model, seed, X, y, tr) for tr, _ in plan.folds)
    parts, fold_metrics = [], []
    warnings = list(plan.warnings)
    calibrated = True
    for k, ((_tr, te), est) in enumerate(zip(plan.folds, ests, strict=True)):
        score, p_fake, calibrated = model_scores(est, X[te])
        fold_metrics.append(evaluation.summarize(y[te], score))
        if np.ptp(score) == 0:
            warnings.append(
                f"fold {k + 1}: the model gives one constant score (too little training data?); "
                "the official EER rule counts the tie against it (EER 1)"
            )
        part = meta.iloc[te].copy()
        part["label"] = np.asarray(CLASS_NAMES)[y[te]]
        part["score"], part["p_fake"], part["fold"] = score, p_fake, k
        if "file" not in part.columns:
            part["row"] = te
        parts.append(part)
    scores_df = pd.concat(parts, ignore_index=True)
    pooled = evaluation.summarize(scores_df["label"].to_numpy(), scores_df["score"].to_numpy())

    metrics: dict[str, Any] = {
        "kind": "sklearn",
        "model": model,
        "features": FEATURE_SET,
        "data": data_name or Path(table.source).name,
        "split_type": plan.split_type,
        "split": plan.description,
        "eval_name": plan.eval_name,
        "n_rows": int(len(y)),
        "n_test_rows": int(len(scores_df)),
        "n_folds": len(plan.folds),
        "seed": seed,
        "created": now(),
        "score_direction": SCORE_DIRECTION,
        "p_fake_calibrated": calibrated,
        "warnings": warnings,
    }
    for key in ("accuracy", "balanced_accuracy", "eer", "roc_auc", "f1"):
        vals = np.array([m[key] for m in fold_metrics], dtype=float)
        metrics[key] = float(np.mean(vals))
        if len(vals) > 1:
            metrics[f"{key}_std"] = float(np.std(vals, ddof=1))
    metrics["eer_pooled"] = pooled["eer"]
    metrics["eer_threshold"] = pooled["eer_threshold"]
    metrics["pooled"] = pooled
    if len(fold_metrics) > 1:
        metrics["folds"] = fold_metrics
    if "file" in scores_df.columns:
        metrics["clip_level"] = _clip_level(scores_df)
    groups = scores_df["group"] if "group" in scores_df.columns else scores_df.get("file")
    metrics.update(_confidence(scores_df, groups, seed=seed))

    run_dir = new_run_dir(runs_dir, f"{model}-{FEATURE_SET}")
    writer = RunWriter(run_dir)
    writer.config(
        {
            "kind": "sklearn",
            "model": model,
            "features": FEATURE_SET,
            "feature_columns": table.features,
            # predict cuts new audio into windows of this length (the table's, default 1 s)
            "window_s": table.window_s or 1.0,
            "data": str(table.source),
            "split_by": split_by,
            "cv": cv,
            "test_size": test_size,
            "seed": seed,
            "jobs": jobs,
        }
    )
    writer.environment(seed=seed)
    writer.scores(scores_df)
    final = ests[0]
    if refit and len(plan.folds) > 1:
        final = _fit_fold(model, seed, X, y, np.arange(len(y)))
    trained_on = "all rows" if refit and len(plan.folds) > 1 else f"fold 1 train ({plan.eval_name})"
    save_sklearn(final, run_dir, extra={"model": model, "trained_on": trained_on})
    metrics["model_file"] = trained_on
    # For dfaudio predict / the report; neither call raises (a plot must never lose a run).
    from dfaudio.predict import probe_sample_rates
    from dfaudio.report import save_run_plots

    if "sr" in meta.columns:  # the rates the features were computed at (after any --sr)
        metrics["sample_rates"] = sorted(int(r) for r in pd.unique(meta["sr"]))
        metrics["sample_rates_source"] = "table"
    elif "file" in meta.columns:
        base = Path(str(table.source)).parent
        metrics["sample_rates"] = probe_sample_rates(meta["file"].astype(str), base=base)
        metrics["sample_rates_source"] = "audio files"
    metrics["plots"] = save_run_plots(run_dir, scores_df, title=f"{model} ({plan.split_type})")
    writer.metrics(metrics)
    return FitResult(run_dir=run_dir, metrics=metrics)


def _clip_level(scores_df: pd.DataFrame) -> dict[str, Any]:
    """Metrics over recordings: each file's score is the mean of its window scores."""
    from dfaudio import evaluation

    clip = scores_df.groupby("file", sort=False).agg(
        label=("label", "first"), score=("score", "mean")
    )
    if clip["label"].nunique() < 2:
        return {"n_clips": int(len(clip))}
    out = evaluation.summarize(clip["label"].to_numpy(), clip["score"].to_numpy())
    return {"n_clips": int(len(clip)), "eer": out["eer"], "accuracy": out["accuracy"]}


def _confidence(scores_df: pd.DataFrame, groups: Any, *, seed: int) -> dict[str, Any]:
    """95 % bootstrap intervals of the pooled EER and accuracy (resampling groups if known)."""
    from dfaudio import evaluation

    labels = scores_df["label"].to_numpy()
    scores = scores_df["score"].to_numpy()
    g = None if groups is None else np.asarray(groups).astype(str)
    out = {}
    for metric in ("eer", "accuracy"):
        lo, hi = evaluation.bootstrap_ci(labels, scores, groups=g, metric=metric, seed=seed)
        out[f"{metric}_ci95"] = [lo, hi]
    return out
