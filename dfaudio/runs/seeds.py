"""Runs repeated over seeds (``--seeds N`` of fit-sklearn and fit-deep): mean, std and spread.

One fit says little about a model when its result moves with the seed (weight initialisation,
data order, the random part of the split). ``--seeds N`` fits N times with seeds ``seed``,
``seed + 1`` ... ``seed + N - 1`` (each a normal run); :func:`mark_seed_group` then writes the
group's summary into every member's ``metrics.json`` (``seed_group``: the seeds, the runs, mean,
sample std, min and max of EER and accuracy), which the leaderboard shows in its ``seeds``
column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.exceptions import DataError

__all__ = ["format_seed_group", "mark_seed_group", "register_seed_column"]

_KEYS = ("eer", "accuracy")


def mark_seed_group(run_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """Summarise runs that differ only by seed and record it in each ``metrics.json``.

    Returns
    -------
    dict
        ``n``, ``seeds``, ``runs`` and, per metric in (eer, accuracy), ``{metric}_mean``,
        ``{metric}_std`` (sample std, ddof 1), ``{metric}_min``, ``{metric}_max``.
    """
    from dfaudio.io.files import write_json
    from dfaudio.runs.store import METRICS, load_json

    dirs = [Path(d) for d in run_dirs]
    if len(dirs) < 2:
        raise DataError("a seed group needs at least two runs")
    metrics = [load_json(d / METRICS) for d in dirs]
    summary: dict[str, Any] = {
        "n": len(dirs),
        "seeds": [m.get("seed") for m in metrics],
        "runs": [d.name for d in dirs],
    }
    for key in _KEYS:
        values = np.array([m.get(key, np.nan) for m in metrics], dtype=np.float64)
        if np.isfinite(values).all():
            summary[f"{key}_mean"] = float(values.mean())
            summary[f"{key}_std"] = float(values.std(ddof=1))
            summary[f"{key}_min"] = float(values.min())
            summary[f"{key}_max"] = float(values.max())
    for d, m in zip(dirs, metrics, strict=True):
        m["seed_group"] = summary
        write_json(d / METRICS, m, force=True)
    return summary


def format_seed_group(model: str, s: dict[str, Any]) -> str:
    """One line: EER and accuracy mean +/- std (min .. max) over the seeds."""
    parts = [f"{model}: {s['n']} seeds {s['seeds'][0]}..{s['seeds'][-1]}"]
    for key, name in (("eer", "EER"), ("accuracy", "acc")):
        if f"{key}_mean" in s:
            parts.append(
                f"{name} {100 * s[f'{key}_mean']:.2f} ± {100 * s[f'{key}_std']:.2f} % "
                f"({100 * s[f'{key}_min']:.2f} .. {100 * s[f'{key}_max']:.2f})"
            )
    return "  ".join(parts)


def register_seed_column() -> None:
    """Add the ``seeds`` column (EER mean ± std over the run's seed group) to the leaderboard."""
    from dfaudio.runs.leaderboard import COLUMNS, Column, add_column

    def value(m: dict[str, Any]) -> Any:
        s = m.get("seed_group")
        if not isinstance(s, dict) or "eer_mean" not in s:
            return None
        return [s["eer_mean"], s["eer_std"], s["n"]]

    def fmt(v: Any) -> str:
        if not v:
            return ""
        return f"{100 * v[0]:.2f} ± {100 * v[1]:.2f} ({int(v[2])})"

    if "seeds" not in {c.key for c in COLUMNS}:
        add_column(Column("seeds", "EER seeds", value, fmt=fmt, right=True), after="eer_folds")
