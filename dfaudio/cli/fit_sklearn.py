"""``dfaudio fit-sklearn``: classical baselines on a feature table."""

from __future__ import annotations

import click

from dfaudio.cli.common import echo_json, flag_names, handle_errors
from dfaudio.models.sklearn_zoo import model_names

__all__ = ["MODEL_CHOICES", "cli", "format_result"]

# The registry module imports no estimator library at import time, so ``--help`` stays instant.
MODEL_CHOICES = tuple(model_names())


@click.command(
    "fit-sklearn",
    epilog="""\b
Examples:
  dfaudio fit-sklearn --data table.csv --model xgboost --cv 10
  dfaudio fit-sklearn --data table.csv --model all --cv 5 --json
  dfaudio fit-sklearn --data la.csv --model logreg            # uses the table's train/eval split
  dfaudio fit-sklearn --data DATASET-balanced.csv --model xgboost --cv 10   # no provenance
""",
)
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Feature table, .csv or .parquet (tabulate output, DEEP-VOICE).",
)
@click.option(
    "--model",
    "models",
    required=True,
    multiple=True,
    type=click.Choice([*MODEL_CHOICES, "all"]),
    help="Model name (repeatable), or 'all'.",
)
@click.option("--cv", type=int, default=None, help="K-fold cross-validation (default 5).")
@click.option(
    "--test-size", type=float, default=None, help="Hold out this fraction once instead of K-fold."
)
@click.option(
    "--split-by",
    type=click.Choice(["auto", "group", "window", "given", "attack", "speaker"]),
    default="auto",
    show_default=True,
    help="auto: the table's split column if any, else groups (recordings/speakers) "
    "when known. 'window' splits windows of one recording across folds: the run "
    "is marked leaky. 'attack': leave one attack out (each fold tests an attack "
    "no training row has; EER per held-out attack). 'speaker': grouped folds over "
    "the table's speaker column.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--seeds",
    "n_seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Fit each model N times with model seeds SEED..SEED+N-1 on the same split (one run "
    "each) and report mean ± std; the leaderboard shows the spread.",
)
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@click.option(
    "-j", "--jobs", type=int, default=1, show_default=True, help="Folds trained in parallel."
)
@click.option(
    "--eval-data",
    "eval_data",
    multiple=True,
    metavar="NAME[:KIND]=TABLE",
    help="Also score this external table with the final model (repeatable): metrics "
    "under eval_sets in metrics.json, scores and plots in eval-NAME/. KIND: "
    "cross-corpus (default), unseen-attack or in-corpus. The table must have the "
    "training table's feature columns, window and sample rate.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print metrics as one JSON object (a list with --model all).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Also write permutation importances under the run's folds "
    "(importance.json/.png) and, for tree models, SHAP values (shap.json/.png) "
    "into the run.",
)
@handle_errors
def cli(
    data: str,
    models: tuple[str, ...],
    cv: int | None,
    test_size: float | None,
    split_by: str,
    seed: int,
    n_seeds: int,
    runs_dir: str,
    jobs: int,
    eval_data: tuple[str, ...],
    as_json: bool,
    explain: bool,
) -> None:
    """Train scikit-learn / XGBoost baselines with leakage-free validation.

    Windows of one recording never straddle train and test unless you ask for --split-by window.
    Each model writes a run directory (config, metrics.json, scores.csv, model, environment).
    """
    from dfaudio.cli.common import check_jobs, check_seed
    from dfaudio.io.files import check_folder_writable
    from dfaudio.tables import read_table
    from dfaudio.training.fit_sklearn import fit_sklearn, plan_table_splits

    check_seed(seed)
    check_jobs(jobs, note=False)  # -j 0 refused before any work
    check_folder_writable(runs_dir)  # a read-only runs dir fails now, not after the fits
    names = list(MODEL_CHOICES) if "all" in models else list(dict.fromkeys(models))
    table = read_table(data)
    if eval_data:
        from dfaudio.generalization.evalsets import prepare_eval_sets

        prepare_eval_sets(eval_data, table)  # a bad set fails here, before any fit
    plan = plan_table_splits(table, cv=cv, test_size=test_size, split_by=split_by, seed=seed)
    if not as_json:
        click.echo(f"{data}: {len(table.y)} rows, {plan.description} [{plan.split_type}]")
        for w in plan.warnings:
            click.echo(f"note: {flag_names(w, command='fit-sklearn')}", err=True)
    jobs = check_jobs(jobs, n_work=len(plan.folds), what="folds")
    out = []
    seed_runs: dict[str, list] = {}
    for name, run_seed in [(n, seed + k) for n in names for k in range(n_seeds)]:
        res = fit_sklearn(
            table,
            model=name,
            cv=cv,
            test_size=test_size,
            split_by=split_by,
            seed=run_seed,
            runs_dir=runs_dir,
            jobs=jobs,
            plan=plan,
            eval_data=list(eval_data),
            explain=explain,
        )
        m = dict(res.metrics, run_dir=str(res.run_dir))
        out.append(m)
        seed_runs.setdefault(name, []).append(res.run_dir)
        if not as_json:
            click.echo(format_result(m))
            from dfaudio.generalization.heldout import format_attack_table

            if attacks_text := format_attack_table(m):
                click.echo(attacks_text)
            for set_name, e in (m.get("eval_sets") or {}).items():
                ci = e.get("eer_ci95")
                ci_text = f" [{100 * ci[0]:.1f}-{100 * ci[1]:.1f}]" if ci else ""
                click.echo(
                    f"{'':14} {set_name} ({e['kind']}): EER {100 * e['eer']:.2f}%{ci_text}  "
                    f"acc {100 * e['accuracy']:.2f}%  ({e['n_bonafide']} bona / "
                    f"{e['n_spoof']} spoof)"
                )
            for w in m.get("warnings", []):
                if w not in plan.warnings:
                    click.echo(f"note: {name}: {flag_names(w, command='fit-sklearn')}", err=True)
    if n_seeds > 1:
        from dfaudio.runs.seeds import format_seed_group, mark_seed_group

        groups = {name: mark_seed_group(dirs) for name, dirs in seed_runs.items()}
        if as_json:
            echo_json({"runs": out, "seed_groups": groups})
            return
        for name, group in groups.items():
            click.echo(format_seed_group(name, group))
        return
    if as_json:
        echo_json(out[0] if len(out) == 1 else out)


def format_result(m: dict) -> str:
    """Lines per run: pooled accuracy and EER with their 95 % intervals, AUC, run dir; the fold
    mean ± std of K-fold runs after them (``metrics.json`` schema 2, see dfaudio.runs.record)."""

    def pm(key: str) -> str:
        ci = m.get(f"{key}_ci95")
        text = f"{100 * m[key]:6.2f}%"
        if ci and None not in ci:
            text += f" [{100 * ci[0]:.2f}, {100 * ci[1]:.2f}]"
        return text

    line = f"{m['model']:<14} acc {pm('accuracy')}  EER {pm('eer')}  AUC {m['roc_auc']:.4f}"
    if m.get("eer_fold_mean") is not None:
        line += (
            f"\n{'':14} folds: acc {100 * m['accuracy_fold_mean']:.2f} ± "
            f"{100 * m['accuracy_fold_std']:.2f}  EER {100 * m['eer_fold_mean']:.2f} ± "
            f"{100 * m['eer_fold_std']:.2f}"
        )
    out = f"{line}\n{'':14} -> {m['run_dir']}"
    if ex := m.get("explain"):
        out += f"\n{'':14} top features (permutation): {', '.join(ex['top_permutation'])}"
        if ex.get("top_shap"):
            out += f"\n{'':14} top features (SHAP):        {', '.join(ex['top_shap'])}"
    return out
