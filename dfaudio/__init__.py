"""dfaudio: a toolkit for detecting deepfake (synthetic or converted) speech.

The top-level package is deliberately light: importing :mod:`dfaudio` never imports torch, timm,
xgboost or librosa. Import the submodules you need, e.g. :mod:`dfaudio.evaluation`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from dfaudio.exceptions import AudioError, DataError, DfaudioError, ParameterError

__all__ = ["AudioError", "DataError", "DfaudioError", "ParameterError", "__version__"]
