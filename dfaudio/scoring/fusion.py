"""Score-level fusion of several runs (``dfaudio fuse``).

Every member run scores the same labelled dev files (classical and deep runs alike, through
:class:`~dfaudio.scoring.predictor.Predictor`); a prior-weighted logistic regression of the
label on the members' scores (:func:`dfaudio.metrics.calibration.fit_fusion`) gives one fused
log-likelihood ratio per file. The fused run reports **out-of-fold** fused scores: the dev files
are cut into grouped folds and each fold is fused with weights learned on the other folds, so
the leaderboard ranks the fusion on files its weights never saw, like any other run. The weights
stored in ``fusion.json`` are then learned on all dev files.

The dev files must be held out from every member's training data (use each member's eval or a
separate dev set): otherwise the members' scores are optimistic and the fusion trusts the
over-fitted member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.exceptions import AudioError, DataError, ParameterError

__all__ = ["FUSION_FILE", "FusionBackend", "fuse_runs", "load_backend", "score_with_runs"]

#: File of a fusion run holding the weights (plain JSON).
FUSION_FILE = "fusion.json"


def score_with_runs(
    run_dirs: Sequence[str | Path],
    files: Sequence[str],
    *,
    trust: bool = False,
    sr: int | None = None,
    warn: Any = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Score every file with every run -> (matrix [n_ok, n_runs], mask of files kept, names).

    A file that any member cannot score is dropped (one ``warn`` call each).
    """
    from dfaudio.scoring.predictor import load_predictor

    predictors = [load_predictor(r, trust=trust) for r in run_dirs]
    names = [Path(r).name for r in run_dirs]
    rows: list[list[float]] = []
    keep = np.zeros(len(files), dtype=bool)
    for i, path in enumerate(files):
        try:
            rows.append([p.score_file(path, sr=sr).score for p in predictors])
            keep[i] = True
        except AudioError as exc:
            if warn is not None:
                warn(str(exc))
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(predictors)), keep, names


def _folds(labels: np.ndarray, groups: np.ndarray, cv: int, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(pd.unique(groups))
    if n_groups < cv:
        raise DataError(
            f"the dev data has {n_groups} groups, fewer than the {cv} folds of the fusion "
            "cross-validation (use --cv 2 or more data)"
        )
    fold = np.full(labels.size, -1)
    splitter = StratifiedGroupKFold(n_splits=cv, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(splitter.split(np.zeros(labels.size), labels, groups)):
        fold[test] = k
    return fold


def fuse_runs(
    run_dirs: Sequence[str | Path],
    data: Sequence[str | Path],
    *,
    runs_dir: str | Path = "runs",
    cv: int = 5,
    seed: int = 0,
    label_map: Mapping[str, str] | None = None,
    sr: int | None = None,
    trust: bool = False,
    data_name: str | None = None,
    warn: Any = None,
) -> Any:
    """Learn a logistic-regression fusion of ``run_dirs`` on labelled dev audio; write a run.

    Parameters
    ----------
    run_dirs : sequence of path
        Two or more finished runs.
    data : sequence of path
        Labelled dev audio (folders, corpora, CSV lists: :func:`dfaudio.datasets.load_manifest`).
    runs_dir : path
        Where the fusion run is written.
    cv : int
        Grouped folds of the out-of-fold fused scores that the run reports.
    seed : int
    label_map, sr, trust
        As for ``predict``.
    data_name : str, optional
        Name of the data on the leaderboard (default: the dev folders' names).

    Returns
    -------
    dfaudio.runs.FitResult
    """
    from dfaudio.datasets import load_manifest
    from dfaudio.labels import score_to_p_fake
    from dfaudio.metrics.calibration import fit_fusion
    from dfaudio.runs import ModelInfo, RunInfo, RunWriter, build_record, new_run_dir, slug
    from dfaudio.runs.store import load_json

    if len(run_dirs) < 2:
        raise ParameterError("fusion needs at least two runs")
    if cv < 2:
        raise ParameterError(f"cv must be >= 2, got {cv}")
    manifest = load_manifest([str(p) for p in data], label_map=label_map)
    files = manifest["path"].astype(str).tolist()
    X, keep, names = score_with_runs(run_dirs, files, trust=trust, sr=sr, warn=warn)
    kept = manifest[keep].reset_index(drop=True)
    labels = kept["label"].astype(str).to_numpy()
    groups = (
        kept["group"].astype(str).to_numpy() if "group" in kept.columns else np.asarray(files)[keep]
    )
    fold = _folds(labels, groups, cv, seed)
    fused = np.full(labels.size, np.nan)
    for k in range(cv):
        test = fold == k
        model_k = fit_fusion(labels[~test], X[~test], names=names)
        fused[test] = model_k.transform(X[test])
    final = fit_fusion(labels, X, names=names)

    members = []
    for r in run_dirs:
        m = load_json(Path(r) / "metrics.json")
        members.append(
            {
                "run": str(r),
                "path": str(Path(r).resolve()),
                "model": m.get("model"),
                "kind": m.get("kind"),
            }
        )
    model_name = "fusion(" + "+".join(str(m["model"]) for m in members) + ")"
    name = data_name or "+".join(Path(p).name for p in data)
    run_dir = new_run_dir(runs_dir, slug(f"fusion-{len(members)}-{name}"))
    writer = RunWriter(run_dir)
    config = {
        "kind": "fusion",
        "model": model_name,
        "members": members,
        "data": [str(p) for p in data],
        "cv": cv,
        "seed": seed,
    }
    writer.config(config)
    writer.environment(seed=seed)
    scores_df = pd.DataFrame(
        {
            "file": kept["path"].astype(str).to_numpy(),
            "window": -1,
            "group": groups,
            "label": labels,
            "score": fused,
            "p_fake": score_to_p_fake(fused),
            "fold": fold,
        }
    )
    for i in range(len(names)):
        scores_df[f"member_{i + 1}"] = X[:, i]
    writer.scores(scores_df)
    from dfaudio.io.files import write_json

    write_json(run_dir / FUSION_FILE, {**final.to_dict(), "members": members}, force=True)
    writer.model_info(
        ModelInfo(
            kind="fusion",
            format="json",
            file=FUSION_FILE,
            model=model_name,
            trained_on=f"all {labels.size} dev files of {name}",
            output="llr = weights . member scores + offset (member scores as each run gives them)",
        )
    )
    info = RunInfo(
        kind="fusion",
        model=model_name,
        features=f"scores of {len(members)} runs",
        data=name,
        split_type="grouped",
        split=f"{cv}-fold grouped CV of the fusion weights on the dev files",
        eval_name="cv",
        n_rows=int(labels.size),
        n_folds=cv,
        seed=seed,
        warnings=[
            "fusion: the member runs' scores of the dev files are only honest if no member "
            "was trained on them"
        ],
    )
    extra = {
        "members": members,
        "fusion": final.to_dict(),
        "n_failed": int((~keep).sum()),
        "member_eer": _member_eers(labels, X, names),
    }
    record = build_record(info, scores_df, extra=extra)
    result = writer.finish(
        record, scores_df, plot_title=f"{model_name} ({name})", config=config, model=final
    )
    return result


def _member_eers(labels: np.ndarray, X: np.ndarray, names: list[str]) -> dict[str, float]:
    from dfaudio.evaluation import eer

    return {n: float(eer(labels, X[:, i])[0]) for i, n in enumerate(names)}


class FusionBackend:
    """``predict`` for a fusion run: every member scores the file, the weights fuse the scores.

    The fusion works on file scores (each member's mean window score), so a file gets one
    "window" spanning it; ``--stream`` windows are the longest member window.
    """

    kind = "fusion"
    sr = None
    rate_reason = "each member resamples to its own rate"

    def __init__(self, members: list[Any], weights: list[float], offset: float) -> None:
        self.members = members
        self.weights = np.asarray(weights, dtype=np.float64)
        self.offset = float(offset)
        self.window_s = max(float(m.window_s) for m in members)

    def _fuse(self, results: list[Any]) -> Any:
        from dfaudio.scoring.backends import WindowScores

        scores = np.array([r.score for r in results], dtype=np.float64)
        fused = float(scores @ self.weights + self.offset)
        notes = [
            f"{m.model}: {n}" for m, r in zip(self.members, results, strict=True) for n in r.notes
        ]
        return WindowScores(
            scores=np.array([fused]),
            starts_s=np.array([0.0]),
            duration_s=float(results[0].duration_s),
            notes=notes,
        )

    def score_file(self, path: str, *, sr: int | None = None) -> Any:
        """One fused score for the file."""
        return self._fuse([m.score_file(path, sr=sr) for m in self.members])

    def score_array(self, y: np.ndarray, sr: int) -> Any:
        """One fused score for the signal."""
        return self._fuse([m.score_array(y, sr) for m in self.members])


def load_backend(
    run_dir: Path, config: dict[str, Any], metrics: dict[str, Any], *, trust: bool
) -> FusionBackend:
    """Load a fusion run: its weights (``fusion.json``) and every member run's predictor."""
    from dfaudio.runs.store import load_json
    from dfaudio.scoring.predictor import load_predictor

    spec = load_json(Path(run_dir) / FUSION_FILE)
    try:
        weights = [float(w) for w in spec["weights"]]
        offset = float(spec["offset"])
        members = spec["members"]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"malformed {FUSION_FILE}: {exc}", run_dir) from None
    if len(members) != len(weights):
        raise DataError(
            f"{FUSION_FILE}: {len(members)} members but {len(weights)} weights", run_dir
        )
    predictors = []
    for m in members:
        path = Path(str(m.get("path") or m.get("run")))
        if not path.is_dir():
            raise DataError(f"fusion member run not found: {path}", run_dir)
        predictors.append(load_predictor(path, trust=trust))
    return FusionBackend(predictors, weights, offset)
