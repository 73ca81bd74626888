"""Is run A better than run B? A paired comparison on the trials both runs scored.

:func:`compare_runs` joins the two runs' ``scores.csv`` on the trials they share (file and window
when both score the same windows, else files, each file's score the mean of its window scores),
then reports the paired bootstrap interval of the EER and minDCF **differences** (whole groups
resampled, :func:`dfaudio.metrics.paired.paired_bootstrap`) and McNemar's exact test of their hard
decisions, each at its own run's threshold (the Bayes threshold of its calibration map when it has
one, else its EER threshold).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError

__all__ = ["compare_runs"]


def _scores(run: Path) -> pd.DataFrame:
    from dfaudio.runs.store import SCORES

    path = run / SCORES
    if not path.is_file():
        raise DataError("run has no scores.csv", run)
    df = pd.read_csv(path)
    for col in ("label", "score"):
        if col not in df.columns:
            raise DataError(f"scores.csv has no {col!r} column", path)
    if "file" not in df.columns:
        if "row" not in df.columns:
            raise DataError("scores.csv has neither a file nor a row column to pair on", path)
        df["file"] = "row " + df["row"].astype(str)  # tables without provenance: the row
    if "window" not in df.columns:
        df["window"] = -1
    return df


def _per_file(df: pd.DataFrame) -> pd.DataFrame:
    """One row per file: its label, group and mean window score (what predict reports)."""
    agg: dict[str, Any] = {"label": ("label", "first"), "score": ("score", "mean")}
    if "group" in df.columns:
        agg["group"] = ("group", "first")
    return df.groupby("file", as_index=False, sort=False).agg(**agg)


def _threshold(run: Path, level: str) -> tuple[float, str]:
    from dfaudio.metrics import bayes_threshold
    from dfaudio.runs.calibration import load_run_calibration
    from dfaudio.runs.store import METRICS, load_json

    cal = load_run_calibration(run)
    if cal is not None:
        try:
            return cal.inverse(bayes_threshold()), f"Bayes threshold of its {cal.method} map"
        except DataError:
            pass
    thr = load_json(run / METRICS).get("eer_threshold")
    if thr is None:
        return 0.0, "0 (no threshold recorded)"
    return float(thr), "its EER threshold"


def compare_runs(
    run_a: str | Path,
    run_b: str | Path,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Paired comparison of two runs on the trials both scored.

    Returns
    -------
    dict
        ``run_a``, ``run_b``, ``level`` (``"window"`` or ``"file"``), ``n_trials``,
        ``n_bonafide``, ``n_spoof``, ``groups`` (the resampling unit), ``eer`` and ``min_dcf``
        (``a``, ``b``, ``diff`` = a - b, ``low``, ``high``, ``p_value``), ``mcnemar``.
    """
    from dfaudio.metrics.paired import mcnemar, paired_bootstrap

    a_dir, b_dir = Path(run_a), Path(run_b)
    a, b = _scores(a_dir), _scores(b_dir)
    keys = ["file", "window"]
    joined = a.merge(b, on=keys, suffixes=("_a", "_b"))
    level = "window"
    if joined.empty or (a["window"] >= 0).any() != (b["window"] >= 0).any():
        level = "file"
        joined = _per_file(a).merge(_per_file(b), on="file", suffixes=("_a", "_b"))
    if joined.empty:
        raise DataError(
            f"{a_dir.name} and {b_dir.name} share no scored trial (different data or splits?)"
        )
    bad = joined["label_a"].astype(str) != joined["label_b"].astype(str)
    if bad.any():
        f = joined.loc[bad, "file"].iloc[0]
        raise DataError(f"the two runs disagree on the label of {f} ({int(bad.sum())} trials)")
    labels = joined["label_a"].astype(str).to_numpy()
    sa = joined["score_a"].to_numpy(dtype=np.float64)
    sb = joined["score_b"].to_numpy(dtype=np.float64)
    group_col = "group_a" if "group_a" in joined.columns else None
    groups = joined[group_col].astype(str).to_numpy() if group_col else None
    boot = paired_bootstrap(labels, sa, sb, groups=groups, n_boot=n_boot, seed=seed, alpha=alpha)
    thr_a, src_a = _threshold(a_dir, level)
    thr_b, src_b = _threshold(b_dir, level)
    test = mcnemar(labels, sa, sb, threshold_a=thr_a, threshold_b=thr_b)
    test["threshold_a_source"], test["threshold_b_source"] = src_a, src_b
    return {
        "run_a": str(a_dir),
        "run_b": str(b_dir),
        "level": level,
        "n_trials": int(labels.size),
        "n_only_a": int(len(a) - len(joined)) if level == "window" else None,
        "n_bonafide": int((labels == "bonafide").sum()),
        "n_spoof": int((labels == "spoof").sum()),
        "groups": "group" if groups is not None else "trial",
        "n_groups": int(len(pd.unique(groups))) if groups is not None else int(labels.size),
        **boot,
        "mcnemar": test,
    }
