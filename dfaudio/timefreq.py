"""Fixed-size time-frequency tensors for torch, with an on-disk cache.

Pipeline for one file: read and resample (:func:`dfaudio.io.audio.load`) -> repeat-pad a clip
shorter than ``duration_s`` -> a feature of :data:`dfaudio.features.registry.TIMEFREQ` over the
whole (padded) clip -> *cache* -> crop ``n_frames`` frames (random offset in training, offset 0 in
evaluation) -> per-feature normalisation -> a ``(1, n_feat, n_frames)`` float32 tensor.

The defaults reproduce the seed models' input: 6 s at 16 kHz, 64 mel bands, ``n_fft=1024``,
``hop_length=512`` -> ``1 x 64 x 188``.

Cache
-----
The cache holds the features of the whole (padded, uncropped, unnormalised) clip, one ``.npy`` per
file, under ``<cache_dir>/<feature>-<config hash>/``. The config hash covers the feature name, its
parameters, the sample rate, the clip length and :data:`CACHE_VERSION`; the entry name hashes the
file's absolute path, modification time (ns) and size, so an edited file is recomputed. Entries are
written atomically (temporary file + rename), so concurrent DataLoader workers or an interrupted
run never leave a partial entry. A second epoch or a second run with the same configuration reads
the cache and computes nothing.

Normalisation
-------------
``"global"`` (default): per feature row (mel band, coefficient), mean and standard deviation over
all frames of the *training* files, fitted once (:meth:`Normalizer.fit_from_stats`) and saved with
the model. ``"utterance"``: per row, over the frames of the clip itself. ``"none"``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from dfaudio.exceptions import AudioError, DfaudioError, ParameterError
from dfaudio.io.files import atomic_path

#: Bump when the cached content of an unchanged configuration changes meaning.
CACHE_VERSION = 1
#: Default cache folder (``--cache-dir`` overrides; ``DFAUDIO_CACHE_DIR`` sets the parent).
DEFAULT_CACHE_DIR = (
    Path(os.environ.get("DFAUDIO_CACHE_DIR", Path.home() / ".cache" / "dfaudio")) / "timefreq"
)
NORMALIZATIONS = ("global", "utterance", "none")


# --------------------------------------------------------------------------- configuration


@dataclasses.dataclass
class TimeFreqConfig:
    """How one file becomes a ``(1, n_feat, n_frames)`` tensor.

    Parameters
    ----------
    feature : str
        A :data:`~dfaudio.features.registry.TIMEFREQ` name ("mel", "mfcc", "lfcc", "chroma" ...).
    params : dict
        Keyword arguments of the feature function (e.g. ``{"n_mels": 80}``).
    sr : int
        Sample rate every file is resampled to.
    duration_s : float
        Clip length: shorter clips are repeat-padded, longer ones cropped (in frames).
    normalize : {"global", "utterance", "none"}
        Per-feature normalisation (see the module docstring).
    """

    feature: str = "mel"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    sr: int = 16000
    duration_s: float = 6.0
    normalize: str = "global"

    def __post_init__(self) -> None:
        from dfaudio.features.registry import TIMEFREQ

        if self.feature not in TIMEFREQ:
            raise ParameterError(
                f"unknown feature {self.feature!r}; choose one of: {', '.join(TIMEFREQ.names())}"
            )
        if self.normalize not in NORMALIZATIONS:
            raise ParameterError(
                f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {self.normalize!r}"
            )
        if self.sr <= 0 or self.duration_s <= 0:
            raise ParameterError(
                f"need sr > 0 and duration_s > 0, got sr={self.sr}, duration_s={self.duration_s}"
            )
        self._shape: tuple[int, int, int] | None = None

    @property
    def n_samples(self) -> int:
        """Samples in one clip (``round(duration_s * sr)``)."""
        return int(round(self.duration_s * self.sr))

    def extract(self, y: np.ndarray) -> np.ndarray:
        """The feature of a signal at ``self.sr``.

        Returns
        -------
        S : np.ndarray [shape=(n_feat, n_frames)], float32
        """
        from dfaudio.features.registry import TIMEFREQ

        try:
            S = TIMEFREQ.get(self.feature)(y, self.sr, **self.params)
        except TypeError as exc:
            raise ParameterError(f"bad parameters for feature {self.feature!r}: {exc}") from None
        return np.ascontiguousarray(S, dtype=np.float32)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(1, n_feat, n_frames)`` of one tensor (computed once on a synthetic clip)."""
        if self._shape is None:
            rng = np.random.default_rng(0)
            probe = (0.1 * rng.standard_normal(self.n_samples)).astype(np.float32)
            S = self.extract(probe)
            self._shape = (1, int(S.shape[0]), int(S.shape[1]))
        return self._shape

    def cache_key(self) -> str:
        """Hash of everything that determines the cached (uncropped) features."""
        blob = json.dumps(
            {
                "version": CACHE_VERSION,
                "feature": self.feature,
                "params": self.params,
                "sr": self.sr,
                "duration_s": self.duration_s,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (saved in ``model.json`` / ``config.json``)."""
        return {
            "feature": self.feature,
            "params": dict(self.params),
            "sr": self.sr,
            "duration_s": self.duration_s,
            "normalize": self.normalize,
            "shape": list(self.shape),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TimeFreqConfig:
        """Inverse of :meth:`to_dict` (extra keys such as ``shape`` are ignored)."""
        return cls(
            feature=d["feature"],
            params=dict(d.get("params") or {}),
            sr=int(d.get("sr", 16000)),
            duration_s=float(d.get("duration_s", 6.0)),
            normalize=d.get("normalize", "global"),
        )


def parse_feature_params(items: Sequence[str]) -> dict[str, Any]:
    """``["n_mels=80", "add_deltas=true", "window=hann"]`` -> typed dict (JSON values, else str)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"--feature-param expects NAME=VALUE, got {item!r}")
        name, raw = item.split("=", 1)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[name.strip()] = value
    return out


# --------------------------------------------------------------------------- one clip


def repeat_pad(y: np.ndarray, n_samples: int) -> np.ndarray:
    """Repeat ``y`` end to end until it has at least ``n_samples`` samples (longer clips unchanged).

    Returns
    -------
    y : np.ndarray [shape=(max(len(y), n_samples),)]
    """
    if len(y) == 0:
        raise ParameterError("cannot pad an empty signal")
    if len(y) >= n_samples:
        return y
    return np.tile(y, math.ceil(n_samples / len(y)))[:n_samples]


def crop_frames(S: np.ndarray, n_frames: int, *, offset: int = 0) -> np.ndarray:
    """``n_frames`` consecutive frames from ``offset`` (repeating the frames if too few).

    Returns
    -------
    S : np.ndarray [shape=(n_feat, n_frames)]
    """
    if S.shape[1] < n_frames:
        S = np.tile(S, (1, math.ceil(n_frames / S.shape[1])))
        offset = 0
    offset = int(min(max(offset, 0), S.shape[1] - n_frames))
    return S[:, offset : offset + n_frames]


def clip_features(path: str | Path, config: TimeFreqConfig) -> np.ndarray:
    """Features of a whole file, repeat-padded to at least ``config.duration_s``.

    Returns
    -------
    S : np.ndarray [shape=(n_feat, n_frames_total)], float32
        ``n_frames_total >= config.shape[2]``.

    Raises
    ------
    AudioError
        If the file cannot be used.
    """
    from dfaudio.io.audio import load

    y, _ = load(path, sr=config.sr)
    return config.extract(repeat_pad(y, config.n_samples))


# --------------------------------------------------------------------------- cache


class FeatureCache:
    """Whole-clip features keyed by configuration and file identity, on disk or in memory.

    Parameters
    ----------
    config : TimeFreqConfig
    cache_dir : str or Path, optional
        Root folder (default :data:`DEFAULT_CACHE_DIR`); ``None`` keeps entries in memory only
        (useful in tests; DataLoader workers then only see entries computed before they started).

    Attributes
    ----------
    hits, misses : int
        Entries read from the cache / computed, in this process.
    """

    def __init__(
        self, config: TimeFreqConfig, cache_dir: str | Path | None = DEFAULT_CACHE_DIR
    ) -> None:
        self.config = config
        self.directory: Path | None = None
        if cache_dir is not None:
            self.directory = Path(cache_dir).expanduser() / f"{config.feature}-{config.cache_key()}"
        self._memory: dict[str, np.ndarray] = {}
        self.hits = 0
        self.misses = 0

    def _key(self, path: str | Path) -> str:
        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            raise AudioError(p, "not found", "no such file") from None
        ident = f"{p.resolve()}|{st.st_mtime_ns}|{st.st_size}"
        return hashlib.sha256(ident.encode()).hexdigest()

    def entry_path(self, path: str | Path) -> Path | None:
        """Where the entry of ``path`` lives on disk (``None`` for a memory cache)."""
        if self.directory is None:
            return None
        key = self._key(path)
        return self.directory / key[:2] / f"{key}.npy"

    def load(self, path: str | Path) -> np.ndarray:
        """Features of ``path`` from the cache, computing and storing them on a miss.

        Returns
        -------
        S : np.ndarray [shape=(n_feat, n_frames_total)], float32
        """
        return self.load_status(path)[0]

    def load_status(self, path: str | Path) -> tuple[np.ndarray, bool]:
        """:meth:`load`, also saying whether the features were computed (``True``) or read."""
        key = self._key(path)
        if key in self._memory:
            self.hits += 1
            return self._memory[key], False
        entry = None if self.directory is None else self.directory / key[:2] / f"{key}.npy"
        if entry is not None and entry.exists():
            try:
                S = np.load(entry, allow_pickle=False)
                self.hits += 1
                return S, False
            except (OSError, ValueError):
                pass  # unreadable entry (disk trouble): recompute and replace it
        S = clip_features(path, self.config)
        self.misses += 1
        if entry is None:
            self._memory[key] = S
        else:
            self._save(entry, S)
        return S, True

    def _save(self, entry: Path, S: np.ndarray) -> None:
        assert self.directory is not None
        entry.parent.mkdir(parents=True, exist_ok=True)
        about = self.directory / "config.json"
        if not about.exists():
            with atomic_path(about, force=True) as tmp:
                tmp.write_bytes(json.dumps(self.config.to_dict(), indent=2).encode())
        with atomic_path(entry, force=True) as tmp, open(tmp, "wb") as fh:
            np.save(fh, S, allow_pickle=False)


# --------------------------------------------------------------------------- normalisation


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
        arr = lambda v: None if v is None else np.asarray(v, dtype=np.float32)  # noqa: E731
        return cls(mode=d["mode"], mean=arr(d.get("mean")), std=arr(d.get("std")), eps=d["eps"])


@dataclasses.dataclass
class RowStats:
    """Running per-row sums (float64) for the global normaliser."""

    total: np.ndarray
    total_sq: np.ndarray
    count: int = 0

    @classmethod
    def empty(cls, n_feat: int) -> RowStats:
        return cls(np.zeros(n_feat), np.zeros(n_feat), 0)

    def add(self, S: np.ndarray) -> None:
        S64 = S.astype(np.float64)
        self.total += S64.sum(axis=1)
        self.total_sq += (S64**2).sum(axis=1)
        self.count += S.shape[1]


# --------------------------------------------------------------------------- torch dataset


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


class _PrecomputeJob(Dataset):
    def __init__(self, paths: Sequence[str], cache: FeatureCache) -> None:
        self.paths = list(paths)
        self.cache = cache

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[int, Any, Any, bool]:
        try:
            S, computed = self.cache.load_status(self.paths[index])
        except AudioError as exc:
            return index, None, (self.paths[index], exc.category, exc.detail), False
        return index, S, None, computed


def _identity(item: Any) -> Any:
    return item


@dataclasses.dataclass
class PrecomputeResult:
    """What :func:`precompute` found."""

    ok: np.ndarray  # bool per path
    failures: list[tuple[str, str, str]]
    stats: RowStats
    computed: int
    cached: int


def precompute(
    paths: Sequence[str | Path],
    cache: FeatureCache,
    *,
    stats_mask: Sequence[bool] | None = None,
    workers: int = 0,
    progress: bool = True,
    desc: str = "features",
) -> PrecomputeResult:
    """Fill the cache for ``paths`` (in ``workers`` processes) and collect training statistics.

    Unusable files are reported, not raised, so that a run can drop them up front instead of
    failing mid-epoch.

    Parameters
    ----------
    paths : sequence of str or Path
    cache : FeatureCache
    stats_mask : sequence of bool, optional
        Files whose frames (the whole clip, before cropping) feed the returned ``stats`` (the
        training files, for :meth:`Normalizer.fit_from_stats`).
    workers : int
        DataLoader worker processes (0: in this process).
    progress : bool
        Show a tqdm bar.
    desc : str
        Bar label.
    """
    from tqdm import tqdm  # not tqdm.auto: its asyncio class calls iter() on the iterable twice

    str_paths = [str(p) for p in paths]
    mask = np.ones(len(str_paths), bool) if stats_mask is None else np.asarray(stats_mask, bool)
    ok = np.zeros(len(str_paths), dtype=bool)
    failures: list[tuple[str, str, str]] = []
    stats = RowStats.empty(cache.config.shape[1])
    job = _PrecomputeJob(str_paths, cache)
    if workers > 0 and cache.directory is not None:
        items: Any = DataLoader(
            job, batch_size=None, shuffle=False, num_workers=workers, collate_fn=_identity
        )
    else:
        items = (job[i] for i in range(len(job)))
    computed = cached = 0
    for index, S, failure, was_computed in tqdm(
        items, total=len(job), desc=desc, disable=not progress, leave=False, unit="file"
    ):
        if failure is not None:
            failures.append(failure)
            continue
        ok[index] = True
        computed += int(was_computed)
        cached += int(not was_computed)
        if mask[index]:
            stats.add(np.asarray(S))
    return PrecomputeResult(ok=ok, failures=failures, stats=stats, computed=computed, cached=cached)


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
