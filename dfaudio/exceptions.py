"""One exception family for dfaudio.

Every error that a user can cause (a bad file, a bad table, a bad option) is a
:class:`DfaudioError`. The command-line layer prints such errors as one line and exits with
status 2; anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AUDIO_FAILURE_REASONS",
    "AudioError",
    "DataError",
    "DfaudioError",
    "DfaudioWarning",
    "ParameterError",
    "needs_extra",
    "shown",
]


class DfaudioError(Exception):
    """Base class of every error dfaudio raises on purpose."""


class ParameterError(DfaudioError, ValueError):
    """A parameter value is invalid (wrong range, unknown name, incompatible options)."""


class DataError(DfaudioError, ValueError):
    """A table, manifest, protocol or score file is malformed.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str or Path, optional
        The offending file; it is prefixed to the message.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class AudioError(DataError):
    """An audio file cannot be used: unreadable, empty, truncated, non-finite, silent or too short.

    ``reason`` is a short machine-friendly category (see :data:`AUDIO_FAILURE_REASONS`) used to
    count failures by reason in summaries; ``detail`` is the human explanation.
    """

    def __init__(self, path: str | Path, reason: str, detail: str | None = None) -> None:
        self.category = reason
        self.detail = detail or reason
        super().__init__(f"{reason}: {detail}" if detail else reason, path)


class DfaudioWarning(UserWarning):
    """Something the user should know about the input that did not stop the work.

    Raised through :func:`warnings.warn`; the command-line layer prints each as one
    ``warning: ...`` line on stderr.
    """


#: Failure categories used by :class:`AudioError` (summaries count failures by these).
AUDIO_FAILURE_REASONS = (
    "not found",
    "empty",
    "unreadable",
    "non-finite samples",
    "silent",
    "too short",
)


def shown(value: object) -> str:
    """``repr`` of a value for an error message, numpy scalars as plain Python values.

    Examples
    --------
    >>> import numpy as np
    >>> shown(np.int64(1)), shown(np.float64("nan")), shown(np.str_("x"))
    ('1', 'nan', "'x'")
    """
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    return repr(value)


def needs_extra(what: str, package: str, extra: str) -> ParameterError:
    """The one-line error for a feature whose optional library is not installed.

    dfaudio is installed from its checkout, so the install command names the checkout.

    Examples
    --------
    >>> print(needs_extra("SHAP values", "shap", "explain"))
    SHAP values: the shap package is missing: pip install -e ".[explain]" in the dfaudio checkout
    """
    return ParameterError(
        f'{what}: the {package} package is missing: pip install -e ".[{extra}]" in the dfaudio '
        "checkout"
    )
