"""Atomic, no-clobber file writing.

Every output dfaudio writes goes through :func:`atomic_path`: the content is written to a temporary
file in the same folder and renamed into place only when complete, so an interrupted run never
leaves a half-written table, and an existing file is never replaced unless ``force=True``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dfaudio.exceptions import ParameterError

__all__ = [
    "atomic_path",
    "check_folder_writable",
    "check_writable",
    "special_file_kind",
    "write_json",
    "write_text",
]


def check_writable(path: str | Path, *, force: bool = False) -> Path:
    """Check, before any work, that ``path`` can be written.

    Raises :class:`ParameterError` when ``path`` exists and ``force`` is false, when it exists but
    is not a regular file (a folder, ``/dev/null``, a FIFO: renaming onto it would replace it), or
    when its folder cannot take a new file (:func:`check_folder_writable`).
    """
    p = _check_target(path, force=force)
    check_folder_writable(p.parent)
    return p


def _check_target(path: str | Path, *, force: bool) -> Path:
    p = Path(path)
    kind = special_file_kind(p)
    if kind is not None:
        raise ParameterError(f"{p}: is {kind} (not a regular file); give a file name")
    if p.exists() and not force:
        raise ParameterError(f"{p}: already exists; pass force=True to overwrite")
    return p


def check_folder_writable(folder: str | Path) -> Path:
    """Check that a file can be created in ``folder`` (or in the folders that would be made).

    The nearest existing folder is probed by creating and removing an empty temporary file, so
    a read-only file system or a permission problem is found before any work, also for root
    (for whom :func:`os.access` always says yes).

    Raises
    ------
    ParameterError
        The path leads through a regular file, or the folder cannot be written.
    """
    d = Path(folder)
    probe = d
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise ParameterError(f"{d}: cannot make a folder there: {probe} is a file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".dfaudio-probe-", dir=probe)
    except OSError as exc:
        raise ParameterError(f"{probe}: cannot write there ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(tmp)
    return d


def special_file_kind(path: str | Path) -> str | None:
    """``"a folder"``, ``"a FIFO"``, ``"a character device"`` ... for an existing path that is
    not a regular file; ``None`` for a regular file or a missing path."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), None)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path that is renamed to ``path`` when the block succeeds.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_path(os.path.join(d, "t.csv")) as tmp:
    ...     pd.DataFrame({"a": [1]}).to_csv(tmp, index=False)
    >>> os.listdir(d)
    ['t.csv']
    """
    p = _check_target(path, force=force)  # the temporary file below probes the folder
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
    try:
        yield tmp_path
        os.replace(tmp_path, p)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str, *, force: bool = False) -> Path:
    """Atomically write ``text`` to ``path``."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, obj: Any, *, force: bool = False) -> Path:
    """Atomically write ``obj`` as indented JSON (NaN written as ``null``)."""
    return write_text(path, json.dumps(_json_safe(obj), indent=2) + "\n", force=force)


def _json_safe(obj: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats into plain JSON values."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj
