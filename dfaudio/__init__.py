"""dfaudio: a toolkit for detecting deepfake (synthetic or converted) speech.

The top level is a light, lazy facade: ``import dfaudio`` imports only the exception classes, and
each name below is imported from its module the first time it is used, so ``import dfaudio``
never imports torch, timm, xgboost, librosa, transformers or opensmile.

Audio and data
    :func:`load` (read any file, resample), :func:`load_manifest` (a corpus -> one row per file),
    :func:`tabulate` (manifest -> per-window feature table), :func:`read_table`,
    :func:`demo_data_dir` (the bundled demo audio).
Training (leakage-aware splits; a run directory, or in memory with ``runs_dir=None``)
    :func:`fit_sklearn`, :func:`fit_torch` with :class:`DeepConfig`; both return a
    :class:`FitResult`.
Scoring
    :func:`load_predictor` (a run directory or a :class:`FitResult`) -> :class:`Predictor` with
    ``score_file(path)`` and ``score_array(y, sr)``.
Metrics (bona fide scores: higher = more bona fide)
    :func:`evaluate_scores`, :func:`summarize`, :func:`eer`, :func:`compute_eer`,
    :func:`det_curve`, :func:`roc_auc`, :func:`bootstrap_ci`, :func:`min_tdcf`, :func:`min_dcf`,
    :func:`act_dcf`, :func:`cllr`, :func:`min_cllr`.

Examples
--------
>>> import dfaudio
>>> bona, spoof = [2.0, 1.5, 0.3], [-1.0, 0.5, -2.0]
>>> eer, threshold = dfaudio.compute_eer(bona, spoof)  # one bona fide below one spoof
>>> round(eer, 4)
0.3333
>>> sorted(p.name for p in dfaudio.demo_data_dir().iterdir() if p.is_dir())
['fake', 'real']
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dfaudio.exceptions import AudioError, DataError, DfaudioError, ParameterError

__version__ = "0.1.0"

#: Public name -> "module:attribute", imported on first use (PEP 562).
_LAZY: dict[str, str] = {
    # audio and data
    "load": "dfaudio.io.audio:load",
    "load_manifest": "dfaudio.datasets:load_manifest",
    "tabulate": "dfaudio.tabular:tabulate",
    "read_table": "dfaudio.tables:read_table",
    "FeatureTable": "dfaudio.tables:FeatureTable",
    # training
    "fit_sklearn": "dfaudio.training.fit_sklearn:fit_sklearn",
    "fit_torch": "dfaudio.training.fit_torch:fit_torch",
    "DeepConfig": "dfaudio.deep.config:DeepConfig",
    "FitResult": "dfaudio.runs.record:FitResult",
    # scoring
    "load_predictor": "dfaudio.scoring.predictor:load_predictor",
    "Predictor": "dfaudio.scoring.predictor:Predictor",
    # metrics
    "evaluate_scores": "dfaudio.evaluation:evaluate_scores",
    "summarize": "dfaudio.evaluation:summarize",
    "eer": "dfaudio.evaluation:eer",
    "compute_eer": "dfaudio.evaluation:compute_eer",
    "det_curve": "dfaudio.evaluation:det_curve",
    "roc_auc": "dfaudio.evaluation:roc_auc",
    "bootstrap_ci": "dfaudio.evaluation:bootstrap_ci",
    "min_tdcf": "dfaudio.evaluation:min_tdcf",
    "min_dcf": "dfaudio.metrics:min_dcf",
    "act_dcf": "dfaudio.metrics:act_dcf",
    "cllr": "dfaudio.metrics:cllr",
    "min_cllr": "dfaudio.metrics:min_cllr",
}

__all__ = [
    "AudioError",
    "DataError",
    "DeepConfig",
    "DfaudioError",
    "FeatureTable",
    "FitResult",
    "ParameterError",
    "Predictor",
    "__version__",
    "act_dcf",
    "bootstrap_ci",
    "cllr",
    "compute_eer",
    "demo_data_dir",
    "det_curve",
    "eer",
    "evaluate_scores",
    "fit_sklearn",
    "fit_torch",
    "load",
    "load_manifest",
    "load_predictor",
    "min_cllr",
    "min_dcf",
    "min_tdcf",
    "read_table",
    "roc_auc",
    "summarize",
    "tabulate",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these names are lazy
    from dfaudio.datasets import load_manifest
    from dfaudio.deep.config import DeepConfig
    from dfaudio.evaluation import (
        bootstrap_ci,
        compute_eer,
        det_curve,
        eer,
        evaluate_scores,
        min_tdcf,
        roc_auc,
        summarize,
    )
    from dfaudio.io.audio import load
    from dfaudio.metrics import act_dcf, cllr, min_cllr, min_dcf
    from dfaudio.runs.record import FitResult
    from dfaudio.scoring.predictor import Predictor, load_predictor
    from dfaudio.tables import FeatureTable, read_table
    from dfaudio.tabular import tabulate
    from dfaudio.training.fit_sklearn import fit_sklearn
    from dfaudio.training.fit_torch import fit_torch


def demo_data_dir() -> Path:
    """Folder of the bundled demo audio: ``real/`` (5 LJ Speech clips) and ``fake/`` (their
    WaveFake copies); see ``ATTRIBUTION.md`` in it.

    Examples
    --------
    >>> (demo_data_dir() / "ATTRIBUTION.md").is_file()
    True
    """
    from importlib.resources import files

    return Path(str(files("dfaudio") / "data" / "demo"))


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'dfaudio' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
