"""``dfaudio audit``: can nuisance facts alone tell bona fide from spoof?"""

from __future__ import annotations

import click

from dfaudio.cli.common import (
    dataset_options,
    echo_json,
    handle_errors,
    parse_label_map_option,
)

__all__ = ["cli"]


@click.command(
    "audit",
    epilog="""\b
Examples:
  dfaudio audit ../shared/data/codecfake-demo          # audio (any layout)
  dfaudio audit table.csv                              # a tabulate table (per-file facts)
  dfaudio audit data/ --json --threshold 0.1
""",
)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@dataset_options(layout_help="Data set layout of audio inputs; auto detects it.")
@click.option(
    "--cv",
    type=int,
    default=5,
    show_default=True,
    help="Grouped folds (fewer when there are fewer groups).",
)
@click.option(
    "--threshold",
    type=float,
    default=0.20,
    show_default=True,
    help="A fact whose EER is below this separates the classes (shortcut).",
)
@click.option(
    "--n-boot",
    type=int,
    default=1000,
    show_default=True,
    help="Group-bootstrap resamples for the 95 % interval (0: none).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "-j", "--jobs", type=int, default=1, show_default=True, help="Parallel workers reading audio."
)
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON.")
@handle_errors
def cli(
    inputs: tuple[str, ...],
    layout: str,
    protocols: tuple[str, ...],
    label_map: tuple[str, ...],
    group_regex: str | None,
    cv: int,
    threshold: float,
    n_boot: int,
    seed: int,
    jobs: int,
    as_json: bool,
) -> None:
    """Shortcut audit: fit grouped-CV baselines on facts that are not the voice.

    Facts per file: duration, leading/trailing silence (20 ms frames 40 dB below the loudest),
    RMS level (dBFS), peak level and clipping share, sample rate, channels, codec / bit depth,
    bytes per second. Prints the EER (95 % group-bootstrap interval) of each fact alone and of all
    together; a fact below --threshold is flagged as a shortcut (Mueller et al. 2021: leading
    silence alone separates ASVspoof 2019 LA). INPUTS are audio (class folders, a folder with a
    labels.tsv, an ASVspoof root, a CSV list) or one tabulate table.
    """
    import pandas as pd

    from dfaudio.cli.common import check_jobs, check_seed
    from dfaudio.exceptions import ParameterError
    from dfaudio.generalization.audit import (
        audit,
        facts_of_files,
        facts_of_table,
        format_audit,
        is_feature_table,
    )

    if cv < 2:
        raise ParameterError(f"--cv must be at least 2, got {cv}")
    if n_boot < 0:
        raise ParameterError(f"--n-boot must be >= 0, got {n_boot}")
    check_seed(seed)
    jobs = check_jobs(jobs, what="files")
    tables = [i for i in inputs if is_feature_table(i)]
    if tables:
        if len(inputs) > 1:
            raise ParameterError("give one table, or audio inputs; not both")
        from dfaudio.labels import CLASS_NAMES
        from dfaudio.tables import read_table

        table = read_table(tables[0])
        meta = table.meta.copy()
        meta["label"] = [CLASS_NAMES[int(i)] for i in table.y]
        per_file = facts_of_table(meta, source=tables[0])
    else:
        from dfaudio.datasets import load_manifest

        manifest = load_manifest(
            list(inputs),
            layout=layout,
            label_map=parse_label_map_option(label_map),
            protocols=list(protocols) or None,
            group_regex=group_regex,
        )
        pairs = manifest.attrs.get("pairs")
        if pairs is not None and pairs.n_groups_after < pairs.n_groups_before and not as_json:
            click.echo(f"pairs: {pairs.describe()}", err=True)

        def warn(path: str, reason: str, detail: str) -> None:
            click.echo(f"warning: {path}: {reason}: {detail}", err=True)

        per_file = facts_of_files(manifest, jobs=jobs, on_failure=warn)
    try:
        res = audit(
            per_file,
            cv=cv,
            threshold=threshold,
            n_boot=n_boot,
            seed=seed,
            source=", ".join(inputs),
        )
    except ParameterError as exc:
        raise ParameterError(str(exc).replace("threshold", "--threshold")) from None
    if as_json:
        out = res.as_dict()
        out["per_file"] = pd.DataFrame(per_file).to_dict("records")
        echo_json(out)
        return
    click.echo(format_audit(res))
