"""Where runs live and how their files are named, found and read back.

::

    runs/20261125-213000-xgboost-deep-voice-26/
        config.json       resolved configuration (kind, model, features, data, split, seed, ...)
        metrics.json      headline metrics (fractions) + split type, rows, date, score direction
        scores.csv        one row per scored window or clip: file, window, group, label,
                          score, p_fake, fold
        model.*           the fitted model (model.skops, model.ubj or model.safetensors)
        environment.json  library versions, platform, command line, seed

``metrics.json`` is written last (by :class:`dfaudio.runs.writer.RunWriter`), so a directory
without it is an unfinished run; the leaderboard reads ``metrics.json`` files only.
"""

from __future__ import annotations

import json
import platform
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dfaudio.exceptions import DataError

__all__ = [
    "CONFIG",
    "ENVIRONMENT",
    "METRICS",
    "MODEL_INFO",
    "PLOT_DIR",
    "SCORES",
    "SCORE_COLUMNS",
    "environment",
    "iter_runs",
    "load_config",
    "load_json",
    "load_metrics",
    "new_run_dir",
    "now",
    "slug",
]

CONFIG = "config.json"
METRICS = "metrics.json"
SCORES = "scores.csv"
ENVIRONMENT = "environment.json"
#: How to rebuild the model (:class:`dfaudio.runs.record.ModelInfo`).
MODEL_INFO = "model.json"
#: Sub-folder of a run directory that holds its PNG plots.
PLOT_DIR = "plots"
SCORE_COLUMNS = ("file", "window", "group", "label", "score", "p_fake", "fold")
_VERSIONED = (
    "numpy",
    "scipy",
    "pandas",
    "sklearn",
    "xgboost",
    "librosa",
    "torch",
    "timm",
    "soundfile",
    "skops",
    "joblib",
)


def slug(text: str) -> str:
    """File-system friendly name part.

    Examples
    --------
    >>> slug("xgboost / deep voice"), slug("///")
    ('xgboost-deep-voice', 'run')
    """
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60] or "run"


def new_run_dir(runs_dir: str | Path, name: str) -> Path:
    """Create and return a fresh ``runs_dir/<timestamp>-<name>[-n]`` directory."""
    base = Path(runs_dir)
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        p = base / f"{stamp}-{slug(name)}{'' if n == 0 else f'-{n}'}"
        try:
            p.mkdir()
            return p
        except FileExistsError:
            continue
    raise DataError("could not create a unique run directory", base)  # pragma: no cover


def environment(*, seed: int | None = None) -> dict[str, Any]:
    """Versions of Python and the libraries that are already imported, platform, command line."""
    versions = {"python": platform.python_version(), "dfaudio": _version("dfaudio")}
    for mod in _VERSIONED:
        if mod in sys.modules:
            versions[mod] = _version(mod)
    return {
        "versions": versions,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "argv": sys.argv,
        "seed": seed,
        "created": now(),
    }


def now() -> str:
    """Current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _version(mod: str) -> str:
    try:
        return str(sys.modules[mod].__version__) if mod in sys.modules else "?"
    except AttributeError:
        return "?"


def load_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON file, with a one-line :class:`DataError` when it is missing or malformed."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8") as fh:
            obj = json.load(fh)
    except FileNotFoundError:
        raise DataError("not found", p) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON ({exc.msg} at line {exc.lineno})", p) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}); invalid JSON", p) from None
    except IsADirectoryError:
        raise DataError("is a folder, not a JSON file", p) from None
    if not isinstance(obj, dict):
        raise DataError("expected a JSON object", p)
    return obj


def load_metrics(run_dir: str | Path) -> dict[str, Any]:
    """``metrics.json`` of a run, with ``run_dir`` added."""
    m = load_json(Path(run_dir) / METRICS)
    m["run_dir"] = str(run_dir)
    return m


def load_config(run_dir: str | Path) -> dict[str, Any]:
    """``config.json`` of a run."""
    return load_json(Path(run_dir) / CONFIG)


def iter_runs(runs_dir: str | Path) -> Iterator[Path]:
    """Finished run directories below ``runs_dir`` (those with ``metrics.json``), sorted."""
    base = Path(runs_dir)
    if (base / METRICS).is_file():
        yield base
        return
    if not base.is_dir():
        return
    for p in sorted(base.rglob(METRICS)):
        yield p.parent
