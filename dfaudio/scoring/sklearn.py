"""Backend of classical runs: per-window features -> a scikit-learn / XGBoost model.

New audio becomes feature rows exactly as ``dfaudio tabulate`` made the training table
(:func:`dfaudio.tabular.features_for_file`, with the feature sets, versions, parameters and window
recorded in the run's ``config.json``), at the rate of the training features when the run had
exactly one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.exceptions import AudioError, DataError, ParameterError
from dfaudio.features.sets import SetSpec
from dfaudio.scoring.backends import WindowScores

__all__ = ["SklearnBackend", "load_backend"]


class SklearnBackend:
    """Per-window features (the run's feature sets) -> a fitted scikit-learn / XGBoost classifier.

    Parameters
    ----------
    est : estimator
        Fitted binary classifier (spoof = class 1).
    feature_columns : list of str
        The run's feature columns, in the run's order (columns of ``feature_sets``).
    window_s : float
        Window length of the training table.
    sr : int, optional
        The one rate of the training features; new audio is resampled to it.
    feature_sets : list of SetSpec, optional
        The sets the training table held (default: ``deep-voice``); new audio gets exactly these.
    whole : bool
        The training table had one row per file (``tabulate --window whole``): each file or
        array is scored as one window.
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
        feature_sets: list[SetSpec] | None = None,
        whole: bool = False,
    ) -> None:
        from dfaudio.features.sets import all_columns, parse_feature_sets

        self.feature_sets = list(feature_sets) if feature_sets else parse_feature_sets(None)
        computed = all_columns(self.feature_sets)
        unknown = [c for c in feature_columns if c not in computed]
        if unknown:
            names = "+".join(s.spec for s in self.feature_sets)
            raise DataError(
                f"run uses feature columns that its feature sets ({names}) do not give: "
                f"{unknown[:3]}"
            )
        if type(est).__module__.startswith("xgboost"):
            # one row per second: threads cost ~40 ms per call on 2 busy cores, 1 thread ~0.2 ms
            est.set_params(n_jobs=1)
        self.est = est
        self.columns = list(feature_columns)
        self.computed_columns = computed
        self._index = [computed.index(c) for c in self.columns]
        self.window_s = float(window_s)
        self.whole = bool(whole)
        self.sr = sr

    def features(self, y: np.ndarray, sr: int) -> np.ndarray:
        """Feature rows of a signal, in the run's column order ``[shape=(n_windows, n_cols)]``."""
        from dfaudio.features.sets import compute_many

        window_s = None if self.whole else self.window_s
        X = compute_many(self.feature_sets, y, sr, window_s=window_s, short="whole")
        return X[:, self._index]

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Bona fide scores of feature rows ``X`` in the run's column order."""
        from dfaudio.models.scores import model_scores

        score, _p_fake, _calibrated = model_scores(self.est, X)
        return np.asarray(score, dtype=np.float64)

    def file_features(self, path: str, *, sr: int | None = None) -> tuple[np.ndarray, Any]:
        """Feature rows of one file exactly as ``tabulate`` made them, and the tabulate result."""
        from dfaudio.tabular import features_for_file

        res = features_for_file(
            {"path": path, "label": "", "group": ""},
            sr=sr,
            window_s="whole" if self.whole else self.window_s,
            short="whole",
            feature_sets=self.feature_sets,
        )
        if res.failure is not None:
            raise AudioError(path, res.failure[0], res.failure[1])
        assert res.rows is not None
        return res.rows[self.columns].to_numpy(dtype=np.float64), res

    def score_file(self, path: str, *, sr: int | None = None) -> WindowScores:
        """Scores of the windows of one file (resampled to ``sr`` when given)."""
        X, res = self.file_features(path, sr=sr)
        notes = self._notes(short=res.short, tail_s=res.tail_s)
        return WindowScores(self.scores(X), res.rows["start_s"].to_numpy(), res.seconds, notes)

    def score_array(self, y: np.ndarray, sr: int) -> WindowScores:
        """Scores of the windows of ``y`` (resampled to :attr:`sr` when that is set)."""
        from dfaudio.features.summary import block_length
        from dfaudio.io.audio import resample

        y = np.asarray(y, dtype=np.float32)
        if self.sr is not None and sr != self.sr:
            y, sr = resample(y, orig_sr=sr, target_sr=self.sr), self.sr
        X = self.features(y, sr)
        if self.whole:
            return WindowScores(self.scores(X), np.zeros(len(X)), y.size / sr, [])
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
    n_in = getattr(est, "n_features_in_", None)
    if not isinstance(cols, list) or (n_in is not None and int(n_in) != len(cols)):
        n_cols = len(cols) if isinstance(cols, list) else "no"
        raise DataError(
            f"feature_columns lists {n_cols} columns but the model was fitted on {n_in}; "
            "config.json does not belong to this model: re-fit it",
            Path(run_dir) / "config.json",
        )
    sets = feature_sets_of_run(config, columns=list(cols))
    rates = metrics.get("sample_rates") or config.get("sample_rates")
    one_rate = int(rates[0]) if rates and len(rates) == 1 else None
    window_s = float(config.get("window_s") or 1.0)
    if not 0 < window_s < float("inf"):
        raise ParameterError(f"config.json window_s must be positive, got {window_s}")
    return SklearnBackend(
        est,
        feature_columns=list(cols),
        window_s=window_s,
        sr=one_rate,
        feature_sets=sets,
        whole=config.get("window") == "whole",
    )


def feature_sets_of_run(config: dict[str, Any], *, columns: list[str]) -> list[SetSpec]:
    """The feature sets a classical run was trained on (``config.json`` ``feature_sets``).

    Runs from before feature sets were recorded used the 26 DEEP-VOICE columns.

    Raises
    ------
    DataError
        A set this dfaudio does not know or computes at another version, or one whose training
        table did not record what made it (an ``ssl_`` table without its model).
    """
    from dfaudio.features.sets import from_records, parse_feature_sets

    records = config.get("feature_sets")
    if not records:
        return parse_feature_sets(None)
    for r in records:
        if r.get("name") == "ssl" and not (r.get("params") or {}).get("model"):
            raise DataError(
                "the run's table did not record which model made its ssl_ columns (no feature "
                "metadata); re-create the table with dfaudio tabulate --features ssl:MODEL"
            )
    try:
        return from_records(records)
    except ParameterError as exc:
        raise DataError(f"config.json feature_sets: {exc}") from None
