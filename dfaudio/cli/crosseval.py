"""``dfaudio crosseval``: the train x test generalization matrix over several corpora."""

from __future__ import annotations

import click

from dfaudio.cli.common import handle_errors, parse_label_map_option

__all__ = ["FORMATS", "cli"]

# Kept here so that --help stays instant (test_repo checks the registry agrees).
FORMATS = ("table", "markdown", "csv", "json")


@click.command(
    "crosseval",
    epilog="""\b
Examples:
  dfaudio crosseval mh=../shared/data/wavefake-melgan-mh cf=../shared/data/codecfake-demo
  dfaudio crosseval la=la.csv itw=itw.csv dv=DATASET-balanced.csv --model logreg --model xgboost
  dfaudio crosseval a=a.csv b=b.csv --format markdown -o matrix/    # + CSV, JSON, heatmap PNG
""",
)
@click.argument("datasets", nargs=-1, required=True, metavar="NAME=TABLE|AUDIO...")
@click.option(
    "--model",
    "models",
    multiple=True,
    default=("logreg",),
    show_default=True,
    help="scikit-learn / XGBoost model (repeatable): one matrix each.",
)
@click.option(
    "--cv",
    type=int,
    default=5,
    show_default=True,
    help="Folds of the in-corpus grouped CV on the diagonal.",
)
@click.option(
    "--sr",
    type=int,
    default=16000,
    show_default=True,
    help="Rate audio inputs are tabulated at (tables keep theirs).",
)
@click.option(
    "--n-boot",
    type=int,
    default=1000,
    show_default=True,
    help="Group-bootstrap resamples of each cross-corpus interval.",
)
@click.option(
    "--features",
    "feature_sets",
    default=None,
    metavar="NAME[,NAME...]",
    help="Feature sets audio inputs are tabulated with (as tabulate --features; "
    "default deep-voice). Tables keep theirs.",
)
@click.option(
    "--label-map",
    multiple=True,
    metavar="NAME=bonafide|spoof",
    help="Extra class-folder names of audio inputs (repeatable).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "-j",
    "--jobs",
    type=int,
    default=1,
    show_default=True,
    help="Workers for tabulating audio and for the CV folds.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write matrix.csv, matrix.json, matrix.md, heatmap PNG(s) and crosseval.html here.",
)
@click.option("--force", is_flag=True, help="Overwrite files in --output-dir.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@handle_errors
def cli(
    datasets: tuple[str, ...],
    models: tuple[str, ...],
    cv: int,
    sr: int,
    n_boot: int,
    feature_sets: str | None,
    label_map: tuple[str, ...],
    seed: int,
    jobs: int,
    fmt: str,
    output_dir: str | None,
    force: bool,
    quiet: bool,
) -> None:
    """Train on each data set, test on every other: EER with 95 % intervals in every cell.

    The diagonal is grouped K-fold CV inside the corpus (the same run fit-sklearn --cv K makes);
    every other cell is the model fitted on all of the row's data, scored on the column's. Data
    sets are feature tables or audio (tabulated in memory at --sr). A table without provenance
    (the DEEP-VOICE CSV) is a training row only.
    """
    from pathlib import Path

    from dfaudio.cli.common import check_jobs, check_range, check_seed
    from dfaudio.exceptions import ParameterError
    from dfaudio.generalization.crosseval import (
        crosseval,
        heatmap,
        load_corpus,
        parse_named,
        render,
    )

    if cv < 2:
        raise ParameterError(f"--cv must be at least 2, got {cv}")
    if n_boot < 0:
        raise ParameterError(f"--n-boot must be >= 0, got {n_boot}")
    check_seed(seed)
    check_range(sr, flag="--sr", low=1000, high=384000, unit="Hz")
    jobs = check_jobs(jobs, what="files")
    named = parse_named(datasets)
    files: dict[str, Path] = {}
    if output_dir:
        from dfaudio.io.files import check_writable

        out = Path(output_dir)
        files = {"csv": out / "matrix.csv", "json": out / "matrix.json", "md": out / "matrix.md"}
        files.update({f"png:{m}": out / f"heatmap-{m}.png" for m in models})
        files["html"] = out / "crosseval.html"
        for f in files.values():
            check_writable(f, force=force)
    say = (lambda s: None) if quiet else (lambda s: click.echo(s, err=True))

    def warn(path: str, reason: str, detail: str) -> None:
        say(f"warning: {path}: {reason}: {detail}")

    corpora = []
    for name, path in named:
        c = load_corpus(
            name,
            path,
            sr=sr,
            jobs=jobs,
            on_failure=warn,
            label_map=parse_label_map_option(label_map),
            feature_sets=feature_sets,
        )
        say(f"{name}: {len(c.table.y)} rows from {path}")
        corpora.append(c)
    mx = crosseval(
        corpora, models=list(models), cv=cv, seed=seed, n_boot=n_boot, jobs=jobs, progress=say
    )
    click.echo(render(mx, fmt))
    if files:
        from dfaudio.io.files import write_text

        write_text(files["csv"], render(mx, "csv"), force=force)
        write_text(files["json"], render(mx, "json") + "\n", force=force)
        write_text(files["md"], render(mx, "markdown") + "\n", force=force)
        for m in models:
            heatmap(mx, files[f"png:{m}"], model=m, force=force)
        from dfaudio.report import write_crosseval_html

        write_crosseval_html(
            mx, files["html"], heatmaps=[files[f"png:{m}"] for m in models], force=force
        )
        say(f"wrote {', '.join(str(f) for f in files.values())}")
