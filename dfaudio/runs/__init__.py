"""The run format: one writer, one reader and one leaderboard for every trained model.

- :mod:`dfaudio.runs.store`: file names, new run directories, reading ``metrics.json`` back.
- :mod:`dfaudio.runs.record`: the typed records (:class:`MetricsRecord` for ``metrics.json``,
  :class:`ModelInfo` for ``model.json``, :class:`FitResult`) and :func:`held_out_metrics`, the one
  function that turns held-out scores into pooled metrics, fold summaries and intervals.
- :mod:`dfaudio.runs.writer`: :class:`RunWriter`, which writes every file of a run (plots
  included) and ``metrics.json`` last.
- :mod:`dfaudio.runs.leaderboard`: one table over every finished run (``dfaudio compare``).

Training code (:mod:`dfaudio.training`) hands its held-out scores here; nothing in this package
imports training, scoring, the report or the command line.
"""

from __future__ import annotations

from dfaudio.runs.record import (
    FitResult,
    HeldOut,
    MetricsRecord,
    ModelInfo,
    RunInfo,
    build_record,
    headline,
    held_out_metrics,
)
from dfaudio.runs.store import (
    CONFIG,
    ENVIRONMENT,
    METRICS,
    MODEL_INFO,
    PLOT_DIR,
    SCORE_COLUMNS,
    SCORES,
    environment,
    iter_runs,
    load_config,
    load_json,
    load_metrics,
    new_run_dir,
    now,
    slug,
)
from dfaudio.runs.writer import RunWriter, save_run_plots

__all__ = [
    "CONFIG",
    "ENVIRONMENT",
    "METRICS",
    "MODEL_INFO",
    "PLOT_DIR",
    "SCORES",
    "SCORE_COLUMNS",
    "FitResult",
    "HeldOut",
    "MetricsRecord",
    "ModelInfo",
    "RunInfo",
    "RunWriter",
    "build_record",
    "environment",
    "headline",
    "held_out_metrics",
    "iter_runs",
    "load_config",
    "load_json",
    "load_metrics",
    "new_run_dir",
    "now",
    "save_run_plots",
    "slug",
]
