"""Feature tables on disk: CSV or Parquet, chosen by the file name.

dfaudio writes and reads feature tables in two formats:

* ``.csv``: plain text, what the DEEP-VOICE ``DATASET-balanced.csv`` uses; floats are written with
  9 significant digits (``%.9g``), so a float64 round trip is exact only to about 1e-9 relative.
* ``.parquet`` (or ``.pq``): columnar and binary (pyarrow, zstd compression); values and dtypes
  come back exactly as written, and a table with many rows or hundreds of embedding columns is
  several times smaller and faster to read (see ``experiments/bench_tables.py``).

The format always follows the file's suffix: the same provenance columns go into both, and both
are written atomically through :func:`dfaudio.io.files.atomic_path` (a temporary file renamed into
place, nothing overwritten without ``force``). Validation of what a table holds lives in
:mod:`dfaudio.tables`; this module only moves frames to and from disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dfaudio.exceptions import DataError, ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TABLE_SUFFIXES", "check_table_path", "read_frame", "table_format", "write_frame"]

#: File suffix (lower case) -> table format.
TABLE_SUFFIXES: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

#: Columns read from CSV as text, never as numbers: a group ``"007"`` must not become ``7`` (nor
#: groups ``"01"`` and ``"1"`` one group). Parquet stores the type and needs no such list.
TEXT_COLUMNS: tuple[str, ...] = (
    "file",
    "group",
    "split",
    "attack",
    "speaker",
    "target",
    "condition",
    "label",
    "LABEL",
)

CSV_FLOAT_FORMAT = "%.9g"
PARQUET_COMPRESSION = "zstd"
_PARQUET_MAGIC = b"PAR1"


def table_format(path: str | Path) -> str:
    """The format a table path names: ``"csv"`` or ``"parquet"``.

    Parameters
    ----------
    path : str or Path
        A file name ending in ``.csv``, ``.parquet`` or ``.pq`` (any case).

    Returns
    -------
    str
        ``"csv"`` or ``"parquet"``.

    Raises
    ------
    ParameterError
        Any other suffix.

    Examples
    --------
    >>> table_format("features.parquet"), table_format("DATASET-balanced.CSV")
    ('parquet', 'csv')
    """
    suffix = Path(path).suffix.lower()
    try:
        return TABLE_SUFFIXES[suffix]
    except KeyError:
        raise ParameterError(
            f"{path}: a table file name must end in .csv or .parquet (got "
            f"{suffix or 'no suffix'!r})"
        ) from None


def check_table_path(path: str | Path, *, force: bool = False) -> Path:
    """Check, before any work, that a table can be written to ``path``.

    Raises
    ------
    ParameterError
        An unknown suffix, or an existing file without ``force``.
    """
    from dfaudio.io.files import check_writable

    table_format(path)
    return check_writable(path, force=force)


def write_frame(df: pd.DataFrame, path: str | Path, *, force: bool = False) -> Path:
    """Write a table atomically as CSV or Parquet, as its file name says.

    Parameters
    ----------
    df : pd.DataFrame
        The table; its index is not written.
    path : str or Path
        Ends in ``.csv`` or ``.parquet``/``.pq``.
    force : bool
        Replace an existing file.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        Unknown suffix, or the file exists and ``force`` is false.
    """
    from dfaudio.io.files import atomic_path

    fmt = table_format(path)
    with atomic_path(path, force=force) as tmp:
        if fmt == "parquet":
            df.to_parquet(tmp, engine="pyarrow", index=False, compression=PARQUET_COMPRESSION)
        else:
            df.to_csv(tmp, index=False, float_format=CSV_FLOAT_FORMAT)
    return Path(path)


def read_frame(path: str | Path, *, text_columns: tuple[str, ...] = TEXT_COLUMNS) -> pd.DataFrame:
    """Read a table written by :func:`write_frame` (or any CSV/Parquet file) into a frame.

    ``.parquet``/``.pq`` files are read as Parquet; every other name as CSV (the DEEP-VOICE table
    and older dfaudio tables are CSV).

    Parameters
    ----------
    path : str or Path
        The table.
    text_columns : tuple of str
        CSV columns kept as text where present (Parquet keeps its stored types).

    Raises
    ------
    DataError
        One line naming the file: missing, empty, unparseable, or Parquet content under a
        non-Parquet name.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise DataError("table not found", p)
    is_parquet = TABLE_SUFFIXES.get(p.suffix.lower()) == "parquet"
    if not is_parquet:
        with p.open("rb") as fh:
            if fh.read(4) == _PARQUET_MAGIC:
                raise DataError("file holds Parquet data: name it .parquet to read it", p)
        _check_csv_header(p)
        try:
            return pd.read_csv(p, low_memory=False, dtype=dict.fromkeys(text_columns, str))
        except pd.errors.EmptyDataError:
            raise DataError("table is empty", p) from None
        except Exception as exc:
            raise DataError(f"cannot parse CSV: {' '.join(str(exc).split())}", p) from None
    if p.stat().st_size == 0:
        raise DataError("table is empty", p)
    try:
        return pd.read_parquet(p, engine="pyarrow")
    except Exception as exc:
        raise DataError(f"cannot read Parquet: {' '.join(str(exc).split())}", p) from None


def _check_csv_header(path: Path) -> None:
    """Refuse a CSV header that names a column twice (pandas would rename the copy 'mfcc1.1')."""
    import csv
    from collections import Counter

    try:
        with path.open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (UnicodeDecodeError, csv.Error):
        return  # read_csv reports these with its own message
    twice = [name for name, n in Counter(header).items() if n > 1 and name]
    if twice:
        counts = Counter(header)
        names = ", ".join(f"{n!r} ({counts[n]} times)" for n in twice[:3])
        raise DataError(f"the header names a column more than once: {names}", path)
