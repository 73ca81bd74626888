"""Fixed-size tensors for torch: crop, normalise, batch.

A cached whole-clip feature (:mod:`dfaudio.deep.cache`) -> ``n_frames`` consecutive frames
(:func:`crop_frames`: a random offset in training, offset 0 in evaluation) -> per-feature
normalisation (:class:`Normalizer`) -> a ``(1, n_feat, n_frames)`` float32 tensor.

The defaults reproduce the seed models' input: 6 s at 16 kHz, 64 mel bands, ``n_fft=1024``,
``hop_length=512`` -> ``1 x 64 x 188``.

Normalisation
-------------
``"global"`` (default): per feature row (mel band, coefficient), mean and standard deviation over
all frames of the *training* files, fitted once (:meth:`Normalizer.fit_from_stats`) and saved with
the model. ``"utterance"``: per row, over the frames of the clip itself. ``"none"``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from dfaudio.deep.cache import FeatureCache, RowStats
from dfaudio.exceptions import DfaudioError, ParameterError

__all__ = ["Normalizer", "TimeFreqDataset", "crop_frames", "make_loader"]


def crop_frames(S: np.ndarray, n_frames: int, *, offset: int = 0) -> np.ndarray:
    """``n_frames`` consecutive frames from ``offset`` (repeating the frames if too few).

    Returns
    -------
    S : np.ndarray [shape=(n_feat, n_frames)]

    Examples
    --------
    >>> crop_frames(np.arange(10).reshape(1, 10), 3, offset=8).tolist()
    [[7, 8, 9]]
    """
    if S.shape[1] < n_frames:
        S = np.tile(S, (1, math.ceil(n_frames / S.shape[1])))
        offset = 0
    offset = int(min(max(offset, 0), S.shape[1] - n_frames))
    return S[:, offset : offset + n_frames]


@dataclasses.dataclass
class Normalizer:
    """Per-feature-row normalisation of a ``(n_feat, n_frames)`` matrix.

    Parameters
    ----------
    mode : {"global", "utterance", "none"}
    mean, std : np.ndarray [shape=(n_feat,)], optional
        Training statistics (``mode="global"`` only).
    eps : float
        Floor of the standard deviation.
    """

    mode: str = "global"
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    eps: float = 1e-5

    @classmethod
    def fit_from_stats(cls, stats: RowStats, *, mode: str = "global") -> Normalizer:
        """A global normaliser from accumulated training statistics."""
        if mode != "global":
            return cls(mode=mode)
        if stats.count == 0:
            raise DfaudioError("no training frames to fit the global normalisation on")
        mean = stats.total / stats.count
        var = np.maximum(stats.total_sq / stats.count - mean**2, 0.0)
        return cls(mode=mode, mean=mean.astype(np.float32), std=np.sqrt(var).astype(np.float32))

    def __call__(self, S: np.ndarray) -> np.ndarray:
        """Normalised ``S [n_feat, n_frames]`` (float32)."""
        if self.mode == "none":
            return S
        if self.mode == "utterance":
            mu = S.mean(axis=1, keepdims=True)
            sd = S.std(axis=1, keepdims=True)
            return ((S - mu) / np.maximum(sd, self.eps)).astype(np.float32)
        if self.mean is None or self.std is None:
            raise DfaudioError("global normaliser used before it was fitted")
        return ((S - self.mean[:, None]) / np.maximum(self.std, self.eps)[:, None]).astype(
            np.float32
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (saved with the model)."""
        return {
            "mode": self.mode,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
            "eps": self.eps,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Normalizer:
        """Inverse of :meth:`to_dict`."""

        def arr(v: Any) -> np.ndarray | None:
            return None if v is None else np.asarray(v, dtype=np.float32)

        return cls(mode=d["mode"], mean=arr(d.get("mean")), std=arr(d.get("std")), eps=d["eps"])


class TimeFreqDataset(Dataset):
    """Map-style dataset of ``(x [1, n_feat, n_frames] float32, y float32)`` pairs.

    Parameters
    ----------
    paths : sequence of str or Path
        Audio files.
    labels : sequence of int, optional
        0 (bona fide) / 1 (spoof) per file; ``-1`` when absent.
    cache : FeatureCache
        Where features come from (its ``config`` fixes the tensor shape).
    normalizer : Normalizer, optional
        Applied after cropping (default: none).
    train : bool
        Random crop offsets (different every epoch, see :meth:`set_epoch`); else offset 0.
    seed : int
        Seed of the crop offsets: ``(seed, epoch, index)`` fixes each offset, so crops do not
        depend on the number of workers.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        labels: Sequence[int] | None = None,
        *,
        cache: FeatureCache,
        normalizer: Normalizer | None = None,
        train: bool = False,
        seed: int = 0,
    ) -> None:
        self.paths = [str(p) for p in paths]
        self.labels = (
            np.full(len(self.paths), -1, dtype=np.int64)
            if labels is None
            else np.asarray(labels, dtype=np.int64)
        )
        if len(self.labels) != len(self.paths):
            raise ParameterError(f"{len(self.paths)} paths but {len(self.labels)} labels")
        self.cache = cache
        self.normalizer = normalizer or Normalizer(mode="none")
        self.train = train
        self.seed = int(seed)
        self.epoch = 0
        self.n_frames = cache.config.shape[2]

    def set_epoch(self, epoch: int) -> None:
        """Select the crop offsets of ``epoch`` (call before iterating a new epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.paths)

    def crop_offset(self, index: int, total_frames: int) -> int:
        """Frame offset of item ``index`` in the current epoch."""
        room = total_frames - self.n_frames
        if not self.train or room <= 0:
            return 0
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return int(rng.integers(0, room + 1))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        S = self.cache.load(self.paths[index])
        S = crop_frames(S, self.n_frames, offset=self.crop_offset(index, S.shape[1]))
        x = torch.from_numpy(np.ascontiguousarray(self.normalizer(S))[None])
        return x, torch.tensor(float(self.labels[index]))


def make_loader(
    dataset: TimeFreqDataset,
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    workers: int = 0,
    seed: int = 0,
    pin_memory: bool = False,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader with a seeded shuffling order (one generator per loader)."""
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=workers,
        generator=generator,
        pin_memory=pin_memory,
        drop_last=drop_last,
        persistent_workers=False,
    )
