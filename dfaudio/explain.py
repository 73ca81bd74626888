"""Why did a classical run decide that? Importances, SHAP values, per-file contributions, timelines.

Per run (``fit-sklearn --explain``), written into the run directory:

- ``importance.json`` / ``importance.png``: **permutation importance under the run's own folds**
  (every model). In each held-out fold, each feature column is shuffled ``n_repeats`` times and the
  drop of the fold model's ROC AUC (spoof = positive) is recorded; the mean and standard deviation
  over folds x repeats rank the features. Shuffling happens within the held-out rows only, so the
  numbers carry the same grouping (no recording on both sides) as the run's EER.
- ``shap.json`` / ``shap.png`` (tree models: tree, random-forest, extra-trees,
  gradient-boosting, hist-gb, xgboost; needs the ``explain`` extra, the ``shap`` package): mean
  |SHAP value| per feature of the saved model on up to ``max_rows`` training rows, and the usual
  beeswarm summary. SHAP values are in the model's raw output for the spoof class (log-odds for
  XGBoost and the gradient-boosting models, probability for forests and trees; ``shap.json``
  says which).

Every classical run also keeps ``feature_reference.json`` (mean and standard deviation of each
training column), which ``predict --explain`` needs:

- :func:`file_contributions`: for each feature, how much the file's bona fide score moves when that
  column is replaced by its training mean in every window (the score is the mean over windows;
  positive = the feature's value pushes the file toward bona fide, negative toward spoof). One
  model call per feature on all windows; model-agnostic, in the units of the score (log-odds for
  probabilistic models).
- :func:`plot_timeline`: the per-window score of a file over time against the run's threshold
  (where in the clip the model hears a fake).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dfaudio.exceptions import DataError, ParameterError, needs_extra

__all__ = [
    "IMPORTANCE_JSON",
    "IMPORTANCE_PNG",
    "REFERENCE_JSON",
    "SHAP_JSON",
    "SHAP_PNG",
    "TREE_MODELS",
    "explain_file",
    "explain_run",
    "feature_reference",
    "file_contributions",
    "permutation_importance_folds",
    "plot_importance",
    "plot_shap",
    "plot_timeline",
    "read_reference",
    "shap_summary",
    "write_reference",
]

IMPORTANCE_JSON = "importance.json"
IMPORTANCE_PNG = "importance.png"
SHAP_JSON = "shap.json"
SHAP_PNG = "shap.png"
REFERENCE_JSON = "feature_reference.json"
#: Model classes that ``shap.TreeExplainer`` explains (by class name).
TREE_MODELS = (
    "DecisionTreeClassifier",
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "GradientBoostingClassifier",
    "HistGradientBoostingClassifier",
    "XGBClassifier",
)


def _set_of(column: str) -> str:
    from dfaudio.features.sets import prefixes
    from dfaudio.schema import DEEP_VOICE_FEATURES

    if column in DEEP_VOICE_FEATURES:
        return "deep-voice"
    return next((n for p, n in prefixes().items() if column.startswith(p)), "?")


def _write_json(path: Path, obj: Any) -> None:
    import json

    from dfaudio.io.files import atomic_path

    with atomic_path(path, force=True) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2) + "\n")


# --------------------------------------------------------------------------------------------
# Per run


def feature_reference(X: np.ndarray, columns: Sequence[str]) -> dict[str, Any]:
    """Mean and standard deviation of each training column (what ``predict --explain`` needs)."""
    return {
        "columns": list(columns),
        "mean": [float(v) for v in np.mean(X, axis=0)],
        "std": [float(v) for v in np.std(X, axis=0)],
    }


def write_reference(run_dir: str | Path, X: np.ndarray, columns: Sequence[str]) -> Path:
    """Write :data:`REFERENCE_JSON` into a run (replacing what dfaudio wrote there)."""
    path = Path(run_dir) / REFERENCE_JSON
    _write_json(path, feature_reference(X, columns))
    return path


def read_reference(run_dir: str | Path, columns: Sequence[str]) -> np.ndarray:
    """Training means of ``columns`` from a run's :data:`REFERENCE_JSON`.

    Raises
    ------
    DataError
        The run has no reference (fitted before dfaudio kept one) or it lacks a column.
    """
    import json

    path = Path(run_dir) / REFERENCE_JSON
    if not path.is_file():
        raise DataError(
            f"no {REFERENCE_JSON} (the run was fitted by an older dfaudio); re-run fit-sklearn "
            "to explain its predictions",
            Path(run_dir),
        )
    ref = json.loads(path.read_text())
    pos = {c: i for i, c in enumerate(ref["columns"])}
    missing = [c for c in columns if c not in pos]
    if missing:
        raise DataError(f"{REFERENCE_JSON} lacks column(s) {missing[:3]}", Path(run_dir))
    return np.array([ref["mean"][pos[c]] for c in columns], dtype=np.float64)


def permutation_importance_folds(
    ests: Sequence[Any],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    X: np.ndarray,
    y: np.ndarray,
    columns: Sequence[str],
    *,
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int = 5000,
) -> dict[str, Any]:
    """Permutation importance of every column, each fold's model on its own held-out rows.

    Parameters
    ----------
    ests : sequence of estimators
        The fitted model of each fold (spoof = class 1).
    folds : sequence of (train_idx, test_idx)
        The run's folds.
    X : np.ndarray [shape=(n_rows, n_features)]
    y : np.ndarray [shape=(n_rows,)]
        0 bona fide, 1 spoof.
    columns : sequence of str
    n_repeats : int
        Shuffles per column and fold.
    seed : int
    max_rows : int
        Held-out rows used per fold at most (a seeded subsample; the cost is
        ``n_features * n_repeats`` model calls per fold).

    Returns
    -------
    dict
        ``features``: one entry per column (``feature``, ``set``, ``mean``, ``std``,
        ``fold_means``), most important first; the metric, repeats and folds used.
    """
    from sklearn.inspection import permutation_importance

    rng = np.random.default_rng(seed)
    per_fold, used = [], []
    for k, ((_tr, te), est) in enumerate(zip(folds, ests, strict=True)):
        if len(np.unique(y[te])) < 2:
            continue  # ROC AUC needs both classes in the held-out rows
        rows = te if len(te) <= max_rows else np.sort(rng.choice(te, max_rows, replace=False))
        res = permutation_importance(
            est,
            X[rows],
            y[rows],
            scoring="roc_auc",
            n_repeats=n_repeats,
            random_state=seed,
            n_jobs=1,
        )
        per_fold.append(res.importances)  # (n_features, n_repeats)
        used.append(k)
    if not per_fold:
        raise DataError("no held-out fold holds both classes; permutation importance needs them")
    allv = np.concatenate(per_fold, axis=1)
    mean, std = allv.mean(axis=1), allv.std(axis=1)
    fold_means = np.stack([p.mean(axis=1) for p in per_fold], axis=1)
    order = np.argsort(-mean, kind="stable")
    return {
        "method": "permutation importance within each held-out fold (the run's own folds)",
        "metric": "drop in ROC AUC (spoof = positive) when the column is shuffled",
        "n_repeats": n_repeats,
        "folds_used": [k + 1 for k in used],
        "max_rows_per_fold": max_rows,
        "features": [
            {
                "feature": columns[i],
                "set": _set_of(columns[i]),
                "mean": float(mean[i]),
                "std": float(std[i]),
                "fold_means": [float(v) for v in fold_means[i]],
            }
            for i in order
        ],
    }


def _tree_model(est: Any) -> tuple[Any, Callable[[np.ndarray], np.ndarray]] | None:
    """``(tree model, transform)`` when ``est`` (maybe a Pipeline) ends in a tree model."""
    steps = getattr(est, "steps", None)
    model = steps[-1][1] if steps else est
    if type(model).__name__ not in TREE_MODELS:
        return None
    if steps and len(steps) > 1:
        head = est[:-1]
        return model, head.transform
    return model, lambda X: X


def shap_summary(
    est: Any, X: np.ndarray, columns: Sequence[str], *, max_rows: int = 500, seed: int = 0
) -> tuple[dict[str, Any], np.ndarray, np.ndarray] | None:
    """Mean |SHAP| per column of a tree model on (up to ``max_rows``) rows of ``X``.

    Returns
    -------
    (summary, shap_values, rows) or None
        ``None`` when the model is not a tree model. ``shap_values [shape=(n, n_features)]`` is
        for the spoof class in the model's raw output (``summary["output"]``).

    Raises
    ------
    ParameterError
        The ``shap`` package is missing (extra ``explain``).
    """
    found = _tree_model(est)
    if found is None:
        return None
    try:
        import shap
    except ImportError:
        raise needs_extra("SHAP values", "shap", "explain") from None
    model, transform = found
    rng = np.random.default_rng(seed)
    idx = np.arange(len(X)) if len(X) <= max_rows else rng.choice(len(X), max_rows, replace=False)
    rows = np.asarray(transform(X[np.sort(idx)]), dtype=np.float64)
    explainer = shap.TreeExplainer(model)
    sv = explainer.shap_values(rows)
    if isinstance(sv, list):  # older shap: one array per class
        sv = sv[1]
    sv = np.asarray(sv, dtype=np.float64)
    if sv.ndim == 3:  # (n, features, classes)
        sv = sv[..., 1]
    mean_abs = np.abs(sv).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    summary = {
        "method": "shap.TreeExplainer on the saved model",
        "model": type(model).__name__,
        "output": str(getattr(explainer, "model_output", "raw")) + " (spoof class)",
        "n_rows": int(len(rows)),
        "features": [
            {
                "feature": columns[i],
                "set": _set_of(columns[i]),
                "mean_abs": float(mean_abs[i]),
                "mean": float(sv[:, i].mean()),
            }
            for i in order
        ],
    }
    return summary, sv, rows


def plot_importance(info: dict[str, Any], path: str | Path, *, top: int = 20) -> Path:
    """Bar chart of the ``top`` permutation importances (mean +- std over folds x repeats)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dfaudio.io.files import atomic_path

    feats = info["features"][:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(feats) + 1.4))
    ax.barh(
        [f["feature"] for f in feats],
        [f["mean"] for f in feats],
        xerr=[f["std"] for f in feats],
        color="#4477aa",
        ecolor="#999999",
    )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("drop in ROC AUC when shuffled (held-out folds)")
    ax.set_title(f"Permutation importance, top {len(feats)}", fontsize=10)
    fig.tight_layout()
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(path)


def plot_shap(sv: np.ndarray, rows: np.ndarray, columns: Sequence[str], path: str | Path) -> Path:
    """shap's beeswarm summary (top 20 columns) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    from dfaudio.io.files import atomic_path

    plt.figure()
    shap.summary_plot(sv, rows, feature_names=list(columns), max_display=20, show=False)
    plt.gca().set_xlabel("SHAP value (model's raw output): > 0 pushes toward spoof")
    fig = plt.gcf()
    fig.set_size_inches(8, 7)
    fig.tight_layout()
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)


def explain_run(
    run_dir: str | Path,
    *,
    ests: Sequence[Any],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    final: Any,
    X: np.ndarray,
    y: np.ndarray,
    columns: Sequence[str],
    seed: int = 0,
    n_repeats: int = 5,
) -> dict[str, Any]:
    """Write the importance (every model) and SHAP (tree models) files into a run.

    Returns
    -------
    dict
        What was written, for ``metrics.json`` (``explain`` entry): file names, the top five
        features of each method, and why SHAP was skipped when it was.
    """
    d = Path(run_dir)
    imp = permutation_importance_folds(ests, folds, X, y, columns, n_repeats=n_repeats, seed=seed)
    _write_json(d / IMPORTANCE_JSON, imp)
    plot_importance(imp, d / IMPORTANCE_PNG)
    out: dict[str, Any] = {
        "importance": IMPORTANCE_JSON,
        "importance_plot": IMPORTANCE_PNG,
        "top_permutation": [f["feature"] for f in imp["features"][:5]],
    }
    res = shap_summary(final, X, columns, seed=seed)
    if res is None:
        steps = getattr(final, "steps", None)
        name = type(steps[-1][1] if steps else final).__name__
        out["shap"] = f"not computed: {name} is not a tree model"
    else:
        summary, sv, rows = res
        _write_json(d / SHAP_JSON, summary)
        plot_shap(sv, rows, columns, d / SHAP_PNG)
        out.update(shap=SHAP_JSON, shap_plot=SHAP_PNG)
        out["top_shap"] = [f["feature"] for f in summary["features"][:5]]
    return out


# --------------------------------------------------------------------------------------------
# Per file


def file_contributions(
    score_fn: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    reference: np.ndarray,
    columns: Sequence[str],
    *,
    top: int = 5,
    batch: int = 256,
) -> list[dict[str, Any]]:
    """The ``top`` columns that move a file's score most (replace-by-training-mean contributions).

    Parameters
    ----------
    score_fn : callable
        Bona fide scores of rows ``[shape=(n, n_features)] -> (n,)``.
    X : np.ndarray [shape=(n_windows, n_features)]
        The file's feature rows.
    reference : np.ndarray [shape=(n_features,)]
        Training means.
    columns : sequence of str
    top : int
    batch : int
        Columns replaced per model call (bounds memory for wide sets such as ComParE).

    Returns
    -------
    list of dict
        ``feature``, ``set``, ``value`` (mean over windows), ``reference``, ``contribution``
        (mean score minus the mean score with the column at its reference; positive = toward
        bona fide) and ``toward`` ("bonafide" or "spoof"), largest ``|contribution|`` first.
    """
    X = np.asarray(X, dtype=np.float64)
    n, f = X.shape
    base = float(np.mean(score_fn(X)))
    contrib = np.empty(f)
    for j0 in range(0, f, batch):
        js = np.arange(j0, min(f, j0 + batch))
        Z = np.repeat(X[None, :, :], len(js), axis=0)  # (b, n, f)
        Z[np.arange(len(js)), :, js] = reference[js][:, None]
        s = np.asarray(score_fn(Z.reshape(-1, f)), dtype=np.float64).reshape(len(js), n)
        contrib[js] = base - s.mean(axis=1)
    order = np.argsort(-np.abs(contrib), kind="stable")[:top]
    return [
        {
            "feature": columns[i],
            "set": _set_of(columns[i]),
            "value": float(X[:, i].mean()),
            "reference": float(reference[i]),
            "contribution": float(contrib[i]),
            "toward": "bonafide" if contrib[i] > 0 else "spoof",
        }
        for i in order
    ]


def plot_timeline(
    items: Sequence[dict[str, Any]], path: str | Path, *, threshold: float, force: bool = False
) -> Path:
    """Per-window score of each file over time against the threshold, one panel per file.

    Parameters
    ----------
    items : sequence of dict
        ``file``, ``windows`` (``start_s``, ``score``), ``duration_s`` and ``window_s``.
    path : str or Path
        The PNG to write (atomically; not overwritten without ``force``).
    threshold : float
        Verdict threshold (spoof below it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dfaudio.io.files import atomic_path

    if not items:
        raise ParameterError("nothing to plot")
    fig, axes = plt.subplots(
        len(items), 1, figsize=(8, 1.9 * len(items) + 0.6), squeeze=False, sharey=False
    )
    for ax, it in zip(axes[:, 0], items, strict=True):
        starts = np.array([w["start_s"] for w in it["windows"]], dtype=float)
        scores = np.array([w["score"] for w in it["windows"]], dtype=float)
        width = float(it.get("window_s") or 1.0)
        ends = starts + width
        xs = np.ravel(np.column_stack([starts, ends]))
        ys = np.repeat(scores, 2)
        ax.plot(xs, ys, color="#333333", lw=1.5, label="window score")
        ax.axhline(threshold, color="#cc3311", ls="--", lw=1, label=f"threshold {threshold:.3g}")
        for s0, s1, sc in zip(starts, ends, scores, strict=True):
            if sc < threshold:
                ax.axvspan(s0, s1, color="#cc3311", alpha=0.15, lw=0)
        lo = min(float(scores.min()), threshold)
        hi = max(float(scores.max()), threshold)
        pad = 0.1 * (hi - lo) + 0.1
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(0, max(float(it.get("duration_s") or 0.0), float(ends.max())))
        ax.set_ylabel("score")
        ax.set_title(f"{Path(str(it['file'])).name}: {it.get('verdict', '')}", fontsize=9)
    axes[-1, 0].set_xlabel("time (s); shaded: windows scored spoof (score < threshold)")
    axes[0, 0].legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    with atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(path)


def explain_file(
    predictor: Any, path: str | Path, *, sr: int | None = None, top: int = 5
) -> list[dict[str, Any]]:
    """Top contributing features of one file under a classical run (``predict --explain``).

    The file's feature rows are computed as :meth:`Predictor.score_file` computes them (same
    feature sets, window and resampling); see :func:`file_contributions`.

    Raises
    ------
    ParameterError
        The run is not a classical (``fit-sklearn``) run.
    DataError
        The run has no :data:`REFERENCE_JSON`.
    AudioError
        The file cannot be used.
    """
    from dfaudio.exceptions import AudioError
    from dfaudio.io.audio import info

    backend = predictor.backend
    if getattr(backend, "kind", None) != "sklearn" or not hasattr(backend, "file_features"):
        raise ParameterError("explain needs a classical run (fit-sklearn); this one is not")
    if top < 1:
        raise ParameterError(f"top must be at least 1, got {top}")
    ref = read_reference(predictor.run_dir, backend.columns)
    try:
        native: int | None = info(str(path))[0]
    except AudioError:
        native = None  # file_features raises the proper one-line error
    target = sr if sr is not None else backend.sr
    resample_to = target if target is not None and target != native else None
    X, _res = backend.file_features(str(path), sr=resample_to)
    return file_contributions(backend.scores, X, ref, backend.columns, top=top)
