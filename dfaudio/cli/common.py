"""Helpers shared by every command: one-line errors, JSON output, shared options."""

from __future__ import annotations

import functools
import json
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from dfaudio.exceptions import DfaudioError, DfaudioWarning, ParameterError

__all__ = [
    "LAYOUTS",
    "MAX_SEED",
    "check_jobs",
    "check_parallel",
    "check_range",
    "check_seed",
    "dataset_options",
    "echo_json",
    "fail",
    "flag_names",
    "handle_errors",
    "parallel_options",
    "parse_label_map_option",
]

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
        except ParameterError as exc:
            fail(flag_names(str(exc), command=_command_name()))
        except DfaudioError as exc:
            fail(str(exc))
        except FileNotFoundError as exc:
            fail(f"{exc.filename}: no such file or directory")
        except PermissionError as exc:
            fail(f"{exc.filename}: permission denied")
        except OSError as exc:  # disk full, read-only file system, a path through a file ...
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{(exc.strerror or str(exc)).lower()}")
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        return None

    return wrapper  # type: ignore[return-value]


#: Library (Python) parameter names that errors may name, translated to flags by the CLI.
LIBRARY_PARAMS = (
    "cv",
    "test_size",
    "dev_size",
    "split_by",
    "force",
    "seed",
    "jobs",
    "window_s",
    "sr",
    "epochs",
    "batch_size",
    "patience",
    "lr",
    "weight_decay",
    "class_weight",
    "device",
    "workers",
    "freeze",
    "feature_params",
    "max_duration_s",
    "threshold",
    "raw_sr",
    "raw_dtype",
    "channels",
    "n_boot",
    "runs_dir",
    "label_map",
    "group_regex",
)
#: Flags whose name is not the parameter's with dashes, for every command.
PARAM_FLAGS: dict[str, str] = {"window_s": "--window", "runs_dir": "--runs-dir"}
#: Per command: parameter -> flag where that command spells it differently.
COMMAND_FLAGS: dict[str, dict[str, str]] = {
    "predict": {
        "raw_sr": "--stream-sr",
        "raw_dtype": "--stream-dtype",
        "channels": "--stream-channels",
    },
    "evaluate": {"n_boot": "--bootstrap"},
    "compare": {"force": "--force (with --html)"},
}


def flag_names(
    message: str, *, command: str | None = None, names: tuple[str, ...] = LIBRARY_PARAMS
) -> str:
    """Library messages name Python parameters; the CLI shows its flags instead.

    A name is replaced where it is used as a parameter: ``name=value`` (``name='x'``,
    ``name=True`` for switches), or -- for names that cannot be English words (``test_size``,
    ``cv``) -- followed by ``must``, ``is``, ``needs``, ``or``, ``and``, a comma or a closing
    parenthesis. Other words are left alone.

    Parameters
    ----------
    message : str
    command : str, optional
        The command name (``fit-sklearn``), for its own spellings in :data:`COMMAND_FLAGS`.
    names : tuple of str
        Parameter names to translate.

    Examples
    --------
    >>> flag_names("give either cv or test_size, not both")
    'give either --cv or --test-size, not both'
    >>> flag_names("only 3 groups for 5 folds; use cv=3 or fewer")
    'only 3 groups for 5 folds; use --cv 3 or fewer'
    >>> flag_names("t.csv: already exists; pass force=True to overwrite")
    't.csv: already exists; pass --force to overwrite'
    >>> flag_names("split_by='given' needs a 'split' column; window_s must be > 0")
    "--split-by given needs a 'split' column; --window must be > 0"
    >>> flag_names("raw_sr must be positive", command="predict")
    '--stream-sr must be positive'
    >>> flag_names("/dev/zero is a character device, not a regular file")
    '/dev/zero is a character device, not a regular file'
    """
    own = COMMAND_FLAGS.get(command or "", {})
    for name in names:
        flag = own.get(name) or PARAM_FLAGS.get(name) or "--" + name.replace("_", "-")
        at = rf"(?<![\w\-.'\"/]){re.escape(name)}"
        message = re.sub(at + r"=True\b", flag, message)
        message = re.sub(at + r"='([^']*)'", rf"{flag} \1", message)
        message = re.sub(at + r"=(?=[^\s=])", f"{flag} ", message)
        if "_" in name or name in _NOT_WORDS:
            # a bare name is a parameter only when it cannot be an English word
            message = re.sub(at + r"(?=\s+(?:must|is|needs|or|and)\b|[,)])", flag, message)
    return message


#: Parameter names without an underscore that are not English words either, so a bare mention
#: ("give either cv or test_size") can only mean the parameter. Words such as ``device``,
#: ``channels`` or ``workers`` are translated only in their ``name=value`` form, so that a
#: sentence like "a character device, not a file" keeps its words.
_NOT_WORDS = frozenset({"cv", "lr", "sr"})


def _command_name() -> str | None:
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.info_name


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


#: Largest seed numpy's generators accept (``--seed`` range is 0 .. MAX_SEED).
MAX_SEED = 2**32 - 1


def check_seed(seed: int, *, flag: str = "--seed") -> int:
    """Refuse a seed numpy cannot take (negative, or 2**32 and above) with one line."""
    from dfaudio.exceptions import ParameterError

    if not 0 <= seed <= MAX_SEED:
        raise ParameterError(f"{flag} must be between 0 and {MAX_SEED} (2**32 - 1), got {seed}")
    return seed


def check_jobs(
    jobs: int,
    *,
    n_work: int | None = None,
    what: str = "files",
    flag: str = "--jobs",
    note: bool = True,
) -> int:
    """Worker count for ``-j``: -1 means all cores; capped at the work and the cores.

    A cap is said in one ``note:`` line on stderr (``-j 1000`` on 10 files once started 1,003
    processes) unless ``note`` is false (a first check, before the work is known).

    Raises
    ------
    ParameterError
        ``jobs`` is 0 or below -1.
    """
    import os

    from dfaudio.exceptions import ParameterError

    if jobs == 0 or jobs < -1:
        raise ParameterError(
            f"{flag} must be at least 1 (parallel processes) or -1 (all cores); got {jobs}"
        )
    cores = os.cpu_count() or 1
    limit = min(cores, n_work) if n_work else cores
    n = max(1, min(cores if jobs == -1 else jobs, limit))
    if jobs > n and note:
        work = f"{n_work} {what}, " if n_work else ""
        click.echo(f"note: {flag} {jobs} capped at {n} ({work}{cores} cores)", err=True)
    return n


def check_range(
    value: float | None,
    *,
    flag: str,
    low: float | None = None,
    high: float | None = None,
    unit: str = "",
) -> None:
    """Refuse a non-finite number, or one outside ``[low, high]``, naming the flag and range."""
    import math

    from dfaudio.exceptions import ParameterError

    if value is None:
        return
    unit = f" {unit}" if unit else ""
    if not math.isfinite(value):
        raise ParameterError(f"{flag} must be a finite number, got {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "" if low is None else f"{low:g}{unit}"
        hi = "" if high is None else f"{high:g}{unit}"
        span = (
            f"between {lo} and {hi}" if lo and hi else (f"at least {lo}" if lo else f"at most {hi}")
        )
        raise ParameterError(f"{flag} must be {span}, got {value:g}{unit}")


#: Choices for ``--layout`` (kept here so that ``--help`` imports nothing heavy).
LAYOUTS = ("auto", "folders", "deep-voice", "asvspoof", "csv")


def parallel_options(fn: F) -> F:
    """The ``-j/--jobs``, ``--backend`` and ``--scheduler`` options of the per-file commands.

    Check their values with :func:`check_parallel` before the work.
    """
    fn = click.option(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="Address of a Dask distributed scheduler (implies --backend dask).",
    )(fn)
    fn = click.option(
        "--backend",
        type=click.Choice(["loky", "dask"]),
        default="loky",
        show_default=True,
        help="dask: run on a Dask cluster (local unless --scheduler).",
    )(fn)
    return click.option(
        "-j",
        "--jobs",
        type=int,
        default=1,
        show_default=True,
        help="Parallel worker processes over files (-1: all cores).",
    )(fn)


def check_parallel(jobs: int, scheduler: str | None) -> None:
    """Refuse a bad ``-j`` or ``--scheduler`` before any work (see :func:`parallel_options`).

    Examples
    --------
    >>> check_parallel(2, "tcp://127.0.0.1:8786")
    >>> check_parallel(1, "notaurl")
    Traceback (most recent call last):
    ...
    dfaudio.exceptions.ParameterError: --scheduler 'notaurl': expected a Dask scheduler address, \
tcp://HOST:PORT
    """
    import re

    from dfaudio.exceptions import ParameterError

    check_jobs(jobs, note=False)
    if scheduler is not None and not re.fullmatch(r"([a-z]+://)?[^\s/:]+:\d{1,5}", scheduler):
        raise ParameterError(
            f"--scheduler {scheduler!r}: expected a Dask scheduler address, tcp://HOST:PORT"
        )


def dataset_options(
    *,
    layouts: tuple[str, ...] = LAYOUTS,
    layout_help: str = "Data set layout; auto detects it.",
    group_help: str = "Group files by the first capture group of REGEX on the file name.",
) -> Callable[[F], F]:
    """The ``--layout``, ``--protocol``, ``--label-map`` and ``--group-regex`` options.

    Every command that reads a data set (tabulate, fit-deep, audit, synth) takes them, with its
    own help text where it means something more; values go to
    :func:`dfaudio.datasets.load_manifest` (``label_map`` through :func:`parse_label_map_option`).
    """

    def decorate(fn: F) -> F:
        fn = click.option("--group-regex", default=None, metavar="REGEX", help=group_help)(fn)
        fn = click.option(
            "--label-map",
            multiple=True,
            metavar="NAME=bonafide|spoof",
            help="Extra class-folder or label names.",
        )(fn)
        fn = click.option(
            "--protocol",
            "--protocols",
            "protocols",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False),
            help="ASVspoof CM protocol file(s), SPEAKER UTT - ATTACK KEY (repeatable).",
        )(fn)
        return click.option(
            "--layout",
            type=click.Choice(layouts),
            default="auto",
            show_default=True,
            help=layout_help,
        )(fn)

    return decorate
