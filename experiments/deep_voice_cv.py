"""Reproduce the DEEP-VOICE headline: 10-fold CV of every baseline on DATASET-balanced.csv.

Bird & Lotfi (2023) report 99.3 % mean 10-fold accuracy for XGBoost on this table. The table has no
file or speaker column, so the folds are stratified over rows: windows of one recording sit in
train and test, and the figures are an upper bound on what a recording- or speaker-disjoint split
would give (see the grouped runs on tables that dfaudio builds).

Usage::

    python experiments/deep_voice_cv.py [--data PATH] [--cv 10] [--models all] [--jobs 2]
        [--runs-dir experiments/runs/deep-voice]

Prints a Markdown table of mean ± std over folds of accuracy and EER (what the paper reports),
the EER of all held-out scores pooled with its 95 % group-bootstrap interval, and the pooled ROC
AUC, and writes one run directory per model (so ``dfaudio compare experiments/runs/deep-voice``
ranks them).
``--models`` takes a comma-separated list, e.g. ``--models gradient-boosting,adaboost``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dfaudio.models.sklearn_zoo import model_names
from dfaudio.tables import read_table
from dfaudio.training.fit_sklearn import fit_sklearn
from dfaudio.training.splits import plan_splits

PAPER_XGBOOST_ACC = 0.993
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/deep-voice/DATASET-balanced.csv"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--cv", type=int, default=10)
    ap.add_argument("--models", default="all", help="comma-separated names or 'all'")
    ap.add_argument("--jobs", type=int, default=2, help="folds in parallel")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs-dir", default="experiments/runs/deep-voice")
    args = ap.parse_args()

    table = read_table(args.data)
    names = model_names() if args.models == "all" else args.models.split(",")
    plan = plan_splits(table.y, groups=table.groups, cv=args.cv, seed=args.seed)
    print(f"{args.data}: {len(table.y)} rows; {plan.description} [{plan.split_type}]")
    rows = []
    for name in names:
        t0 = time.perf_counter()
        res = fit_sklearn(
            table,
            model=name,
            cv=args.cv,
            seed=args.seed,
            runs_dir=args.runs_dir,
            jobs=args.jobs,
            plan=plan,
            data_name="DEEP-VOICE DATASET-balanced.csv",
        )
        m = res.metrics
        rows.append((name, m, time.perf_counter() - t0))
        acc, e = m["accuracy_fold_mean"], m["eer_fold_mean"]
        print(f"  {name:<17} acc {100 * acc:.2f}  EER {100 * e:.2f}", flush=True)
    rows.sort(key=lambda r: r[1]["eer_fold_mean"])
    print()
    print(
        "| model | accuracy % (fold mean ± std) | EER % (fold mean ± std) "
        "| pooled EER % [95 % CI] | pooled ROC AUC | time s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, m, secs in rows:
        lo, hi = m["eer_ci95"]
        print(
            f"| {name} | {pct(m, 'accuracy')} | {pct(m, 'eer')} "
            f"| {100 * m['eer']:.2f} [{100 * lo:.2f}, {100 * hi:.2f}] "
            f"| {m['roc_auc']:.4f} | {secs:.0f} |"
        )
    xgb = next((m for n, m, _ in rows if n == "xgboost"), None)
    if xgb is not None:
        acc = xgb["accuracy_fold_mean"]
        print(
            f"\nXGBoost: {100 * acc:.2f} % mean {args.cv}-fold accuracy vs "
            f"{100 * PAPER_XGBOOST_ACC:.1f} % in Bird & Lotfi (2023): "
            f"{100 * (acc - PAPER_XGBOOST_ACC):+.2f} points."
        )


def pct(m: dict, key: str) -> str:
    """``mean ± std`` over folds of a metric, in percent."""
    return f"{100 * m[f'{key}_fold_mean']:.2f} ± {100 * m[f'{key}_fold_std']:.2f}"


if __name__ == "__main__":
    main()
