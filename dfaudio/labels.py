"""Canonical labels and the score convention.

dfaudio labels are the strings ``"bonafide"`` and ``"spoof"``. Other spellings (REAL/FAKE,
real/fake, 0/1) are accepted only through an explicit mapping, never guessed
from a Python ``set()``.

Scores follow the ASVspoof convention: **higher = more bona fide**. Classifiers are trained with
spoof as the positive class (``y = 1``) and report ``p_fake``; their bona fide score is the log-odds
``log(1 - p_fake) - log(p_fake)`` (or minus the logit), so a perfectly separated detector has EER 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from dfaudio.exceptions import DataError

BONAFIDE = "bonafide"
SPOOF = "spoof"
#: Integer ids: spoof is the positive class of every classifier (``p_fake``).
LABEL_IDS: dict[str, int] = {BONAFIDE: 0, SPOOF: 1}
CLASS_NAMES: tuple[str, str] = (BONAFIDE, SPOOF)
#: Written into every metrics file.
SCORE_DIRECTION = "higher score = more bona fide (ASVspoof convention); p_fake = P(spoof)"

#: Accepted spellings (compared case-insensitively) -> canonical label.
DEFAULT_LABEL_MAP: dict[str, str] = {
    "bonafide": BONAFIDE,
    "bona-fide": BONAFIDE,
    "bona_fide": BONAFIDE,
    "bona fide": BONAFIDE,
    "real": BONAFIDE,
    "genuine": BONAFIDE,
    "human": BONAFIDE,
    "spoof": SPOOF,
    "fake": SPOOF,
    "synthetic": SPOOF,
    "deepfake": SPOOF,
}
#: DEEP-VOICE's ``LABEL`` column values.
DEEP_VOICE_LABELS: dict[str, str] = {BONAFIDE: "REAL", SPOOF: "FAKE"}


def canonical_label(
    value: object, *, label_map: Mapping[str, str] | None = None, source: str | None = None
) -> str:
    """Map one raw label to ``"bonafide"`` or ``"spoof"``.

    Parameters
    ----------
    value : object
        Raw label (``"REAL"``, ``"fake"``, ``"bonafide"`` ...). Integers are accepted only through
        ``label_map`` (e.g. ``{"0": "bonafide", "1": "spoof"}``).
    label_map : mapping, optional
        Extra spellings -> canonical label; takes precedence over the defaults.
    source : str, optional
        File name used in the error message.

    Raises
    ------
    DataError
        If the label is unknown.
    """
    key = str(value).strip().lower()
    if label_map:
        lowered = {str(k).strip().lower(): v for k, v in label_map.items()}
        if key in lowered:
            target = str(lowered[key]).strip().lower()
            if target in DEFAULT_LABEL_MAP:
                return DEFAULT_LABEL_MAP[target]
            raise DataError(
                f"--label-map maps {value!r} to {lowered[key]!r}; use bonafide or spoof"
            )
    if key in DEFAULT_LABEL_MAP:
        return DEFAULT_LABEL_MAP[key]
    raise DataError(
        f"unknown label {value!r} (expected one of real/bonafide/genuine/human or "
        "fake/spoof/synthetic/deepfake; pass --label-map NAME=bonafide|spoof for others)",
        source,
    )


def encode_labels(labels: Iterable[object], *, source: str | None = None) -> np.ndarray:
    """Canonical labels -> int array (bonafide 0, spoof 1)."""
    out = [LABEL_IDS[canonical_label(v, source=source)] for v in labels]
    return np.asarray(out, dtype=np.int64)


def parse_label_map(items: Iterable[str]) -> dict[str, str]:
    """Parse ``["NAME=bonafide", "x=spoof"]`` into a mapping (for ``--label-map``)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise DataError(f"--label-map expects NAME=bonafide|spoof, got {item!r}")
        name, target = item.split("=", 1)
        target_c = DEFAULT_LABEL_MAP.get(target.strip().lower())
        if target_c is None:
            raise DataError(f"--label-map target must be bonafide or spoof, got {target!r}")
        out[name.strip()] = target_c
    return out


def p_fake_to_score(p_fake: np.ndarray, *, eps: float = 1e-12) -> np.ndarray:
    """Bona fide log-odds score from ``p_fake`` (higher = more bona fide)."""
    p = np.clip(np.asarray(p_fake, dtype=np.float64), eps, 1.0 - eps)
    return np.log1p(-p) - np.log(p)


def score_to_p_fake(score: np.ndarray) -> np.ndarray:
    """Inverse of :func:`p_fake_to_score` (a logistic of minus the score)."""
    s = np.asarray(score, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(np.clip(s, -700, 700)))
