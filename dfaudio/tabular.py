"""Manifest -> per-second feature table (the DEEP-VOICE schema plus provenance).

Policy for audio that does not fill whole blocks (``window_s``, default 1 s):

* **Tail**: the last part of a recording shorter than one block is dropped; its length is reported
  in the summary (``tail_s_dropped``), never silently lost.
* **Short clips** (shorter than one block, e.g. FSDD's 8 kHz digits), by ``short``:
  ``"whole"`` (default) gives one row computed over the whole clip (``duration_s`` < 1);
  ``"pad"`` zero-pads the clip to one block; ``"skip"`` reports it as a failure ("too short").
  Clips shorter than :data:`MIN_CLIP_S` fail in every policy.

Files are read in chunks of whole blocks (:data:`CHUNK_S` seconds), so memory does not grow with
the length of a recording. Work is spread over files with joblib (processes), or over a Dask
cluster with ``backend="dask"``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.datasets.facts import add_file_facts
from dfaudio.exceptions import AudioError, ParameterError, needs_extra
from dfaudio.features.sets import SetSpec
from dfaudio.labels import DEEP_VOICE_LABELS
from dfaudio.schema import DEEP_VOICE_FEATURES, DEEP_VOICE_LABEL, LABEL, PROVENANCE, SCHEMAS

__all__ = [
    "BACKENDS",
    "CHUNK_S",
    "MIN_CLIP_S",
    "SHORT_POLICIES",
    "FileResult",
    "TabulateResult",
    "balance_undersample",
    "check_feature_sets",
    "columns_of",
    "features_for_file",
    "tabulate",
    "to_schema",
    "write_table",
]

SHORT_POLICIES = ("whole", "pad", "skip")
BACKENDS = ("loky", "dask")
#: Seconds read at a time from one file (a multiple of the block length is used).
CHUNK_S = 60.0
#: Shortest clip that gives a row at all.
MIN_CLIP_S = 0.1
_META_COLUMNS = ("group", "split", "attack", "speaker", "target", "condition")


@dataclass
class FileResult:
    """Features of one file, or why it failed."""

    path: str
    rows: pd.DataFrame | None = None
    failure: tuple[str, str] | None = None  # (reason, detail)
    seconds: float = 0.0
    tail_s: float = 0.0
    short: bool = False


@dataclass
class TabulateResult:
    """The table, the failures (path, reason, detail) and a summary dict."""

    table: pd.DataFrame
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    #: Feature metadata (sets, versions, parameters, window) to store with the table.
    info: dict[str, Any] = field(default_factory=dict)


def features_for_file(
    record: dict[str, str],
    *,
    sr: int | None = None,
    window_s: float | str = 1.0,
    short: str = "whole",
    feature_sets: Sequence[SetSpec] | None = None,
) -> FileResult:
    """Per-block features of one manifest row; never raises for bad audio.

    Parameters
    ----------
    record : dict
        A manifest row (``path``, ``label``, ``group`` and optional metadata).
    sr : int, optional
        Resample to this rate; ``None`` keeps the native rate.
    window_s : float or "whole"
        Block length in seconds, or ``"whole"``: one row over the whole file (which is then read
        into memory at once).
    short : {"whole", "pad", "skip"}
        Policy for clips shorter than one block (see module docstring).
    feature_sets : sequence of SetSpec, optional
        The feature sets, side by side (default: ``deep-voice`` alone, through the exact
        streaming fast path).
    """
    from dfaudio.features.sets import all_columns, compute_stream, parse_feature_sets
    from dfaudio.features.summary import block_length, deep_voice_features_blocks
    from dfaudio.io.audio import SILENCE_PEAK, info, iter_blocks

    path = record["path"]
    res = FileResult(path=path)
    specs = list(feature_sets) if feature_sets else parse_feature_sets(None)
    try:
        out_sr = int(sr) if sr else info(path)[0]
        stats = {"total": 0, "peak": 0.0}

        def checked() -> Iterable[np.ndarray]:
            for chunk, _ in iter_blocks(path, block_s=CHUNK_S, sr=out_sr):
                if not np.all(np.isfinite(chunk)):
                    bad = int(np.count_nonzero(~np.isfinite(chunk)))
                    raise AudioError(path, "non-finite samples", f"{bad} NaN/inf samples")
                stats["total"] += chunk.size
                stats["peak"] = max(stats["peak"], float(np.max(np.abs(chunk), initial=0.0)))
                yield chunk

        if window_s == "whole":
            X, durations, starts = _whole_file(path, checked, stats, specs, out_sr)
            res.seconds = stats["total"] / out_sr
        else:
            policy = "whole" if short == "skip" else short  # skip is reported below, not dropped
            try:
                if [s.spec for s in specs] == ["deep-voice"] and specs[0].params == {
                    "n_fft": 2048,
                    "hop_length": 512,
                }:
                    X = deep_voice_features_blocks(
                        checked(), out_sr, window_s=window_s, short=policy
                    )
                else:
                    X = compute_stream(specs, checked(), out_sr, window_s=window_s, short=policy)
            except ParameterError:
                if stats["total"] == 0:
                    raise AudioError(path, "empty", "no samples") from None
                raise
            total, win = stats["total"], block_length(out_sr, window_s)
            if stats["peak"] < SILENCE_PEAK:
                raise AudioError(path, "silent", "all samples are (near) zero")
            durations = [window_s] * len(X)
            if total < win:
                dur = total / out_sr
                if short == "skip":
                    raise AudioError(
                        path, "too short", f"{dur:.3f} s is shorter than one {window_s:g} s window"
                    )
                if dur < MIN_CLIP_S:
                    raise AudioError(
                        path,
                        "too short",
                        f"{dur:.3f} s is shorter than the {MIN_CLIP_S:g} s minimum",
                    )
                durations = [window_s if short == "pad" else dur]
                res.short = True
            else:
                res.tail_s = (total % win) / out_sr
            starts = np.arange(len(X)) * win / out_sr
            res.seconds = total / out_sr
        cols = all_columns(specs)
        bad = ~np.isfinite(X)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise AudioError(path, "unreadable", f"feature {cols[c]!r} is not finite in window {r}")
        rows = pd.DataFrame(X, columns=cols)
        rows[LABEL] = record["label"]
        rows["file"] = path
        rows["window"] = np.arange(len(rows))
        rows["start_s"] = np.asarray(starts, dtype=np.float64)
        rows["duration_s"] = durations
        rows["sr"] = out_sr
        for col in _META_COLUMNS:
            if record.get(col, "") != "" or col == "group":
                rows[col] = record.get(col, "")
        rows = add_file_facts(rows, path)  # per-file nuisance facts for `dfaudio audit`
        res.rows = rows
    except AudioError as exc:
        res.failure = (exc.category, exc.detail)
    except Exception as exc:  # a decoder crash must not lose the other files
        res.failure = ("unreadable", " ".join(str(exc).split())[:200] or type(exc).__name__)
    return res


def _whole_file(
    path: str, checked: Any, stats: dict[str, Any], specs: Sequence[SetSpec], sr: int
) -> tuple[np.ndarray, list[float], list[float]]:
    """One row over a whole file (``window_s="whole"``): rows, durations, starts."""
    from dfaudio.features.sets import compute_many
    from dfaudio.io.audio import SILENCE_PEAK

    pieces = list(checked())
    if stats["total"] == 0:
        raise AudioError(path, "empty", "no samples")
    if stats["peak"] < SILENCE_PEAK:
        raise AudioError(path, "silent", "all samples are (near) zero")
    dur = stats["total"] / sr
    if dur < MIN_CLIP_S:
        raise AudioError(
            path, "too short", f"{dur:.3f} s is shorter than the {MIN_CLIP_S:g} s minimum"
        )
    y = np.concatenate([np.asarray(p, dtype=np.float32).reshape(-1) for p in pieces])
    return compute_many(specs, y, sr, window_s=None), [dur], [0.0]


def check_feature_sets(specs: Sequence[SetSpec]) -> list[str]:
    """Check that every set can run here (library installed, model loadable); its columns.

    Each set is run once on half a second of noise at 16 kHz, so a missing extra, an unknown
    model or a bad parameter fails before any file is read, in one line.

    Raises
    ------
    ParameterError
    """
    from dfaudio.features.sets import all_columns, compute_many

    cols = all_columns(specs)
    noise = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    compute_many(specs, noise, 16000, window_s=None)
    return cols


def tabulate(
    manifest: pd.DataFrame,
    *,
    sr: int | None = None,
    window_s: float | str = 1.0,
    short: str = "whole",
    feature_sets: str | Sequence[str] | Sequence[SetSpec] | None = None,
    jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
    on_failure: Any = None,
) -> TabulateResult:
    """Compute the per-second feature table of every file in ``manifest``.

    Parameters
    ----------
    manifest : pd.DataFrame
        From :func:`dfaudio.datasets.load_manifest`.
    sr, window_s, short
        See :func:`features_for_file`.
    feature_sets : str or sequence, optional
        ``"NAME[,NAME...]"``, a list of names or of :class:`~dfaudio.features.sets.SetSpec`
        (default ``deep-voice``); see :mod:`dfaudio.features.sets`.
    jobs : int
        Parallel workers over files (``-1``: all cores).
    backend : {"loky", "dask"}
        ``dask`` runs the per-file work on a Dask cluster: the one at ``scheduler``
        (``tcp://HOST:PORT``), or a local cluster of ``jobs`` worker processes.
    progress : bool
        Show a progress bar (tqdm, on stderr).
    on_failure : callable, optional
        Called as ``on_failure(path, reason, detail)`` as each failure happens.

    Returns
    -------
    TabulateResult
        ``table`` rows are in manifest order, then window order; ``info`` is the feature
        metadata to store with it (:func:`dfaudio.tables.table_meta`).
    """
    from dfaudio.features.sets import parse_feature_sets
    from dfaudio.tables import table_meta

    if short not in SHORT_POLICIES:
        raise ParameterError(f"short-clip policy must be one of {SHORT_POLICIES}, got {short!r}")
    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if isinstance(window_s, str):
        if window_s != "whole":
            raise ParameterError(f"window_s must be seconds or 'whole', got {window_s!r}")
    elif not window_s > 0:
        raise ParameterError(f"window_s must be positive, got {window_s}")
    if feature_sets is None or isinstance(feature_sets, str):
        specs = parse_feature_sets(feature_sets)
    elif all(isinstance(f, SetSpec) for f in feature_sets):
        specs = list(feature_sets)  # type: ignore[arg-type]
    else:
        specs = parse_feature_sets([str(f) for f in feature_sets])
    columns = check_feature_sets(specs)
    records = manifest.to_dict("records")
    kwargs = {"sr": sr, "window_s": window_s, "short": short, "feature_sets": specs}
    results = _run_files(
        records,
        kwargs,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        on_failure=on_failure,
    )
    out = _assemble(results, manifest, columns=columns)
    out.info = table_meta(
        [sp.record() for sp in specs],
        window=window_s,
        short=short,
        sr=sr,
        n_columns={sp.spec: len(columns_of(sp)) for sp in specs},
    )
    out.summary["feature_sets"] = [sp.spec for sp in specs]
    out.summary["n_features"] = len(columns)
    out.summary["window"] = window_s
    return out


def columns_of(spec: SetSpec) -> list[str]:
    """Column names of one feature set (see :func:`dfaudio.features.sets.columns`)."""
    from dfaudio.features.sets import columns

    return columns(spec)


def _progress(it: Iterable[FileResult], total: int, enabled: bool) -> Iterable[FileResult]:
    from tqdm.auto import tqdm

    return tqdm(it, total=total, unit="file", disable=not enabled or None, leave=False)


def _run_files(
    records: list[dict[str, str]],
    kwargs: dict[str, Any],
    *,
    jobs: int,
    backend: str,
    scheduler: str | None,
    progress: bool,
    on_failure: Any,
    fn: Any = features_for_file,
) -> list[FileResult]:
    """Run ``fn(record, **kwargs)`` over records (``tabulate`` and ``dfaudio synth`` share it).

    ``backend`` is ``"dask"`` whenever ``scheduler`` is given. ``on_failure(path, reason, detail)``
    is called for each failure: as it happens with joblib, in record order after a dask run.
    """
    if backend == "dask" or scheduler is not None:
        results = _run_dask(
            records, kwargs, jobs=jobs, scheduler=scheduler, progress=progress, fn=fn
        )
        if on_failure is not None:
            for r in results:
                if r.failure:
                    on_failure(r.path, *r.failure)
        return results
    return _run_joblib(records, kwargs, jobs=jobs, progress=progress, on_failure=on_failure, fn=fn)


def _run_joblib(
    records: list[dict[str, str]],
    kwargs: dict[str, Any],
    *,
    jobs: int,
    progress: bool,
    on_failure: Any,
    fn: Any = features_for_file,
) -> list[FileResult]:
    """Run ``fn(record, **kwargs)`` over records in joblib processes (``dfaudio synth`` reuses it).

    ``fn`` must never raise for bad data; it returns an object with ``path`` and ``failure``.
    """
    from joblib import Parallel, delayed

    if jobs == 1:
        gen: Iterable[FileResult] = (fn(r, **kwargs) for r in records)
    else:
        gen = Parallel(n_jobs=jobs, return_as="generator", batch_size="auto")(
            delayed(fn)(r, **kwargs) for r in records
        )
    out = []
    for res in _progress(gen, len(records), progress):
        if res.failure and on_failure is not None:
            on_failure(res.path, *res.failure)
        out.append(res)
    return out


def _run_dask(
    records: list[dict[str, str]],
    kwargs: dict[str, Any],
    *,
    jobs: int,
    scheduler: str | None,
    progress: bool,
    fn: Any = features_for_file,
) -> list[FileResult]:
    """As :func:`_run_joblib` on a Dask cluster (``scheduler``, else a local one of ``jobs``)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise needs_extra("the dask backend", "dask.distributed", "dask") from None
    from joblib import Parallel, delayed, parallel_config

    cluster = None
    if scheduler is None:
        n = jobs if jobs > 0 else None
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    try:
        client = Client(cluster if cluster is not None else scheduler, timeout="30s")
    except OSError as exc:
        raise ParameterError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    try:
        with parallel_config(backend="dask"):
            gen = Parallel(return_as="generator", batch_size=1)(
                delayed(fn)(r, **kwargs) for r in records
            )
            return list(_progress(gen, len(records), progress))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _assemble(
    results: list[FileResult],
    manifest: pd.DataFrame,
    *,
    columns: Sequence[str] = DEEP_VOICE_FEATURES,
) -> TabulateResult:
    frames = [r.rows for r in results if r.rows is not None]
    failures = [(r.path, *r.failure) for r in results if r.failure]
    if frames:
        table = pd.concat(frames, ignore_index=True)
    else:
        table = pd.DataFrame(columns=[*columns, LABEL, "file", "window", "start_s"])
    ordered = [*columns, LABEL] + [c for c in PROVENANCE if c in table.columns]
    table = table[ordered]
    ok = [r for r in results if r.rows is not None]
    by_label = table[LABEL].value_counts() if len(table) else pd.Series(dtype=int)
    summary = {
        "files": len(results),
        "files_ok": len(ok),
        "files_failed": len(failures),
        "windows": len(table),
        "windows_bonafide": int(by_label.get("bonafide", 0)),
        "windows_spoof": int(by_label.get("spoof", 0)),
        "audio_s": float(sum(r.seconds for r in ok)),
        "tail_s_dropped": float(sum(r.tail_s for r in ok)),
        "files_with_tail": int(sum(r.tail_s > 0 for r in ok)),
        "short_clips": int(sum(r.short for r in ok)),
        "failures_by_reason": dict(Counter(f[1] for f in failures)),
    }
    return TabulateResult(table=table, failures=failures, summary=summary)


def balance_undersample(table: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Randomly drop rows of the larger class until both classes have as many rows.

    This is how the DEEP-VOICE table was balanced. Row order is kept.
    """
    counts = table[LABEL].value_counts()
    if len(counts) < 2:
        return table
    n = int(counts.min())
    rng = np.random.default_rng(seed)
    keep = np.zeros(len(table), dtype=bool)
    for label in counts.index:
        idx = np.flatnonzero(table[LABEL].to_numpy() == label)
        keep[rng.choice(idx, size=n, replace=False) if len(idx) > n else idx] = True
    return table.loc[keep].reset_index(drop=True)


def to_schema(table: pd.DataFrame, schema: str) -> pd.DataFrame:
    """``dfaudio`` (features + label + provenance) or ``deep-voice`` (27 columns, REAL/FAKE)."""
    if schema not in SCHEMAS:
        raise ParameterError(f"schema must be one of {SCHEMAS}, got {schema!r}")
    if schema == "dfaudio":
        return table
    others = [c for c in table.columns if c not in DEEP_VOICE_FEATURES]
    others = [c for c in others if c != LABEL and c not in PROVENANCE]
    if others or not set(DEEP_VOICE_FEATURES) <= set(table.columns):
        raise ParameterError(
            "schema 'deep-voice' holds exactly the 26 DEEP-VOICE features; use schema 'dfaudio' "
            "for other feature sets"
        )
    out = table[list(DEEP_VOICE_FEATURES)].copy()
    out[DEEP_VOICE_LABEL] = table[LABEL].map(DEEP_VOICE_LABELS)
    return out


def write_table(
    table: pd.DataFrame,
    path: str | Path,
    *,
    force: bool = False,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write a table atomically as CSV or Parquet, as the file name says (``.csv``/``.parquet``).

    Refuses to overwrite without ``force``; see :func:`dfaudio.io.tables.write_frame`. ``info``
    (the feature metadata, :attr:`TabulateResult.info`) goes into the Parquet metadata, or into
    the JSON sidecar ``<table>.features.json`` beside a CSV table
    (:func:`dfaudio.tables.write_table_meta`).
    """
    from dfaudio.io.tables import table_format, write_frame
    from dfaudio.tables import TABLE_META_KEY, sidecar_path, write_table_meta

    csv = table_format(path) == "csv"
    if info is not None and csv:
        from dfaudio.io.files import check_writable

        check_writable(sidecar_path(path), force=force)
    if info is not None and not csv:
        table = table.copy(deep=False)
        table.attrs[TABLE_META_KEY] = info
    out = write_frame(table, path, force=force)
    if info is not None and csv:
        write_table_meta(path, info, force=force)
    return out
