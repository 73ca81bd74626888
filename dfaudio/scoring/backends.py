"""What a model family provides to the :class:`~dfaudio.scoring.predictor.Predictor`.

A *backend* scores audio with one trained run. Every backend has the same two methods,
:meth:`Backend.score_file` and :meth:`Backend.score_array`, and the :data:`BACKENDS` registry maps
the run's ``kind`` (``config.json``) to the function that loads it, so the predictor never asks
which kind of model it holds. Entries are lazy (``"module:function"``): listing the kinds imports
neither torch nor xgboost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dfaudio.registry import Registry

__all__ = ["BACKENDS", "Backend", "BackendLoader", "WindowScores"]


@dataclass
class WindowScores:
    """Bona fide scores of consecutive windows of one signal.

    Attributes
    ----------
    scores : np.ndarray [shape=(n_windows,)]
        Higher = more bona fide.
    starts_s : np.ndarray [shape=(n_windows,)]
        Start of each window in seconds.
    duration_s : float
        Length of the whole signal in seconds.
    notes : list of str
        What the backend had to do (a clip shorter than one window, an unscored tail ...).
    """

    scores: np.ndarray
    starts_s: np.ndarray
    duration_s: float
    notes: list[str] = field(default_factory=list)


class Backend(Protocol):
    """One trained model, ready to score audio.

    Attributes
    ----------
    kind : str
        The run kind it was registered under in :data:`BACKENDS`.
    window_s : float
        Length of one scored window in seconds.
    sr : int or None
        The rate the model scores at (audio at another rate is resampled to it); ``None``: the
        audio's own rate.
    rate_reason : str
        Why ``sr`` is that rate, for notes ("the rate of the training features").
    """

    kind: str
    window_s: float
    sr: int | None
    rate_reason: str

    def score_file(self, path: str, *, sr: int | None = None) -> WindowScores:
        """Scores of the windows of one file, resampled to ``sr`` first when given."""

    def score_array(self, y: np.ndarray, sr: int) -> WindowScores:
        """Scores of the windows of a mono signal ``y`` sampled at ``sr``."""


class BackendLoader(Protocol):
    """``load(run_dir, config, metrics, *, trust)`` -> a :class:`Backend`."""

    def __call__(
        self, run_dir: Path, config: dict[str, Any], metrics: dict[str, Any], *, trust: bool
    ) -> Backend: ...


#: Run kind (``config.json`` ``kind``) -> loader of its backend.
BACKENDS = Registry("run kind")
BACKENDS.register(
    "sklearn",
    "dfaudio.scoring.sklearn:load_backend",
    help="scikit-learn / XGBoost classifier on per-window DEEP-VOICE features",
)
BACKENDS.register(
    "torch",
    "dfaudio.scoring.torch:load_backend",
    help="fit-deep network on time-frequency tensors",
)
BACKENDS.register("fusion", "dfaudio.scoring.fusion:load_backend", help="dfaudio fuse of runs")
