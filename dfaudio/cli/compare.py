"""``dfaudio compare``: one leaderboard over every run, deep and classical alike."""

from __future__ import annotations

import click

from dfaudio.cli.common import handle_errors

__all__ = ["cli"]


@click.command(
    "compare",
    epilog="""\b
Examples:
  dfaudio compare                       # every run under runs/
  dfaudio compare runs/ --format markdown
  dfaudio compare --format json --data DATASET-balanced.csv
  dfaudio compare --test cross-corpus   # only rows scored on other corpora
""",
)
@click.argument("runs_dir", required=False, default="runs", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "markdown", "json"]),
              default="table", show_default=True)  # fmt: skip
@click.option("--data", "data_filter", default=None, help="Only runs on this data name.")
@click.option("--split-type", default=None,
              type=click.Choice(["grouped", "given", "stratified", "leaky"]),
              help="Only runs with this split type.")  # fmt: skip
@click.option("--test", "test_kind", default=None,
              type=click.Choice(["in-corpus", "cross-corpus", "unseen-attack"]),
              help="Only rows tested this way (a row per run and external set).")  # fmt: skip
@click.option(
    "--html",
    "html_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write a self-contained HTML report (leaderboard + plots).",
)
@click.option("--force", is_flag=True, help="Overwrite the --html file if it exists.")
@handle_errors
def cli(
    runs_dir: str,
    fmt: str,
    data_filter: str | None,
    split_type: str | None,
    test_kind: str | None,
    html_path: str | None,
    force: bool,
) -> None:
    """Rank every run under RUNS_DIR (default runs/) by pooled held-out EER.

    EER and accuracy are over all held-out scores of a run pooled, each with the 95 % bootstrap
    interval of that same value (whole recordings resampled); fold mean +/- std are separate
    columns. Runs with fewer than 25 held-out trials of either class are listed after the ranked
    ones, marked '-'. Reads only metrics.json files: fast, and never imports torch. The split
    column says how each run was validated: grouped (no recording on both sides), given (the
    corpus's own split), stratified (table without provenance) or leaky (--split-by window).
    """
    from pathlib import Path

    from dfaudio.exceptions import DataError
    from dfaudio.runs.leaderboard import collect, rank, render

    if not Path(runs_dir).exists():
        raise DataError("no such runs directory (train a model first, e.g. dfaudio demo)", runs_dir)
    if not Path(runs_dir).is_dir():
        raise DataError("not a folder; compare reads a runs folder (e.g. runs/)", runs_dir)
    if html_path:  # before the work: an existing or unwritable report fails now
        from dfaudio.io.files import check_writable

        check_writable(html_path, force=force)
    df = collect(runs_dir)
    if data_filter and len(df) and not (df["data"] == data_filter).any():
        names = ", ".join(sorted({str(d) for d in df["data"]})[:5])
        raise DataError(f"no run on data {data_filter!r} (the runs here are on: {names})", runs_dir)
    if data_filter:
        df = df[df["data"] == data_filter].reset_index(drop=True)
    if split_type:
        df = df[df["split_type"] == split_type].reset_index(drop=True)
    if test_kind:
        df = df[df["test"] == test_kind].reset_index(drop=True)
    if data_filter or split_type or test_kind:
        df = rank(df)
    for s in df.attrs.get("skipped", []):
        click.echo(f"warning: skipped {s}", err=True)
    if html_path:
        from dfaudio.report import write_html_report

        write_html_report(df, html_path, force=force)
        click.echo(f"wrote {html_path}", err=True)
    if len(df) == 0:
        click.echo(f"no finished runs under {runs_dir}", err=True)
        return
    click.echo(render(df, fmt))
