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
from dfaudio.exceptions import DataError
from dfaudio.io.audio import AUDIO_EXTENSIONS
from dfaudio.labels import canonical_label


def audio_files(root: Path) -> list[Path]:
    """All audio files below ``root``, sorted (hidden files and folders skipped).

    Symbolically linked folders are followed (``Path.rglob`` does not follow them before Python
    3.13, which silently dropped e.g. ``real/speaker1 -> /data/LibriSpeech/1688``); a link that
    leads back to one of its own parents is not entered twice.
    """
    out: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            p = Path(dirpath) / name
            if not name.startswith(".") and p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file():
                out.append(p)
    return sorted(out)


def group_of(stem: str, *, default: str, group_regex: str | None) -> str:
    """The group for a file stem: the regex's first capture group, else ``default``."""
    if not group_regex:
        return default
    m = re.search(group_regex, stem)
    if not m:
        return default
    return m.group(1) if m.groups() else m.group(0)


def from_folders(
    root: str | Path,
    *,
    label_map: Mapping[str, str] | None = None,
    group_regex: str | None = None,
) -> pd.DataFrame:
    """Manifest of a folder whose sub-folders are the classes.

    Parameters
    ----------
    root : str or Path
        The folder holding the class folders.
    label_map : mapping, optional
        Extra class-folder names -> ``bonafide``/``spoof``.
    group_regex : str, optional
        Regex on the file stem whose first capture group is the group.

    Raises
    ------
    DataError
        A class folder with an unknown name, or no audio at all.
    """
    root_p = Path(root)
    if not root_p.is_dir():
        raise DataError("not a directory", root_p)
    rows: list[dict[str, str]] = []
    class_dirs = sorted(d for d in root_p.iterdir() if d.is_dir() and not d.name.startswith("."))
    for d in class_dirs:
        files = audio_files(d)
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
            rel = f.relative_to(d).with_suffix("").as_posix()
            rows.append(
                {
                    "path": str(f),
                    "label": label,
                    "group": group_of(f.stem, default=rel, group_regex=group_regex),
                }
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
