"""Deep (torch) detectors on time-frequency tensors: the pieces ``fit-deep`` is made of.

- :mod:`~dfaudio.deep.config`: :class:`DeepConfig` (a run) and :class:`TimeFreqConfig` (a
  tensor); torch-free.
- :mod:`~dfaudio.deep.cache`: whole-clip features computed once per file and configuration.
- :mod:`~dfaudio.deep.dataset`: cropping, per-feature normalisation, the torch dataset.
- :mod:`~dfaudio.deep.checkpoint`: resume checkpoints, best weights (safetensors), RNG state.
- :mod:`~dfaudio.deep.trainer`: train-epoch, evaluate and select-best steps and the epoch loop.
- :mod:`~dfaudio.deep.inference`: scoring new audio with a finished run.

Planning a run (roles) lives in :mod:`dfaudio.training.splits`, the orchestration in
:mod:`dfaudio.training.fit_torch`. Importing this package is light: names are resolved on first
use, and only the torch-using modules import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DeepConfig",
    "FeatureCache",
    "Normalizer",
    "TimeFreqConfig",
    "TimeFreqDataset",
    "Trainer",
    "TrainingInterrupted",
    "evaluate",
    "precompute",
    "select_best",
    "train_epoch",
]

_WHERE = {
    "DeepConfig": "config",
    "TimeFreqConfig": "config",
    "FeatureCache": "cache",
    "precompute": "cache",
    "Normalizer": "dataset",
    "TimeFreqDataset": "dataset",
    "Trainer": "trainer",
    "TrainingInterrupted": "trainer",
    "evaluate": "trainer",
    "select_best": "trainer",
    "train_epoch": "trainer",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"dfaudio.deep.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'dfaudio.deep' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
