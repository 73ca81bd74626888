"""Score files in: countermeasure (CM) and ASV score files, without silent traps.

Layouts read by :func:`read_scores` (detected from the first data line):

- ASVspoof 2019 6-column ``SPK UTT - ATTACK KEY SCORE`` (official baselines B01/B02),
- 4-column ``UTT ATTACK KEY SCORE``, 3-column ``UTT KEY SCORE``,
- a CSV with a header: dfaudio's ``scores.csv`` (``label``, ``score``; optional ``file``,
  ``window``, ``group``, ``attack``, ``fold``, ``p_fake``), or any CSV whose label and score
  columns are named with ``label_col`` / ``score_col``.

Rules, each a real case a new user runs into:

- **Numeric labels are never guessed.** ``0`` means bona fide in dfaudio's ids and spoof in
  AASIST's protocol files; reading one as the other inverts every metric (EER 0.84 instead of
  0.16). Numbers need ``bonafide_value`` (``--bonafide-value``) or ``key_map`` (``--key-map``).
- **An utterance id is scored once.** The same id on two lines (with the same or another key) is
  an error naming both lines: counted twice it would weigh double in every metric. dfaudio CSV
  files with a ``window`` column are keyed by (file, window).
- **Non-finite scores** (``nan``, ``inf``) are reported as non-finite, text as non-numeric; the
  line is named.
- ``#`` starts a comment in whitespace files, as in the organisers' loaders (``np.genfromtxt``);
  blank lines are skipped. Line numbers in errors are those of the file.
- ``key_map`` maps raw label values to ``bonafide`` / ``spoof`` (or, for SASV trial lists,
  ``target`` / ``nontarget`` - both bona fide for the CM - and ``spoof``), e.g. the asvspoof5
  repository's ``dev_scores_label.csv``: ``1.0=target 2.0=nontarget 0.0=spoof``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import DataError, shown
from dfaudio.labels import BONAFIDE, SPOOF, canonical_label

__all__ = ["KEY_MAP_TARGETS", "parse_key_map", "read_asv_scores", "read_scores"]

#: Whitespace score-file layouts, by number of columns.
_LAYOUTS: dict[int, tuple[str, list[str]]] = {
    3: ("utt-key-score", ["utt", "key", "score"]),
    4: ("utt-attack-key-score", ["utt", "attack", "key", "score"]),
    6: ("asvspoof", ["speaker", "utt", "condition", "attack", "key", "score"]),
}
_LAYOUT_HELP = (
    "expected 3, 4 or 6 whitespace-separated columns (UTT KEY SCORE, UTT ATTACK KEY SCORE, "
    "or SPK UTT - ATTACK KEY SCORE), or a CSV with a header holding 'label' and 'score'"
)
_MAX_COLUMNS = 8
_COMMENT = "#"
#: Values a ``key_map`` may map to; target and nontarget are bona fide for the CM.
KEY_MAP_TARGETS = ("bonafide", "spoof", "target", "nontarget")
_ID_COLUMNS = ("utt", "file", "filename", "trial", "utt_id", "id")


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------


def parse_key_map(items: Iterable[str] | Mapping[str, str] | None) -> dict[str, str] | None:
    """``["1.0=target", "0=spoof"]`` (or a mapping) -> ``{"1.0": "target", "0": "spoof"}``.

    Targets are ``bonafide``, ``spoof``, ``target`` or ``nontarget`` (and the spellings of
    :data:`dfaudio.labels.DEFAULT_LABEL_MAP` for the first two).
    """
    if items is None:
        return None
    pairs = list(items.items()) if isinstance(items, Mapping) else []
    if not isinstance(items, Mapping):
        for item in items:
            if "=" not in str(item):
                raise DataError(f"--key-map expects VALUE=bonafide|spoof, got {item!r}")
            value, target = str(item).rsplit("=", 1)
            pairs.append((value, target))
    out: dict[str, str] = {}
    for value, target in pairs:
        t = str(target).strip().lower()
        if t not in ("target", "nontarget"):
            try:
                t = canonical_label(t)
            except DataError:
                raise DataError(
                    f"--key-map target must be one of {', '.join(KEY_MAP_TARGETS)}, got {target!r}"
                ) from None
        out[str(value).strip()] = t
    return out or None


def _first_line(path: Path, *, comments: bool) -> str:
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            text = line.split(_COMMENT, 1)[0] if comments else line
            if text.strip():
                return text
    raise DataError("empty score file", path)


def _data_lines(path: Path, *, comments: bool) -> list[int]:
    """1-based numbers of the lines that hold data (not blank, not a comment)."""
    numbers: list[int] = []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            text = line.split(_COMMENT, 1)[0] if comments else line
            if text.strip():
                numbers.append(number)
    return numbers


class _Lines:
    """Row index -> line number of the file, computed only when an error needs it."""

    def __init__(self, path: Path, *, comments: bool, header: bool) -> None:
        self.path, self.comments, self.header = path, comments, header
        self._numbers: list[int] | None = None

    def __call__(self, row: int) -> int:
        if self._numbers is None:
            self._numbers = _data_lines(self.path, comments=self.comments)
        i = row + (1 if self.header else 0)
        return self._numbers[i] if i < len(self._numbers) else i + 1


def _find_bad_line(path: Path, predicate: Any) -> tuple[int, str]:
    """First (line number, data text) of ``path`` whose fields satisfy ``predicate``."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            fields = line.split(_COMMENT, 1)[0].split()
            if fields and predicate(fields):
                return number, line.rstrip("\n")
    return 0, ""


def _read_whitespace(path: Path) -> pd.DataFrame:
    """Headerless whitespace table as strings (C parser), with a per-line error on ragged rows."""
    try:
        raw = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            names=list(range(_MAX_COLUMNS)),
            dtype=str,
            keep_default_na=False,
            na_values=[],
            skip_blank_lines=True,
            comment=_COMMENT,
            engine="c",
        )
    except pd.errors.ParserError:
        number, line = _find_bad_line(path, lambda f: len(f) > _MAX_COLUMNS)
        raise DataError(f"line {number}: {_LAYOUT_HELP}, got {len(line.split())}", path) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not a text file ({exc.reason})", path) from None
    raw = raw.fillna("")
    raw = raw[(raw.to_numpy() != "").any(axis=1)].reset_index(drop=True)
    if raw.empty:
        raise DataError("empty score file", path)
    n_fields = (raw.to_numpy() != "").sum(axis=1)
    first = int(n_fields[0])
    if (n_fields != first).any():
        number, _ = _find_bad_line(path, lambda f: len(f) != first)
        got = int(n_fields[np.flatnonzero(n_fields != first)[0]])
        raise DataError(
            f"line {number}: expected {first} whitespace-separated columns like line 1, got {got}",
            path,
        )
    return raw.iloc[:, :first]


def _parse_scores(values: pd.Series, path: Path, *, line_of: Any, what: str) -> np.ndarray:
    """Strings -> finite floats, or a DataError naming the line of the first bad value."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raw = values.iloc[i]
        text = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw)
        if not text.strip() or text.strip().lower() in ("none", "null", "na", "n/a"):
            kind = "missing"
        else:
            try:
                float(text)
                kind = "non-finite"
            except ValueError:
                kind = "non-numeric"
        n_bad = int(bad.sum())
        more = f" ({n_bad} bad values in all)" if n_bad > 1 else ""
        raise DataError(f"line {line_of(i)}: {kind} {what} {shown(raw)}{more}", path)
    return numbers


def _as_number(text: str) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _parse_keys(
    values: pd.Series,
    path: Path,
    *,
    line_of: Any,
    column: str,
    bonafide_value: Any = None,
    key_map: Mapping[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Key/label column -> (canonical CM keys, SASV keys or None); never guesses numbers."""
    text = values.astype(str).str.strip()
    codes, uniques = pd.factorize(text, use_na_sentinel=False)

    def first_line(j: int) -> int:
        return line_of(int(np.flatnonzero(codes == j)[0]))

    cm: list[str] = []
    sasv: list[str] = []
    if key_map:
        numeric_map = {_as_number(k): v for k, v in key_map.items() if _as_number(k) is not None}
        for j, value in enumerate(uniques):
            target = key_map.get(value)
            if target is None and _as_number(value) is not None:
                target = numeric_map.get(_as_number(value))
            if target is None:
                raise DataError(
                    f"line {first_line(j)}: {column} {value!r} is not in --key-map "
                    f"(maps {', '.join(sorted(key_map))})",
                    path,
                )
            sasv.append(target)
            cm.append(BONAFIDE if target in ("target", "nontarget", BONAFIDE) else SPOOF)
        has_sasv = any(t in ("target", "nontarget") for t in sasv)
        cm_keys = np.asarray(cm, dtype=object)[codes]
        return cm_keys, (np.asarray(sasv, dtype=object)[codes] if has_sasv else None)
    if bonafide_value is not None:
        want = str(bonafide_value).strip()
        want_num = _as_number(want)
        if len(uniques) > 2:
            shown = ", ".join(repr(u) for u in list(uniques)[:5])
            raise DataError(
                f"{column} takes {len(uniques)} values ({shown}); --bonafide-value needs two "
                "(use --key-map VALUE=bonafide|spoof for more)",
                path,
            )
        hits = [u == want or (want_num is not None and _as_number(u) == want_num) for u in uniques]
        if not any(hits):
            shown = ", ".join(repr(u) for u in uniques)
            raise DataError(f"no {column} equals --bonafide-value {want!r} (values: {shown})", path)
        cm = [BONAFIDE if h else SPOOF for h in hits]
        return np.asarray(cm, dtype=object)[codes], None
    for j, value in enumerate(uniques):
        if _as_number(value) is not None:
            raise DataError(
                f"line {first_line(j)}: numeric {column} {value!r} is ambiguous (0 = bona fide in "
                "dfaudio ids, 1 = bona fide in AASIST's protocol); pass --bonafide-value "
                "(bonafide_value=) or --key-map VALUE=bonafide|spoof",
                path,
            )
        try:
            cm.append(canonical_label(value))
        except DataError:
            raise DataError(
                f"line {first_line(j)}: unknown {column} {value!r} (expected bonafide or spoof; "
                "pass --key-map VALUE=bonafide|spoof for others)",
                path,
            ) from None
    return np.asarray(cm, dtype=object)[codes], None


def _check_duplicates(out: pd.DataFrame, path: Path, *, line_of: Any, by: list[str]) -> None:
    dup = out.duplicated(subset=by, keep=False).to_numpy()
    if not dup.any():
        return
    first = int(np.flatnonzero(dup)[0])
    same = np.flatnonzero(dup & (out[by] == out[by].iloc[first]).all(axis=1).to_numpy())
    lines = [line_of(int(i)) for i in same[:5]]
    keys = out["key"].to_numpy()[same]
    ident = ", ".join(f"{c} {out[c].iloc[first]!r}" for c in by)
    how = f"with different keys ({', '.join(sorted(set(keys)))})" if len(set(keys)) > 1 else "twice"
    n_ids = int(out[dup].drop_duplicates(subset=by).shape[0])
    raise DataError(
        f"{ident} is scored {how} (lines {', '.join(map(str, lines))}); "
        f"{n_ids} id(s) repeat in all. Each trial must appear once or it counts twice",
        path,
    )


# ------------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------------


def _find_column(columns: list[str], name: str | None, defaults: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    if name is not None:
        return lower.get(name.strip().lower())
    for d in defaults:
        if d in lower:
            return lower[d]
    return None


def _read_csv_scores(
    path: Path,
    *,
    sep: str,
    label_col: str | None,
    score_col: str | None,
    bonafide_value: Any,
    key_map: Mapping[str, str] | None,
    asv_col: str | None = None,
) -> pd.DataFrame:
    try:
        header = pd.read_csv(path, sep=sep, engine="c", nrows=0)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot parse as CSV: {str(exc).splitlines()[0]}", path) from None
    columns = [str(c).strip() for c in header.columns]
    lab = _find_column(columns, label_col, ("label",))
    sco = _find_column(columns, score_col, ("score",))
    for flag, given, found, default in (
        ("--label-col", label_col, lab, "label"),
        ("--score-col", score_col, sco, "score"),
    ):
        if found is None:
            if given is not None:
                raise DataError(f"{flag} {given!r} is not a column (columns: {columns})", path)
            raise DataError(
                f"CSV score file needs a '{default}' column, has {columns} "
                f"(name others with {flag})",
                path,
            )
    raw_names = list(header.columns)
    label_raw = raw_names[columns.index(lab)]
    try:
        table = pd.read_csv(path, sep=sep, engine="c", dtype={label_raw: str}, keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot parse as CSV: {str(exc).splitlines()[0]}", path) from None
    table.columns = columns
    if table.empty:
        raise DataError("empty score file (header only)", path)
    line_of = _Lines(path, comments=False, header=True)
    out = pd.DataFrame(index=table.index)
    id_col = _find_column(columns, None, _ID_COLUMNS)
    out["utt"] = (
        table[id_col].astype(str) if id_col is not None else [str(i) for i in range(len(table))]
    )
    keys, sasv = _parse_keys(
        table[lab].fillna(""),
        path,
        line_of=line_of,
        column=f"label column {lab!r}" if label_col else "label",
        bonafide_value=bonafide_value,
        key_map=key_map,
    )
    out["key"] = keys
    if sasv is not None:
        out["sasv_key"] = sasv
    out["score"] = _parse_scores(table[sco], path, line_of=line_of, what="score")
    if asv_col is not None:
        asv = _find_column(columns, asv_col, ())
        if asv is None:
            raise DataError(f"--asv-col {asv_col!r} is not a column (columns: {columns})", path)
        if sasv is None:
            raise DataError(
                "--asv-col needs SASV keys: map the label values to target, nontarget and spoof "
                "with --key-map",
                path,
            )
        out["asv_score"] = _parse_scores(table[asv], path, line_of=line_of, what="ASV score")
    lower = {c.lower(): c for c in columns}
    for name in ("attack", "speaker", "file", "window", "group", "fold", "p_fake", "split"):
        if name in lower and name not in out.columns and lower[name] not in (lab, sco):
            out[name] = table[lower[name]]
    if "attack" in out.columns:
        out["attack"] = out["attack"].fillna("-").astype(str)
    if id_col is not None:
        by = ["utt", "window"] if "window" in out.columns else ["utt"]
        _check_duplicates(out, path, line_of=line_of, by=by)
    dfaudio_csv = lab.lower() == "label" and sco.lower() == "score" and label_col is None
    out.attrs["layout"] = "dfaudio-csv" if dfaudio_csv else "csv"
    out.attrs["score_kind"] = "logodds" if dfaudio_csv else "raw"
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# public readers
# ------------------------------------------------------------------------------------------------


def read_scores(
    path: str | Path,
    *,
    bonafide_value: Any = None,
    label_col: str | None = None,
    score_col: str | None = None,
    key_map: Iterable[str] | Mapping[str, str] | None = None,
    asv_col: str | None = None,
) -> pd.DataFrame:
    """Read a CM score file, detecting its layout.

    Parameters
    ----------
    path : str or Path
        A score file (see the module notes for the layouts) or a run directory, meaning its
        ``scores.csv``.
    bonafide_value : optional
        The label value that means bona fide when labels are numbers (the other value is spoof).
    label_col, score_col : str, optional
        Label and score columns of a CSV (default ``label`` and ``score``, case-insensitive).
        Naming either reads the file as a foreign CSV (raw scores).
    key_map : mapping or list of ``"VALUE=TARGET"``, optional
        Raw label value -> ``bonafide`` / ``spoof`` / ``target`` / ``nontarget``.
    asv_col : str, optional
        CSV column of the ASV score of each trial (SASV files; needs SASV keys from
        ``key_map``); read as ``asv_score``.

    Returns
    -------
    pd.DataFrame
        Columns ``utt``, ``key`` ("bonafide"/"spoof"), ``score`` (float, higher = more bona fide),
        plus ``attack`` and ``speaker`` when the layout has them, ``sasv_key`` when ``key_map``
        names target/nontarget, and the optional dfaudio CSV columns. ``df.attrs["layout"]``
        names the layout; ``df.attrs["score_kind"]`` is ``"logodds"`` for dfaudio files and
        ``"raw"`` for the others.

    Raises
    ------
    DataError
        One line naming the file and the problem (missing file, wrong column count, non-numeric
        or non-finite score, unknown or ambiguous label, repeated utterance id), with the line.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "scores.csv"
        if not p.is_file():
            raise DataError("run directory has no scores.csv", p.parent)
    if not p.is_file():
        raise DataError("score file not found", p)
    km = parse_key_map(key_map)
    first = _first_line(p, comments=False)
    if first.lstrip().startswith(_COMMENT):  # a commented whitespace score file
        first = _first_line(p, comments=True)
    tokens = [
        t.strip().strip('"').lower() for t in first.replace(",", " ").replace("\t", " ").split()
    ]
    foreign = label_col is not None or score_col is not None or asv_col is not None
    if foreign or ("label" in tokens and "score" in tokens):
        sep = "," if "," in first else ("\t" if "\t" in first else r"\s+")
        return _read_csv_scores(
            p,
            sep=sep,
            label_col=label_col,
            score_col=score_col,
            bonafide_value=bonafide_value,
            key_map=km,
            asv_col=asv_col,
        )
    if "," in first:
        raise DataError(
            "CSV score file needs a header with 'label' and 'score' columns (or name them with "
            f"--label-col/--score-col), got {first.strip()[:80]!r}",
            p,
        )
    _first_line(p, comments=True)
    raw = _read_whitespace(p)
    n_cols = raw.shape[1]
    if n_cols not in _LAYOUTS:
        hint = ""
        if n_cols == 5:
            hint = " (a protocol file without scores?)"
        elif n_cols == 2:
            hint = " (UTT SCORE without keys: join the scores with the protocol first)"
        number, _ = _find_bad_line(p, lambda f: True)
        raise DataError(f"line {number}: {_LAYOUT_HELP}, got {n_cols}{hint}", p)
    layout, names = _LAYOUTS[n_cols]
    raw.columns = names
    line_of = _Lines(p, comments=True, header=False)
    out = pd.DataFrame({"utt": raw["utt"].to_numpy()})
    if "speaker" in raw.columns:
        out.insert(0, "speaker", raw["speaker"].to_numpy())
    keys, sasv = _parse_keys(
        raw["key"],
        p,
        line_of=line_of,
        column="key",
        bonafide_value=bonafide_value,
        key_map=km,
    )
    out["key"] = keys
    if sasv is not None:
        out["sasv_key"] = sasv
    out["score"] = _parse_scores(raw["score"], p, line_of=line_of, what="score")
    if "attack" in raw.columns:
        out["attack"] = raw["attack"].to_numpy()
    if "condition" in raw.columns and (raw["condition"].astype(str) != "-").any():
        out["condition"] = raw["condition"].astype(str).to_numpy()  # PA: acoustic environment
    _check_duplicates(out, p, line_of=line_of, by=["utt"])
    out.attrs["layout"] = layout
    out.attrs["score_kind"] = "raw"
    return out


_ASV_KEYS = ("target", "nontarget", "spoof")


def read_asv_scores(path: str | Path) -> pd.DataFrame:
    """Read the organisers' ASV score file.

    Parameters
    ----------
    path : str or Path
        3-column ``SOURCE KEY SCORE`` (the database release, e.g.
        ``ASVspoof2019.LA.asv.eval.gi.trl.scores.txt``: ``bonafide target 7.98``) or 6-column
        ``SPK UTT - SOURCE KEY SCORE`` (the tDCF package form, where SOURCE is ``bonafide`` or the
        attack id). KEY is ``target``, ``nontarget`` or ``spoof``.

    Returns
    -------
    pd.DataFrame
        Columns ``source``, ``key``, ``score`` and, for the 6-column form, ``speaker``, ``utt``
        and ``attack`` (the attack id of spoof trials, ``-`` otherwise).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("ASV score file not found", p)
    _first_line(p, comments=True)
    raw = _read_whitespace(p)
    if raw.shape[1] not in (3, 6):
        raise DataError(
            "ASV scores: expected 3 columns (SOURCE KEY SCORE) or 6 (SPK UTT - SOURCE KEY SCORE), "
            f"got {raw.shape[1]}",
            p,
        )
    line_of = _Lines(p, comments=True, header=False)
    if raw.shape[1] == 3:
        raw.columns = ["source", "key", "score"]
        out = pd.DataFrame({"source": raw["source"].to_numpy()})
    else:
        raw.columns = ["speaker", "utt", "_dash", "source", "key", "score"]
        out = pd.DataFrame({"speaker": raw["speaker"].to_numpy(), "utt": raw["utt"].to_numpy()})
        src = raw["source"].to_numpy()
        is_attack = ~np.isin(np.char.lower(src.astype(str)), ("bonafide", "spoof", "-"))
        out["attack"] = np.where(is_attack, src, "-")
        out["source"] = np.where(is_attack, SPOOF, src)
    keys = raw["key"].str.lower()
    bad = ~keys.isin(_ASV_KEYS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"line {line_of(i)}: unknown ASV key {raw['key'].iloc[i]!r} "
            "(expected target, nontarget or spoof)",
            p,
        )
    out["key"] = keys.to_numpy()
    out["score"] = _parse_scores(raw["score"], p, line_of=line_of, what="ASV score")
    out.attrs["layout"] = f"asv-{raw.shape[1]}col"
    return out


def asv_arrays(asv: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Target, nontarget and spoof ASV scores of a table from :func:`read_asv_scores`."""
    key = asv["key"].to_numpy()
    score = asv["score"].to_numpy(dtype=np.float64)
    return score[key == "target"], score[key == "nontarget"], score[key == "spoof"]


def as_asv_table(asv: pd.DataFrame | str | Path) -> pd.DataFrame:
    """A table from :func:`read_asv_scores`, reading ``asv`` when it is a path."""
    return asv if isinstance(asv, pd.DataFrame) else read_asv_scores(asv)
