"""THE writer of run directories: every trained model, classical or deep, goes through it.

::

    runs/20261125-213000-xgboost-deep-voice-26/
        config.json       resolved configuration (kind, model, features, data, split, seed, ...)
        environment.json  library versions, platform, command line, seed
        scores.csv        one row per held-out window or clip: file, window, group, label,
                          score, p_fake, fold
        model.*           the fitted model (model.skops, model.ubj or model.safetensors)
        model.json        :class:`~dfaudio.runs.record.ModelInfo`
        plots/            DET, ROC, score histogram, confusion matrix of the held-out scores
        calibration.json  score -> LLR map fitted on held-out scores (dfaudio.runs.calibration)
        metrics.json      :class:`~dfaudio.runs.record.MetricsRecord`, written last

Every file is written atomically; :meth:`RunWriter.finish` draws the plots and writes
``metrics.json`` last, so a directory without it is an unfinished run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dfaudio.io.files import atomic_path, write_json
from dfaudio.runs.record import FitResult, MetricsRecord, ModelInfo
from dfaudio.runs.store import (
    CONFIG,
    ENVIRONMENT,
    METRICS,
    MODEL_INFO,
    PLOT_DIR,
    SCORE_COLUMNS,
    SCORES,
    environment,
)

__all__ = ["RunWriter", "save_run_plots"]


def save_run_plots(
    run_dir: str | Path, scores_df: pd.DataFrame, *, threshold: float | None = None, title: str = ""
) -> dict[str, Any]:
    """Write the evaluation plots of held-out scores into ``run_dir/plots``; never raises.

    Parameters
    ----------
    run_dir : path
    scores_df : pd.DataFrame
        Held-out scores with ``label`` and ``score`` columns (``scores.csv``); for K-fold runs the
        pooled folds.
    threshold : float, optional
        Hard-decision threshold (default as :func:`dfaudio.evaluation.summarize`: 0 on log-odds).
    title : str
        Added to every figure title.

    Returns
    -------
    dict
        ``{"dir": "plots", "files": [...]}``, or ``{"error": "..."}`` when plotting failed (the
        run is written anyway: a plot must never lose a run).
    """
    try:
        from dfaudio.plots import save_plots

        files = save_plots(
            Path(run_dir) / PLOT_DIR,
            scores_df["label"].to_numpy(),
            scores_df["score"].to_numpy(),
            threshold=threshold,
            title=title,
            force=True,
        )
        return {"dir": PLOT_DIR, "files": [p.name for p in files]}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}


class RunWriter:
    """Writes the files of one run directory (each atomically).

    Parameters
    ----------
    path : Path
        An existing, empty run directory (see :func:`dfaudio.runs.store.new_run_dir`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def config(self, cfg: dict[str, Any]) -> None:
        """Write ``config.json``."""
        write_json(self.path / CONFIG, cfg, force=True)

    def environment(self, *, seed: int | None) -> None:
        """Write ``environment.json``."""
        write_json(self.path / ENVIRONMENT, environment(seed=seed), force=True)

    def scores(self, df: pd.DataFrame) -> None:
        """Write ``scores.csv`` (columns in :data:`SCORE_COLUMNS` order, extras after)."""
        cols = [c for c in SCORE_COLUMNS if c in df.columns]
        cols += [c for c in df.columns if c not in cols]
        with atomic_path(self.path / SCORES, force=True) as tmp:
            df[cols].to_csv(tmp, index=False, float_format="%.6g")

    def model_info(self, info: ModelInfo) -> None:
        """Write ``model.json`` (the SHA-256 of the model file is computed when missing)."""
        if info.sha256 is None and (self.path / info.file).is_file():
            from dfaudio.models.persist import sha256

            info.sha256 = sha256(self.path / info.file)
        write_json(self.path / MODEL_INFO, info.to_dict(), force=True)

    def plots(
        self, scores_df: pd.DataFrame, *, threshold: float | None = None, title: str = ""
    ) -> dict[str, Any]:
        """Draw the plots of the held-out scores (:func:`save_run_plots`); never raises."""
        return save_run_plots(self.path, scores_df, threshold=threshold, title=title)

    def metrics(self, metrics: dict[str, Any]) -> None:
        """Write ``metrics.json`` (last: it marks the run as finished)."""
        write_json(self.path / METRICS, metrics, force=True)

    def finish(
        self,
        record: MetricsRecord,
        scores_df: pd.DataFrame,
        *,
        plot_title: str = "",
        config: dict[str, Any] | None = None,
        model: Any = None,
        calibration_scores: pd.DataFrame | None = None,
    ) -> FitResult:
        """Draw the plots, fit the score -> LLR map, then write ``metrics.json``; the run is done.

        ``calibration_scores`` (dev scores, ``label`` and ``score``), when given, are what the map
        is fitted on; otherwise the held-out scores, cross-fitted
        (:func:`dfaudio.runs.calibration.write_run_calibration`).

        Returns
        -------
        FitResult
        """
        from dfaudio.runs.calibration import write_run_calibration

        record.extra["plots"] = self.plots(scores_df, title=plot_title)
        record.extra["calibration"] = write_run_calibration(
            self.path, scores_df, dev_df=calibration_scores
        )
        metrics = record.to_dict()
        self.metrics(metrics)
        return FitResult(
            run_dir=self.path, metrics=metrics, scores=scores_df, model=model, config=config or {}
        )
