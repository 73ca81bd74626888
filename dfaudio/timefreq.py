"""Fixed-size time-frequency tensors for torch, with an on-disk cache (compatibility module).

The code lives in :mod:`dfaudio.deep`: :mod:`~dfaudio.deep.config` (:class:`TimeFreqConfig`),
:mod:`~dfaudio.deep.cache` (:class:`FeatureCache`, :func:`precompute`) and
:mod:`~dfaudio.deep.dataset` (:class:`Normalizer`, :class:`TimeFreqDataset`). This module keeps
the old import path working; new code should import from :mod:`dfaudio.deep`.
"""

from __future__ import annotations

from dfaudio.deep.cache import (
    DEFAULT_CACHE_DIR,
    FeatureCache,
    PrecomputeResult,
    RowStats,
    clip_features,
    precompute,
    repeat_pad,
)
from dfaudio.deep.config import CACHE_VERSION, NORMALIZATIONS, TimeFreqConfig, parse_feature_params
from dfaudio.deep.dataset import Normalizer, TimeFreqDataset, crop_frames, make_loader

__all__ = [
    "CACHE_VERSION",
    "DEFAULT_CACHE_DIR",
    "NORMALIZATIONS",
    "FeatureCache",
    "Normalizer",
    "PrecomputeResult",
    "RowStats",
    "TimeFreqConfig",
    "TimeFreqDataset",
    "clip_features",
    "crop_frames",
    "make_loader",
    "parse_feature_params",
    "precompute",
    "repeat_pad",
]
