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

from dfaudio.exceptions import DataError, shown

__all__ = [
    "BONAFIDE",
    "CLASS_NAMES",
    "DEEP_VOICE_LABELS",
    "DEFAULT_LABEL_MAP",
    "LABEL_IDS",
    "SCORE_DIRECTION",
    "SPOOF",
    "canonical_label",
    "encode_labels",
    "p_fake_to_score",
    "parse_label_map",
    "score_to_p_fake",
]

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
                f"--label-map maps {shown(value)} to {lowered[key]!r}; use bonafide or spoof"
            )
    if key in DEFAULT_LABEL_MAP:
        return DEFAULT_LABEL_MAP[key]
    raise DataError(
        f"unknown label {shown(value)} (expected one of real/bonafide/genuine/human or "
        "fake/spoof/synthetic/deepfake; pass --label-map NAME=bonafide|spoof for others)",
        source,
    )


def encode_labels(
    labels: Iterable[object] | np.ndarray,
    *,
    bonafide_value: object = None,
    label_map: Mapping[str, str] | None = None,
    allow_ids: bool = False,
    source: str | None = None,
) -> np.ndarray:
    """THE label encoder: labels -> int64 ids (bonafide 0, spoof 1), never guessing numbers.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
        Strings (``"bonafide"`` / ``"spoof"`` and the spellings of :data:`DEFAULT_LABEL_MAP`),
        or numbers when ``bonafide_value`` says which number is bona fide.
    bonafide_value : int, float or str, optional
        The value that marks a bona fide trial; every other value is spoof (at most two values).
        Required for numeric labels: 0 = bona fide is dfaudio's id convention, 1 = bona fide is
        AASIST's protocol convention, and guessing inverts every metric of the other one.
    label_map : mapping, optional
        Extra spellings -> canonical label (see :func:`canonical_label`).
    allow_ids : bool
        Accept dfaudio's own ids (integers 0 = bona fide, 1 = spoof) as they are; any other
        number is an error. For arrays dfaudio made itself (``FeatureTable.y``).
    source : str, optional
        File name for error messages.

    Returns
    -------
    ids : np.ndarray [shape=(n,), dtype=int64]

    Raises
    ------
    DataError
        Unknown spellings, booleans, NaN, or numbers without ``bonafide_value``.

    Examples
    --------
    >>> encode_labels(["REAL", "fake", "bonafide"]).tolist()
    [0, 1, 0]
    >>> encode_labels([1, 0, 0], bonafide_value=1).tolist()  # AASIST protocol: 1 = bona fide
    [0, 1, 1]
    >>> encode_labels([0, 1], allow_ids=True).tolist()
    [0, 1]
    """
    import pandas as pd

    from dfaudio.exceptions import ParameterError

    arr = np.asarray(labels if isinstance(labels, np.ndarray) else list(labels))
    arr = arr.reshape(-1)
    if arr.dtype.kind == "b":
        raise DataError(
            "boolean labels are ambiguous; pass 'bonafide'/'spoof' strings or numbers with "
            "bonafide_value",
            source,
        )
    if bonafide_value is not None:
        if arr.dtype.kind in "iuf":
            try:
                target = float(str(bonafide_value))
            except (TypeError, ValueError):
                raise ParameterError(
                    f"bonafide_value {bonafide_value!r} is not a number but the labels are"
                ) from None
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise DataError("labels contain NaN", source)
            values = np.unique(arr)
            if values.size > 2:
                raise DataError(
                    f"numeric labels take {values.size} values {values[:5].tolist()}; "
                    "with bonafide_value they must take at most two",
                    source,
                )
            return np.where(arr == target, 0, 1).astype(np.int64)
        as_text = pd.Series(arr, dtype=object).astype(str).str.strip()
        text_values = as_text.unique()
        if text_values.size > 2:
            raise DataError(
                f"labels take {text_values.size} values {sorted(text_values)[:5]}; "
                "with bonafide_value they must take at most two",
                source,
            )
        return np.where(as_text.to_numpy() == str(bonafide_value).strip(), 0, 1).astype(np.int64)
    if arr.dtype.kind in "iuf":
        if allow_ids:
            ok = np.isin(arr, (0, 1))
            if not ok.all():
                bad = arr[~ok][0]
                raise DataError(f"label id {shown(bad)} is not 0 (bonafide) or 1 (spoof)", source)
            return arr.astype(np.int64)
        raise DataError(
            "numeric labels are ambiguous (0 = bona fide in dfaudio ids, 1 = bona fide in "
            "AASIST's protocol); pass bonafide_value=0 or bonafide_value=1, or use "
            "'bonafide'/'spoof' strings",
            source,
        )
    codes, uniques = pd.factorize(pd.Series(arr, dtype=object), use_na_sentinel=False)
    table = np.empty(len(uniques), dtype=np.int64)
    for j, value in enumerate(uniques):
        is_number = isinstance(value, (int, np.integer, float, np.floating))
        if is_number and not isinstance(value, bool):
            if allow_ids and value in (0, 1):
                table[j] = int(value)
                continue
            raise DataError(
                f"numeric label {shown(value)} among strings is ambiguous; pass bonafide_value",
                source,
            )
        if value is None or (isinstance(value, float) and value != value):
            raise DataError("empty label", source)
        table[j] = LABEL_IDS[canonical_label(value, label_map=label_map, source=source)]
    return table[codes]


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


def p_fake_to_score(p_fake: np.ndarray | float, *, eps: float = 1e-12) -> np.ndarray:
    """Bona fide log-odds score from ``p_fake`` (higher = more bona fide); ``p`` is clipped to
    ``[eps, 1 - eps]`` so 0 and 1 give finite scores."""
    p = np.clip(np.asarray(p_fake, dtype=np.float64), eps, 1.0 - eps)
    return np.log1p(-p) - np.log(p)


def score_to_p_fake(score: np.ndarray | float) -> np.ndarray:
    """THE sigmoid: ``p_fake`` from a bona fide log-odds score (a logistic of minus the score).

    Inverse of :func:`p_fake_to_score`; for a network's spoof logit ``z`` (score ``-z``) it is
    ``sigmoid(z)``. Overflow-safe for any finite score.

    Examples
    --------
    >>> score_to_p_fake(np.array([0.0, np.log(3.0)])).round(4).tolist()
    [0.5, 0.25]
    >>> round(float(p_fake_to_score(score_to_p_fake(2.5))), 9)
    2.5
    """
    s = np.asarray(score, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(np.clip(s, -700, 700)))
