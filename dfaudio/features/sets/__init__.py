"""Registry of tabular feature sets: audio -> one row of numbers per window.

Every set is a plain function ``fn(y, sr, *, window_s, short, **params)`` returning
``np.ndarray [shape=(n_windows, n_features)]`` (float64), with the window policy of
:mod:`dfaudio.features.summary` (full blocks of ``window_s`` seconds, tail dropped; a clip shorter
than one block gives one row over the clip for ``short="whole"``, a zero-padded block for
``"pad"``, nothing for ``"skip"``; ``window_s=None`` gives one row over the whole signal).
Its columns carry the set's own prefix, so that several sets can share one table.

============== ========= ============================================================ ============
name           prefix    columns                                                      extra
============== ========= ============================================================ ============
deep-voice     (none)    the 26 DEEP-VOICE means (:data:`dfaudio.schema.DEEP_VOICE_FEATURES`) --
spectral-stats ``ss_``   mean/std/p10/p50/p90 of frame MFCC, LFCC, contrast, flatness --
                         and their deltas: ``ss_mfcc3_mean``, ``ss_lfcc1_delta_p90`` ...
egemaps        ``egemaps_`` openSMILE eGeMAPSv02 functionals (88)                     opensmile
compare        ``compare_`` openSMILE ComParE_2016 functionals (6373)                 opensmile
resemblyzer    ``rsz_``  the Resemblyzer speaker embedding ``rsz_0 .. rsz_255``       resemblyzer
ssl:MODEL[:L]  ``ssl_``  hidden states of layer L (default: mean over layers) of a    ssl
                         transformers speech encoder, mean over frames: ``ssl_0 ..``
============== ========= ============================================================ ============

Names are registered as lazy ``"module:attr"`` strings, so :func:`names` (which feeds the
``tabulate --features`` choice) imports neither librosa, opensmile, torch nor transformers.
A set whose library is missing raises a one-line :class:`~dfaudio.exceptions.ParameterError`
naming the extra to install.

Examples
--------
>>> from dfaudio.features.sets import names, parse_feature_sets
>>> names()
['deep-voice', 'spectral-stats', 'egemaps', 'compare', 'resemblyzer', 'ssl:MODEL[:LAYER]']
>>> [s.spec for s in parse_feature_sets("deep-voice,ssl:facebook/wav2vec2-base:6")]
['deep-voice', 'ssl:facebook/wav2vec2-base:6']
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dfaudio.exceptions import ParameterError, needs_extra

__all__ = [
    "DEFAULT",
    "FeatureSet",
    "ParameterError",
    "SetSpec",
    "all_columns",
    "columns",
    "compute",
    "compute_many",
    "compute_stream",
    "from_records",
    "get",
    "missing_extra",
    "names",
    "parse_feature_sets",
    "prefixes",
    "register",
    "require",
    "window_blocks",
]


@dataclass(frozen=True)
class FeatureSet:
    """One registered feature set.

    Attributes
    ----------
    name : str
        Public name (``tabulate --features NAME``).
    prefix : str
        Prefix of every column name (empty for ``deep-voice``, whose names are DEEP-VOICE's).
    version : str
        Bumped whenever the numbers a set gives change; recorded in tables and runs.
    fn : str
        ``"module:attr"`` of the feature function.
    columns : str
        ``"module:attr"`` of ``columns(**params) -> list[str]``.
    defaults : dict
        Default parameters (recorded in full in every table).
    extra : str or None
        The setup.cfg extra (``pip install -e ".[EXTRA]"``) that provides the library it needs.
    module : str or None
        The library's import name (checked before any audio is read).
    help : str
        One line for ``--help``.
    """

    name: str
    prefix: str
    version: str
    fn: str
    columns: str
    defaults: dict[str, Any] = field(default_factory=dict)
    extra: str | None = None
    module: str | None = None
    help: str = ""


@dataclass(frozen=True)
class SetSpec:
    """A feature set with resolved parameters (what a table or run records)."""

    name: str
    params: dict[str, Any]

    @property
    def info(self) -> FeatureSet:
        """The registry entry."""
        return get(self.name)

    @property
    def spec(self) -> str:
        """The text that selects this set on the command line (``ssl:MODEL:LAYER`` ...)."""
        if self.name == "ssl":
            layer = self.params.get("layer", "mean")
            return f"ssl:{self.params['model']}" + ("" if layer == "mean" else f":{layer}")
        return self.name

    def record(self) -> dict[str, Any]:
        """JSON-able description: name, spec, version, prefix, params."""
        info = self.info
        return {
            "name": self.name,
            "spec": self.spec,
            "version": info.version,
            "prefix": info.prefix,
            "params": dict(self.params),
        }


_SETS: dict[str, FeatureSet] = {}


def register(entry: FeatureSet) -> FeatureSet:
    """Add a feature set to the registry (duplicate names raise)."""
    if entry.name in _SETS:
        raise ParameterError(f"duplicate feature set name {entry.name!r}")
    _SETS[entry.name] = entry
    return entry


def get(name: str) -> FeatureSet:
    """Registry entry of ``name`` (``ssl:...`` specs resolve to ``ssl``)."""
    key = "ssl" if name.startswith("ssl:") else name
    try:
        return _SETS[key]
    except KeyError:
        raise ParameterError(
            f"unknown feature set {name!r}; choose from: {', '.join(names())}"
        ) from None


def names() -> list[str]:
    """Public names, in registration order (``ssl`` shown as ``ssl:MODEL[:LAYER]``)."""
    return [("ssl:MODEL[:LAYER]" if n == "ssl" else n) for n in _SETS]


def prefixes() -> dict[str, str]:
    """Column prefix -> set name, for the sets that have one."""
    return {s.prefix: s.name for s in _SETS.values() if s.prefix}


DEFAULT = "deep-voice"

register(
    FeatureSet(
        "deep-voice",
        "",
        "1",
        "dfaudio.features.sets.deep_voice:deep_voice",
        "dfaudio.features.sets.deep_voice:columns",
        defaults={"n_fft": 2048, "hop_length": 512},
        help="the 26 DEEP-VOICE frame means (default; exact fast path)",
    )
)
register(
    FeatureSet(
        "spectral-stats",
        "ss_",
        "1",
        "dfaudio.features.sets.spectral_stats:spectral_stats",
        "dfaudio.features.sets.spectral_stats:columns",
        defaults={
            "frame_s": 0.025,
            "hop_s": 0.010,
            "n_mfcc": 20,
            "n_mels": 40,
            "n_lfcc": 20,
            "n_bands": 6,
            "delta_width": 9,
            "percentiles": [10, 50, 90],
        },
        help="mean/std/percentiles of frame MFCC, LFCC, contrast, flatness and deltas (480)",
    )
)
register(
    FeatureSet(
        "egemaps",
        "egemaps_",
        "1",
        "dfaudio.features.sets.smile:egemaps",
        "dfaudio.features.sets.smile:egemaps_columns",
        defaults={"feature_set": "eGeMAPSv02"},
        extra="opensmile",
        module="opensmile",
        help="openSMILE eGeMAPSv02 functionals (88)",
    )
)
register(
    FeatureSet(
        "compare",
        "compare_",
        "1",
        "dfaudio.features.sets.smile:compare",
        "dfaudio.features.sets.smile:compare_columns",
        defaults={"feature_set": "ComParE_2016"},
        extra="opensmile",
        module="opensmile",
        help="openSMILE ComParE_2016 functionals (6373)",
    )
)
register(
    FeatureSet(
        "resemblyzer",
        "rsz_",
        "1",
        "dfaudio.features.sets.speaker:resemblyzer",
        "dfaudio.features.sets.speaker:columns",
        defaults={"normalize_dbfs": -30.0, "rate": 1.3, "min_coverage": 0.75},
        extra="resemblyzer",
        module="resemblyzer",
        help="Resemblyzer speaker embedding (256, encoder shipped in the package)",
    )
)
register(
    FeatureSet(
        "ssl",
        "ssl_",
        "1",
        "dfaudio.features.sets.ssl:ssl_embeddings",
        "dfaudio.features.sets.ssl:columns",
        defaults={"model": None, "layer": "mean", "device": "auto", "batch_windows": 16},
        extra="ssl",
        module="transformers",
        help="ssl:MODEL[:LAYER] transformers speech encoder, frame-mean of a layer's hidden states",
    )
)


# --------------------------------------------------------------------------------------------
# Parsing and checking


def _parse_ssl(text: str) -> dict[str, Any]:
    body = text[len("ssl:") :]
    layer: int | str = "mean"
    if ":" in body:
        head, tail = body.rsplit(":", 1)
        if tail.isdigit() or tail == "mean":
            body, layer = head, (int(tail) if tail.isdigit() else tail)
    if not body:
        raise ParameterError(
            f"feature set {text!r}: name a model, e.g. ssl:facebook/wav2vec2-xls-r-300m:8 "
            "or ssl:/path/to/local/folder"
        )
    return {"model": body, "layer": layer}


def parse_feature_sets(
    text: str | Sequence[str] | None, *, params: dict[str, dict[str, Any]] | None = None
) -> list[SetSpec]:
    """Parse ``"NAME[,NAME...]"`` (or a list of names) into resolved :class:`SetSpec` objects.

    Parameters
    ----------
    text : str or sequence of str or None
        Comma-separated names; ``None`` or empty gives ``[deep-voice]``.
    params : dict, optional
        Per-name parameter overrides, e.g. ``{"spectral-stats": {"n_mfcc": 13}}``.

    Raises
    ------
    ParameterError
        Unknown name, unknown parameter, a name given twice, or two ``ssl:`` sets (they would share
        the ``ssl_`` columns).
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        items = [DEFAULT]
    elif isinstance(text, str):
        items = [t.strip() for t in text.split(",") if t.strip()]
    else:
        items = [str(t).strip() for t in text]
    out: list[SetSpec] = []
    params = params or {}
    for item in items:
        info = get(item)
        p = dict(info.defaults)
        if info.name == "ssl":
            if item == "ssl":
                raise ParameterError("feature set 'ssl' needs a model: ssl:MODEL[:LAYER]")
            p.update(_parse_ssl(item))
        extra = params.get(info.name, {})
        unknown = sorted(set(extra) - set(p))
        if unknown:
            raise ParameterError(
                f"feature set {info.name!r} has no parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(p))}"
            )
        p.update(extra)
        out.append(SetSpec(info.name, p))
    seen = [s.name for s in out]
    dup = sorted({n for n in seen if seen.count(n) > 1})
    if dup:
        what = "two ssl: sets (they share the ssl_ columns)" if dup == ["ssl"] else dup[0]
        raise ParameterError(f"feature set given twice: {what}")
    return out


def from_records(records: Iterable[dict[str, Any]]) -> list[SetSpec]:
    """Rebuild specs from what :meth:`SetSpec.record` wrote (a table's or a run's metadata).

    Raises
    ------
    ParameterError
        When a set is unknown here or its recorded version differs from this dfaudio's (the
        numbers would not be the same).
    """
    out = []
    for r in records:
        info = get(str(r["name"]))
        if str(r.get("version", info.version)) != info.version:
            raise ParameterError(
                f"feature set {info.name!r} was recorded at version {r['version']}, this dfaudio "
                f"computes version {info.version}; re-run tabulate/fit with this version"
            )
        p = dict(info.defaults)
        p.update(r.get("params") or {})
        out.append(SetSpec(info.name, p))
    return out


def require(spec: SetSpec) -> None:
    """Raise a one-line :class:`ParameterError` naming the extra when the library is missing."""
    info = spec.info
    if info.module is None:
        return
    try:
        importlib.import_module(info.module)
    except ImportError as exc:
        hint = needs_extra(f"feature set {info.name!r}", str(info.module), str(info.extra))
        raise ParameterError(f"{hint} ({exc})") from None


def _resolve(ref: str) -> Any:
    module, attr = ref.split(":", 1)
    return getattr(importlib.import_module(module), attr)


def columns(spec: SetSpec) -> list[str]:
    """Column names of ``spec`` (all start with the set's prefix)."""
    require(spec)
    return list(_resolve(spec.info.columns)(**_fn_params(spec)))


def _fn_params(spec: SetSpec) -> dict[str, Any]:
    return dict(spec.params)


def compute(
    spec: SetSpec, y: np.ndarray, sr: float, *, window_s: float | None = 1.0, short: str = "whole"
) -> np.ndarray:
    """Rows of one set for a signal: ``np.ndarray [shape=(n_windows, n_columns)]`` float64."""
    require(spec)
    fn = _resolve(spec.info.fn)
    X = np.asarray(fn(y, sr, window_s=window_s, short=short, **_fn_params(spec)), dtype=np.float64)
    return X


def compute_many(
    specs: Sequence[SetSpec],
    y: np.ndarray,
    sr: float,
    *,
    window_s: float | None = 1.0,
    short: str = "whole",
) -> np.ndarray:
    """Rows of several sets side by side, in ``specs`` order."""
    parts = [compute(s, y, sr, window_s=window_s, short=short) for s in specs]
    return np.hstack(parts) if parts else np.zeros((0, 0))


def all_columns(specs: Sequence[SetSpec]) -> list[str]:
    """Column names of several sets side by side (a name in two sets raises)."""
    cols: list[str] = []
    for s in specs:
        cols.extend(columns(s))
    if len(set(cols)) != len(cols):
        raise ParameterError("two feature sets give the same column name")
    return cols


def compute_stream(
    specs: Sequence[SetSpec],
    pieces: Iterable[np.ndarray],
    sr: float,
    *,
    window_s: float = 1.0,
    short: str = "whole",
    group_s: float = 60.0,
) -> np.ndarray:
    """Rows of several sets for a streamed signal (bounded memory).

    The pieces are re-cut into groups of whole blocks (about ``group_s`` seconds); every set sees
    each group, so its rows are those of the concatenated signal. When the whole stream is shorter
    than one block, the ``short`` policy applies to it.
    """
    from dfaudio.features.summary import block_length

    block_len = block_length(sr, window_s)
    if block_len < 1:
        raise ParameterError(f"window_s={window_s} at sr={sr} is shorter than one sample")
    group = max(1, int(group_s * sr) // block_len) * block_len
    out: list[np.ndarray] = []
    emitted = False
    rest = np.zeros(0, dtype=np.float32)
    for data in _regroup(pieces, group):
        if data.shape[0] >= block_len:
            n_use = (data.shape[0] // block_len) * block_len
            out.append(compute_many(specs, data[:n_use], sr, window_s=window_s, short="skip"))
            emitted = True
            rest = data[n_use:]
        else:
            rest = data
    if not emitted:
        out.append(compute_many(specs, rest, sr, window_s=window_s, short=short))
    out = [o for o in out if o.shape[0]]
    if not out:
        return np.zeros((0, len(all_columns(specs))))
    return np.vstack(out)


def _regroup(pieces: Iterable[np.ndarray], group: int) -> Iterator[np.ndarray]:
    """Yield consecutive arrays of exactly ``group`` samples, then the remainder (maybe empty)."""
    buf: list[np.ndarray] = []
    n = 0
    for piece in pieces:
        piece = np.asarray(piece, dtype=np.float32).reshape(-1)
        buf.append(piece)
        n += piece.shape[0]
        while n >= group:
            data = np.concatenate(buf)
            yield data[:group]
            buf, n = [data[group:]], data.shape[0] - group
    yield np.concatenate(buf) if buf else np.zeros(0, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Helpers shared by the set functions


def window_blocks(y: Any, sr: float, *, window_s: float | None, short: str = "whole") -> np.ndarray:
    """Cut a signal into the blocks of the window policy: ``[shape=(n_windows, block_len)]``.

    ``window_s=None`` gives one block over the whole signal (an empty signal raises).
    """
    from dfaudio.features.summary import _as_signal, _blocks_of

    if window_s is None:
        sig = _as_signal(y)
        if sig.shape[0] == 0:
            raise ParameterError("empty signal")
        return sig[None, :]
    sig, length = _blocks_of(y, sr, window_s, 2048, 512, short)
    nb = sig.shape[0] // length
    return sig[: nb * length].reshape(nb, length)


def missing_extra(name: str, extra: str, module: str) -> ParameterError:
    """The one-line error for a set whose library cannot be imported."""
    return needs_extra(f"feature set {name!r}", module, extra)
