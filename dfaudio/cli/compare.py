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
  dfaudio compare --paired runs/A runs/B --bootstrap 1000   # is A better than B?
""",
)
@click.argument("runs_dir", required=False, default="runs", type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "markdown", "json"]),
    default="table",
    show_default=True,
)
@click.option("--data", "data_filter", default=None, help="Only runs on this data name.")
@click.option(
    "--split-type",
    default=None,
    type=click.Choice(["grouped", "given", "stratified", "leaky"]),
    help="Only runs with this split type.",
)
@click.option(
    "--test",
    "test_kind",
    default=None,
    type=click.Choice(["in-corpus", "cross-corpus", "unseen-attack"]),
    help="Only rows tested this way (a row per run and external set).",
)
@click.option(
    "--html",
    "html_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write a self-contained HTML report (leaderboard + plots).",
)
@click.option("--force", is_flag=True, help="Overwrite the --html file if it exists.")
@click.option(
    "--paired",
    nargs=2,
    type=click.Path(file_okay=False),
    default=None,
    metavar="RUN_A RUN_B",
    help="Compare two runs on the trials both scored: bootstrap intervals of the EER and minDCF "
    "differences (groups resampled whole) and McNemar's test at each run's threshold.",
)
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Resamples of --paired.",
)
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True)
@handle_errors
def cli(
    runs_dir: str,
    fmt: str,
    data_filter: str | None,
    split_type: str | None,
    test_kind: str | None,
    html_path: str | None,
    force: bool,
    paired: tuple[str, str] | None,
    n_boot: int,
    seed: int,
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
    from dfaudio.runs.calibration import register_leaderboard_columns
    from dfaudio.runs.leaderboard import collect, rank, render

    if paired:
        _paired(paired, n_boot=n_boot, seed=seed, as_json=fmt == "json")
        return
    register_leaderboard_columns()

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


def _paired(runs: tuple[str, str], *, n_boot: int, seed: int, as_json: bool) -> None:
    from dfaudio.cli.common import echo_json
    from dfaudio.runs.paired import compare_runs

    out = compare_runs(runs[0], runs[1], n_boot=n_boot, seed=seed)
    if as_json:
        echo_json(out)
        return
    click.echo(f"A = {out['run_a']}")
    click.echo(f"B = {out['run_b']}")
    unit = f"{out['n_groups']:,} groups resampled whole" if out["groups"] == "group" else "trials"
    click.echo(
        f"{out['n_trials']:,} {out['level']}s scored by both ({out['n_bonafide']:,} bona fide, "
        f"{out['n_spoof']:,} spoof); {out['eer']['n_boot']} bootstrap resamples, {unit}"
    )
    click.echo(f"{'':<8}{'A':>9}{'B':>9}{'A - B':>9}   95 % CI of A - B     p")
    for key, name, scale in (("eer", "EER %", 100.0), ("min_dcf", "minDCF", 1.0)):
        v = out[key]
        click.echo(
            f"{name:<8}{v['a'] * scale:>9.4f}{v['b'] * scale:>9.4f}{v['diff'] * scale:>9.4f}"
            f"   {v['low'] * scale:>8.4f} .. {v['high'] * scale:<8.4f} "
            + (f"{v['p_value']:.3g}" if v["p_value"] > 0 else f"< {1 / v['n_boot']:.3g}")
        )
    m = out["mcnemar"]
    click.echo(
        f"McNemar: only A wrong {m['only_a_wrong']:,}, only B wrong {m['only_b_wrong']:,}, "
        f"p = {m['p_value']:.3g} (A at {m['threshold_a']:.4g}, {m['threshold_a_source']}; "
        f"B at {m['threshold_b']:.4g}, {m['threshold_b_source']})"
    )
    for key, name in (("eer", "EER"), ("min_dcf", "minDCF")):
        v = out[key]
        if v["low"] > 0 or v["high"] < 0:
            better = "B" if v["diff"] > 0 else "A"
            click.echo(f"{name}: the interval excludes 0: {better} is better on this test set")
        else:
            click.echo(f"{name}: the interval includes 0: no difference this test set can show")
