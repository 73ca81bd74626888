"""What defines a deep run: the tensor configuration and the training configuration.

Torch-free on purpose: the CLI builds these objects (and ``fit-deep --help`` lists their choices)
without importing torch.

- :class:`TimeFreqConfig`: how one file becomes a fixed-size ``(1, n_feat, n_frames)`` tensor.
- :class:`DeepConfig`: everything that defines a ``fit-deep`` run (saved as ``config.json``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.exceptions import ParameterError

__all__ = [
    "CACHE_VERSION",
    "CLASS_WEIGHTS",
    "DEFAULT_CACHE_DIR",
    "DEFAULT_FEATURE",
    "DEVICES",
    "MODEL_FEATURES",
    "NORMALIZATIONS",
    "DeepConfig",
    "TimeFreqConfig",
    "parse_feature_params",
]

#: Default feature cache folder (``--cache-dir`` overrides; ``DFAUDIO_CACHE_DIR`` sets the parent).
DEFAULT_CACHE_DIR = (
    Path(os.environ.get("DFAUDIO_CACHE_DIR", Path.home() / ".cache" / "dfaudio")) / "timefreq"
)
#: Bump when the cached content of an unchanged configuration changes meaning.
CACHE_VERSION = 1
NORMALIZATIONS = ("global", "utterance", "none")
CLASS_WEIGHTS = ("auto", "none")
DEVICES = ("auto", "cpu", "cuda")
#: Feature used when none is given: ``mel`` (the seed's input) unless the model names its own.
DEFAULT_FEATURE = "mel"
#: Models that read frame sequences default to MFCCs: ``name -> (feature, feature_params)``.
MODEL_FEATURES: dict[str, tuple[str, dict[str, Any]]] = {
    "lstm": ("mfcc", {}),
    "conv1d-lstm": ("mfcc", {"n_mfcc": 40}),
}


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
        Per-feature normalisation (see :class:`dfaudio.deep.dataset.Normalizer`).

    Examples
    --------
    >>> TimeFreqConfig(feature="mfcc", duration_s=1.0).n_samples
    16000
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
            for name, value in self.params.items():  # counts and sizes: n_mels, n_fft, hop_length
                counted = name.startswith("n_") or name.endswith(("_length", "_bins"))
                if counted and isinstance(value, (int, float)) and not value >= 1:
                    raise ParameterError(f"feature_params {name}={value}: must be at least 1")
            rng = np.random.default_rng(0)
            probe = (0.1 * rng.standard_normal(self.n_samples)).astype(np.float32)
            try:
                S = self.extract(probe)
            except (ValueError, ZeroDivisionError, IndexError, OverflowError) as exc:
                detail = " ".join(str(exc).split())[:160] or type(exc).__name__
                raise ParameterError(
                    f"feature_params {self.params} do not work for feature {self.feature!r} "
                    f"({detail})"
                ) from None
            if S.ndim != 2 or 0 in S.shape or not np.all(np.isfinite(S)):
                raise ParameterError(
                    f"feature_params {self.params} give feature {self.feature!r} an empty or "
                    f"non-finite tensor (shape {S.shape})"
                )
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
    """``["n_mels=80", "add_deltas=true", "window=hann"]`` -> typed dict (JSON values, else str).

    Examples
    --------
    >>> parse_feature_params(["n_mels=80", "window=hann"])
    {'n_mels': 80, 'window': 'hann'}
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"feature_params expects NAME=VALUE, got {item!r}")
        name, raw = item.split("=", 1)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[name.strip()] = value
    return out


def _default_cache_dir() -> str:
    return str(DEFAULT_CACHE_DIR)


@dataclasses.dataclass
class DeepConfig:
    """Everything that defines a ``fit-deep`` run (saved as ``config.json``).

    Parameters
    ----------
    model : str
        :data:`dfaudio.models.torch_zoo.MODELS` name or ``timm:<name>``.
    feature : str, optional
        :data:`dfaudio.features.registry.TIMEFREQ` name. ``None``: the model's own default
        (:data:`MODEL_FEATURES`: MFCCs for ``lstm``, 40 MFCCs for ``conv1d-lstm``), else ``mel``.
    data : list of str
        Inputs given to :func:`dfaudio.datasets.load_manifest`.
    layout, protocols, label_map, group_regex
        Passed to :func:`~dfaudio.datasets.load_manifest`.
    feature_params : dict
        Keyword arguments of the feature function.
    sr, max_duration_s, normalize
        :class:`TimeFreqConfig` (clip length = ``max_duration_s``).
    epochs, batch_size, lr, weight_decay, patience
        Adam and early stopping (stop after ``patience`` epochs without a lower dev EER).
    seed : int
    device : {"auto", "cpu", "cuda"}
    amp : bool
        Mixed precision (float16 autocast + gradient scaling) on CUDA; ignored on CPU.
    class_weight : {"auto", "none"}
        ``auto``: ``pos_weight = n_bonafide / n_spoof`` of the training files.
    pretrained : str, optional
        Local timm weights file.
    freeze : int, optional
        What to freeze; its meaning depends on the model family (see
        :func:`dfaudio.models.torch_zoo.freeze_model`): timm models freeze their first ``freeze``
        parameter tensors (default 39 with ``pretrained``, else 0); the small networks freeze
        their first ``freeze`` layers (blocks), keeping at least the output layer trainable.
    test_size, dev_size : float
        Grouped hold-out fractions used when the data has no test / dev split.
    workers : int
        DataLoader worker processes (feature computation and batches).
    cache_dir : str, optional
        Feature cache root (``None``: in memory only).

    Examples
    --------
    >>> cfg = DeepConfig(model="conv1d-lstm", epochs=2)
    >>> cfg.feature, cfg.feature_params
    ('mfcc', {'n_mfcc': 40})
    >>> DeepConfig.from_dict(cfg.to_dict()) == cfg
    True
    """

    model: str
    feature: str | None = None
    data: list[str] = dataclasses.field(default_factory=list)
    layout: str = "auto"
    protocols: list[str] = dataclasses.field(default_factory=list)
    label_map: dict[str, str] | None = None
    group_regex: str | None = None
    feature_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    sr: int = 16000
    max_duration_s: float = 6.0
    normalize: str = "global"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    class_weight: str = "auto"
    pretrained: str | None = None
    freeze: int | None = None
    test_size: float = 0.2
    dev_size: float = 0.2
    workers: int = 0
    cache_dir: str | None = dataclasses.field(default_factory=_default_cache_dir)

    def __post_init__(self) -> None:
        if self.feature is None:
            feature, params = MODEL_FEATURES.get(self.model, (DEFAULT_FEATURE, {}))
            self.feature = feature
            self.feature_params = {**params, **self.feature_params}
        for name in ("epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ParameterError(f"lr must be > 0, got {self.lr}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ParameterError(f"class_weight must be one of {CLASS_WEIGHTS}")
        if self.device not in DEVICES:
            raise ParameterError(f"device must be one of {DEVICES}")
        for name in ("test_size", "dev_size"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ParameterError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.workers < 0:
            raise ParameterError(f"workers must be >= 0, got {self.workers}")
        if self.freeze is not None and self.freeze < 0:
            raise ParameterError(f"freeze must be >= 0, got {self.freeze}")

    def timefreq(self) -> TimeFreqConfig:
        """The tensor configuration."""
        return TimeFreqConfig(
            feature=str(self.feature),
            params=dict(self.feature_params),
            sr=self.sr,
            duration_s=self.max_duration_s,
            normalize=self.normalize,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``config.json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeepConfig:
        """Inverse of :meth:`to_dict` (unknown keys, e.g. a run's ``kind``, are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
