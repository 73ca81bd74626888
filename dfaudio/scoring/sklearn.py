"""Backend of classical runs: per-window DEEP-VOICE features -> a scikit-learn / XGBoost model.

New audio becomes feature rows exactly as ``dfaudio tabulate`` made the training table
(:func:`dfaudio.tabular.features_for_file`), at the rate of the training features when the run
had exactly one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.exceptions import AudioError, DataError, ParameterError
from dfaudio.scoring.backends import WindowScores

__all__ = ["SklearnBackend", "load_backend"]


class SklearnBackend:
    """Per-window DEEP-VOICE features -> a fitted scikit-learn / XGBoost classifier.

    Parameters
    ----------
    est : estimator
        Fitted binary classifier (spoof = class 1).
    feature_columns : list of str
        The run's feature columns (a subset of the 26 DEEP-VOICE columns, in the run's order).
    window_s : float
        Window length of the training table.
    sr : int, optional
        The one rate of the training features; new audio is resampled to it.
    """

    kind = "sklearn"
    rate_reason = "the rate of the training features"

    def __init__(
        self,
        est: Any,
        *,
        feature_columns: list[str],
        window_s: float = 1.0,
        sr: int | None = None,
    ) -> None:
        from dfaudio.schema import DEEP_VOICE_FEATURES

        unknown = [c for c in feature_columns if c not in DEEP_VOICE_FEATURES]
        if unknown:
            raise DataError(f"run uses feature columns dfaudio cannot compute: {unknown[:3]}")
        if type(est).__module__.startswith("xgboost"):
            # one row per second: threads cost ~40 ms per call on 2 busy cores, 1 thread ~0.2 ms
            est.set_params(n_jobs=1)
        self.est = est
        self.columns = list(feature_columns)
        self._index = [list(DEEP_VOICE_FEATURES).index(c) for c in self.columns]
        self.window_s = float(window_s)
        self.sr = sr

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Bona fide scores of feature rows ``X [shape=(n, 26)]`` (DEEP-VOICE column order)."""
        from dfaudio.models.scores import model_scores

        score, _p_fake, _calibrated = model_scores(self.est, X[:, self._index])
        return np.asarray(score, dtype=np.float64)

    def score_file(self, path: str, *, sr: int | None = None) -> WindowScores:
        """Scores of the windows of one file (resampled to ``sr`` when given)."""
        from dfaudio.schema import DEEP_VOICE_FEATURES
        from dfaudio.tabular import features_for_file

        res = features_for_file(
            {"path": path, "label": "", "group": ""}, sr=sr, window_s=self.window_s, short="whole"
        )
        if res.failure is not None:
            raise AudioError(path, res.failure[0], res.failure[1])
        assert res.rows is not None
        X = res.rows[list(DEEP_VOICE_FEATURES)].to_numpy(dtype=np.float64)
        notes = self._notes(short=res.short, tail_s=res.tail_s)
        return WindowScores(self.scores(X), res.rows["start_s"].to_numpy(), res.seconds, notes)

    def score_array(self, y: np.ndarray, sr: int) -> WindowScores:
        """Scores of the windows of ``y`` (resampled to :attr:`sr` when that is set)."""
        from dfaudio.features.summary import block_length, deep_voice_features
        from dfaudio.io.audio import resample

        y = np.asarray(y, dtype=np.float32)
        if self.sr is not None and sr != self.sr:
            y, sr = resample(y, orig_sr=sr, target_sr=self.sr), self.sr
        X = deep_voice_features(y, sr, window_s=self.window_s, short="whole")
        win = block_length(sr, self.window_s)
        short = y.size < win
        notes = self._notes(short=short, tail_s=0.0 if short else (y.size % win) / sr)
        return WindowScores(self.scores(X), np.arange(len(X)) * win / sr, y.size / sr, notes)

    def _notes(self, *, short: bool, tail_s: float) -> list[str]:
        if short:
            return [f"shorter than one {self.window_s:g} s window: scored as one window"]
        if tail_s > 0:
            return [f"last {tail_s:.2f} s (less than one window) not scored"]
        return []


def load_backend(
    run_dir: Path, config: dict[str, Any], metrics: dict[str, Any], *, trust: bool = False
) -> SklearnBackend:
    """Load the model of a classical run (:func:`dfaudio.models.persist.load_sklearn`).

    Raises
    ------
    DataError
        Missing or refused model file.
    """
    from dfaudio.models.persist import load_sklearn
    from dfaudio.schema import DEEP_VOICE_FEATURES

    est = load_sklearn(run_dir, trust=trust)
    cols = config.get("feature_columns") or list(DEEP_VOICE_FEATURES)
    rates = metrics.get("sample_rates") or config.get("sample_rates")
    one_rate = int(rates[0]) if rates and len(rates) == 1 else None
    window_s = float(config.get("window_s") or 1.0)
    if window_s <= 0:
        raise ParameterError(f"config.json window_s must be positive, got {window_s}")
    return SklearnBackend(est, feature_columns=list(cols), window_s=window_s, sr=one_rate)
