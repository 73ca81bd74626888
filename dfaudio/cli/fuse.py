"""``dfaudio fuse``: logistic-regression fusion of several runs' scores, written as a run."""

from __future__ import annotations

from pathlib import Path

import click

from dfaudio.cli.common import echo_json, handle_errors, parse_label_map_option

__all__ = ["EPILOG", "cli"]

EPILOG = """\b
Examples:
  dfaudio fuse runs/A runs/B --data dev_audio/
  dfaudio fuse runs/A runs/B runs/C --data dev.csv --cv 5 --runs-dir runs

\b
Every run scores the labelled dev files (classical and deep runs alike); a prior-weighted
logistic regression of the label on their scores gives one fused log-likelihood ratio per file.
The fusion run reports out-of-fold fused scores (grouped folds: each fold fused with weights
learned on the others), so `dfaudio compare` ranks it like any other run; fusion.json holds the
weights learned on all dev files. The dev files must be held out from every member's training.
"""


@click.command(
    "fuse",
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--data",
    multiple=True,
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Labelled dev audio: folders, a corpus, or a CSV list of files with labels.",
)
@click.option(
    "--cv",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Grouped folds of the reported out-of-fold fused scores.",
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Where the fusion run is written.",
)
@click.option("--label-map", multiple=True, metavar="NAME=KEY", help="Extra label spellings.")
@click.option("--sr", type=click.IntRange(min=1), default=None, help="Resample audio first.")
@click.option("--trust", is_flag=True, help="Load model files dfaudio did not write.")
@click.option("--json", "as_json", is_flag=True, help="Print the fusion run's metrics as JSON.")
@handle_errors
def cli(
    runs: tuple[Path, ...],
    data: tuple[Path, ...],
    cv: int,
    seed: int,
    runs_dir: Path,
    label_map: tuple[str, ...],
    sr: int | None,
    trust: bool,
    as_json: bool,
) -> None:
    """Fuse the scores of RUNS (two or more run folders) on labelled dev data."""
    from dfaudio.scoring.fusion import fuse_runs

    def warn(msg: str) -> None:
        click.echo(f"warning: {msg}", err=True)

    result = fuse_runs(
        list(runs),
        list(data),
        runs_dir=runs_dir,
        cv=cv,
        seed=seed,
        label_map=parse_label_map_option(label_map),
        sr=sr,
        trust=trust,
        warn=warn,
    )
    m = result.metrics
    if as_json:
        echo_json({"run": str(result.run_dir), **m})
        return
    fusion = m["fusion"]
    click.echo(f"fusion run: {result.run_dir}")
    click.echo(f"dev files: {m['n_rows']} ({m['n_bonafide']} bona fide, {m['n_spoof']} spoof)")
    for name, w in zip(fusion["names"], fusion["weights"], strict=True):
        click.echo(
            f"  {name:<48} weight {w:>8.4f}   EER alone {m['member_eer'][name] * 100:6.2f} %"
        )
    click.echo(f"  {'offset':<48}        {fusion['offset']:>8.4f}")
    ci = m.get("eer_ci95") or [None, None]
    ci_text = f" (95 % CI {ci[0] * 100:.2f} .. {ci[1] * 100:.2f} %)" if ci[0] is not None else ""
    click.echo(f"fused EER (out-of-fold, {cv} grouped folds): {m['eer'] * 100:.2f} %{ci_text}")
