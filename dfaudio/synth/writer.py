"""The spoofed-corpus writer behind ``dfaudio synth``.

For every bona fide source file and every attack, one copy is written to
``OUT/<attack>/<path of the source below the sources' common folder>`` in the source's own
container and subtype (a PCM_16 WAV gives a PCM_16 WAV, a FLAC a FLAC), at the source's sample
rate, with its number of channels (each channel is resynthesised on its own), its length in samples
and its RMS level (see :func:`dfaudio.synth.attacks.match_source`). ``OUT/list.csv`` lists the
originals (by reference, not copied) and the copies: ``path,label,group,attack,speaker``, where a
copy carries its source's group so that grouped splits keep a copy and its source together.

Ownership: ``OUT/.dfaudio-synth.json`` records every path synth planned to write there. A new run
refuses to replace any existing output without ``force``; with ``force`` it replaces only paths
that ledger lists, never a file synth did not write.

Randomness: each (source, attack, channel) gets its own generator seeded from ``seed``, the
source's relative path, the attack label and the channel, so the output does not depend on
``jobs``, the backend or the order of the sources.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import AudioError, DataError, ParameterError
from dfaudio.labels import BONAFIDE, SPOOF

__all__ = [
    "LEDGER_NAME",
    "LIST_COLUMNS",
    "LIST_NAME",
    "SynthFileResult",
    "SynthResult",
    "bonafide_sources",
    "check_outputs",
    "output_format",
    "plan_outputs",
    "planned_paths",
    "read_ledger",
    "rng_for",
    "synth_file",
    "synthesize",
    "write_ledger",
]

#: Name of the CSV list written in the output folder.
LIST_NAME = "list.csv"
#: Name of the ownership ledger written in the output folder.
LEDGER_NAME = ".dfaudio-synth.json"
LIST_COLUMNS = ("path", "label", "group", "attack", "speaker")


@dataclass
class SynthFileResult:
    """The copies made from one source file, or why it failed."""

    path: str
    copies: list[dict[str, str]] = field(default_factory=list)
    failure: tuple[str, str] | None = None
    seconds: float = 0.0
    format_note: str = ""


@dataclass
class SynthResult:
    """The written list (as a DataFrame), failures (path, reason, detail) and a summary."""

    table: pd.DataFrame
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def rng_for(seed: int, rel: str, attack: str, channel: int = 0) -> np.random.Generator:
    """The generator of one (source, attack, channel): independent of jobs and file order."""
    key = [int(seed), zlib.crc32(rel.encode()), zlib.crc32(attack.encode()), int(channel)]
    return np.random.default_rng(key)


def output_format(path: str | Path) -> tuple[str, str, str]:
    """``(format, subtype, extension)`` to write a copy of ``path`` in.

    The source's own container and subtype when libsndfile can write them; otherwise (formats
    read through the fallback decoder, e.g. M4A) 16-bit PCM WAV.
    """
    import soundfile as sf

    ext = Path(path).suffix.lower()
    try:
        info = sf.info(str(path))
        fmt, subtype = info.format, info.subtype
        if sf.check_format(fmt, subtype):
            return fmt, subtype, ext
    except Exception:
        pass
    return "WAV", "PCM_16", ".wav"


def synth_file(
    record: dict[str, str],
    *,
    attacks: list[tuple[str, str, dict[str, Any]]],
    seed: int,
) -> SynthFileResult:
    """Read one source, make and write its copies; never raises for bad audio.

    Parameters
    ----------
    record : dict
        ``path``, ``group``, ``speaker``, ``rel`` (the source's path below the common folder,
        without extension) and ``out_dir``.
    attacks : list of (label, name, params)
        From :func:`dfaudio.synth.attacks.parse_attacks` (params merged).
    seed : int
    """
    from threadpoolctl import threadpool_limits

    path = record["path"]
    res = SynthFileResult(path=path)
    # One BLAS thread, as in joblib's workers: the same bits whatever --jobs is.
    with threadpool_limits(limits=1):
        _synth_into(res, record, attacks=attacks, seed=seed)
    return res


def _synth_into(
    res: SynthFileResult,
    record: dict[str, str],
    *,
    attacks: list[tuple[str, str, dict[str, Any]]],
    seed: int,
) -> None:
    import soundfile as sf

    from dfaudio.io.audio import load
    from dfaudio.io.files import atomic_path
    from dfaudio.synth.attacks import apply_attack

    path = record["path"]
    try:
        y, sr = load(path, mono=False)
        y = np.atleast_2d(y)
        res.seconds = y.shape[-1] / sr
        fmt, subtype, ext = output_format(path)
        if ext != Path(path).suffix.lower():
            res.format_note = f"written as WAV PCM_16 (cannot write {Path(path).suffix})"
        for label, name, params in attacks:
            out = np.stack(
                [
                    apply_attack(
                        name, ch, sr, rng=rng_for(seed, record["rel"], label, c), params=params
                    )
                    for c, ch in enumerate(y)
                ]
            )
            dest = Path(record["out_dir"]) / label / (record["rel"] + ext)
            with atomic_path(dest, force=True) as tmp:
                sf.write(str(tmp), out.T, sr, format=fmt, subtype=subtype)
            res.copies.append(
                {
                    "path": str(dest),
                    "label": SPOOF,
                    "group": record["group"],
                    "attack": label,
                    "speaker": record.get("speaker", ""),
                }
            )
    except AudioError as exc:
        res.failure = (exc.category, exc.detail)
    except ParameterError:
        raise  # a bad option fails every file: stop at once
    except Exception as exc:  # a crash in one file's synthesis must not lose the others
        res.failure = ("synthesis failed", " ".join(str(exc).split())[:200] or type(exc).__name__)


def bonafide_sources(manifest: pd.DataFrame) -> pd.DataFrame:
    """The bona fide rows of ``manifest`` (spoof rows are not resynthesised)."""
    out = manifest[manifest["label"] == BONAFIDE].reset_index(drop=True)
    if len(out) == 0:
        raise DataError(
            "no bona fide files among the inputs; synth makes copies of bona fide audio"
        )
    return out


def plan_outputs(
    sources: pd.DataFrame, out_dir: str | Path, attacks: list[tuple[str, str, dict[str, Any]]]
) -> list[dict[str, str]]:
    """One record per source with its relative output stem (``rel``) and ``out_dir``."""
    paths = [os.path.abspath(p) for p in sources["path"]]
    common = os.path.commonpath([os.path.dirname(p) for p in paths])
    records = []
    for rec, ap in zip(sources.to_dict("records"), paths, strict=True):
        rel = Path(os.path.relpath(ap, common)).with_suffix("").as_posix()
        records.append(
            {
                "path": rec["path"],
                "group": rec["group"],
                "speaker": rec.get("speaker", "") or "",
                "rel": rel,
                "out_dir": str(out_dir),
            }
        )
    return records


def planned_paths(
    records: list[dict[str, str]], attacks: list[tuple[str, str, dict[str, Any]]]
) -> list[Path]:
    """Every file synth will write (copies, then the list)."""
    out = []
    for rec in records:
        ext = output_format(rec["path"])[2] if Path(rec["path"]).exists() else ".wav"
        out.extend(Path(rec["out_dir"]) / label / (rec["rel"] + ext) for label, _, _ in attacks)
    if records:
        out.append(Path(records[0]["out_dir"]) / LIST_NAME)
    return out


def read_ledger(out_dir: str | Path) -> set[str]:
    """Paths (relative to ``out_dir``) that earlier synth runs wrote there."""
    p = Path(out_dir) / LEDGER_NAME
    if not p.exists():
        return set()
    try:
        return set(json.loads(p.read_text(encoding="utf-8"))["written"])
    except Exception:
        raise DataError("cannot read synth's ledger; remove it to start afresh", p) from None


def check_outputs(out_dir: str | Path, planned: list[Path], *, force: bool) -> None:
    """Refuse to replace existing outputs (without ``force``) or files synth did not write.

    Raises
    ------
    ParameterError
        An output exists and ``force`` is false, or it exists and is not in the ledger.
    """
    existing = [p for p in planned if p.exists()]
    if not existing:
        return
    if not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ParameterError(f"{existing[0]}: already exists{more}; pass force=True to replace")
    owned = read_ledger(out_dir)
    foreign = [p for p in existing if os.path.relpath(p, out_dir) not in owned]
    if foreign:
        raise ParameterError(
            f"{foreign[0]}: exists and was not written by dfaudio synth; not replacing it even "
            "with force (move it or choose another output folder)"
        )


def write_ledger(out_dir: str | Path, planned: list[Path]) -> None:
    """Add ``planned`` to the ledger of paths synth owns in ``out_dir`` (atomically)."""
    from dfaudio.io.files import write_json

    owned = read_ledger(out_dir) | {os.path.relpath(p, out_dir) for p in planned}
    write_json(Path(out_dir) / LEDGER_NAME, {"written": sorted(owned)}, force=True)


def synthesize(
    manifest: pd.DataFrame,
    out_dir: str | Path,
    attacks: list[tuple[str, str, dict[str, Any]]],
    *,
    seed: int = 0,
    jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    force: bool = False,
    progress: bool = True,
    on_failure: Any = None,
) -> SynthResult:
    """Write a copy of every bona fide file per attack, and the list ``out_dir/list.csv``.

    Parameters
    ----------
    manifest : pd.DataFrame
        From :func:`dfaudio.datasets.load_manifest` (spoof rows are ignored).
    out_dir : str or Path
    attacks : list of (label, name, params)
        From :func:`dfaudio.synth.attacks.parse_attacks`, with parameters merged in.
    seed : int
    jobs, backend, scheduler
        Parallel workers over files, as in :func:`dfaudio.tabular.tabulate`.
    force : bool
        Replace outputs that an earlier synth run wrote (never other files).
    progress : bool
        Show a progress bar.
    on_failure : callable, optional
        Called as ``on_failure(path, reason, detail)`` for each source that could not be used.

    Returns
    -------
    SynthResult
        ``table`` is what ``list.csv`` holds, with paths relative to ``out_dir``.
    """
    from dfaudio.io.files import atomic_path
    from dfaudio.tabular import BACKENDS, _run_files

    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {BACKENDS}, got {backend!r}")
    out = Path(out_dir)
    sources = bonafide_sources(manifest)
    n_spoof_inputs = int((manifest["label"] == SPOOF).sum())
    records = plan_outputs(sources, out, attacks)
    planned = planned_paths(records, attacks)
    clash = pd.Series([str(p) for p in planned]).duplicated()
    if clash.any():
        raise ParameterError(
            f"{planned[int(np.argmax(clash.to_numpy()))]}: two sources would give this one copy "
            "(same name, formats written as WAV?); rename one of them"
        )
    check_outputs(out, planned, force=force)
    out.mkdir(parents=True, exist_ok=True)
    write_ledger(out, planned)  # before any copy, so an interrupted run's files are still ours
    kwargs = {"attacks": attacks, "seed": seed}
    results = _run_files(
        records,
        kwargs,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        on_failure=on_failure,
        fn=synth_file,
    )
    rows: list[dict[str, str]] = []
    for rec, res in zip(records, results, strict=True):
        if res.failure:
            continue
        rows.append(
            {
                "path": os.path.relpath(os.path.abspath(rec["path"]), os.path.abspath(out)),
                "label": BONAFIDE,
                "group": rec["group"],
                "attack": "-",
                "speaker": rec["speaker"],
            }
        )
        for c in res.copies:
            rows.append({**c, "path": os.path.relpath(c["path"], out)})
    table = pd.DataFrame(rows, columns=list(LIST_COLUMNS))
    failures = [(r.path, *r.failure) for r in results if r.failure]
    if rows:
        with atomic_path(out / LIST_NAME, force=True) as tmp:
            table.to_csv(tmp, index=False)
    ok = [r for r in results if not r.failure]
    summary = {
        "sources": len(records),
        "sources_ok": len(ok),
        "sources_failed": len(failures),
        "spoof_inputs_ignored": n_spoof_inputs,
        "attacks": [label for label, _, _ in attacks],
        "copies": int(sum(len(r.copies) for r in ok)),
        "audio_s": float(sum(r.seconds for r in ok)),
        "format_notes": sorted({r.format_note for r in ok if r.format_note}),
        "failures_by_reason": dict(Counter(f[1] for f in failures)),
        "list": str(out / LIST_NAME) if rows else None,
        "seed": seed,
    }
    return SynthResult(table=table, failures=failures, summary=summary)
