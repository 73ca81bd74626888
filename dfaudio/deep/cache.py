"""Whole-clip features on disk (or in memory), computed once per configuration and file.

One file: read and resample (:func:`dfaudio.io.audio.load`) -> repeat-pad a clip shorter than
``duration_s`` (:func:`repeat_pad`) -> a feature of :data:`dfaudio.features.registry.TIMEFREQ`
over the whole (padded) clip -> *cache*. Cropping and normalisation happen later, in
:mod:`dfaudio.deep.dataset`.

The cache holds the features of the whole (padded, uncropped, unnormalised) clip, one ``.npy`` per
file, under ``<cache_dir>/<feature>-<config hash>/``. The config hash covers the feature name, its
parameters, the sample rate, the clip length and :data:`~dfaudio.deep.config.CACHE_VERSION`; the
entry name hashes the file's absolute path, modification time (ns) and size, so an edited file is
recomputed. Entries are written atomically (temporary file + rename), so concurrent DataLoader
workers or an interrupted run never leave a partial entry. A second epoch or a second run with the
same configuration reads the cache and computes nothing.

:func:`precompute` fills the cache for a list of files, drops (and reports) unusable ones and
accumulates the per-row statistics of the training files for the global normaliser.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.deep.config import DEFAULT_CACHE_DIR, TimeFreqConfig
from dfaudio.exceptions import AudioError, ParameterError
from dfaudio.io.files import atomic_path

__all__ = [
    "DEFAULT_CACHE_DIR",
    "FeatureCache",
    "PrecomputeResult",
    "RowStats",
    "clip_features",
    "precompute",
    "repeat_pad",
]


def repeat_pad(y: np.ndarray, n_samples: int) -> np.ndarray:
    """Repeat ``y`` end to end until it has at least ``n_samples`` samples (longer clips unchanged).

    Returns
    -------
    y : np.ndarray [shape=(max(len(y), n_samples),)]

    Examples
    --------
    >>> repeat_pad(np.arange(3), 7).tolist()
    [0, 1, 2, 0, 1, 2, 0]
    """
    if len(y) == 0:
        raise ParameterError("cannot pad an empty signal")
    if len(y) >= n_samples:
        return y
    return np.tile(y, math.ceil(n_samples / len(y)))[:n_samples]


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


@dataclasses.dataclass
class RowStats:
    """Running per-row sums (float64) for the global normaliser."""

    total: np.ndarray
    total_sq: np.ndarray
    count: int = 0

    @classmethod
    def empty(cls, n_feat: int) -> RowStats:
        """Zero sums for ``n_feat`` rows."""
        return cls(np.zeros(n_feat), np.zeros(n_feat), 0)

    def add(self, S: np.ndarray) -> None:
        """Add the frames of ``S [n_feat, n_frames]``."""
        S64 = S.astype(np.float64)
        self.total += S64.sum(axis=1)
        self.total_sq += (S64**2).sum(axis=1)
        self.count += S.shape[1]


class _PrecomputeJob:
    """Map-style job: one cache entry per index (runs in DataLoader workers when asked)."""

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
    """What :func:`precompute` found.

    Attributes
    ----------
    ok : np.ndarray [shape=(n,)], bool
        Usable files.
    failures : list of (path, reason, detail)
    stats : RowStats
        Frames of the usable files selected by ``stats_mask``.
    computed, cached : int
        Entries computed now / read from the cache.
    """

    ok: np.ndarray
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
        training files, for :meth:`dfaudio.deep.dataset.Normalizer.fit_from_stats`).
    workers : int
        DataLoader worker processes (0: in this process).
    progress : bool
        Show a tqdm bar.
    desc : str
        Bar label.

    Returns
    -------
    PrecomputeResult
    """
    from tqdm import tqdm  # not tqdm.auto: its asyncio class calls iter() on the iterable twice

    str_paths = [str(p) for p in paths]
    mask = np.ones(len(str_paths), bool) if stats_mask is None else np.asarray(stats_mask, bool)
    ok = np.zeros(len(str_paths), dtype=bool)
    failures: list[tuple[str, str, str]] = []
    stats = RowStats.empty(cache.config.shape[1])
    job = _PrecomputeJob(str_paths, cache)
    if workers > 0 and cache.directory is not None:
        from torch.utils.data import DataLoader

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
