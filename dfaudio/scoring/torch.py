"""Backend of fit-deep runs: whole-clip time-frequency tensors -> a torch network.

The network, its tensor configuration and normaliser are loaded by the deep package
(:func:`dfaudio.deep.inference.load_backend`); this module gives them the
:class:`~dfaudio.scoring.backends.Backend` signature. A signal is resampled to the model's rate,
repeat-padded to one window when shorter, and cut into consecutive windows of the training clip
length; each window's bona fide score is ``-logit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.exceptions import ParameterError
from dfaudio.scoring.backends import WindowScores

__all__ = ["TorchScorer", "load_backend"]


class TorchScorer:
    """A fit-deep network behind the backend signature.

    Parameters
    ----------
    net : dfaudio.deep.inference.TorchBackend
        The loaded run: ``tf_cfg``, ``window_s``, ``sr``, ``features(y, sr)`` (whole-clip feature,
        resampled and repeat-padded as in training) and ``scores_of_features(S)``.
    """

    kind = "torch"
    rate_reason = "the model's rate"

    def __init__(self, net: Any) -> None:
        self.net = net
        self.window_s = float(net.window_s)
        self.sr: int | None = int(net.sr)
        self._n_samples = int(net.tf_cfg.n_samples)

    def score_file(self, path: str, *, sr: int | None = None) -> WindowScores:
        """Scores of the windows of one file, read at the model's rate."""
        from dfaudio.io.audio import load

        if sr is not None and sr != self.sr:
            raise ParameterError(f"sr={sr}: this torch run scores audio at {self.sr} Hz only")
        y, file_sr = load(path, sr=self.sr)
        return self.score_array(y, file_sr)

    def score_array(self, y: np.ndarray, sr: int) -> WindowScores:
        """Scores of consecutive windows of ``y`` (repeat-padded to one window when shorter)."""
        y = np.asarray(y, dtype=np.float32).reshape(-1)
        scores = np.asarray(self.net.scores_of_features(self.net.features(y, sr)), np.float64)
        duration_s = y.size / sr
        notes = []
        if int(round(duration_s * self.net.tf_cfg.sr)) < self._n_samples:
            notes.append(f"shorter than {self.window_s:g} s: repeat-padded to one window")
        starts = np.arange(scores.size) * self.window_s
        return WindowScores(scores.reshape(-1), starts, duration_s, notes)


def load_backend(
    run_dir: Path, config: dict[str, Any], metrics: dict[str, Any], *, trust: bool = False
) -> TorchScorer:
    """Load a fit-deep run (weights are safetensors: no code runs, ``trust`` is not needed).

    Raises
    ------
    DataError
        Missing or incomplete model files.
    """
    from dfaudio.deep.inference import load_backend as load_net

    return TorchScorer(load_net(run_dir, config, trust=trust))
