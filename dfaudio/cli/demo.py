"""``dfaudio demo``: the main job on bundled data, end to end, in about a minute."""

from __future__ import annotations

import click

from dfaudio.cli.common import handle_errors

#: The models the demo trains (fast on 2 cores, diverse families).
DEMO_MODELS = ("logreg", "lda", "rbf-svm", "random-forest", "xgboost")
#: A real clip and its vocoded copy share the LJ Speech utterance id.
DEMO_GROUP_REGEX = r"^(LJ\d+-\d+)"


def demo_data_dir() -> str:
    """Folder of the bundled demo audio (``real/`` and ``fake/``)."""
    from importlib.resources import files

    return str(files("dfaudio") / "data" / "demo")


@click.command(
    "demo",
    epilog="""\b
Examples:
  dfaudio demo                    # writes ./dfaudio-demo/
  dfaudio demo --out /tmp/d --force
""",
)
@click.option("--out", "out_dir", default="dfaudio-demo", show_default=True,
              type=click.Path(file_okay=False), help="Folder for the table and runs.")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace an earlier demo in --out.")
@click.option("-j", "--jobs", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@handle_errors
def cli(out_dir: str, force: bool, jobs: int, seed: int) -> None:
    """Bundled real + WaveFake audio -> feature table -> 5 models, grouped CV -> leaderboard.

    The audio is 5 LJ Speech utterances (public domain) and their WaveFake vocoder copies
    (CC BY-SA 4.0); see dfaudio/data/demo/ATTRIBUTION.md. Each real clip and its fake copy form
    one group, so no utterance is on both sides of a fold.
    """
    import shutil
    import time
    from pathlib import Path

    from dfaudio.cli.tabulate import format_summary
    from dfaudio.datasets import describe, load_manifest
    from dfaudio.exceptions import ParameterError
    from dfaudio.features import enable_numba_cache
    from dfaudio.leaderboard import collect, render
    from dfaudio.tables import validate_table
    from dfaudio.tabular import tabulate, write_table
    from dfaudio.training.fit_sklearn import fit_sklearn
    from dfaudio.training.splits import plan_splits

    t0 = time.perf_counter()
    out = Path(out_dir)
    table_path, runs_dir = out / "table.csv", out / "runs"
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ParameterError(f"{out}: already exists; pass --force to replace it or --out DIR")
        for p in (table_path, runs_dir):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    enable_numba_cache()

    data = demo_data_dir()
    manifest = load_manifest([data], layout="folders", group_regex=DEMO_GROUP_REGEX)
    click.echo(f"[1/3] tabulate  bundled demo audio: {describe(manifest)}")
    result = tabulate(manifest, jobs=jobs, progress=False)
    for path, reason, detail in result.failures:
        click.echo(f"warning: {path}: {reason}: {detail}", err=True)
    table = result.table
    write_table(table, table_path, force=True)
    result.summary.update(output=str(table_path), schema="dfaudio", short_policy="whole")
    click.echo(format_summary(result.summary))

    ft = validate_table(table, source=str(table_path))
    n_groups = len(set(ft.groups))
    cv = min(5, n_groups)
    plan = plan_splits(ft.y, groups=ft.groups, cv=cv, seed=seed)
    click.echo(f"[2/3] fit       {len(DEMO_MODELS)} models, {plan.description} [{plan.split_type}]")
    for name in DEMO_MODELS:
        res = fit_sklearn(
            ft, model=name, cv=cv, seed=seed, runs_dir=runs_dir, jobs=1, plan=plan,
            data_name="demo",
        )  # fmt: skip
        m = res.metrics
        click.echo(
            f"  {name:<14} acc {100 * m['accuracy']:6.2f}%  EER {100 * m['eer']:6.2f}%  "
            f"AUC {m['roc_auc']:.3f}"
        )
    click.echo("[3/3] compare   (dfaudio compare " + str(runs_dir) + ")")
    click.echo(render(collect(runs_dir), "table"))
    click.echo(
        f"\ntable: {table_path}\nruns:  {runs_dir}/\n"
        f"done in {time.perf_counter() - t0:.0f} s. Next: dfaudio compare {runs_dir} "
        "--format markdown"
    )
