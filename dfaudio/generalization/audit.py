"""Shortcut audit: can facts that say nothing about the voice tell bona fide from spoof?

Every file gets the nuisance facts in :data:`FACTS` (duration, leading/trailing silence, level,
peak, clipping, sample rate, channels, codec, bit rate). A small random forest is fitted on each
fact alone, and on all of them together, with grouped cross-validation (a group - recording pair,
speaker - is never on both sides), and its pooled held-out EER is reported with a 95 % group
bootstrap interval. A fact whose EER is below :data:`SHORTCUT_EER` (20 %) **separates the
classes**: a detector trained on that data can score well by learning the fact instead of the
voice, and its in-corpus figure says little about other data.

Reference: N. M. Mueller, F. Dieckmann, P. Czempin, R. Canals, K. Boettinger, J. Williams,
"Speech is Silver, Silence is Golden: What do ASVspoof-trained Models Really Learn?", ASVspoof 2021
workshop (arXiv:2106.12914): the length of the leading silence alone separates ASVspoof 2019 LA.

The facts and their definitions are in :mod:`dfaudio.datasets.facts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.datasets.facts import (
    CLIP_LEVEL,
    FACT_COLUMNS,
    FACTS,
    SILENCE_FRAME_S,
    SILENCE_TOP_DB,
    add_file_facts,
    file_facts,
)
from dfaudio.exceptions import DataError, ParameterError

#: A fact whose grouped-CV EER is below this separates the classes (a shortcut).
SHORTCUT_EER = 0.20
#: Name of the all-facts baseline in audit results.
ALL = "all facts"

__all__ = [
    "ALL",
    "CLIP_LEVEL",
    "FACTS",
    "FACT_COLUMNS",
    "SHORTCUT_EER",
    "AuditResult",
    "FactResult",
    "add_file_facts",
    "audit",
    "audit_run_data",
    "facts_of_files",
    "facts_of_table",
    "file_facts",
    "format_audit",
    "shortcut_warnings",
]


# ----------------------------------------------------------------------------------------------
# per-file tables of facts
# ----------------------------------------------------------------------------------------------


def facts_of_files(
    manifest: pd.DataFrame, *, jobs: int = 1, on_failure: Any = None
) -> pd.DataFrame:
    """One row per manifest file: ``file, label, group`` (+ ``attack``, ``speaker``) and facts.

    Files that cannot be read are reported through ``on_failure(path, reason, detail)`` and
    left out.
    """
    from joblib import Parallel, delayed

    from dfaudio.exceptions import AudioError

    def one(path: str) -> dict[str, Any] | tuple[str, str, str]:
        try:
            return file_facts(path)
        except AudioError as exc:
            return (path, exc.category, exc.detail)
        except Exception as exc:
            return (path, "unreadable", " ".join(str(exc).split())[:200])

    paths = manifest["path"].astype(str).tolist()
    if jobs == 1:
        results = [one(p) for p in paths]
    else:
        results = Parallel(n_jobs=jobs)(delayed(one)(p) for p in paths)
    rows = []
    keep = [c for c in ("label", "group", "attack", "speaker", "split") if c in manifest]
    for rec, res in zip(manifest.to_dict("records"), results, strict=True):
        if isinstance(res, tuple):
            if on_failure is not None:
                on_failure(*res)
            continue
        rows.append({"file": rec["path"], **{c: rec[c] for c in keep}, **res})
    if not rows:
        raise DataError("no file could be read; nothing to audit")
    return pd.DataFrame(rows)


def facts_of_table(df: pd.DataFrame, *, source: str = "<table>") -> pd.DataFrame:
    """One row per file of a feature table that carries the fact columns (first row of each).

    Raises
    ------
    DataError
        The table has no ``file`` column or no fact columns (made before facts were recorded,
        or the DEEP-VOICE CSV): audit the audio instead.
    """
    from dfaudio.labels import canonical_label

    cols = set(df.columns)
    missing = [c for c in FACT_COLUMNS if c not in cols]
    if "file" not in cols or len(missing) == len(FACT_COLUMNS):
        raise DataError(
            "table has no per-file facts (file, file_duration_s, lead_silence_s ...): it was "
            "made before tabulate recorded them, or has no provenance (DEEP-VOICE CSV); run "
            "dfaudio audit on the audio, or re-tabulate it",
            source,
        )
    label_col = "label" if "label" in cols else "LABEL"
    per_file = df.groupby("file", sort=False).first().reset_index()
    per_file["label"] = [canonical_label(v, source=source) for v in per_file[label_col]]
    if "group" not in per_file.columns:
        per_file["group"] = per_file["file"]
    keep = ["file", "label", "group"] + [
        c for c in ("attack", "speaker", "split") if c in per_file.columns
    ]
    return per_file[keep + [c for c in FACT_COLUMNS if c in per_file.columns]]


def is_feature_table(path: str | Path) -> bool:
    """Whether a CSV is a feature table (has the feature columns) rather than a file list."""
    from dfaudio.schema import DEEP_VOICE_FEATURES

    p = Path(path)
    if p.suffix.lower() not in (".csv", ".parquet"):
        return False
    if p.suffix.lower() == ".parquet":
        return True
    header = pd.read_csv(p, nrows=0).columns
    return DEEP_VOICE_FEATURES[0] in header and "path" not in header


# ----------------------------------------------------------------------------------------------
# the audit
# ----------------------------------------------------------------------------------------------


@dataclass
class FactResult:
    """Grouped-CV baseline on one fact (or on all of them)."""

    fact: str
    eer: float
    ci95: tuple[float, float] | None
    shortcut: bool
    constant: bool = False
    meaning: str = ""
    by_class: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "fact": self.fact,
            "eer": self.eer,
            "eer_ci95": list(self.ci95) if self.ci95 else None,
            "shortcut": self.shortcut,
            "constant": self.constant,
            "meaning": self.meaning if self.shortcut else "",
            "by_class": self.by_class,
        }


@dataclass
class AuditResult:
    """What :func:`audit` found."""

    facts: list[FactResult]
    n_files: int
    n_bonafide: int
    n_spoof: int
    n_groups: int
    split: str
    threshold: float
    separated_pairs: int = 0
    notes: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def shortcuts(self) -> list[FactResult]:
        """Single facts flagged as shortcuts (the all-facts row is not counted)."""
        return [f for f in self.facts if f.shortcut and f.fact != ALL]

    def warnings(self) -> list[str]:
        """One line per flagged fact, for runs and the leaderboard."""
        out = []
        for f in self.shortcuts:
            out.append(
                f"shortcut: {f.fact} alone separates the classes of this data "
                f"(grouped-CV EER {100 * f.eer:.1f} % < {100 * self.threshold:.0f} %); "
                "in-corpus figures may measure it, not the voice (dfaudio audit)"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "n_files": self.n_files,
            "n_bonafide": self.n_bonafide,
            "n_spoof": self.n_spoof,
            "n_groups": self.n_groups,
            "split": self.split,
            "shortcut_eer_threshold": self.threshold,
            "silence": {"frame_s": SILENCE_FRAME_S, "top_db": SILENCE_TOP_DB},
            "facts": [f.as_dict() for f in self.facts],
            "shortcuts": [f.fact for f in self.shortcuts],
            "separated_pairs": self.separated_pairs,
            "notes": list(self.notes),
        }


def _encode(per_file: pd.DataFrame, facts: Sequence[str]) -> np.ndarray:
    cols = []
    for f in facts:
        v = per_file[f]
        if FACTS[f][0] == "category":
            codes = pd.factorize(v.astype(str), sort=True)[0].astype(float)
            cols.append(codes)
        else:
            cols.append(pd.to_numeric(v, errors="coerce").to_numpy(dtype=float))
    X = np.column_stack(cols)
    return np.where(np.isfinite(X), X, -1e9)


def _cv_scores(
    X: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], seed: int
) -> np.ndarray:
    from sklearn.ensemble import RandomForestClassifier

    from dfaudio.labels import p_fake_to_score

    out = np.zeros(len(y))
    for tr, te in folds:
        est = RandomForestClassifier(
            n_estimators=50, max_depth=3, class_weight="balanced", random_state=seed, n_jobs=1
        )
        est.fit(X[tr], y[tr])
        p_fake = est.predict_proba(X[te])[:, list(est.classes_).index(1)]
        out[te] = p_fake_to_score(np.clip(p_fake, 1e-6, 1 - 1e-6))
    return out


def _plan(y: np.ndarray, groups: np.ndarray, cv: int, seed: int) -> Any:
    from dfaudio.training.splits import plan_splits

    k = min(cv, len(np.unique(groups)))
    last: Exception | None = None
    while k >= 2:
        try:
            return plan_splits(y, groups=groups, cv=k, split_by="group", seed=seed)
        except ParameterError as exc:
            last = exc
            k -= 1
    raise DataError(f"too few groups for a grouped cross-validation ({last})")


def _describe_by_class(per_file: pd.DataFrame, fact: str) -> dict[str, str]:
    out = {}
    for label, part in per_file.groupby("label"):
        v = part[fact]
        if FACTS[fact][0] == "category":
            counts = v.astype(str).value_counts()
            out[str(label)] = ", ".join(f"{k} x{n}" for k, n in counts.head(3).items()) + (
                " ..." if len(counts) > 3 else ""
            )
        else:
            x = pd.to_numeric(v, errors="coerce").dropna()
            if len(x):
                out[str(label)] = f"median {x.median():.4g} (range {x.min():.4g} to {x.max():.4g})"
    return out


def audit(
    per_file: pd.DataFrame,
    *,
    cv: int = 5,
    threshold: float = SHORTCUT_EER,
    n_boot: int = 1000,
    seed: int = 0,
    facts: Iterable[str] | None = None,
    source: str = "",
) -> AuditResult:
    """Grouped-CV baselines on nuisance facts.

    Parameters
    ----------
    per_file : pd.DataFrame
        One row per file (:func:`facts_of_files` or :func:`facts_of_table`): ``label``,
        ``group`` and fact columns.
    cv : int
        Folds (fewer when there are fewer groups).
    threshold : float
        A fact whose EER is below this is flagged as a shortcut.
    n_boot : int
        Group-bootstrap resamples for the 95 % interval (0: none).
    seed : int
    facts : iterable of str, optional
        Facts to test (default: every fact column present).
    source : str
        Named in the result.

    Returns
    -------
    AuditResult
    """
    from dfaudio import evaluation
    from dfaudio.datasets.pairs import pair_keys

    if not 0 < threshold < 0.5:
        raise ParameterError(f"threshold must be in (0, 0.5), got {threshold}")
    names = [f for f in (facts or FACT_COLUMNS) if f in per_file.columns]
    unknown = [f for f in (facts or []) if f not in FACTS]
    if unknown:
        raise ParameterError(f"unknown fact(s) {unknown}; choose from {list(FACTS)}")
    if not names:
        raise DataError("no fact columns to audit", source or None)
    df = per_file.reset_index(drop=True)
    y = (df["label"].astype(str) == "spoof").to_numpy().astype(int)
    if len(np.unique(y)) < 2:
        raise DataError(
            "the audit needs bona fide and spoof files; found one class", source or None
        )
    groups = df["group"].astype(str).to_numpy()
    plan = _plan(y, groups, cv, seed)
    labels = np.where(y == 1, "spoof", "bonafide")
    results: list[FactResult] = []
    for name in [*names, ALL]:
        cols = names if name == ALL else [name]
        X = _encode(df, cols)
        constant = bool(np.all(X == X[0]))
        if constant:
            results.append(FactResult(name, 0.5, None, False, constant=True))
            continue
        scores = _cv_scores(X, y, plan.folds, seed)
        value = float(evaluation.eer(labels, scores)[0])
        ci = None
        if n_boot:
            try:
                ci = evaluation.bootstrap_ci(
                    labels, scores, groups=groups, metric="eer", n_boot=n_boot, seed=seed
                )
            except DataError:
                ci = None
        meaning = (
            FACTS[name][1]
            if name != ALL
            else "together the nuisance facts separate the classes: no single one, but their mix"
        )
        results.append(
            FactResult(
                name,
                value,
                ci,
                value < threshold,
                meaning=meaning,
                by_class={} if name == ALL else _describe_by_class(df, name),
            )
        )
    notes = list(plan.warnings)
    separated = 0
    if "file" in df.columns:
        keys = pair_keys(df.rename(columns={"file": "path"})[["path", "label"]])
        fam = pd.DataFrame({"key": keys, "group": groups}).dropna()
        if len(fam):
            split_fams = fam.groupby("key")["group"].nunique()
            separated = int((split_fams > 1).sum())
            if separated:
                notes.append(
                    f"{separated} real/fake name pair(s) lie in different groups (e.g. "
                    f"{split_fams[split_fams > 1].index[0]}): a grouped split can put a fake and "
                    "its source on different sides; re-tabulate (pairs are grouped by default) "
                    "or pass --group-regex"
                )
    return AuditResult(
        facts=results,
        n_files=len(df),
        n_bonafide=int((y == 0).sum()),
        n_spoof=int((y == 1).sum()),
        n_groups=int(len(np.unique(groups))),
        split=plan.description,
        threshold=threshold,
        separated_pairs=separated,
        notes=notes,
        source=source,
    )


def shortcut_warnings(meta: pd.DataFrame, *, seed: int = 0) -> list[str]:
    """Shortcut warnings for a fit on a table whose provenance carries the facts.

    Runs the audit without bootstrap (fast); returns ``[]`` when the table has no facts or too
    few groups to audit.
    """
    if not set(FACT_COLUMNS) & set(meta.columns) or "file" not in meta.columns:
        return []
    try:
        per_file = facts_of_table(meta)
        return audit(per_file, n_boot=0, seed=seed).warnings()
    except (DataError, ParameterError):
        return []


def format_audit(res: AuditResult) -> str:
    """The terminal report."""
    head = (
        f"shortcut audit{' of ' + res.source if res.source else ''}: {res.n_files} files "
        f"({res.n_bonafide} bonafide / {res.n_spoof} spoof), {res.n_groups} groups; "
        f"{res.split}; random forest (50 trees, depth 3) per fact"
    )
    lines = [head, f"{'fact':<17} {'EER':>7}  {'95% CI':<15}  verdict"]
    for f in res.facts:
        if f.constant:
            lines.append(f"{f.fact:<17} {'-':>7}  {'':<15}  same in every file")
            continue
        ci = f"{100 * f.ci95[0]:5.1f}-{100 * f.ci95[1]:5.1f} %" if f.ci95 else "n/a"
        verdict = "SHORTCUT" if f.shortcut else "ok"
        if f.shortcut and f.ci95 and f.ci95[1] >= 0.5:
            verdict += " (uncertain: too few files, the interval reaches chance)"
        lines.append(f"{f.fact:<17} {100 * f.eer:6.1f}%  {ci:<15}  {verdict}")
    lines.append(
        f"(a fact with EER below {100 * res.threshold:.0f} % separates the classes on its own; "
        f"silence = 20 ms frames {SILENCE_TOP_DB:g} dB below the loudest)"
    )
    for f in res.facts:
        if f.shortcut:
            lines.append(f"- {f.fact}: {f.meaning}")
            for label, desc in f.by_class.items():
                lines.append(f"    {label:<9} {desc}")
    for n in res.notes:
        lines.append(f"note: {n}")
    if not any(f.shortcut for f in res.facts):
        lines.append("no shortcut found among these facts (others may exist)")
    return "\n".join(lines)


def audit_run_data(run_dir: str | Path, *, seed: int = 0) -> list[str]:
    """Audit the audio a (deep) run was trained on and add shortcut warnings to its metrics.

    Reads the run's ``config.json`` (``data``, ``layout``, ``label_map``, ``protocols``,
    ``group_regex``), computes the facts of every file and appends the warnings of
    :meth:`AuditResult.warnings` to ``metrics.json``. Returns them (``[]`` when none, or when
    the data cannot be audited, e.g. too few groups).
    """
    from dfaudio.datasets import load_manifest
    from dfaudio.io.files import write_json
    from dfaudio.runs import CONFIG, METRICS, load_json

    d = Path(run_dir)
    cfg = load_json(d / CONFIG)
    try:
        manifest = load_manifest(
            list(cfg.get("data") or []),
            layout=cfg.get("layout") or "auto",
            label_map=cfg.get("label_map") or None,
            protocols=cfg.get("protocols") or None,
            group_regex=cfg.get("group_regex") or None,
        )
        found = audit(facts_of_files(manifest), n_boot=0, seed=seed).warnings()
    except (DataError, ParameterError):
        return []
    if found:
        metrics = load_json(d / METRICS)
        metrics["warnings"] = [*(metrics.get("warnings") or []), *found]
        write_json(d / METRICS, metrics, force=True)
    return found
