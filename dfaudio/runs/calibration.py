"""Calibration as a property of every run: a score -> LLR map learned on held-out scores only.

Every fit hands its held-out scores (out-of-fold for K-fold runs, the test role for hold-outs)
to :func:`write_run_calibration`, which writes ``calibration.json`` beside the model:

- the **map** (:mod:`dfaudio.metrics.calibration`, logistic by default) is fitted on *file-level*
  held-out scores (the mean of a file's window scores, which is what ``dfaudio predict`` reports)
  or on dev scores when the trainer gives them; it never sees a training row;
- the **calibrated metrics** it records (actDCF, Cllr of the LLRs) are *cross-fitted*: the LLRs of
  each fold come from a map fitted on the other folds (for a single held-out set, on the other
  half of its groups), so no reported number comes from rows its own map was fitted on.

``dfaudio predict`` reads the map: it prints the LLR and ``p_fake`` for a stated spoof prior and
decides at the Bayes threshold. ``dfaudio calibrate RUN --data SAMPLE`` refits only the map on
a labelled sample of the user's own domain and writes a new version of the run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError
from dfaudio.io.files import write_json
from dfaudio.labels import BONAFIDE, SPOOF

__all__ = [
    "CALIBRATION",
    "clip_scores",
    "cross_fitted_llr",
    "load_run_calibration",
    "recalibrate_run",
    "register_leaderboard_columns",
    "run_calibration",
    "write_run_calibration",
]

#: File name of a run's calibration map.
CALIBRATION = "calibration.json"


def clip_scores(scores_df: pd.DataFrame) -> pd.DataFrame:
    """One row per file (mean window score), as ``dfaudio predict`` scores a file.

    Rows without a ``file`` column, or with ``window`` -1 (clip-level runs), are kept as they are.
    """
    df = scores_df
    if "file" not in df.columns or "window" not in df.columns or (df["window"] < 0).all():
        return df.reset_index(drop=True)
    keys = ["file"] + (["fold"] if "fold" in df.columns else [])
    agg: dict[str, Any] = {"label": ("label", "first"), "score": ("score", "mean")}
    if "group" in df.columns:
        agg["group"] = ("group", "first")
    return df.groupby(keys, sort=False).agg(**agg).reset_index()


def _two_halves(groups: np.ndarray) -> np.ndarray:
    """Deterministic 0/1 half per group (by a hash of its name), so groups never straddle."""
    names = pd.unique(groups)
    half = {g: int(hashlib.sha256(str(g).encode()).hexdigest(), 16) % 2 for g in names}
    return np.asarray([half[g] for g in groups])


def cross_fitted_llr(
    labels: np.ndarray, scores: np.ndarray, folds: np.ndarray, *, method: str = "logistic"
) -> np.ndarray:
    """LLRs where each fold's come from a map fitted on the other folds only.

    Returns NaN for folds whose complement lacks a class.
    """
    from dfaudio.metrics.calibration import fit_calibration

    llr = np.full(scores.size, np.nan)
    for f in pd.unique(folds):
        test = folds == f
        train_labels = labels[~test]
        if not ((train_labels == BONAFIDE).any() and (train_labels == SPOOF).any()):
            continue
        cal = fit_calibration(train_labels, scores[~test], method=method)
        llr[test] = cal.transform(scores[test])
    return llr


def run_calibration(
    scores_df: pd.DataFrame,
    *,
    dev_df: pd.DataFrame | None = None,
    method: str = "logistic",
    fitted_on: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fit a run's map and measure it honestly.

    Parameters
    ----------
    scores_df : pd.DataFrame
        Held-out scores (``label``, ``score``; ``file``/``window``/``fold``/``group`` when
        present).
    dev_df : pd.DataFrame, optional
        Dev scores (``label``, ``score``): the map is fitted on them and measured on
        ``scores_df``.
    method : {"logistic", "pav"}
    fitted_on : str, optional
        Description recorded in the map.

    Returns
    -------
    calibration : dfaudio.metrics.calibration.Calibration
    summary : dict
        ``method``, ``fitted_on``, ``measured_on``, ``n_files``, and the metrics of the held-out
        files: ``min_dcf``, ``min_cllr`` (calibration-free), ``act_dcf_raw`` / ``cllr_raw`` (the
        scores read as LLRs) and ``act_dcf`` / ``cllr`` (the cross-fitted LLRs).
    """
    from dfaudio.metrics import act_dcf, cllr, min_cllr, min_dcf
    from dfaudio.metrics.calibration import fit_calibration

    clips = clip_scores(scores_df)
    labels = clips["label"].astype(str).to_numpy()
    scores = clips["score"].to_numpy(dtype=np.float64)
    if not ((labels == BONAFIDE).any() and (labels == SPOOF).any()):
        raise DataError("calibration needs held-out scores of both classes")
    if dev_df is not None:
        dev = clip_scores(dev_df)
        cal = fit_calibration(
            dev["label"].astype(str).to_numpy(),
            dev["score"].to_numpy(dtype=np.float64),
            method=method,
            fitted_on=fitted_on or "dev scores",
        )
        llr = cal.transform(scores)
        measured = "held-out files, map fitted on dev scores"
    else:
        if "fold" in clips.columns and clips["fold"].nunique() > 1:
            folds = clips["fold"].to_numpy()
            measured = "held-out files, each fold's LLRs from a map fitted on the other folds"
        else:
            groups = (
                clips["group"].astype(str).to_numpy()
                if "group" in clips.columns
                else clips.get("file", pd.Series(np.arange(len(clips)))).astype(str).to_numpy()
            )
            folds = _two_halves(groups)
            measured = "held-out files, each half's LLRs (halves by group) from the other half"
        llr = cross_fitted_llr(labels, scores, folds, method=method)
        cal = fit_calibration(
            labels,
            scores,
            method=method,
            fitted_on=fitted_on or "held-out (out-of-fold / test) file scores of this run",
        )
    ok = np.isfinite(llr)
    bona, spoof = labels == BONAFIDE, labels == SPOOF
    summary: dict[str, Any] = {
        "method": method,
        "fitted_on": cal.fitted_on,
        "measured_on": measured,
        "n_files": int(labels.size),
        "min_dcf": min_dcf(scores[bona], scores[spoof])["value"],
        "min_cllr": min_cllr(scores[bona], scores[spoof]),
        "act_dcf_raw": act_dcf(scores[bona], scores[spoof])["value"],
        "cllr_raw": cllr(scores[bona], scores[spoof]),
    }
    if (ok & bona).any() and (ok & spoof).any():
        summary["act_dcf"] = act_dcf(llr[ok & bona], llr[ok & spoof])["value"]
        summary["cllr"] = cllr(llr[ok & bona], llr[ok & spoof])
        summary["n_measured"] = int(ok.sum())
    return cal, summary


def write_run_calibration(
    run_dir: str | Path,
    scores_df: pd.DataFrame,
    *,
    dev_df: pd.DataFrame | None = None,
    method: str = "logistic",
    fitted_on: str | None = None,
) -> dict[str, Any]:
    """Fit, measure and write ``calibration.json``; never raises (a run is never lost to it).

    Returns
    -------
    dict
        The summary of :func:`run_calibration` plus ``file``, or ``{"error": ...}``.
    """
    try:
        cal, summary = run_calibration(scores_df, dev_df=dev_df, method=method, fitted_on=fitted_on)
        cal.meta = {k: v for k, v in summary.items() if k not in ("method", "fitted_on")}
        write_json(Path(run_dir) / CALIBRATION, cal.to_dict(), force=True)
        return {"file": CALIBRATION, **summary}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}


def load_run_calibration(run_dir: str | Path) -> Any:
    """The run's map (:class:`~dfaudio.metrics.calibration.Calibration`), or None when absent."""
    from dfaudio.metrics.calibration import from_dict
    from dfaudio.runs.store import load_json

    path = Path(run_dir) / CALIBRATION
    if not path.is_file():
        return None
    return from_dict(load_json(path), source=str(path))


def recalibrate_run(
    run_dir: str | Path,
    labels: Any,
    scores: Any,
    *,
    out_dir: str | Path | None = None,
    method: str = "logistic",
    source: str = "",
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Refit only the score -> LLR map of a run on a labelled sample and write a new version.

    The model is not retrained: the run directory is copied (model, config, scores, plots) to
    ``out_dir`` (default ``<run>-cal``, ``<run>-cal2`` ...), its ``calibration.json`` is replaced
    by a map fitted on ``scores`` (what this run's model gave the sample's files), and
    ``metrics.json`` records the new map under ``calibration`` (with ``parent_run``), written last.

    Parameters
    ----------
    run_dir : path
        A finished run.
    labels, scores : array-like [shape=(n,)]
        The sample's keys (``bonafide`` / ``spoof``) and the run's scores of it (file level).
    out_dir : path, optional
        The new run directory (must not exist unless ``force``, and then only a run dfaudio
        wrote).
    method : {"logistic", "pav"}
    source : str
        Where the sample came from (recorded).

    Returns
    -------
    new_dir : Path
    summary : dict
        ``method``, ``fitted_on``, ``n_bonafide``, ``n_spoof`` and the map's parameters.
    """
    import shutil

    from dfaudio.exceptions import ParameterError
    from dfaudio.metrics.calibration import fit_calibration
    from dfaudio.runs.store import CONFIG, METRICS, load_json

    src = Path(run_dir)
    if not (src / CONFIG).is_file() or not (src / METRICS).is_file():
        raise DataError("not a finished dfaudio run (config.json and metrics.json needed)", src)
    cal = fit_calibration(
        labels, scores, method=method, fitted_on=f"calibrate sample: {source}".strip()
    )
    if getattr(cal, "slope", 1.0) <= 0:
        raise DataError(
            f"on this sample the run's scores rank bona fide BELOW spoof (logistic slope "
            f"{cal.slope:.3g}): the detector fails in this domain, and a calibration map cannot "
            "fix a wrong ranking; nothing written"
        )
    if out_dir is None:
        n = 1
        while True:
            dest = src.with_name(f"{src.name}-cal" + ("" if n == 1 else str(n)))
            if not dest.exists():
                break
            n += 1
    else:
        dest = Path(out_dir)
        if dest.exists():
            if not force:
                raise ParameterError(f"{dest} exists; pass --force to replace it")
            if not (dest / CONFIG).is_file():
                raise ParameterError(f"{dest} exists and is not a dfaudio run; not replacing it")
            shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(METRICS))
    cal.meta = {"parent_run": str(src), "sample": source}
    write_json(dest / CALIBRATION, cal.to_dict(), force=True)
    config = load_json(dest / CONFIG)
    config["calibrated_from"] = str(src)
    write_json(dest / CONFIG, config, force=True)
    metrics = load_json(src / METRICS)
    summary = {
        "file": CALIBRATION,
        "method": cal.method,
        "fitted_on": cal.fitted_on,
        "n_bonafide": cal.n_bonafide,
        "n_spoof": cal.n_spoof,
        "parent_run": str(src),
        "previous": metrics.get("calibration"),
    }
    metrics["calibration"] = summary
    write_json(dest / METRICS, metrics, force=True)
    return dest, {**summary, **cal.to_dict()}


def _cal_value(key: str) -> Any:
    def value(m: dict[str, Any]) -> Any:
        cal = m.get("calibration")
        return cal.get(key) if isinstance(cal, dict) else None

    return value


def register_leaderboard_columns() -> None:
    """Add minDCF and the cross-fitted actDCF of every run's map to the leaderboard (once).

    Both come from ``metrics.json`` ``calibration`` (held-out files, ASVspoof 5 costs); runs
    written before calibration existed show ``-``.
    """
    from dfaudio.runs.leaderboard import COLUMNS, Column, add_column

    def fmt(x: Any) -> str:
        return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.4f}"

    from dfaudio.runs.seeds import register_seed_column

    register_seed_column()
    keys = {c.key for c in COLUMNS}
    if "min_dcf" not in keys:
        add_column(Column("min_dcf", "file minDCF", _cal_value("min_dcf"), fmt=fmt, right=True))
    if "act_dcf" not in keys:
        add_column(
            Column("act_dcf", "file actDCF", _cal_value("act_dcf"), fmt=fmt, right=True),
            after="min_dcf",
        )
