"""Helpers shared by every command: one-line errors, JSON output, shared options."""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dfaudio.exceptions import DfaudioError, DfaudioWarning

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, *, code: int = 2) -> None:
    """Print ``error: message`` on one line to stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(fn: F) -> F:
    """Turn :class:`DfaudioError` (and a few OS errors) into one line on stderr and exit status 2.

    Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", DfaudioWarning)
                warnings.showwarning = _show_warning
                return fn(*args, **kwargs)
        except DfaudioError as exc:
            fail(str(exc))
        except FileNotFoundError as exc:
            fail(f"{exc.filename}: no such file or directory")
        except PermissionError as exc:
            fail(f"{exc.filename}: permission denied")
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        return None

    return wrapper  # type: ignore[return-value]


def _show_warning(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
    """Print a :class:`DfaudioWarning` as one ``warning:`` line; others as Python does."""
    if issubclass(category, DfaudioWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        _python_showwarning(message, category, *args, **kwargs)


_python_showwarning = warnings.showwarning


def echo_json(obj: Any) -> None:
    """Print ``obj`` as one JSON object (numpy values converted, NaN -> null)."""
    from dfaudio.io.files import _json_safe

    click.echo(json.dumps(_json_safe(obj), indent=2))


def parse_label_map_option(items: tuple[str, ...]) -> dict[str, str] | None:
    """``--label-map`` values -> mapping (``None`` when not given)."""
    if not items:
        return None
    from dfaudio.labels import parse_label_map

    return parse_label_map(items)


#: Choices for ``--layout`` (kept here so that ``--help`` imports nothing heavy).
LAYOUTS = ("auto", "folders", "deep-voice", "asvspoof", "csv")
