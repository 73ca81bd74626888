"""Scoring new audio with a trained run: the :class:`Predictor` and its backends.

- :func:`load_predictor` opens a run directory; the model is a backend looked up by the run's
  kind in :data:`BACKENDS` (``sklearn``, ``torch``), each with the signature
  ``score_file(path)`` / ``score_array(y, sr)``.
- :func:`find_audio` / :func:`infer_label`: which files to score and the class their folder names.
- :func:`stream_summary`: latency and verdict counts of a scored stream.

Stream reading is :func:`dfaudio.io.stream.read_stream`.
"""

from __future__ import annotations

from dfaudio.scoring.backends import BACKENDS, Backend, WindowScores
from dfaudio.scoring.inputs import find_audio, infer_label
from dfaudio.scoring.predictor import (
    FileScore,
    Predictor,
    StreamChunk,
    load_predictor,
    stream_summary,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "FileScore",
    "Predictor",
    "StreamChunk",
    "WindowScores",
    "find_audio",
    "infer_label",
    "load_predictor",
    "stream_summary",
]
