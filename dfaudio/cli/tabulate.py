"""``dfaudio tabulate``: audio folders or corpora -> per-second feature table."""

from __future__ import annotations

import click

from dfaudio.cli.common import (
    check_parallel,
    dataset_options,
    echo_json,
    handle_errors,
    parallel_options,
    parse_label_map_option,
)

__all__ = [
    "FeatureSetsType",
    "WindowType",
    "cli",
    "format_summary",
]


class FeatureSetsType(click.ParamType):
    """``NAME[,NAME...]`` checked against the feature-set registry (imports no heavy library)."""

    name = "NAME[,NAME...]"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        from dfaudio.exceptions import ParameterError
        from dfaudio.features.sets import parse_feature_sets

        if not isinstance(value, str):
            return value
        try:
            return parse_feature_sets(value)
        except ParameterError as exc:
            self.fail(str(exc), param, ctx)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str):
        from click.shell_completion import CompletionItem

        from dfaudio.features.sets import names

        return [CompletionItem(n) for n in names() if n.startswith(incomplete)]


class WindowType(click.ParamType):
    """Seconds (a positive number) or ``whole``."""

    name = "SECONDS|whole"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        if value == "whole" or isinstance(value, float):
            return value
        try:
            sec = float(str(value))
        except ValueError:
            self.fail(f"{value!r} is neither a number of seconds nor 'whole'", param, ctx)
        if not 0 < sec < float("inf"):  # also refuses nan and inf
            self.fail(f"{value!r} must be a positive, finite number of seconds", param, ctx)
        return sec


def _feature_help() -> str:
    from dfaudio.features.sets import names

    return (
        "Feature sets, comma-separated, side by side in the table: "
        + ", ".join(names())
        + ". ssl:MODEL is a local folder or a hub id; LAYER an index or 'mean' (default). "
        "See README 'Feature sets'."
    )


@click.command(
    "tabulate",
    epilog="""\b
Examples:
  dfaudio tabulate data/ -o table.csv                 # data/real/*.wav, data/fake/*.wav
  dfaudio tabulate DEEP-VOICE/KAGGLE/AUDIO -o dv.csv --schema deep-voice --balance undersample
  dfaudio tabulate LA/ --layout asvspoof -o la.csv --jobs 2
  dfaudio tabulate list.csv -o t.csv --sr 16000       # CSV list: path,label[,group][,split]
  dfaudio tabulate data/ -o t.csv --scheduler tcp://10.0.0.5:8786   # on a Dask cluster
  dfaudio tabulate LA/ -o la.parquet                  # Parquet: smaller, exact, faster to read
  dfaudio tabulate data/ -o t.csv --features deep-voice,spectral-stats,egemaps
  dfaudio tabulate LA/ -o la.parquet --window whole --features ssl:facebook/wav2vec2-base:6
""",
)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Table to write (atomically): NAME.csv or NAME.parquet.",
)
@dataset_options(
    group_help="Group files by the first capture group of REGEX on the file name (e.g. "
    "'^(LJ\\d+-\\d+)' keeps a clip and its vocoded copy together)."
)
@click.option(
    "--pairs/--no-pairs",
    "pair_groups",
    default=True,
    show_default=True,
    help="Keep a fake and the real file it was made from (X.wav / X_gen.wav, the "
    "same name in the real and fake folders, SYSTEM+UTT) in one group.",
)
@click.option(
    "--schema",
    type=click.Choice(["dfaudio", "deep-voice"]),
    default="dfaudio",
    show_default=True,
    help="dfaudio: 26 features + label + provenance; deep-voice: exactly the 27 "
    "columns of DATASET-balanced.csv.",
)
@click.option("--sr", type=int, default=None, help="Resample to this rate (default: native).")
@click.option(
    "--features",
    "feature_sets",
    type=FeatureSetsType(),
    default="deep-voice",
    show_default=True,
    help=_feature_help(),
)
@click.option(
    "--window",
    "--window-s",
    "window_s",
    type=WindowType(),
    default="1.0",
    show_default=True,
    help="Block length in seconds, or 'whole': one row per file (utterance corpora "
    "such as ASVspoof).",
)
@click.option(
    "--short",
    type=click.Choice(["whole", "pad", "skip"]),
    default="whole",
    show_default=True,
    help="Clips shorter than one block: one row over the whole clip, zero-padded to "
    "one block, or skipped (reported).",
)
@click.option(
    "--balance",
    type=click.Choice(["none", "undersample"]),
    default="none",
    show_default=True,
    help="Undersample the larger class (as DEEP-VOICE did).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --balance.")
@parallel_options
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no per-file warnings.")
@handle_errors
def cli(
    inputs: tuple[str, ...],
    output: str,
    layout: str,
    protocols: tuple[str, ...],
    label_map: tuple[str, ...],
    group_regex: str | None,
    pair_groups: bool,
    schema: str,
    sr: int | None,
    feature_sets: list,
    window_s: float | str,
    short: str,
    balance: str,
    seed: int,
    jobs: int,
    backend: str,
    scheduler: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Turn audio into a per-second feature table (DEEP-VOICE schema + provenance).

    INPUTS are class folders (ROOT/real, ROOT/fake ...), a DEEP-VOICE AUDIO folder, an ASVspoof
    2019 LA/PA root (with --protocol or its standard protocol folder) or a CSV list. Unreadable
    files are reported in one line each and skipped; the rest of the table is kept.
    """

    from dfaudio.cli.common import check_jobs, check_range, check_seed
    from dfaudio.datasets import describe, load_manifest, missing_files
    from dfaudio.exceptions import DataError, ParameterError
    from dfaudio.features import enable_numba_cache
    from dfaudio.io.files import check_writable
    from dfaudio.io.tables import check_table_path, table_format
    from dfaudio.tables import sidecar_path
    from dfaudio.tabular import balance_undersample, tabulate, to_schema, write_table

    check_seed(seed)
    check_range(sr, flag="--sr", low=1000, high=384000, unit="Hz")
    check_parallel(jobs, scheduler)
    check_table_path(output, force=force)
    if table_format(output) == "csv":  # the feature metadata goes into a JSON sidecar
        check_writable(sidecar_path(output), force=force)
    if schema == "deep-voice" and [f.spec for f in feature_sets] != ["deep-voice"]:
        raise ParameterError("--schema deep-voice holds only the deep-voice features (--features)")
    enable_numba_cache()
    manifest = load_manifest(
        list(inputs),
        layout=layout,
        label_map=parse_label_map_option(label_map),
        protocols=list(protocols) or None,
        group_regex=group_regex,
        pair_groups=pair_groups,
    )
    if not quiet and not as_json:
        click.echo(f"found {describe(manifest)}", err=True)
    missing = missing_files(manifest)
    if missing is not None:
        n_missing, text = missing
        if n_missing == len(manifest):
            raise DataError(f"{text}: nothing to tabulate (is the input the corpus root?)")
        if not quiet:
            click.echo(f"warning: {text}; they are skipped", err=True)
    jobs = check_jobs(jobs, n_work=len(manifest), what="files")

    def warn(path: str, reason: str, detail: str) -> None:
        # missing files were summarised above in one line, not one line each
        if not quiet and not (missing is not None and reason == "not found"):
            click.echo(f"warning: {path}: {reason}: {detail}", err=True)

    result = tabulate(
        manifest,
        sr=sr,
        window_s=window_s,
        short=short,
        feature_sets=feature_sets,
        jobs=jobs,
        backend=backend,
        scheduler=scheduler,
        progress=not quiet and not as_json,
        on_failure=warn,
    )
    summary = result.summary
    table = result.table
    if len(table) == 0:
        raise DataError("no file could be used; nothing written (see the warnings above)")
    if balance == "undersample":
        table = balance_undersample(table, seed=seed)
        summary["windows_after_balance"] = len(table)
    write_table(to_schema(table, schema), output, force=force, info=result.info)
    summary["output"] = output
    summary["schema"] = schema
    summary["short_policy"] = short
    pairs = manifest.attrs.get("pairs")
    summary["pairs"] = pairs.as_dict() if pairs is not None else None
    if as_json:
        echo_json(summary)
        return
    click.echo(format_summary(summary))


def format_summary(s: dict) -> str:
    """Human summary of a tabulate run."""
    lines = [
        f"wrote {s['output']} ({s['schema']} schema)",
        f"  features   {', '.join(s['feature_sets'])} ({s['n_features']} columns; window "
        f"{s['window'] if s['window'] == 'whole' else format(s['window'], 'g') + ' s'})",
        f"  files      {s['files_ok']} of {s['files']} used, {s['files_failed']} failed",
        f"  windows    {s['windows']} ({s['windows_bonafide']} bonafide / "
        f"{s['windows_spoof']} spoof)",
        f"  audio      {s['audio_s']:.1f} s read; {s['tail_s_dropped']:.1f} s of tails shorter "
        f"than a window dropped ({s['files_with_tail']} files)",
        f"  short      {s['short_clips']} clips shorter than a window kept "
        f"(policy: {s['short_policy']})",
    ]
    if s.get("pairs") and s["pairs"]["n_groups_after"] < s["pairs"]["n_groups_before"]:
        from dfaudio.datasets.pairs import PairInfo

        p = dict(s["pairs"])
        p["example"] = tuple(p["example"]) if p.get("example") else None
        lines.append(f"  pairs      {PairInfo(**p).describe()} (turn off: --no-pairs)")
    if "windows_after_balance" in s:
        lines.append(f"  balanced   {s['windows_after_balance']} windows after undersampling")
    if s["failures_by_reason"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(s["failures_by_reason"].items()))
        lines.append(f"  failures   {reasons}")
    return "\n".join(lines)
