"""The typed records of a run: what was run, what its held-out scores say, how to rebuild it.

- :func:`held_out_metrics` turns a run's held-out scores (``scores.csv``: ``label``, ``score``,
  ``fold``, ``group``/``file``) into :class:`HeldOut`: the metrics of all held-out scores pooled
  (the headline numbers, and the EER threshold that ``predict`` uses), the metrics of each fold
  with their mean and standard deviation, and 95 % group-bootstrap intervals of the **pooled** EER
  and accuracy (so every headline point has the interval of that same quantity). Classical and
  deep runs both use it.
- :class:`RunInfo` + :class:`HeldOut` + backend extras = :class:`MetricsRecord`, the one schema of
  ``metrics.json`` (:data:`METRICS_SCHEMA`).
- :class:`ModelInfo` is the one schema of ``model.json``.
- :class:`FitResult` is what ``fit_sklearn`` and ``fit_torch`` return.

``metrics.json`` schema 2 (written since the leaderboard shows pooled numbers): ``eer``,
``accuracy``, ``balanced_accuracy``, ``roc_auc``, ``f1`` are pooled over every held-out score;
``<metric>_fold_mean`` / ``<metric>_fold_std`` summarise the folds of K-fold runs. Schema 1 runs
(no ``metrics_schema`` key) stored the fold mean under ``eer`` and the pooled value under
``pooled``; :func:`headline` reads both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.labels import SCORE_DIRECTION

__all__ = [
    "FOLD_METRICS",
    "METRICS_SCHEMA",
    "FitResult",
    "HeldOut",
    "MetricsRecord",
    "ModelInfo",
    "RunInfo",
    "build_record",
    "headline",
    "held_out_metrics",
]

#: Version of the ``metrics.json`` layout written by :class:`MetricsRecord`.
METRICS_SCHEMA = 2
#: Metrics summarised over folds (mean and standard deviation).
FOLD_METRICS = ("accuracy", "balanced_accuracy", "eer", "roc_auc", "f1")
#: Resamples of the bootstrap intervals.
N_BOOT = 1000


# ---------------------------------------------------------------------------------- held-out


@dataclass
class HeldOut:
    """What the held-out scores of a run say.

    Attributes
    ----------
    pooled : dict
        :func:`dfaudio.evaluation.summarize` of every held-out score pooled.
    folds : list of dict
        The same per fold (one entry for a single hold-out).
    eer_ci95, accuracy_ci95 : list of float
        95 % bootstrap intervals of the pooled EER and accuracy (whole groups resampled).
    bootstrap : dict
        How the intervals were drawn: ``unit`` (``group``, ``file`` or ``row``), ``n_units``,
        ``n_boot``, ``seed``.
    clip_level : dict, optional
        Metrics over recordings (each file's score = mean of its window scores).
    warnings : list of str
        E.g. a fold whose model gives one constant score.
    """

    pooled: dict[str, Any]
    folds: list[dict[str, Any]]
    eer_ci95: list[float]
    accuracy_ci95: list[float]
    bootstrap: dict[str, Any]
    n_test_rows: int
    clip_level: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def to_metrics(self) -> dict[str, Any]:
        """The ``metrics.json`` keys of the held-out scores (see the module docstring)."""
        out: dict[str, Any] = {key: self.pooled[key] for key in FOLD_METRICS}
        out["eer_threshold"] = self.pooled["eer_threshold"]
        out["eer_ci95"] = list(self.eer_ci95)
        out["accuracy_ci95"] = list(self.accuracy_ci95)
        out["n_test_rows"] = self.n_test_rows
        out["n_bonafide"] = self.pooled["n_bonafide"]
        out["n_spoof"] = self.pooled["n_spoof"]
        if len(self.folds) > 1:
            for key in FOLD_METRICS:
                vals = np.array([f[key] for f in self.folds], dtype=float)
                out[f"{key}_fold_mean"] = float(np.mean(vals))
                out[f"{key}_fold_std"] = float(np.std(vals, ddof=1))
        out["pooled"] = self.pooled
        if len(self.folds) > 1:
            out["folds"] = self.folds
        if self.clip_level is not None:
            out["clip_level"] = self.clip_level
        out["bootstrap"] = self.bootstrap
        return out


def held_out_metrics(scores_df: pd.DataFrame, *, seed: int = 0, n_boot: int = N_BOOT) -> HeldOut:
    """Pooled and per-fold metrics of held-out scores, with group-bootstrap intervals.

    Parameters
    ----------
    scores_df : pd.DataFrame
        One row per held-out window or clip: ``label``, ``score`` (higher = more bona fide) and
        optional ``fold`` (default one fold), ``group`` / ``file`` (the bootstrap resamples whole
        groups, else whole files, else rows) and ``window`` (rows with ``window >= 0`` are windows
        of a file: clip-level metrics are added).
    seed : int
        Seed of the bootstrap.
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    HeldOut

    Raises
    ------
    DataError
        A fold (or the pool) holds only one class.

    Examples
    --------
    >>> df = pd.DataFrame({"label": ["bonafide"] * 3 + ["spoof"] * 3,
    ...                    "score": [2.0, 1.0, -0.5, 0.5, -1.0, -2.0], "fold": [0, 1, 0, 1, 0, 1]})
    >>> h = held_out_metrics(df, n_boot=200)
    >>> round(h.pooled["eer"], 4), len(h.folds), h.bootstrap["unit"]
    (0.3333, 2, 'row')
    >>> bool(h.eer_ci95[0] <= h.pooled["eer"] <= h.eer_ci95[1])
    True
    """
    from dfaudio import evaluation

    labels = scores_df["label"].to_numpy()
    scores = scores_df["score"].to_numpy(dtype=np.float64)
    pooled = evaluation.summarize(labels, scores)
    folds: list[dict[str, Any]] = []
    warnings: list[str] = []
    fold_col = scores_df["fold"] if "fold" in scores_df.columns else pd.Series(0, scores_df.index)
    for k, part in scores_df.groupby(fold_col.to_numpy(), sort=True):
        s = part["score"].to_numpy(dtype=np.float64)
        folds.append(evaluation.summarize(part["label"].to_numpy(), s))
        if np.ptp(s) == 0:
            warnings.append(
                f"fold {int(k) + 1}: the model gives one constant score (too little training "
                "data?); the official EER rule counts the tie against it (EER 1)"
            )
    unit = next((c for c in ("group", "file") if c in scores_df.columns), None)
    groups = None if unit is None else scores_df[unit].astype(str).to_numpy()
    cis = {}
    for metric in ("eer", "accuracy"):
        lo, hi = evaluation.bootstrap_ci(
            labels, scores, groups=groups, metric=metric, seed=seed, n_boot=n_boot
        )
        cis[metric] = [lo, hi]
    n_units = len(scores_df) if groups is None else int(pd.unique(groups).size)
    clip = None
    if "file" in scores_df.columns and "window" in scores_df.columns:
        if (scores_df["window"] >= 0).any():
            clip = _clip_level(scores_df)
    return HeldOut(
        pooled=pooled,
        folds=folds,
        eer_ci95=cis["eer"],
        accuracy_ci95=cis["accuracy"],
        bootstrap={"unit": unit or "row", "n_units": n_units, "n_boot": n_boot, "seed": seed},
        n_test_rows=int(len(scores_df)),
        clip_level=clip,
        warnings=warnings,
    )


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


def headline(metrics: dict[str, Any], key: str) -> Any:
    """The pooled held-out value of ``key`` in a ``metrics.json`` of any schema.

    Schema 1 (classical K-fold runs before the leaderboard showed pooled numbers) kept the fold
    mean under ``key`` and the pooled value under ``pooled``.

    Examples
    --------
    >>> headline({"eer": 0.2, "pooled": {"eer": 0.25}}, "eer")
    0.25
    >>> headline({"metrics_schema": 2, "eer": 0.25}, "eer")
    0.25
    """
    if metrics.get("metrics_schema", 1) >= 2:
        return metrics.get(key)
    pooled = metrics.get("pooled")
    if isinstance(pooled, dict) and key in pooled:
        return pooled[key]
    return metrics.get(key)


# ---------------------------------------------------------------------------------- records


@dataclass
class RunInfo:
    """What was run: the header of ``metrics.json``.

    Attributes
    ----------
    kind : str
        Backend kind (``sklearn``, ``torch``): how ``predict`` loads the model.
    model, features, data : str
        Names shown on the leaderboard.
    split_type, split, eval_name : str
        From the split plan (``grouped``, ``given``, ``stratified``, ``leaky``).
    n_rows : int
        Rows (windows or clips) the run used in all roles.
    n_folds : int
    seed : int
    p_fake_calibrated : bool
    warnings : list of str
    """

    kind: str
    model: str
    features: str
    data: str
    split_type: str
    split: str
    eval_name: str
    n_rows: int
    n_folds: int
    seed: int
    p_fake_calibrated: bool = True
    warnings: list[str] = field(default_factory=list)


@dataclass
class MetricsRecord:
    """Everything ``metrics.json`` holds: :class:`RunInfo`, :class:`HeldOut` and extras.

    ``extra`` holds what only one kind of run has (training history, sample rates, plots ...);
    its keys come after the common ones.
    """

    info: RunInfo
    held_out: HeldOut
    created: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics.json`` object."""
        i = self.info
        out: dict[str, Any] = {
            "metrics_schema": METRICS_SCHEMA,
            "kind": i.kind,
            "model": i.model,
            "features": i.features,
            "data": i.data,
            "split_type": i.split_type,
            "split": i.split,
            "eval_name": i.eval_name,
            "n_rows": int(i.n_rows),
            "n_folds": int(i.n_folds),
            "seed": i.seed,
            "created": self.created,
            "score_direction": SCORE_DIRECTION,
            "p_fake_calibrated": bool(i.p_fake_calibrated),
            "warnings": [*i.warnings, *self.held_out.warnings],
        }
        out.update(self.held_out.to_metrics())
        out.update(self.extra)
        return out


def build_record(
    info: RunInfo,
    scores_df: pd.DataFrame,
    *,
    extra: dict[str, Any] | None = None,
    created: str | None = None,
    n_boot: int = N_BOOT,
) -> MetricsRecord:
    """The metrics record of a run from its held-out scores (seeded with ``info.seed``)."""
    from dfaudio.runs.store import now

    held = held_out_metrics(scores_df, seed=info.seed, n_boot=n_boot)
    extra = dict(extra or {})
    return MetricsRecord(info=info, held_out=held, created=created or now(), extra=extra)


@dataclass
class ModelInfo:
    """``model.json``: which file holds the model and how to rebuild and trust it.

    Attributes
    ----------
    kind : str
        Backend kind (as in ``config.json``).
    format : str
        ``skops``, ``xgboost`` or ``safetensors``.
    file : str
        File name inside the run directory.
    model : str
        Model name.
    trained_on : str
        Which rows the saved model saw ("all rows", "fold 1 train", "train role ...").
    output : str
        How the model's output becomes the bona fide score.
    sha256 : str, optional
        Of ``file``; filled in by :meth:`dfaudio.runs.writer.RunWriter.model_info` when missing.
    spec : dict
        Kind-specific fields, written at the top level (torch: ``input_shape``, ``timefreq``,
        ``normalizer``, ``pretrained``, ``freeze``, ``best_epoch``).
    """

    kind: str
    format: str
    file: str
    model: str
    trained_on: str
    output: str
    sha256: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``model.json`` object (``spec`` keys at the top level)."""
        common = {
            "writer": "dfaudio",
            "kind": self.kind,
            "model": self.model,
            "format": self.format,
            "file": self.file,
            "sha256": self.sha256,
            "trained_on": self.trained_on,
            "output": self.output,
        }
        clash = sorted(set(common) & set(self.spec))
        if clash:
            from dfaudio.exceptions import ParameterError

            raise ParameterError(f"model.json spec repeats common keys: {clash}")
        return {**common, **self.spec}


@dataclass
class FitResult:
    """What a fit returns.

    Attributes
    ----------
    run_dir : Path or None
        The run directory (``None`` when fitted in memory, ``runs_dir=None``).
    metrics : dict
        The ``metrics.json`` object.
    scores : pd.DataFrame, optional
        Held-out scores (``scores.csv``).
    model : object, optional
        The saved (final) model, for fits in memory.
    config : dict
        The ``config.json`` object.
    """

    run_dir: Path | None
    metrics: dict[str, Any]
    scores: pd.DataFrame | None = None
    model: Any = None
    config: dict[str, Any] = field(default_factory=dict)
