"""Fit and cross-validate a scikit-learn / XGBoost baseline on a feature table, write a run.

The split comes from :func:`dfaudio.training.splits.plan_splits` (grouped by recording whenever
the table says which recording each row came from); every fold is scored on held-out rows only and
evaluated with :mod:`dfaudio.evaluation`. For K-fold runs the saved model is refit on all rows.
The held-out scores, the model and its metrics go to :mod:`dfaudio.runs`, which writes the run
directory (or nothing, with ``runs_dir=None``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.labels import CLASS_NAMES
from dfaudio.models.scores import model_scores
from dfaudio.models.sklearn_zoo import make_model
from dfaudio.runs import FitResult, ModelInfo, RunInfo, RunWriter, build_record, new_run_dir
from dfaudio.tables import FeatureTable
from dfaudio.training.splits import SplitPlan, plan_splits

__all__ = ["FEATURE_SET", "FitResult", "fit_sklearn", "model_scores", "plan_table_splits"]

#: Feature-set label of runs on tables that do not say (the 26 DEEP-VOICE columns); runs on
#: dfaudio tables record the table's sets (:attr:`dfaudio.tables.FeatureTable.feature_set_names`).
FEATURE_SET = "deep-voice"
#: How a classical model's output becomes the bona fide score (``model.json``).
OUTPUT = "p_fake = predict_proba[:, spoof]; bona fide score = log((1 - p_fake) / p_fake)"


def plan_table_splits(
    table: FeatureTable,
    *,
    cv: int | None = None,
    test_size: float | None = None,
    split_by: str = "auto",
    seed: int = 0,
) -> SplitPlan:
    """Folds of a feature table (:func:`dfaudio.training.splits.plan_splits`).

    The table gives the labels, groups and recordings, and its ``split``, ``attack`` and
    ``speaker`` columns where it has them.
    """
    meta = table.meta
    return plan_splits(
        table.y,
        groups=table.groups,
        splits=meta["split"].astype(str).to_numpy() if "split" in meta else None,
        cv=cv,
        test_size=test_size,
        split_by=split_by,
        seed=seed,
        recordings=table.recordings,
        attacks=meta["attack"].to_numpy() if "attack" in meta else None,
        speakers=meta["speaker"].to_numpy() if "speaker" in meta else None,
    )


def _fit_fold(name: str, seed: int, X: np.ndarray, y: np.ndarray, tr: np.ndarray) -> Any:
    est = make_model(name, seed=seed)
    est.fit(X[tr], y[tr])
    return est


def _shortcut_warnings(table: FeatureTable, *, seed: int) -> list[str]:
    """Shortcut warnings of the table's per-file facts (audited once per table object)."""
    cached = getattr(table, "_shortcut_warnings", None)
    if cached is None:
        from dfaudio.generalization.audit import shortcut_warnings

        cached = shortcut_warnings(table.meta.assign(label=np.asarray(CLASS_NAMES)[table.y]))
        table._shortcut_warnings = cached  # type: ignore[attr-defined]
    return list(cached)


def fit_sklearn(
    table: FeatureTable | pd.DataFrame,
    *,
    model: str,
    cv: int | None = None,
    test_size: float | None = None,
    split_by: str = "auto",
    seed: int = 0,
    runs_dir: str | Path | None = "runs",
    data_name: str | None = None,
    jobs: int = 1,
    refit: bool = True,
    plan: SplitPlan | None = None,
    eval_data: Any = None,
    explain: bool = False,
) -> FitResult:
    """Train ``model`` on ``table`` with leakage-aware validation and write a run directory.

    Parameters
    ----------
    table : FeatureTable or pd.DataFrame
        From :func:`dfaudio.tables.read_table`, or the table of :func:`dfaudio.tabular.tabulate`
        (checked with :func:`dfaudio.tables.validate_table`).
    model : str
        A name from :data:`dfaudio.models.sklearn_zoo.SKLEARN_MODELS`.
    cv, test_size, split_by, seed
        See :func:`dfaudio.training.splits.plan_splits`.
    runs_dir : path or None
        Parent of the new run directory; ``None`` fits in memory and writes nothing (the
        result then holds the model, its held-out scores and metrics).
    data_name : str, optional
        Name of the data shown on the leaderboard (default: the table's file name).
    jobs : int
        Folds trained in parallel (joblib).
    refit : bool
        For K-fold runs, refit on all rows and save that model (for ``dfaudio predict``).
    plan : SplitPlan, optional
        Reuse precomputed folds (``--model all`` plans once).
    eval_data : sequence of str, optional
        External test tables ``NAME[:KIND]=TABLE`` scored by the final model; metrics under
        ``eval_sets`` (:mod:`dfaudio.generalization.evalsets`), scores in ``eval-NAME/``.

    explain : bool
        Also write permutation importances under the run's folds (every model) and SHAP values
        (tree models) into the run (:func:`dfaudio.explain.explain_run`).

    Returns
    -------
    FitResult
        ``metrics`` as in ``metrics.json`` (:class:`dfaudio.runs.MetricsRecord`): EER and
        accuracy pooled over every held-out score with their group-bootstrap intervals, fold
        means and standard deviations beside them.

    """
    from joblib import Parallel, delayed

    make_model(model, seed=seed)  # fail fast on an unknown name
    if isinstance(table, pd.DataFrame):
        from dfaudio.tables import validate_table

        table = validate_table(table, source=data_name or "<table>")
    eval_sets = []
    if eval_data:
        from dfaudio.generalization.evalsets import prepare_eval_sets

        eval_sets = prepare_eval_sets(eval_data, table)  # checked before any fitting
    X, y = table.X, table.y
    meta = table.meta
    if plan is None:
        plan = plan_table_splits(table, cv=cv, test_size=test_size, split_by=split_by, seed=seed)
    ests = Parallel(n_jobs=jobs)(delayed(_fit_fold)(model, seed, X, y, tr) for tr, _ in plan.folds)
    parts = []
    calibrated = True
    for k, ((_tr, te), est) in enumerate(zip(plan.folds, ests, strict=True)):
        score, p_fake, calibrated = model_scores(est, X[te])
        part = meta.iloc[te].copy()
        part["label"] = np.asarray(CLASS_NAMES)[y[te]]
        part["score"], part["p_fake"], part["fold"] = score, p_fake, k
        if "file" not in part.columns:
            part["row"] = te
        parts.append(part)
    scores_df = pd.concat(parts, ignore_index=True)

    final = ests[0]
    if refit and len(plan.folds) > 1:
        final = _fit_fold(model, seed, X, y, np.arange(len(y)))
    trained_on = "all rows" if refit and len(plan.folds) > 1 else f"fold 1 train ({plan.eval_name})"
    extra: dict[str, Any] = {"model_file": trained_on}
    eval_scores: dict[str, pd.DataFrame] = {}
    if eval_sets:
        from dfaudio.generalization.evalsets import score_eval_sets

        extra["eval_sets"], eval_scores = score_eval_sets(final, table, eval_sets, seed=seed)
    if "sr" in meta.columns:  # the rates the features were computed at (after any --sr)
        extra["sample_rates"] = sorted(int(r) for r in pd.unique(meta["sr"]))
        extra["sample_rates_source"] = "table"
    elif "file" in meta.columns:
        from dfaudio.io.audio import probe_sample_rates

        base = Path(str(table.source)).parent
        extra["sample_rates"] = probe_sample_rates(meta["file"].astype(str), base=base)
        extra["sample_rates_source"] = "audio files"
    features = table.feature_set_names  # e.g. "deep-voice", "deep-voice+egemaps", "ssl:M:6"
    from dfaudio.generalization.heldout import held_out_extra

    extra.update(held_out_extra(plan, scores_df, meta))  # per-attack / held-out-attack tables
    info = RunInfo(
        kind="sklearn",
        model=model,
        features=features,
        data=data_name or Path(table.source).name,
        split_type=plan.split_type,
        split=plan.description,
        eval_name=plan.eval_name,
        n_rows=int(len(y)),
        n_folds=len(plan.folds),
        seed=seed,
        p_fake_calibrated=calibrated,
        warnings=list(plan.warnings) + _shortcut_warnings(table, seed=seed),
    )
    record = build_record(info, scores_df, extra=extra)
    config = {
        "kind": "sklearn",
        "model": model,
        "features": features,
        "feature_columns": table.features,
        # predict computes exactly these sets (names, versions, parameters) for new audio
        "feature_sets": table.feature_sets,
        # predict cuts new audio into windows of this length (the table's, default 1 s) ...
        "window_s": _window_s(table),
        # ... or scores each file as one window ("whole")
        "window": table.window if table.window is not None else _window_s(table),
        "data": str(table.source),
        "split_by": split_by,
        "cv": cv,
        "test_size": test_size,
        "seed": seed,
        "jobs": jobs,
    }
    if runs_dir is None:
        return FitResult(None, record.to_dict(), scores=scores_df, model=final, config=config)

    from dfaudio.models.persist import save_model_file

    set_names = "+".join(str(s["name"]) for s in table.feature_sets) or "features"
    run_dir = new_run_dir(runs_dir, f"{model}-{set_names}")
    writer = RunWriter(run_dir)
    writer.config(config)
    writer.environment(seed=seed)
    writer.scores(scores_df)
    if eval_scores:
        from dfaudio.generalization.evalsets import write_eval_scores

        for err in write_eval_scores(run_dir, eval_scores, extra["eval_sets"]):
            record.info.warnings.append(err)
    path, fmt = save_model_file(final, run_dir)
    writer.model_info(
        ModelInfo(
            kind="sklearn",
            format=fmt,
            file=path.name,
            model=model,
            trained_on=trained_on,
            output=OUTPUT,
        )
    )
    from dfaudio import explain as why

    why.write_reference(run_dir, X, table.features)  # for predict --explain
    if explain:
        record.extra["explain"] = why.explain_run(
            run_dir,
            ests=ests,
            folds=plan.folds,
            final=final,
            X=X,
            y=y,
            columns=table.features,
            seed=seed,
        )
    return writer.finish(
        record, scores_df, plot_title=f"{model} ({plan.split_type})", config=config, model=final
    )


def _window_s(table: FeatureTable) -> float:
    """Window length of a table in seconds (its metadata, else its start times, else 1 s)."""
    if isinstance(table.window, (int, float)) and not isinstance(table.window, bool):
        return float(table.window)
    return table.window_s or 1.0
