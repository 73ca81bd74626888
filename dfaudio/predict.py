"""Score new audio with a trained run (``dfaudio predict``).

:func:`load_predictor` opens a run directory (see :mod:`dfaudio.runs`) and returns a
:class:`Predictor`:

- :meth:`Predictor.score_file` scores one file: per-second windows for the classical
  (scikit-learn / XGBoost) models, computed exactly as ``dfaudio tabulate`` computes the training
  table (:func:`dfaudio.tabular.features_for_file`); the file's score is the **mean of its window
  scores** (bona fide log-odds, higher = more bona fide) and ``p_fake`` is the logistic of minus
  that score.
- :meth:`Predictor.stream` scores an audio stream one window (one second) at a time, as it arrives,
  and measures the latency of each window (features + model).

The verdict is ``"spoof"`` when ``score < threshold`` and ``"bonafide"`` otherwise (the
convention of :func:`dfaudio.evaluation.summarize`). The default threshold is the run's EER
threshold (``eer_threshold`` in ``metrics.json``, computed on held-out windows).

Model files are loaded without executing code (:mod:`dfaudio.models.persist`): XGBoost's native
format, skops for scikit-learn pipelines (types trusted only when the file's SHA-256 matches the
one dfaudio recorded, or with ``trust=True``). Torch runs (``kind: "torch"``) plug in through
:func:`_torch_backend`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np

from dfaudio.exceptions import AudioError, DataError, ParameterError
from dfaudio.labels import BONAFIDE, SPOOF, score_to_p_fake

__all__ = [
    "FileScore",
    "Predictor",
    "StreamChunk",
    "find_audio",
    "infer_label",
    "load_predictor",
    "probe_sample_rates",
    "read_stream",
    "stream_summary",
]


# ---------------------------------------------------------------------------------- results


@dataclass
class FileScore:
    """The verdict on one file.

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``windows`` only when computed, ``label`` only when known)."""
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


# ---------------------------------------------------------------------------------- backends


class Backend(Protocol):
    """What a model family provides to :class:`Predictor`.

    ``window_s`` is the length of one scored window; ``sr`` is the rate the model wants
    (``None``: the audio's native rate, as the per-second table was built).
    """

    kind: str
    window_s: float
    sr: int | None

    def score_file(self, path: str) -> tuple[np.ndarray, np.ndarray, int | None, float, list[str]]:
        """Window scores, window start times (s), rate, duration (s) and notes of one file."""

    def score_window(self, y: np.ndarray, sr: int) -> float:
        """Bona fide score of one window of samples."""


class SklearnBackend:
    """Per-second DEEP-VOICE features -> a fitted scikit-learn / XGBoost classifier."""

    kind = "sklearn"

    def __init__(self, est: Any, *, feature_columns: list[str], window_s: float = 1.0) -> None:
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
        self.sr: int | None = None

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Bona fide scores of feature rows ``X [shape=(n, 26)]`` (DEEP-VOICE column order)."""
        from dfaudio.training.fit_sklearn import model_scores

        score, _p_fake, _calibrated = model_scores(self.est, X[:, self._index])
        return np.asarray(score, dtype=np.float64)

    def score_file(
        self, path: str, *, sr: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, int | None, float, list[str]]:
        from dfaudio.schema import DEEP_VOICE_FEATURES
        from dfaudio.tabular import features_for_file

        res = features_for_file(
            {"path": path, "label": "", "group": ""}, sr=sr, window_s=self.window_s, short="whole"
        )
        if res.failure is not None:
            raise AudioError(path, res.failure[0], res.failure[1])
        assert res.rows is not None
        X = res.rows[list(DEEP_VOICE_FEATURES)].to_numpy(dtype=np.float64)
        notes = []
        if res.short:
            notes.append(f"shorter than one {self.window_s:g} s window: scored as one window")
        elif res.tail_s > 0:
            notes.append(f"last {res.tail_s:.2f} s (less than one window) not scored")
        return self.scores(X), res.rows["start_s"].to_numpy(), sr, res.seconds, notes

    def score_window(self, y: np.ndarray, sr: int) -> float:
        from dfaudio.features.summary import deep_voice_features

        X = deep_voice_features(y, sr, window_s=self.window_s, short="whole")
        return float(self.scores(X)[0])


def _torch_backend(run_dir: Path, config: dict[str, Any], *, trust: bool) -> Backend:
    """The backend of a torch run (``config.json`` kind ``"torch"``).

    Torch runs are written by :mod:`dfaudio.training.fit_torch` (weights in safetensors); that
    module owns how a clip becomes a tensor, so it provides the loader:
    ``dfaudio.training.fit_torch.load_backend(run_dir, config, trust=...)`` returning an object
    with the :class:`Backend` attributes and methods.
    """
    try:
        from dfaudio.training import fit_torch
    except ImportError as exc:
        raise DataError(
            f"torch run, but the deep-learning extra is not available ({exc}); "
            "pip install 'dfaudio[deep]'",
            run_dir,
        ) from None
    loader = getattr(fit_torch, "load_backend", None)
    if loader is None:
        raise DataError(
            "torch run: this dfaudio version cannot score torch runs yet "
            "(dfaudio.training.fit_torch.load_backend is missing)",
            run_dir,
        )
    return loader(run_dir, config, trust=trust)


# ---------------------------------------------------------------------------------- predictor


class Predictor:
    """A trained run, ready to score audio.

    Use :func:`load_predictor` to build one from a run directory.

    Attributes
    ----------
    run_dir : Path
    kind : str
        ``"sklearn"`` or ``"torch"``.
    model : str
    threshold : float
        Verdict threshold on the bona fide score (``score < threshold`` -> spoof).
    threshold_source : str
        ``"EER threshold of the run"``, ``"user"`` or ``"0 (p_fake 0.5)"``.
    train_sample_rates : list of int or None
        Sample rates of the training audio when the run recorded them.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        run_dir: Path,
        model: str,
        threshold: float,
        threshold_source: str,
        train_sample_rates: list[int] | None = None,
        p_fake_calibrated: bool = True,
    ) -> None:
        self.backend = backend
        self.run_dir = Path(run_dir)
        self.kind = backend.kind
        self.model = model
        self.threshold = float(threshold)
        self.threshold_source = threshold_source
        self.train_sample_rates = train_sample_rates
        #: The one rate every training feature row was computed at, if there was exactly one:
        #: classical models then resample new audio to it unless ``sr`` is given.
        self.feature_sr = (
            int(train_sample_rates[0])
            if train_sample_rates and len(train_sample_rates) == 1
            else None
        )
        self.p_fake_calibrated = p_fake_calibrated
        #: Seconds left over (less than one window, not scored) by the last :meth:`stream`.
        self.stream_tail_s = 0.0

    @property
    def window_s(self) -> float:
        """Length of one scored window in seconds."""
        return float(self.backend.window_s)

    def verdict(self, score: float) -> str:
        """``"spoof"`` if ``score < threshold`` else ``"bonafide"``."""
        return SPOOF if score < self.threshold else BONAFIDE

    def rate_note(self, sr: int | None) -> str | None:
        """A note when ``sr`` is not among the training audio's rates (``None`` when fine)."""
        if sr is None or not self.train_sample_rates or sr in self.train_sample_rates:
            return None
        if self.kind == "sklearn" and self.feature_sr is not None:
            return f"resampled {sr} Hz -> {self.feature_sr} Hz (the rate of the training features)"
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
            Resample to this rate first (classical models). Default: the rate of the training
            features when the run had exactly one (e.g. ``tabulate --sr 16000``, or one native
            rate), else the file's native rate.

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
        if sr is None and self.kind == "sklearn" and self.feature_sr is not None:
            sr = self.feature_sr if native_sr != self.feature_sr else None
        if self.kind == "sklearn":
            scores, starts, _, duration, notes = self.backend.score_file(path, sr=sr)  # type: ignore[call-arg]
        else:
            scores, starts, _, duration, notes = self.backend.score_file(path)
        used_sr = sr or self.backend.sr or native_sr
        note = self.rate_note(used_sr) if self.backend.sr is None else None
        if note:
            notes.insert(0, note)
        if sr is not None and native_sr is not None and sr != native_sr:
            why = " (the rate of the training features)" if sr == self.feature_sr else ""
            notes.insert(0, f"resampled {native_sr} Hz -> {sr} Hz{why}")
        file_score = float(np.mean(scores))
        windows = None
        if per_window:
            windows = [
                {
                    "window": i,
                    "start_s": round(float(t), 6),
                    "score": float(s),
                    "p_fake": float(score_to_p_fake(s)),
                    "verdict": self.verdict(float(s)),
                }
                for i, (t, s) in enumerate(zip(starts, scores, strict=True))
            ]
        return FileScore(
            file=path,
            verdict=self.verdict(file_score),
            p_fake=float(score_to_p_fake(file_score)),
            score=file_score,
            threshold=self.threshold,
            n_windows=int(len(scores)),
            duration_s=round(float(duration), 6),
            sr=used_sr,
            notes=notes,
            windows=windows,
        )

    def warm_up(self, sr: int) -> float:
        """Score one window of noise (first-call compilation and caches); returns the ms taken."""
        rng = np.random.default_rng(0)
        n = int(round(self.window_s * sr))
        t0 = time.perf_counter()
        self.backend.score_window((0.05 * rng.standard_normal(n)).astype(np.float32), sr)
        return 1000.0 * (time.perf_counter() - t0)

    def stream(self, chunks: Iterable[np.ndarray], *, sr: int) -> Iterator[StreamChunk]:
        """Score a stream window by window, as the samples arrive.

        Parameters
        ----------
        chunks : iterable of np.ndarray [shape=(n,)]
            Mono float samples at ``sr``, in pieces of any length (a microphone callback, a pipe).
        sr : int
            Sample rate of the samples.

        Yields
        ------
        StreamChunk
            One per complete window (``window_s`` seconds), as soon as it is complete;
            ``latency_ms`` is the time spent on features + model for that window. A final partial
            window is not scored (as in training).
        """
        if sr <= 0:
            raise ParameterError(f"stream sample rate must be positive, got {sr}")
        if self.kind == "sklearn" and self.feature_sr is not None and sr != self.feature_sr:
            from dfaudio.io.audio import resample_stream

            chunks = resample_stream(chunks, orig_sr=sr, target_sr=self.feature_sr)
            sr = self.feature_sr
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
                s = self.backend.score_window(np.ascontiguousarray(block), sr)
                latency = 1000.0 * (time.perf_counter() - t0)
                yield StreamChunk(
                    index=index,
                    start_s=index * self.window_s,
                    score=s,
                    p_fake=float(score_to_p_fake(s)),
                    verdict=self.verdict(s),
                    latency_ms=latency,
                )
                index += 1
        self.stream_tail_s = buf.size / sr


def load_predictor(
    run_dir: str | Path, *, threshold: float | None = None, trust: bool = False
) -> Predictor:
    """Open a run directory for scoring.

    Parameters
    ----------
    run_dir : str or Path
        A finished run (``config.json``, ``metrics.json`` and the model files).
    threshold : float, optional
        Verdict threshold on the bona fide score; default the run's EER threshold.
    trust : bool
        Load a scikit-learn model file that dfaudio did not write (checksum mismatch) or that
        holds types outside scikit-learn/numpy. Only for files from a source you trust.

    Raises
    ------
    DataError
        Not a run directory, an unfinished run, a missing or refused model file.
    """
    from dfaudio.runs import CONFIG, METRICS, load_json

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
    if kind == "sklearn":
        from dfaudio.models.persist import load_sklearn
        from dfaudio.schema import DEEP_VOICE_FEATURES

        est = load_sklearn(d, trust=trust)
        cols = config.get("feature_columns") or list(DEEP_VOICE_FEATURES)
        backend: Backend = SklearnBackend(
            est, feature_columns=list(cols), window_s=float(config.get("window_s", 1.0))
        )
    elif kind == "torch":
        backend = _torch_backend(d, config, trust=trust)
    else:
        raise DataError(f"unknown run kind {kind!r} in config.json", d)
    if threshold is not None:
        thr, source = float(threshold), "user"
    elif metrics.get("eer_threshold") is not None:
        thr, source = float(metrics["eer_threshold"]), "EER threshold of the run"
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
    )


# ---------------------------------------------------------------------------------- inputs


def find_audio(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, :data:`~dfaudio.io.audio.AUDIO_EXTENSIONS`).

    Files named explicitly are kept whatever their extension (and even when missing, so that
    the caller reports them); folders contribute their audio files, sorted.
    """
    from dfaudio.datasets.folders import audio_files

    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        out.extend(audio_files(p) if p.is_dir() else [p])
    return out


def infer_label(path: str | Path, *, label_map: dict[str, str] | None = None) -> str | None:
    """The class named by the nearest parent folder (real/fake, bonafide/spoof ...), if any.

    ``label_map`` adds folder names (``{"LJSpeech": "bonafide", "generated": "spoof"}``,
    compared case-insensitively; it takes precedence over the default spellings).
    """
    from dfaudio.labels import DEFAULT_LABEL_MAP

    names = {**DEFAULT_LABEL_MAP, **{k.strip().lower(): v for k, v in (label_map or {}).items()}}
    for part in reversed(Path(path).parts[:-1]):
        label = names.get(part.strip().lower())
        if label is not None:
            return label
    return None


def probe_sample_rates(
    files: Iterable[str], *, base: str | Path | None = None, max_files: int = 500
) -> list[int] | None:
    """Distinct sample rates of the audio files of a training table (header reads only).

    Paths are tried as given, then relative to ``base``; at most ``max_files`` distinct files
    are read. Returns ``None`` when no file can be found (tables whose ``file`` column is
    relative to a folder that is gone). Never raises.
    """
    import soundfile as sf

    rates: set[int] = set()
    for f in list(dict.fromkeys(str(x) for x in files))[:max_files]:
        for cand in (Path(f), Path(base) / f if base is not None else None):
            if cand is not None and cand.is_file():
                try:
                    rates.add(int(sf.info(str(cand)).samplerate))
                except Exception:
                    pass
                break
    return sorted(rates) or None


# ---------------------------------------------------------------------------------- streams


def read_stream(
    source: str | BinaryIO,
    *,
    block_s: float = 1.0,
    raw_sr: int | None = None,
    raw_dtype: str = "int16",
    channels: int = 1,
) -> tuple[int, Iterator[np.ndarray]]:
    """Open an audio stream and iterate over it in blocks of ``block_s`` seconds.

    Parameters
    ----------
    source : path, ``"-"`` or binary file object
        A file (any format soundfile reads), or a pipe: ``"-"`` is standard input. A pipe must
        carry WAV (libsndfile reads WAV headers from pipes) unless ``raw_sr`` is given.
    raw_sr : int, optional
        The input is headerless PCM at this rate (little-endian, ``raw_dtype``).
    raw_dtype : {"int16", "float32"}
    channels : int
        Interleaved channels of raw input (averaged to mono).

    Returns
    -------
    sr : int
    blocks : iterator of np.ndarray [shape=(n,)], float32 mono
        Reading is lazy: each block is read when the consumer asks for it.
    """
    import sys

    import soundfile as sf

    fh: Any
    if source == "-":
        fh = sys.stdin.buffer
    elif isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_file():
            raise AudioError(p, "not found", "no such file")
        fh = p
    else:
        fh = source
    if raw_sr is not None:
        if raw_dtype not in ("int16", "float32"):
            raise ParameterError(f"raw dtype must be int16 or float32, got {raw_dtype!r}")
        if raw_sr <= 0 or channels <= 0:
            raise ParameterError("raw stream needs a positive sample rate and channel count")
        stream = fh.open("rb") if isinstance(fh, Path) else fh
        dtype = np.dtype("<i2" if raw_dtype == "int16" else "<f4")
        frame_bytes = dtype.itemsize * channels
        n_bytes = int(round(block_s * raw_sr)) * frame_bytes

        def raw_blocks() -> Iterator[np.ndarray]:
            pending = b""
            while True:
                data = stream.read(n_bytes - len(pending))
                if not data:
                    break
                pending += data
                if len(pending) < n_bytes:
                    continue
                yield _pcm_to_mono(pending, dtype, channels)
                pending = b""
            usable = len(pending) - len(pending) % frame_bytes
            if usable:
                yield _pcm_to_mono(pending[:usable], dtype, channels)

        return int(raw_sr), raw_blocks()
    try:
        if fh is sys.stdin.buffer or (hasattr(fh, "fileno") and not hasattr(fh, "seek")):
            f = sf.SoundFile(fh.fileno(), closefd=False)  # pipes: libsndfile reads WAV by fd
        else:
            f = sf.SoundFile(fh if not isinstance(fh, Path) else str(fh))
    except Exception as exc:
        name = "<stdin>" if source == "-" else str(source)
        raise AudioError(
            name,
            "unreadable",
            " ".join(str(exc).split())[:160]
            + (
                "; standard input must be WAV, or raw PCM with --stream-sr" if source == "-" else ""
            ),
        ) from None
    sr = int(f.samplerate)
    frames = max(1, int(round(block_s * sr)))

    def blocks() -> Iterator[np.ndarray]:
        with f:
            while True:
                data = f.read(frames, dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    break
                yield np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)

    return sr, blocks()


def _pcm_to_mono(data: bytes, dtype: np.dtype, channels: int) -> np.ndarray:
    x = np.frombuffer(data, dtype=dtype).astype(np.float32)
    if dtype.kind == "i":
        x /= 32768.0
    return x.reshape(-1, channels).mean(axis=1) if channels > 1 else x


def stream_summary(
    chunks: list[StreamChunk], *, window_s: float, threshold: float, tail_s: float = 0.0
) -> dict[str, Any]:
    """Latency percentiles, real-time factor and verdict counts of a finished stream.

    ``rtf`` = processing time / audio time (below 1: faster than real time); the overall
    ``verdict`` thresholds the mean window score, as for a file.
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
