"""The ``egemaps`` and ``compare`` feature sets: openSMILE functionals per window.

Each window is passed to ``opensmile.Smile(feature_set, FeatureLevel.Functionals).process_signal``
as it is (float32 samples at the file's rate), so a row equals what opensmile gives for the same
samples. Columns are opensmile's feature names with the set's prefix: ``egemaps_`` + the 88
eGeMAPSv02 names (``egemaps_F0semitoneFrom27.5Hz_sma3nz_amean`` ...), ``compare_`` + the 6373
ComParE_2016 names. Needs the ``opensmile`` extra.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = [
    "compare",
    "compare_columns",
    "egemaps",
    "egemaps_columns",
    "functionals",
    "smile",
]


@functools.lru_cache(maxsize=4)
def smile(feature_set: str) -> Any:
    """The (cached) ``opensmile.Smile`` extracting ``feature_set`` functionals."""
    from dfaudio.exceptions import ParameterError

    try:
        import opensmile
    except ImportError:
        from dfaudio.features.sets import missing_extra

        raise missing_extra("egemaps/compare", "opensmile", "opensmile") from None
    try:
        fs = opensmile.FeatureSet[feature_set]
    except KeyError:
        known = ", ".join(f.name for f in opensmile.FeatureSet)
        raise ParameterError(
            f"unknown openSMILE feature_set {feature_set!r}; known: {known}"
        ) from None
    return opensmile.Smile(feature_set=fs, feature_level=opensmile.FeatureLevel.Functionals)


def _columns(prefix: str, feature_set: str) -> list[str]:
    return [prefix + n for n in smile(feature_set).feature_names]


def egemaps_columns(*, feature_set: str = "eGeMAPSv02", **_: object) -> list[str]:
    """``egemaps_`` + openSMILE's feature names."""
    return _columns("egemaps_", feature_set)


def compare_columns(*, feature_set: str = "ComParE_2016", **_: object) -> list[str]:
    """``compare_`` + openSMILE's feature names."""
    return _columns("compare_", feature_set)


def functionals(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float | None = 1.0,
    short: str = "whole",
    feature_set: str = "eGeMAPSv02",
) -> np.ndarray:
    """openSMILE functionals of each window.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : float
        Sample rate in Hz (integer rates only; openSMILE takes an int).
    window_s : float or None
        Block length in seconds; ``None``: one row over the whole signal.
    short : {"whole", "pad", "skip"}
        Policy for a clip shorter than one block.
    feature_set : str
        A name of ``opensmile.FeatureSet``.

    Returns
    -------
    X : np.ndarray [shape=(n_windows, n_functionals)]
    """
    from dfaudio.features.sets import window_blocks

    sm = smile(feature_set)
    blocks = window_blocks(y, sr, window_s=window_s, short=short)
    out = np.empty((blocks.shape[0], len(sm.feature_names)))
    for i, b in enumerate(blocks):
        out[i] = sm.process_signal(b, int(round(sr))).to_numpy(dtype=np.float64)[0]
    return out


def egemaps(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float | None = 1.0,
    short: str = "whole",
    feature_set: str = "eGeMAPSv02",
) -> np.ndarray:
    """eGeMAPSv02 functionals per window (88 columns); see :func:`functionals`."""
    return functionals(y, sr, window_s=window_s, short=short, feature_set=feature_set)


def compare(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float | None = 1.0,
    short: str = "whole",
    feature_set: str = "ComParE_2016",
) -> np.ndarray:
    """ComParE_2016 functionals per window (6373 columns); see :func:`functionals`."""
    return functionals(y, sr, window_s=window_s, short=short, feature_set=feature_set)
