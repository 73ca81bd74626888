"""Plain class folders: ``ROOT/<class>/**/*.{wav,flac,mp3,ogg}``.

Class folder names are matched case-insensitively: real / bonafide / bona-fide / genuine / human
are bona fide; fake / spoof / synthetic / deepfake are spoof; anything else needs ``label_map``.
The group of a file is its path below the class folder without extension (one recording), or the
first capture group of ``group_regex`` applied to the file stem (e.g. ``'^(LJ\\d+-\\d+)'`` keeps a
real clip and its vocoded copy together).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from dfaudio.datasets.manifest import make_manifest
from dfaudio.exceptions import DataError, ParameterError
from dfaudio.io.audio import AUDIO_EXTENSIONS
from dfaudio.labels import canonical_label

__all__ = [
    "audio_files",
    "compile_group_regex",
    "from_folders",
    "group_of",
]


def audio_files(root: str | Path, *, boundary: str | Path | None = None) -> list[Path]:
    """All audio files below ``root``, sorted (hidden files and folders skipped).

    Symbolic links are handled so that a link can neither duplicate data nor walk the file system
    (each case is reported through :class:`~dfaudio.exceptions.DfaudioWarning`, printed by the CLI
    as a ``warning:`` line):

    - a link to a folder that holds ``boundary`` (``fake/up -> ..``, a link to ``/``) is skipped:
      it would scan the data again, or the whole file system;
    - a link to a folder inside ``boundary`` (``fake/alias -> ../real``) is skipped: its files
      are listed from their own folder, under their own class;
    - a link to a folder outside ``boundary`` (``real/spk -> /corpus/spk``) is followed, with a
      warning naming where it leads; links to files outside are used and counted in one warning;
    - a folder reached twice (a second link to it, or a loop) is walked once; folders reached
      without a link are walked first, so files keep their direct path;
    - a dangling link or a link loop is skipped with a warning.

    Parameters
    ----------
    root : str or Path
    boundary : str or Path, optional
        The input folder the walk should stay in (default ``root``).
    """
    report = _LinkReport(Path(boundary if boundary is not None else root))
    out = _walk(Path(root), report)
    report.emit()
    return sorted(out)


def _contains(parent: str, child: str) -> bool:
    """Whether resolved path ``child`` is ``parent`` or lies below it."""
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


class _LinkReport:
    """Collects what the walk did with symbolic links; :meth:`emit` warns once per kind."""

    def __init__(self, boundary: Path) -> None:
        self.boundary = boundary
        self.real_boundary = os.path.realpath(boundary)
        self.skipped_up: list[str] = []
        self.outside_dirs: list[str] = []
        self.outside_files: list[str] = []
        self.broken: list[str] = []
        self.inside: list[str] = []

    def emit(self) -> None:
        b = self.boundary
        if self.skipped_up:
            _warn(
                f"{_examples(self.skipped_up)}: link to a folder that holds the input folder {b} "
                "(it would scan the data again, or the whole file system); skipped"
            )
        if self.inside:
            _warn(
                f"{_examples(self.inside)}: link to a folder inside the input folder {b}, whose "
                "files are listed from their own folder; skipped"
            )
        if self.outside_dirs:
            _warn(f"{_examples(self.outside_dirs)}: followed a link out of the input folder {b}")
        if self.outside_files:
            n = len(self.outside_files)
            _warn(
                f"{n} audio file{'s are links' if n > 1 else ' is a link'} to outside the input "
                f"folder {b} (e.g. {self.outside_files[0]}); used"
            )
        if self.broken:
            _warn(f"{_examples(self.broken)}; skipped")


def _examples(items: list[str], k: int = 3) -> str:
    more = f" (and {len(items) - k} more)" if len(items) > k else ""
    return ", ".join(items[:k]) + more


def _warn(message: str) -> None:
    import warnings

    from dfaudio.exceptions import DfaudioWarning

    warnings.warn(message, DfaudioWarning, stacklevel=3)


def _hidden_below(parent: str, child: str) -> bool:
    """Whether ``child`` (below ``parent``) has a hidden component the walk never enters."""
    return any(part.startswith(".") for part in Path(os.path.relpath(child, parent)).parts)


def _walk(root: Path, report: _LinkReport) -> list[Path]:
    import errno
    import stat

    out: list[Path] = []
    seen = {os.path.realpath(root)}
    direct, via_link = [root], []  # folders reached without a link are walked first
    while direct or via_link:
        folder = direct.pop() if direct else via_link.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            report.broken.append(f"{folder}: cannot list ({exc.strerror})")
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            p = Path(e.path)
            if not e.is_symlink():
                if e.is_dir(follow_symlinks=False):
                    real = os.path.realpath(p)
                    if real not in seen:
                        seen.add(real)
                        direct.append(p)
                elif e.is_file(follow_symlinks=False) and p.suffix.lower() in AUDIO_EXTENSIONS:
                    out.append(p)
                continue
            try:
                mode = os.stat(p).st_mode
            except OSError as exc:
                what = "symbolic link loop" if exc.errno == errno.ELOOP else "dangling link"
                report.broken.append(f"{p}: {what} (-> {os.readlink(p)})")
                continue
            real = os.path.realpath(p)
            if stat.S_ISDIR(mode):
                if _contains(real, report.real_boundary):
                    report.skipped_up.append(f"{p} -> {real}")
                elif _contains(report.real_boundary, real) and not _hidden_below(
                    report.real_boundary, real
                ):
                    report.inside.append(f"{p} -> {real}")
                elif real not in seen:
                    seen.add(real)
                    via_link.append(p)
                    if not _contains(report.real_boundary, real):
                        report.outside_dirs.append(f"{p} -> {real}")
            elif stat.S_ISREG(mode) and p.suffix.lower() in AUDIO_EXTENSIONS:
                if not _contains(report.real_boundary, real):
                    report.outside_files.append(f"{p} -> {real}")
                out.append(p)
    return out


def group_of(stem: str, *, default: str, group_regex: str | re.Pattern[str] | None) -> str:
    """The group for a file stem: the regex's first capture group, else ``default``."""
    if not group_regex:
        return default
    m = re.search(group_regex, stem)
    if not m:
        return default
    return m.group(1) if m.groups() else m.group(0)


def compile_group_regex(group_regex: str) -> re.Pattern[str]:
    """Compile a group regex, refusing one that is invalid or has no capture group.

    Raises
    ------
    ParameterError
        Invalid syntax, or no ``(...)`` group (it would put every matching file in one group).
    """
    try:
        pattern = re.compile(group_regex)
    except re.error as exc:
        raise ParameterError(
            f"group regex {group_regex!r} is not a valid regular expression ({exc})"
        ) from None
    if pattern.groups < 1:
        raise ParameterError(
            f"group regex {group_regex!r} has no capture group: put the part of the file name "
            "that names the group in parentheses, e.g. '^(LJ\\d+-\\d+)'"
        )
    return pattern


def from_folders(
    root: str | Path,
    *,
    label_map: Mapping[str, str] | None = None,
    group_regex: str | None = None,
) -> pd.DataFrame:
    """Manifest of a folder whose sub-folders are the classes.

    Symbolic links are handled as :func:`audio_files` says; a file reached twice (through a
    link, possibly in another class folder) is listed once, under its direct path when it has
    one, and a warning says how many were dropped and whether their class folders disagreed.

    Parameters
    ----------
    root : str or Path
        The folder holding the class folders.
    label_map : mapping, optional
        Extra class-folder names -> ``bonafide``/``spoof``.
    group_regex : str, optional
        Regex on the file stem whose first capture group is the group. Files it does not match
        keep one group each (with a warning); matching no file at all is an error.

    Raises
    ------
    DataError
        A class folder with an unknown name, no audio at all, or a group regex that matches no
        file name.
    ParameterError
        An invalid group regex, or one without a capture group.
    """
    root_p = Path(root)
    if not root_p.is_dir():
        raise DataError("not a directory", root_p)
    pattern = compile_group_regex(group_regex) if group_regex else None
    real_root = os.path.realpath(root_p)
    rows: list[dict[str, str]] = []
    first_at: dict[str, int] = {}  # resolved path -> index in rows
    dropped: list[str] = []
    report = _LinkReport(root_p)
    class_dirs = []
    for d in sorted(root_p.iterdir()):
        if d.name.startswith(".") or not d.is_dir():
            continue
        if d.is_symlink() and _contains(os.path.realpath(d), real_root):
            report.skipped_up.append(f"{d} -> {os.path.realpath(d)}")
            continue
        class_dirs.append(d)
    report.emit()
    unmatched: list[str] = []
    for d in class_dirs:
        files = audio_files(d, boundary=root_p)
        if not files:
            continue
        try:
            label = canonical_label(d.name, label_map=label_map)
        except DataError:
            raise DataError(
                f"class folder {d.name!r} is neither bona fide (real/bonafide/genuine/human) nor "
                f"spoof (fake/spoof/synthetic/deepfake); pass --label-map {d.name}=bonafide|spoof",
                root_p,
            ) from None
        for f in files:
            real = os.path.realpath(f)
            row = {"path": str(f), "label": label, "group": ""}
            rel = f.relative_to(d).with_suffix("").as_posix()
            if pattern is not None and not pattern.search(f.stem):
                unmatched.append(f.stem)
            row["group"] = group_of(f.stem, default=rel, group_regex=pattern)
            if real not in first_at:
                first_at[real] = len(rows)
                rows.append(row)
                continue
            kept = rows[first_at[real]]
            direct = real == os.path.join(real_root, os.path.relpath(f, root_p))
            if direct:  # the direct path wins over one through a link
                rows[first_at[real]], row = row, kept
                kept = rows[first_at[real]]
            clash = (
                f"; {row['label']} here, {kept['label']} there"
                if row["label"] != kept["label"]
                else ""
            )
            dropped.append(f"{row['path']} (same file as {kept['path']}{clash})")
    if dropped:
        n = len(dropped)
        _warn(
            f"{n} file{'s' if n > 1 else ''} reached a second time through links, listed once: "
            f"{_examples(dropped, 2)}",
        )
    if pattern is not None and rows:
        total = len(rows) + len(dropped)
        if len(unmatched) == total:
            raise DataError(
                f"group regex {pattern.pattern!r} matches none of the {total} file names "
                f"(e.g. {unmatched[0]!r}); fix it, or leave it out for one group per file",
                root_p,
            )
        if unmatched:
            _warn(
                f"group regex {pattern.pattern!r} does not match {len(unmatched)} of {total} "
                f"file names (e.g. {unmatched[0]!r}); those keep one group per file"
            )
    if not rows and any(
        f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS for f in root_p.iterdir()
    ):
        raise DataError(
            "audio files lie directly in this folder; the folder layout expects class "
            "sub-folders (ROOT/real/..., ROOT/fake/...): move them, or list them in a CSV "
            "(path,label[,group])",
            root_p,
        )
    return make_manifest(rows, source=str(root_p))
