"""Paired corpora: keep a fake and the real recording it was made from in one group.

Copy-synthesis corpora (WaveFake, CodecFake, vocoded LibriTTS ...) hold a real utterance and its
vocoded or codec-resynthesised copy. Split by recording, the two land in different folds and a
model can score well (or invert, EER far above 50 %) by learning the *utterance* instead of the
vocoder. :func:`pair_keys` finds the pairs from file names and :func:`group_pairs` merges their
groups (union with the groups already there, so speaker groups stay whole).

Name rules (case-insensitive, on the file stem):

1. ``SYSTEM+UTTERANCE`` (the CodecFake naming): only the part after the last ``+`` counts.
2. A known marker affix is stripped, separated by ``_``, ``-``, ``.`` or ``+``: fake markers
   (``gen``, ``generated``, ``fake``, ``spoof``, ``synth``, ``vocoded``, ``resynth``, ``copy``,
   ``tts``, ``vc``) or vocoder / codec names (:data:`VOCODER_NAMES`: ``melgan``, ``hifigan``,
   ``waveglow``, ``encodec`` ...) and real markers (``real``, ``genuine``, ``bonafide``,
   ``orig``, ``original``, ``gt``, ``ref``). ``X_gen`` and ``X_melgan`` both pair with ``X``.
3. Otherwise the stem itself, so ``real/X.wav`` and ``fake/melgan/X.wav`` pair.

A key counts as a pair only when at least one bona fide **and** one spoof file share it; keys of
a single class leave the groups as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.labels import BONAFIDE, SPOOF

__all__ = [
    "FAKE_MARKERS",
    "REAL_MARKERS",
    "VOCODER_NAMES",
    "PairInfo",
    "group_pairs",
    "linked_components",
    "pair_key",
    "pair_keys",
    "separated_pairs",
]

#: Suffix/prefix words that mark a generated copy.
FAKE_MARKERS: tuple[str, ...] = (
    "gen",
    "generated",
    "fake",
    "spoof",
    "synth",
    "synthetic",
    "synthesized",
    "vocoded",
    "resynth",
    "resynthesized",
    "copy",
    "tts",
    "vc",
    "converted",
    "cloned",
)
#: Suffix/prefix words that mark the real source.
REAL_MARKERS: tuple[str, ...] = (
    "real",
    "genuine",
    "bonafide",
    "bona-fide",
    "orig",
    "original",
    "gt",
    "ref",
    "source",
)
#: Vocoder and neural-codec names used as file-name affixes (WaveFake, CodecFake, ...).
VOCODER_NAMES: tuple[str, ...] = (
    "melgan",
    "mb_melgan",
    "multi_band_melgan",
    "multiband_melgan",
    "full_band_melgan",
    "fb_melgan",
    "melgan_large",
    "hifigan",
    "hifi_gan",
    "hifigan_v1",
    "waveglow",
    "parallel_wavegan",
    "pwg",
    "wavegrad",
    "diffwave",
    "wavenet",
    "wavernn",
    "univnet",
    "bigvgan",
    "vocos",
    "griffinlim",
    "griffin_lim",
    "encodec",
    "dac",
    "speechtokenizer",
    "audiodec",
    "academicodec",
    "funcodec",
    "snac",
    "mimi",
)

_SEP = r"[_\-.+ ]"


def _affix_pattern() -> re.Pattern[str]:
    words = sorted({*FAKE_MARKERS, *REAL_MARKERS, *VOCODER_NAMES}, key=len, reverse=True)
    alt = "|".join(re.escape(w) for w in words)
    return re.compile(rf"^(?:(?:{alt}){_SEP}+)+|(?:{_SEP}+(?:{alt}))+$", re.IGNORECASE)


_AFFIX = _affix_pattern()


@dataclass
class PairInfo:
    """What :func:`group_pairs` did.

    Attributes
    ----------
    n_pairs : int
        Names shared by bona fide and spoof files (each a real/fake family).
    n_files : int
        Files in those families.
    n_groups_before, n_groups_after : int
    rules : dict
        rule name -> number of families found by it (``marker``, ``system+utt``, ``same-name``).
    example : tuple of str, optional
        One bona fide and one spoof file of a family.
    """

    n_pairs: int = 0
    n_files: int = 0
    n_groups_before: int = 0
    n_groups_after: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    example: tuple[str, str] | None = None

    def describe(self) -> str:
        """One line for summaries ("" when nothing was paired)."""
        if not self.n_pairs:
            return ""
        how = ", ".join(f"{k}: {v}" for k, v in sorted(self.rules.items()))
        ex = f"; e.g. {self.example[0]} + {self.example[1]}" if self.example else ""
        return (
            f"{self.n_pairs} real/fake name pairs ({self.n_files} files) kept in one group each "
            f"({how}); groups {self.n_groups_before} -> {self.n_groups_after}{ex}"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "n_pairs": self.n_pairs,
            "n_files": self.n_files,
            "n_groups_before": self.n_groups_before,
            "n_groups_after": self.n_groups_after,
            "rules": dict(self.rules),
            "example": list(self.example) if self.example else None,
        }


def pair_key(stem: str) -> tuple[str, str]:
    """The pairing key of one file stem and the rule that gave it.

    Returns
    -------
    key : str
        Lower-cased stem without marker affixes (or the part after ``+``).
    rule : {"marker", "system+utt", "same-name"}

    Examples
    --------
    >>> pair_key("LJ001-0001_gen")
    ('lj001-0001', 'marker')
    >>> pair_key("encodec_24khz+p225_273")
    ('p225_273', 'system+utt')
    """
    s = stem.strip()
    rule = "same-name"
    if "+" in s and s.rsplit("+", 1)[1]:
        s, rule = s.rsplit("+", 1)[1], "system+utt"
    stripped = _AFFIX.sub("", s)
    if stripped and stripped != s:
        return stripped.lower(), "marker" if rule == "same-name" else rule
    return s.lower(), rule


def pair_keys(manifest: pd.DataFrame) -> pd.Series:
    """Pair key of every manifest row, or ``None`` where the key is not shared across classes."""
    stems = manifest["path"].map(lambda p: Path(str(p)).stem)
    keyed = stems.map(pair_key)
    keys = keyed.map(lambda kr: kr[0])
    labels = manifest["label"].to_numpy()
    classes = pd.DataFrame({"key": keys, "label": labels}).groupby("key")["label"].nunique()
    shared = set(classes.index[classes >= 2])
    return pd.Series([k if k in shared else None for k in keys], index=manifest.index, dtype=object)


def linked_components(first: Any, second: Any) -> np.ndarray:
    """Connected components of the graph that links ``first[i]`` to ``second[i]`` for every row.

    Values of the two columns are distinct nodes even when they are equal strings; a ``None`` in
    ``second`` links nothing. Returns one label per row (object array), each component named
    after its first value of ``first`` in row order.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(first, second, strict=True):
        ra = find("a:" + a)
        if b is not None:
            rb = find("b:" + b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    names: dict[str, str] = {}
    for a in first:
        names.setdefault(find("a:" + a), a)
    return np.array([names[find("a:" + a)] for a in first], dtype=object)


def group_pairs(manifest: pd.DataFrame) -> tuple[pd.DataFrame, PairInfo]:
    """Merge the groups of real/fake name pairs (see the module docstring for the rules).

    The new groups are the connected components of "same old group" and "same pair key", so a
    speaker group that already held several files stays one group. Rows keep their order.

    Returns
    -------
    manifest : pd.DataFrame
        A copy with ``group`` rewritten (unchanged when nothing pairs).
    info : PairInfo
    """
    info = PairInfo(n_groups_before=int(manifest["group"].nunique()))
    if len(manifest) == 0:
        return manifest, info
    stems = manifest["path"].map(lambda p: Path(str(p)).stem)
    rules = stems.map(lambda s: pair_key(s)[1])
    keys = pair_keys(manifest)
    paired = keys.notna().to_numpy()
    if not paired.any():
        info.n_groups_after = info.n_groups_before
        return manifest, info
    old = manifest["group"].astype(str).to_numpy()
    new = linked_components(old, keys.to_numpy())
    out = manifest.copy()
    out["group"] = new
    fam = pd.DataFrame({"key": keys, "rule": rules})[paired]
    family_rule = fam.groupby("key", sort=True)["rule"].agg(
        lambda r: next((x for x in r if x != "same-name"), "same-name")
    )
    info.n_pairs = int(len(family_rule))
    info.n_files = int(paired.sum())
    info.rules = {str(k): int(v) for k, v in family_rule.value_counts().items()}
    k0 = family_rule.index[0]
    members = manifest.loc[paired & (keys == k0).to_numpy()]
    bona = members.loc[members["label"] == BONAFIDE, "path"]
    spoof = members.loc[members["label"] == SPOOF, "path"]
    if len(bona) and len(spoof):
        info.example = (Path(str(bona.iloc[0])).name, Path(str(spoof.iloc[0])).name)
    info.n_groups_after = int(pd.Series(new).nunique())
    return out, info


def separated_pairs(
    manifest_or_meta: pd.DataFrame,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    path_col: str = "path",
) -> list[str]:
    """Pair keys with files on both sides of a split (a leak the audit reports), sorted.

    ``manifest_or_meta`` needs ``path_col`` (``path`` in a manifest, ``file`` in a table's
    provenance) and ``label``.
    """
    df = manifest_or_meta.rename(columns={path_col: "path"})
    keys = pair_keys(df[["path", "label"]]).to_numpy()
    tr = {k for k in keys[np.asarray(train_idx)] if k is not None}
    te = {k for k in keys[np.asarray(test_idx)] if k is not None}
    return sorted(tr & te)
