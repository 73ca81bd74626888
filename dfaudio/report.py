"""The self-contained HTML report (``compare --html``).

Every run directory has ``plots/`` (DET, ROC, per-class score histogram, confusion matrix of its
held-out scores, drawn by the run writer, :mod:`dfaudio.runs.writer`); the report embeds them, or
draws them from ``scores.csv`` for a run that has none.

:func:`write_html_report` writes **one** HTML file: the leaderboard table, a legend (score
direction, split types) and, per run, its details and plots embedded as base64 PNG. It loads
nothing from anywhere (no stylesheet, font, script or image URL), so it can be mailed or archived
as it is. All text taken from runs is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from dfaudio.io.files import check_writable, write_text
from dfaudio.runs.store import PLOT_DIR

__all__ = ["SPLIT_TYPES", "render_html", "write_html_report"]

#: What each split type means (shown in the report legend).
SPLIT_TYPES: dict[str, str] = {
    "grouped": "no recording (or speaker/group) has windows on both sides of a split: honest",
    "given": "the corpus's own train/dev/eval split (e.g. ASVspoof protocols)",
    "stratified": "rows split at random by class: the table had no provenance, so windows of one "
    "recording may sit in train and test (optimistic)",
    "leaky": "split by window on purpose (--split-by window): windows of one recording on both "
    "sides; optimistic, for comparison with published per-window numbers only",
}

_PLOT_CAPTIONS = {
    "det.png": "DET curve (normal-deviate axes)",
    "roc.png": "ROC curve",
    "score_hist.png": "Score histogram per class",
    "confusion.png": "Confusion matrix",
    "importance.png": "Permutation importance under the run's folds (fit-sklearn --explain)",
    "shap.png": "SHAP summary of the saved tree model (fit-sklearn --explain)",
}


# ---------------------------------------------------------------------------------- run plots


def _plot_files(run_dir: Path, tmp: Path) -> tuple[list[Path], str | None]:
    """PNG files of a run: its ``plots/``, else plots drawn now from ``scores.csv``."""
    from dfaudio.plots import PLOT_NAMES

    own = [run_dir / PLOT_DIR / n for n in PLOT_NAMES if (run_dir / PLOT_DIR / n).is_file()]
    if own:
        return own, None
    try:
        from dfaudio.evaluation import read_scores
        from dfaudio.plots import save_plots

        df = read_scores(run_dir)
        out = tmp / run_dir.name
        files = save_plots(
            out,
            df["key"].to_numpy(),
            df["score"].to_numpy(),
            score_kind=df.attrs.get("score_kind", "logodds"),
        )
        return files, "plots drawn for this report from scores.csv (the run has no plots/)"
    except Exception as exc:
        return [], f"no plots: {' '.join(str(exc).split())[:200]}"


# ---------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.9em;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}
.split{font-weight:600;border-radius:3px;padding:0 .3em}
.split-grouped{color:#0a6b2d}.split-given{color:#1f4e9c}
.split-stratified{color:#a15c00}.split-leaky{color:#b00020}
.legend{background:#f7f7f7;border:1px solid #e3e3e3;padding:.6em 1em;font-size:.9em}
.legend dt{font-weight:600}.legend dd{margin:0 0 .4em 1.2em}
.plots{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;flex:0 1 360px}figure img{width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555;text-align:center}
.warn{color:#a15c00}.details td:first-child{font-weight:600;background:#f7f7f7}
"""

#: Marks decoded images on the body (the browser check reads it); loads nothing.
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; }
  }
  document.body.setAttribute("data-images-decoded", ok + "/" + imgs.length);
});
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _pct(x: Any, digits: int = 2) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return "" if v != v else f"{100 * v:.{digits}f} %"


def _leaderboard_table(df: pd.DataFrame) -> str:
    from dfaudio.runs.leaderboard import display_frame, right_aligned

    disp = display_frame(df)
    numeric = right_aligned()
    head = "".join(f"<th scope='col'>{_e(c)}</th>" for c in disp.columns)
    rows = []
    for i, rec in enumerate(disp.to_dict("records")):
        cells = []
        for col, val in rec.items():
            if col == "split":
                cls = f"split split-{_e(val)}"
                cells.append(
                    f"<td><span class='{cls}' title='{_e(SPLIT_TYPES.get(str(val)))}'>"
                    f"{_e(val)}</span></td>"
                )
            elif col == "run":
                cells.append(f"<td><a href='#run-{i + 1}'>{_e(val)}</a></td>")
            else:
                cls = " class='num'" if col in numeric else ""
                cells.append(f"<td{cls}>{_e(val)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        "<table id='leaderboard'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _legend() -> str:
    from dfaudio.labels import SCORE_DIRECTION
    from dfaudio.runs.leaderboard import MIN_TRIALS_PER_CLASS

    splits = "".join(
        f"<dt><span class='split split-{_e(k)}'>{_e(k)}</span></dt><dd>{_e(v)}</dd>"
        for k, v in SPLIT_TYPES.items()
    )
    return (
        "<div class='legend' id='legend'><p><b>Scores:</b> "
        + _e(SCORE_DIRECTION)
        + ". EER is computed from the continuous scores (official ASVspoof algorithm), never from "
        "hard decisions; rows are ranked by EER (lower is better). Accuracy uses the threshold "
        "0 on the log-odds (p_fake 0.5). EER and accuracy are over all held-out scores of a run "
        "pooled (windows or clips; all folds of a K-fold run), and each CI95 is the 95 % "
        "bootstrap interval of that same pooled value, resampling whole recordings/groups; the "
        "fold mean &#177; std of K-fold runs is a separate column. Runs with fewer than "
        f"{MIN_TRIALS_PER_CLASS} held-out trials of either class are not ranked ('-') and come "
        "after the ranked ones.</p>"
        "<p><b>Split types</b></p><dl>" + splits + "</dl></div>"
    )


def _details(metrics: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []

    def add(name: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            rows.append((name, str(value)))

    add("model", f"{metrics.get('model', '?')} ({metrics.get('kind', '?')})")
    add("features", metrics.get("features"))
    add("data", metrics.get("data"))
    add("split", f"{metrics.get('split_type', '?')}: {metrics.get('split', '')}".rstrip(": "))
    add("rows (held-out)", f"{metrics.get('n_rows', '?')} ({metrics.get('n_test_rows', '?')})")
    from dfaudio.runs.record import headline

    def ci_text(key: str) -> str:
        ci = metrics.get(f"{key}_ci95")
        ok = isinstance(ci, list) and len(ci) == 2 and ci[0] is not None
        return f" (95 % CI {_pct(ci[0], 1)} to {_pct(ci[1], 1)})" if ok else ""

    thr = metrics.get("eer_threshold")
    thr_txt = f", threshold {float(thr):.4g}" if thr is not None else ""
    trials = ""
    if metrics.get("n_bonafide") is not None:
        trials = f" over {metrics['n_bonafide']} bona fide / {metrics.get('n_spoof')} spoof trials"
    add("EER (pooled held-out)", _pct(headline(metrics, "eer")) + ci_text("eer") + trials + thr_txt)
    add("accuracy (pooled)", _pct(headline(metrics, "accuracy")) + ci_text("accuracy"))
    for key, name in (("eer", "EER"), ("accuracy", "accuracy")):
        mean = metrics.get(f"{key}_fold_mean")
        if mean is not None:
            std = metrics.get(f"{key}_fold_std")
            add(
                f"{name} over folds",
                f"mean {_pct(mean)}, std {_pct(std)} ({metrics.get('n_folds')} folds)",
            )
    auc = headline(metrics, "roc_auc")
    add("ROC AUC", auc and f"{float(auc):.4f}")
    clip = metrics.get("clip_level") or {}
    if "eer" in clip:
        add(
            "per recording",
            f"EER {_pct(clip['eer'])}, accuracy {_pct(clip.get('accuracy'))} "
            f"over {clip.get('n_clips')} recordings (mean window score)",
        )
    if metrics.get("sample_rates"):
        add("training sample rates", ", ".join(f"{r} Hz" for r in metrics["sample_rates"]))
    add("model file", metrics.get("model_file"))
    add("created", metrics.get("created"))
    for w in metrics.get("warnings") or []:
        add("warning", w)
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table class='details'>{body}</table>"


def _eval_set_metrics(metrics: dict[str, Any], name: str) -> dict[str, Any]:
    """The details of one external test set of a run (``eval_sets``), shaped like a run's."""
    ev = (metrics.get("eval_sets") or {}).get(name) or {}
    out = {k: metrics.get(k) for k in ("model", "kind", "features", "created", "warnings")}
    out.update(
        metrics_schema=2,
        data=f"{name}: {ev.get('source', '?')}",
        split_type=ev.get("kind", "cross-corpus"),
        split=f"scored by the final model trained on {metrics.get('data', '?')}",
        **{
            k: ev.get(k)
            for k in (
                "eer",
                "eer_ci95",
                "accuracy",
                "accuracy_ci95",
                "roc_auc",
                "n_bonafide",
                "n_spoof",
            )
        },
    )
    return out


def _run_section(i: int, row: dict[str, Any], tmp: Path) -> str:
    from dfaudio.exceptions import DataError
    from dfaudio.runs import load_metrics

    run_dir = Path(row["run_dir"])
    try:
        metrics = load_metrics(run_dir)
    except DataError as exc:
        metrics = {"warnings": [str(exc)]}
    eval_set = row.get("eval_set")
    if isinstance(eval_set, str) and eval_set:  # a row of fit-sklearn/fit-deep --eval-data
        metrics = _eval_set_metrics(metrics, eval_set)
    split = str(row.get("split_type", "?"))
    title = f"#{i} {row.get('model', '?')} · {row.get('features', '?')} · {row.get('data', '?')}"
    parts = [
        f"<section class='run' id='run-{i}'><h2>{_e(title)} "
        f"<span class='split split-{_e(split)}'>[{_e(split)}]</span></h2>",
        f"<p class='meta'>{_e(run_dir)}</p>",
        _details(metrics),
    ]
    if isinstance(eval_set, str) and eval_set:
        from dfaudio.plots import PLOT_NAMES

        ev_dir = run_dir / f"eval-{eval_set}"
        files = [ev_dir / n for n in PLOT_NAMES if (ev_dir / n).is_file()]
        note = None if files else f"no plots in {ev_dir}"
    else:
        files, note = _plot_files(run_dir, tmp)
    files += [run_dir / n for n in ("importance.png", "shap.png") if (run_dir / n).is_file()]
    if note:
        parts.append(f"<p class='warn'>{_e(note)}</p>")
    figs = []
    for f in files:
        data = base64.b64encode(f.read_bytes()).decode("ascii")
        caption = f"{_PLOT_CAPTIONS.get(f.name, f.name)} - {row.get('model', '?')}"
        figs.append(
            f"<figure><img src='data:image/png;base64,{data}' alt='{_e(caption)}'>"
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )
    if figs:
        parts.append("<div class='plots'>" + "".join(figs) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(df: pd.DataFrame, *, title: str = "dfaudio leaderboard") -> str:
    """The report as one HTML string (see the module docstring).

    Parameters
    ----------
    df : pd.DataFrame
        From :func:`dfaudio.runs.leaderboard.collect` (possibly filtered); needs ``run_dir``.
    """
    from dfaudio import __version__
    from dfaudio.runs import now

    with tempfile.TemporaryDirectory(prefix="dfaudio-report-") as tmp:
        sections = [
            _run_section(i, rec, Path(tmp)) for i, rec in enumerate(df.to_dict("records"), start=1)
        ]
    board = _leaderboard_table(df) if len(df) else "<p id='no-runs'>No finished runs.</p>"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{_e(title)}</h1><p class='meta'>{len(df)} runs · generated {_e(now())} by dfaudio "
        f"{_e(__version__)}</p>\n"
        + _legend()
        + "\n"
        + board
        + "\n"
        + "\n".join(sections)
        + f"\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )


def write_html_report(df: pd.DataFrame, path: str | Path, *, force: bool = False) -> Path:
    """Write the self-contained HTML report of the runs in ``df`` to ``path``.

    Parameters
    ----------
    df : pd.DataFrame
        From :func:`dfaudio.runs.leaderboard.collect`.
    path : str or Path
        Output file; an existing file is replaced only with ``force``.
    force : bool

    Returns
    -------
    Path
    """
    check_writable(path, force=force)
    out = write_text(path, render_html(df), force=force)
    umask = os.umask(0)
    os.umask(umask)
    out.chmod(0o666 & ~umask)  # a report is for sharing: not the 0600 of a temporary file
    return out


def crosseval_section(mx: Any, heatmaps: list[Path] | None = None) -> str:
    """HTML section of a generalization matrix (:class:`dfaudio.generalization.crosseval.Matrix`).

    One table per model (diagonal = in-corpus grouped CV, bold; the rest cross-corpus) with the
    95 % intervals, the notes, and the heatmap PNGs embedded.
    """
    parts = [
        "<section id='crosseval'><h2>Does it generalize? Train x test EER %</h2>",
        f"<p class='meta'>diagonal: in-corpus grouped {int(mx.cv)}-fold CV; other cells: "
        "cross-corpus (fitted on all of the row, scored on the column); [95 % group "
        "bootstrap interval]</p>",
    ]
    cols = list(mx.columns)
    for model in mx.models:
        head = "".join(f"<th>{_e(t)}</th>" for t in cols)
        rows = []
        for r in mx.corpora:
            tds = []
            for t in cols:
                c = mx.cell(model, r, t)
                if c is None or c.eer is None:
                    text = "n/a" if c is None or not c.note else f"n/a ({c.note})"
                else:
                    text = f"{100 * c.eer:.1f}"
                    if c.ci95:
                        text += f" [{100 * c.ci95[0]:.1f}-{100 * c.ci95[1]:.1f}]"
                cls = " class='in-corpus'" if r == t else ""
                tds.append(f"<td{cls}>{_e(text)}</td>")
            rows.append(f"<tr><th>{_e(r)}</th>{''.join(tds)}</tr>")
        parts.append(
            f"<h3>{_e(model)}</h3><table class='matrix'><tr><th>train \\ test</th>{head}</tr>"
            + "".join(rows)
            + "</table>"
        )
    parts += [f"<p class='note'>note: {_e(n)}</p>" for n in mx.notes]
    for png in heatmaps or []:
        data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
        parts.append(f"<img alt='heatmap' src='data:image/png;base64,{data}'>")
    parts.append("</section>")
    return "\n".join(parts)


def write_crosseval_html(
    mx: Any, path: str | Path, *, heatmaps: list[Path] | None = None, force: bool = False
) -> Path:
    """A self-contained HTML page holding :func:`crosseval_section`."""
    check_writable(path, force=force)
    css = _CSS + " table.matrix td.in-corpus{font-weight:bold} td,th{padding:2px 8px}"
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>dfaudio crosseval</title><style>{css}</style></head><body>\n"
        + crosseval_section(mx, heatmaps)
        + "\n</body></html>\n"
    )
    return write_text(path, page, force=force)
