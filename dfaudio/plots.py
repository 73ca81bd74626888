"""Evaluation figures: DET, ROC, score histograms and the confusion matrix.

matplotlib (Agg backend, no display needed) and scipy are imported only when a plot is made, so
importing this module is cheap. All numbers come from :mod:`dfaudio.evaluation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dfaudio.evaluation import ScoreKind, det_curve, label_ids, summarize
from dfaudio.io.files import atomic_path, check_writable

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["PLOT_NAMES", "save_plots"]

#: File names written by :func:`save_plots`, in order.
PLOT_NAMES = ("det.png", "roc.png", "score_hist.png", "confusion.png")

_DET_TICKS_PCT = (0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 40, 60, 80, 95, 99)
_COLORS = {"bonafide": "#1f77b4", "spoof": "#d62728"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _pct(x: float) -> str:
    return f"{x:g} %"


def _thin(frr: np.ndarray, far: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop points strictly inside straight runs (same FRR or same FAR) of a step curve."""
    keep = np.ones(frr.size, dtype=bool)
    if frr.size > 2:
        same_frr = (frr[1:-1] == frr[:-2]) & (frr[1:-1] == frr[2:])
        same_far = (far[1:-1] == far[:-2]) & (far[1:-1] == far[2:])
        keep[1:-1] = ~(same_frr | same_far)
    return frr[keep], far[keep]


def _det_figure(frr: np.ndarray, far: np.ndarray, eer: float, title: str) -> Figure:
    from scipy.stats import norm

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    frr_t, far_t = _thin(frr, far)
    lo_pct, hi = 0.01, 0.995
    lo = lo_pct / 100  # rates outside the axis range are drawn on its edge (0 % is -inf)
    x = norm.ppf(np.clip(far_t, lo, hi))
    y = norm.ppf(np.clip(frr_t, lo, hi))
    ax.plot(x, y, color="#333333", lw=1.5, label="DET", clip_on=False)
    e = norm.ppf(np.clip(eer, lo, hi))
    ax.plot(
        [e],
        [e],
        "o",
        mfc="none",
        mec="#d62728",
        mew=2,
        ms=9,
        label=f"EER {eer * 100:.2f} %",
        clip_on=False,
    )
    lim = norm.ppf([lo, hi])
    ax.plot(lim, lim, ls=":", color="grey", lw=0.8)
    ticks = [t for t in _DET_TICKS_PCT if lo_pct <= t <= 99]
    pos = norm.ppf(np.asarray(ticks) / 100)
    ax.set_xticks(pos, [_pct(t) for t in ticks], rotation=90)
    ax.set_yticks(pos, [_pct(t) for t in ticks])
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    ax.set_xlabel("False acceptance rate: spoof accepted (%)")
    ax.set_ylabel("Miss rate: bona fide rejected (%)")
    ax.set_title(f"DET curve{' - ' + title if title else ''}")
    ax.grid(True, ls="--", lw=0.5, alpha=0.6)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def _roc_figure(frr: np.ndarray, far: np.ndarray, auc: float, title: str) -> Figure:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    frr_t, far_t = _thin(frr, far)
    # detecting bona fide with the score: TPR = bona fide accepted, FPR = spoof accepted
    ax.plot(far_t, 1 - frr_t, color="#1f77b4", lw=1.5, label=f"ROC (AUC {auc:.4f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=0.8, label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.005)
    ax.set_xlabel("False positive rate: spoof accepted as bona fide")
    ax.set_ylabel("True positive rate: bona fide accepted")
    ax.set_title(f"ROC{' - ' + title if title else ''}")
    ax.grid(True, ls="--", lw=0.5, alpha=0.6)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def _hist_figure(
    bona: np.ndarray, spoof: np.ndarray, threshold: float, source: str, title: str
) -> Figure:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    both = np.concatenate((bona, spoof))
    lo, hi = np.percentile(both, [0.1, 99.9])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, 81)
    for name, values in (("bonafide", bona), ("spoof", spoof)):
        ax.hist(
            np.clip(values, lo, hi),
            bins=bins,
            density=True,
            histtype="stepfilled",
            alpha=0.4,
            color=_COLORS[name],
            edgecolor=_COLORS[name],
            label=f"{name} (n={values.size:,})",
        )
    ax.axvline(
        threshold, color="black", ls="--", lw=1, label=f"threshold {threshold:.4g} ({source})"
    )
    ax.set_xlabel("score (higher = more bona fide)")
    ax.set_ylabel("density")
    ax.set_title(f"Score distribution per class{' - ' + title if title else ''}")
    ax.legend()
    fig.tight_layout()
    return fig


def _confusion_figure(summary: dict[str, Any], title: str) -> Figure:
    plt = _pyplot()
    matrix = np.asarray(summary["confusion_matrix"]["matrix"], dtype=np.int64)
    names = summary["confusion_matrix"]["labels"]
    row_frac = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    im = ax.imshow(row_frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(2):
        for j in range(2):
            color = "white" if row_frac[i, j] > 0.5 else "black"
            ax.text(
                j,
                i,
                f"{matrix[i, j]:,}\n{row_frac[i, j] * 100:.1f} %",
                ha="center",
                va="center",
                color=color,
                fontsize=12,
            )
    ax.set_xticks([0, 1], names)
    ax.set_yticks([0, 1], names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(
        f"Confusion matrix{' - ' + title if title else ''}\n"
        f"threshold {summary['threshold']:.4g} ({summary['threshold_source']}), "
        f"accuracy {summary['accuracy'] * 100:.2f} %",
        fontsize=10,
    )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    fig.tight_layout()
    return fig


def save_plots(
    out_dir: str | Path,
    labels: Any,
    scores: Any,
    *,
    threshold: float | None = None,
    title: str = "",
    score_kind: ScoreKind = "logodds",
    bonafide_value: Any = None,
    force: bool = False,
) -> list[Path]:
    """Write det.png, roc.png, score_hist.png and confusion.png into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder (created if needed).
    labels : array-like [shape=(n,)]
        ``"bonafide"`` / ``"spoof"``, or numbers with ``bonafide_value``.
    scores : array-like [shape=(n,)]
        Bona fide scores, higher = more bona fide.
    bonafide_value : optional
        Which number means bona fide when ``labels`` are numbers (``0`` for dfaudio's ids);
        numbers are never guessed (:func:`dfaudio.labels.encode_labels`).
    threshold : float, optional
        Hard-decision threshold of the confusion matrix and histogram (see
        :func:`dfaudio.evaluation.summarize`).
    title : str
        Appended to every figure title.
    score_kind : {"logodds", "raw"}
        Chooses the default threshold (see :func:`dfaudio.evaluation.summarize`).
    force : bool
        Overwrite existing PNGs.

    Returns
    -------
    list of Path
        The files written, in :data:`PLOT_NAMES` order.
    """
    out = Path(out_dir)
    for name in PLOT_NAMES:
        check_writable(out / name, force=force)
    ids = label_ids(labels, bonafide_value=bonafide_value)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    summary = summarize(ids, s, threshold=threshold, score_kind=score_kind, bonafide_value=0)
    bona, spoof = s[ids == 0], s[ids == 1]
    frr, far, _ = det_curve(bona, spoof)
    plt = _pyplot()
    figures = {
        "det.png": _det_figure(frr, far, summary["eer"], title),
        "roc.png": _roc_figure(frr, far, summary["roc_auc"], title),
        "score_hist.png": _hist_figure(
            bona, spoof, summary["threshold"], summary["threshold_source"], title
        ),
        "confusion.png": _confusion_figure(summary, title),
    }
    written: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    for name in PLOT_NAMES:
        fig = figures[name]
        with atomic_path(out / name, force=force) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        written.append(out / name)
    return written
