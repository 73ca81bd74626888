"""Which files to score and what their folders say about them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["find_audio", "infer_label"]


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

    Examples
    --------
    >>> infer_label("corpus/fake/a.wav"), infer_label("x/REAL/b/c.wav"), infer_label("a.wav")
    ('spoof', 'bonafide', None)
    """
    from dfaudio.labels import DEFAULT_LABEL_MAP

    names = {**DEFAULT_LABEL_MAP, **{k.strip().lower(): v for k, v in (label_map or {}).items()}}
    for part in reversed(Path(path).parts[:-1]):
        label = names.get(part.strip().lower())
        if label is not None:
            return label
    return None
