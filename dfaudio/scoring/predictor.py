"""Score new audio with a trained run (``dfaudio predict``).

:func:`load_predictor` opens a run directory (see :mod:`dfaudio.runs`) and returns a
:class:`Predictor`; the model itself is a backend looked up by the run's kind
(:data:`~dfaudio.scoring.backends.BACKENDS`), so classical and deep runs score the same way:

- :meth:`Predictor.score_file` scores one file and :meth:`Predictor.score_array` a signal already
  in memory: the signal is cut into windows of the training window length, each window gets a
  bona fide score (log-odds, higher = more bona fide); the file's score is the **mean of its
  window scores** and ``p_fake`` is the logistic of minus that score.
- :meth:`Predictor.stream` scores an audio stream one window at a time, as it arrives, and
  measures the latency of each window (features + model).

The verdict is ``"spoof"`` when ``score < threshold`` and ``"bonafide"`` otherwise (the
convention of :func:`dfaudio.evaluation.summarize`). The default threshold is the run's EER
threshold (``eer_threshold`` in ``metrics.json``, computed on its held-out scores).

Model files are loaded without executing code (:mod:`dfaudio.models.persist`): XGBoost's native
format, skops for scikit-learn pipelines (types trusted only when the file's SHA-256 matches the
one dfaudio recorded, or with ``trust=True``), safetensors for torch.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.exceptions import AudioError, DataError, DfaudioError, ParameterError, shown
from dfaudio.labels import BONAFIDE, SPOOF, score_to_p_fake
from dfaudio.runs.record import FitResult
from dfaudio.scoring.backends import BACKENDS, Backend, WindowScores

__all__ = ["FileScore", "Predictor", "StreamChunk", "load_predictor", "stream_summary"]


# ---------------------------------------------------------------------------------- results


@dataclass
class FileScore:
    """The verdict on one file (or one signal).

    ``score`` is the bona fide score (higher = more bona fide; mean of the window scores),
    ``p_fake`` = P(spoof) in [0, 1], ``verdict`` = ``"spoof"`` if ``score < threshold``.
    ``windows`` holds one dict per scored window when asked for (``window``, ``start_s``,
    ``score``, ``p_fake``, ``verdict``).
    """

    file: str
    verdict: str
    p_fake: float
    score: float
    threshold: float
    n_windows: int
    duration_s: float
    sr: int | None
    notes: list[str] = field(default_factory=list)
    windows: list[dict[str, Any]] | None = None
    label: str | None = None
    #: Calibrated log-likelihood ratio of the file score (runs with ``calibration.json``).
    llr: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``windows`` only when computed, ``label`` and ``llr`` when known)."""
        out: dict[str, Any] = {
            "file": self.file,
            "verdict": self.verdict,
            "p_fake": self.p_fake,
            "score": self.score,
            "threshold": self.threshold,
            "n_windows": self.n_windows,
            "duration_s": self.duration_s,
            "sr": self.sr,
            "notes": list(self.notes),
        }
        if self.label is not None:
            out["label"] = self.label
        if self.llr is not None:
            out["llr"] = self.llr
        if self.windows is not None:
            out["windows"] = self.windows
        return out


@dataclass
class StreamChunk:
    """One window of a stream: where it starts, its verdict and how long scoring it took."""

    index: int
    start_s: float
    score: float
    p_fake: float
    verdict: str
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.__dict__)


# ---------------------------------------------------------------------------------- predictor


class Predictor:
    """A trained model, ready to score audio.

    Use :func:`load_predictor` to build one from a run directory (or
    :meth:`dfaudio.runs.FitResult.predictor` for a model fitted in memory).

    Parameters
    ----------
    backend : Backend
        The model (:mod:`dfaudio.scoring.backends`).
    run_dir : Path, optional
        Where the run lives (``None`` for a model fitted in memory).
    model : str
    threshold : float
        Verdict threshold on the bona fide score (``score < threshold`` -> spoof).
    threshold_source : str
        ``"EER threshold of the run"``, ``"user"`` or ``"0 (p_fake 0.5)"``.
    train_sample_rates : list of int, optional
        Sample rates of the training audio when the run recorded them.
    p_fake_calibrated : bool
        False when ``p_fake`` squashes a decision function (SVMs).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        run_dir: Path | None,
        model: str,
        threshold: float,
        threshold_source: str,
        train_sample_rates: list[int] | None = None,
        p_fake_calibrated: bool = True,
        calibration: Any = None,
        p_spoof: float = 0.05,
    ) -> None:
        self.backend = backend
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.kind = backend.kind
        self.model = model
        self.threshold = float(threshold)
        self.threshold_source = threshold_source
        self.train_sample_rates = train_sample_rates
        self.p_fake_calibrated = p_fake_calibrated
        #: Score -> LLR map of the run (``calibration.json``), or None; with it ``p_fake`` is the
        #: posterior for the spoof prior :attr:`p_spoof`.
        self.calibration = calibration
        self.p_spoof = float(p_spoof)
        #: Seconds left over (less than one window, not scored) by the last :meth:`stream`.
        self.stream_tail_s = 0.0

    @property
    def window_s(self) -> float:
        """Length of one scored window in seconds."""
        return float(self.backend.window_s)

    @property
    def feature_sr(self) -> int | None:
        """The rate the model scores at (new audio is resampled to it), if it has one."""
        return self.backend.sr

    def llr(self, score: float) -> float | None:
        """Calibrated LLR of a bona fide score (None without a calibration map)."""
        if self.calibration is None:
            return None
        return float(self.calibration.transform([score])[0])

    def p_fake(self, score: float) -> float:
        """P(spoof): from the calibrated LLR and :attr:`p_spoof` when the run has a map, else
        the logistic of minus the score."""
        if self.calibration is None:
            return float(score_to_p_fake(score))
        from dfaudio.metrics.calibration import llr_to_p_fake

        return float(llr_to_p_fake([self.llr(score)], p_spoof=self.p_spoof)[0])

    def verdict(self, score: float) -> str:
        """``"spoof"`` if ``score < threshold`` else ``"bonafide"``."""
        return SPOOF if score < self.threshold else BONAFIDE

    def rate_note(self, sr: int | None) -> str | None:
        """A note when audio at ``sr`` is resampled or differs from the training audio."""
        if sr is None:
            return None
        model_sr = self.backend.sr
        if model_sr is not None:
            if sr == model_sr:
                return None
            return f"resampled {sr} Hz -> {model_sr} Hz ({self.backend.rate_reason})"
        if not self.train_sample_rates or sr in self.train_sample_rates:
            return None
        rates = ", ".join(f"{r} Hz" for r in self.train_sample_rates)
        return (
            f"sample rate {sr} Hz differs from the training audio ({rates}); "
            "per-second features depend on the rate (see --sr)"
        )

    def score_file(
        self, path: str | Path, *, per_window: bool = False, sr: int | None = None
    ) -> FileScore:
        """Score one audio file.

        Parameters
        ----------
        path : str or Path
        per_window : bool
            Also return every window's score (``FileScore.windows``).
        sr : int, optional
            Resample to this rate first. Default: the model's rate (:attr:`feature_sr`: the rate
            of the training features when the run had exactly one, the network's rate for deep
            runs), else the file's native rate.

        Returns
        -------
        FileScore

        Raises
        ------
        AudioError
            If the file cannot be used (not found, unreadable, empty, silent, too short ...).
        """
        from dfaudio.io.audio import info

        path = str(path)
        native_sr: int | None
        try:
            native_sr = info(path)[0]
        except AudioError:
            native_sr = None  # scoring below raises the proper one-line error
        target = sr if sr is not None else self.backend.sr
        resample_to = target if target is not None and target != native_sr else None
        ws = self.backend.score_file(path, sr=resample_to)
        used_sr = target or native_sr
        notes = list(ws.notes)
        if self.backend.sr is None:
            note = self.rate_note(used_sr)
            if note:
                notes.insert(0, note)
        if resample_to is not None and native_sr is not None:
            why = f" ({self.backend.rate_reason})" if resample_to == self.backend.sr else ""
            notes.insert(0, f"resampled {native_sr} Hz -> {resample_to} Hz{why}")
        return self._file_score(path, ws, sr=used_sr, notes=notes, per_window=per_window)

    def score_array(self, y: np.ndarray, sr: int, *, per_window: bool = False) -> FileScore:
        """Score a mono signal already in memory (e.g. from :func:`dfaudio.load`).

        Parameters
        ----------
        y : np.ndarray [shape=(n,)]
            Mono samples (floats in [-1, 1]).
        sr : int
            Sample rate of ``y``; resampled to :attr:`feature_sr` when the model has one.
        per_window : bool
            Also return every window's score.

        Returns
        -------
        FileScore
            ``file`` is ``"<array>"``.

        Raises
        ------
        ParameterError
            ``y`` is not a finite 1-D signal of at least 0.1 s, or ``sr`` is not positive.
        """
        y = np.asarray(y)
        if y.ndim != 1:
            raise ParameterError(f"y must be mono (1-D), got shape {y.shape}")
        if sr <= 0:
            raise ParameterError(f"sr must be positive, got {sr}")
        if y.size < 0.1 * sr:
            raise ParameterError(f"y is {y.size / sr:.3f} s long; at least 0.1 s is needed")
        if not np.all(np.isfinite(y)):
            raise ParameterError("y holds NaN or infinite samples")
        ws = self.backend.score_array(y, int(sr))
        note = self.rate_note(int(sr))
        notes = ([note] if note else []) + list(ws.notes)
        used_sr = self.backend.sr or int(sr)
        return self._file_score("<array>", ws, sr=used_sr, notes=notes, per_window=per_window)

    def _file_score(
        self, name: str, ws: WindowScores, *, sr: int | None, notes: list[str], per_window: bool
    ) -> FileScore:
        scores = np.asarray(ws.scores, dtype=np.float64)
        bad = int(np.count_nonzero(~np.isfinite(scores)))
        if bad or scores.size == 0:
            # never a verdict: NaN < threshold is False, which would read "bonafide"
            raise AudioError(
                name,
                "non-finite score",
                f"the model gave NaN/inf for {bad} of {scores.size} windows (damaged or "
                "diverged weights?); re-fit the model",
            )
        file_score = float(np.mean(scores))
        windows = None
        if per_window:
            windows = [
                {
                    "window": i,
                    "start_s": round(float(t), 6),
                    "score": float(s),
                    "p_fake": self.p_fake(float(s)),
                    "verdict": self.verdict(float(s)),
                }
                for i, (t, s) in enumerate(zip(ws.starts_s, scores, strict=True))
            ]
        return FileScore(
            file=name,
            verdict=self.verdict(file_score),
            p_fake=self.p_fake(file_score),
            llr=self.llr(file_score),
            score=file_score,
            threshold=self.threshold,
            n_windows=int(len(scores)),
            duration_s=round(float(ws.duration_s), 6),
            sr=sr,
            notes=notes,
            windows=windows,
        )

    def _window_score(self, y: np.ndarray, sr: int) -> float:
        score = float(self.backend.score_array(y, sr).scores[0])
        if not np.isfinite(score):
            raise DataError(
                f"the model gave a non-finite score ({score}) (damaged or diverged weights?); "
                "re-fit the model",
                self.run_dir,
            )
        return score

    def warm_up(self, sr: int) -> float:
        """Score one window of noise (first-call compilation and caches); returns the ms taken."""
        rate = self.backend.sr or sr
        rng = np.random.default_rng(0)
        n = int(round(self.window_s * rate))
        t0 = time.perf_counter()
        self._window_score((0.05 * rng.standard_normal(n)).astype(np.float32), rate)
        return 1000.0 * (time.perf_counter() - t0)

    def stream(self, chunks: Iterable[np.ndarray], *, sr: int) -> Iterator[StreamChunk]:
        """Score a stream window by window, as the samples arrive.

        Parameters
        ----------
        chunks : iterable of np.ndarray [shape=(n,)]
            Mono float samples at ``sr``, in pieces of any length (a microphone callback, a pipe).
        sr : int
            Sample rate of the samples (resampled on the fly to :attr:`feature_sr`).

        Yields
        ------
        StreamChunk
            One per complete window (``window_s`` seconds), as soon as it is complete;
            ``latency_ms`` is the time spent on features + model for that window. A final partial
            window is not scored (as in training), except when the whole stream is shorter than
            one window: then it is scored as file mode scores such a clip (padded by the backend).
        """
        if sr <= 0:
            raise ParameterError(f"stream sample rate must be positive, got {sr}")
        if getattr(self.backend, "whole", False):
            raise ParameterError(
                "this run was trained on one row per file (tabulate --window whole); score whole "
                "files instead of a stream"
            )
        if self.backend.sr is not None and sr != self.backend.sr:
            from dfaudio.io.audio import resample_stream

            chunks = resample_stream(chunks, orig_sr=sr, target_sr=self.backend.sr)
            sr = self.backend.sr
        n = int(round(self.window_s * sr))
        buf = np.zeros(0, dtype=np.float32)
        index = 0
        self.stream_tail_s = 0.0
        for chunk in chunks:
            c = np.asarray(chunk, dtype=np.float32).reshape(-1)
            buf = np.concatenate([buf, c]) if buf.size else c
            while buf.size >= n:
                block, buf = buf[:n], buf[n:]
                t0 = time.perf_counter()
                s = self._window_score(np.ascontiguousarray(block), sr)
                latency = 1000.0 * (time.perf_counter() - t0)
                yield StreamChunk(
                    index=index,
                    start_s=index * self.window_s,
                    score=s,
                    p_fake=self.p_fake(float(s)),
                    verdict=self.verdict(s),
                    latency_ms=latency,
                )
                index += 1
        if index == 0 and buf.size:
            # A stream shorter than one window is scored the way file mode scores such a clip
            # (the backend pads it: torch repeat-pads to one window), so the two modes agree.
            t0 = time.perf_counter()
            s = self._window_score(np.ascontiguousarray(buf), sr)
            latency = 1000.0 * (time.perf_counter() - t0)
            yield StreamChunk(
                index=0,
                start_s=0.0,
                score=s,
                p_fake=self.p_fake(float(s)),
                verdict=self.verdict(s),
                latency_ms=latency,
            )
            buf = buf[:0]
        self.stream_tail_s = buf.size / sr


def load_predictor(
    run_dir: str | Path | FitResult,
    *,
    threshold: float | None = None,
    trust: bool = False,
    prior_spoof: float = 0.05,
) -> Predictor:
    """Open a run directory (or a fit made in memory) for scoring.

    Parameters
    ----------
    run_dir : str, Path or FitResult
        A finished run (``config.json``, ``metrics.json`` and the model files), or what
        :func:`dfaudio.fit_sklearn` returned (also with ``runs_dir=None``: the model in memory
        is scored by the same loader, through a temporary folder that is removed again).
    threshold : float, optional
        Verdict threshold on the bona fide score; default the run's EER threshold.
    trust : bool
        Load a scikit-learn model file that dfaudio did not write (checksum mismatch) or that
        holds types outside scikit-learn/numpy. Only for files from a source you trust.
    prior_spoof : float
        Spoof prior of ``p_fake`` and of the Bayes threshold when the run has a calibration map
        (``calibration.json``); default 0.05 (ASVspoof 5). The default threshold is then the
        Bayes threshold ``LLR >= log(Cfa Pspoof / (Cmiss (1 - Pspoof)))`` with Cmiss 1, Cfa 10.

    Returns
    -------
    Predictor

    Raises
    ------
    DataError
        Not a run directory, an unfinished run, an unknown run kind, a missing or refused model
        file.
    """
    from dfaudio.runs import CONFIG, METRICS, load_json

    if isinstance(run_dir, FitResult):
        if run_dir.run_dir is None:
            return _from_memory(run_dir, threshold=threshold)
        run_dir = run_dir.run_dir
    d = Path(run_dir)
    if not d.is_dir():
        raise DataError("run directory not found", d)
    if not (d / CONFIG).is_file():
        raise DataError("not a dfaudio run directory (no config.json)", d)
    if not (d / METRICS).is_file():
        raise DataError("unfinished run (no metrics.json)", d)
    config = load_json(d / CONFIG)
    metrics = load_json(d / METRICS)
    kind = str(config.get("kind", metrics.get("kind", "sklearn")))
    if kind not in BACKENDS:
        raise DataError(f"unknown run kind {kind!r} in config.json", d)
    try:
        backend = BACKENDS.get(kind)(d, config, metrics, trust=trust)
    except DfaudioError:
        raise
    except Exception as exc:  # whatever a damaged run makes a library throw: one line, not a trace
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise DataError(
            f"cannot load the model of this run ({type(exc).__name__}: {detail}); re-fit the model",
            d,
        ) from None
    from dfaudio.runs.calibration import load_run_calibration

    calibration = load_run_calibration(d)
    if threshold is not None:
        thr, source = _finite(threshold, "threshold"), "user"
    elif calibration is not None:
        from dfaudio.metrics import bayes_threshold

        bayes = bayes_threshold(p_spoof=prior_spoof)
        thr = calibration.inverse(bayes)
        source = (
            f"Bayes threshold for p_spoof {prior_spoof:g}, Cmiss 1, Cfa 10: LLR >= {bayes:.3f} "
            f"through the run's {calibration.method} calibration"
        )
    elif metrics.get("eer_threshold") is not None:
        thr = _run_threshold(metrics["eer_threshold"], d / METRICS)
        source = "EER threshold of the run"
    else:
        thr, source = 0.0, "0 (p_fake 0.5): the run has no eer_threshold"
    rates = metrics.get("sample_rates") or config.get("sample_rates")
    return Predictor(
        backend,
        run_dir=d,
        model=str(config.get("model", metrics.get("model", "?"))),
        threshold=thr,
        threshold_source=source,
        train_sample_rates=[int(r) for r in rates] if rates else None,
        p_fake_calibrated=bool(metrics.get("p_fake_calibrated", True)),
        calibration=calibration,
        p_spoof=prior_spoof,
    )


def _finite(value: Any, name: str) -> float:
    """``value`` as a finite float, else :class:`ParameterError` naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {shown(value)}") from None
    if not np.isfinite(x):
        raise ParameterError(f"{name} must be a finite number, got {x}")
    return x


def _run_threshold(value: Any, path: Path) -> float:
    """The run's recorded ``eer_threshold``, refused (naming the file) unless a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise DataError(
            f"eer_threshold {shown(value)} is not a finite number; re-fit the model, or pass "
            "--threshold",
            path,
        )
    return float(value)


def _from_memory(result: FitResult, *, threshold: float | None) -> Predictor:
    """A predictor of a classical fit held in memory (``fit_sklearn(runs_dir=None)``)."""
    import tempfile

    from dfaudio.io.files import write_json
    from dfaudio.models.persist import save_sklearn
    from dfaudio.runs import CONFIG, METRICS

    if result.model is None or result.config.get("kind") != "sklearn":
        raise ParameterError(
            "run_dir: a FitResult without a run directory must come from fit_sklearn(runs_dir=None)"
        )
    with tempfile.TemporaryDirectory(prefix="dfaudio-fit-") as tmp:
        save_sklearn(result.model, tmp)
        write_json(Path(tmp) / CONFIG, result.config, force=True)
        write_json(Path(tmp) / METRICS, result.metrics, force=True)
        predictor = load_predictor(tmp, threshold=threshold)
    predictor.run_dir = None
    return predictor


def stream_summary(
    chunks: list[StreamChunk], *, window_s: float, threshold: float, tail_s: float = 0.0
) -> dict[str, Any]:
    """Latency percentiles, real-time factor and verdict counts of a finished stream.

    ``rtf`` = processing time / audio time (below 1: faster than real time); the overall
    ``verdict`` thresholds the mean window score, as for a file.

    Examples
    --------
    >>> c = [StreamChunk(0, 0.0, 2.0, 0.12, "bonafide", 5.0), StreamChunk(1, 1.0, -1.0, 0.73,
    ...      "spoof", 15.0)]
    >>> s = stream_summary(c, window_s=1.0, threshold=0.0)
    >>> s["verdict"], s["n_spoof"], s["rtf"]
    ('bonafide', 1, 0.01)
    """
    lat = np.array([c.latency_ms for c in chunks], dtype=np.float64)
    n = len(chunks)
    out: dict[str, Any] = {
        "n_windows": n,
        "audio_s": n * window_s,
        "tail_s_not_scored": round(tail_s, 6),
        "n_spoof": sum(c.verdict == SPOOF for c in chunks),
        "n_bonafide": sum(c.verdict == BONAFIDE for c in chunks),
    }
    if n:
        out.update(
            latency_ms_p50=float(np.percentile(lat, 50)),
            latency_ms_p99=float(np.percentile(lat, 99)),
            latency_ms_max=float(lat.max()),
            rtf=float(lat.sum() / 1000.0 / (n * window_s)),
            mean_score=float(np.mean([c.score for c in chunks])),
        )
        out["p_fake"] = float(score_to_p_fake(out["mean_score"]))
        out["verdict"] = SPOOF if out["mean_score"] < threshold else BONAFIDE
    return out
