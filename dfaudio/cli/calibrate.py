"""``dfaudio calibrate``: refit only a run's score -> LLR map on a labelled sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dfaudio.cli.common import echo_json, handle_errors, parse_label_map_option

__all__ = ["EPILOG", "cli"]

EPILOG = """\b
Examples:
  dfaudio calibrate runs/20261128-0724-logreg-deep-voice --data my_channel/
  dfaudio calibrate RUN --data sample.csv                # a CSV list of audio files + labels
  dfaudio calibrate RUN --data scores.txt --method pav   # scores this run gave, with keys

\b
The usual deployment: a detector moved to a new channel still ranks well but its scores mean
something else there. A small labelled sample of the new domain (tens of files per class)
is enough to refit the two numbers of the logistic map (PAV needs more); the model itself is
not retrained. The result is a NEW run folder (<run>-cal, or --out) with the new
calibration.json: predict with it and p_fake, the LLR and the Bayes threshold follow the map.
\b
SAMPLE is audio (folders with real/fake or bonafide/spoof above the files, an ASVspoof or
DEEP-VOICE layout, or a CSV list of files with labels), scored here with the run's model, or a
score file with keys (what `dfaudio predict --scores-out` writes, or any file `dfaudio evaluate`
reads) holding this run's scores of the sample.
"""


def _sample_scores(
    predictor: Any, data: tuple[Path, ...], *, label_map: dict[str, str] | None, sr: int | None
) -> tuple[list[str], list[float], int]:
    """Score the sample's audio with the run's model -> (labels, scores, failures)."""
    from dfaudio.datasets import load_manifest
    from dfaudio.exceptions import AudioError

    manifest = load_manifest([str(p) for p in data], label_map=label_map)
    labels: list[str] = []
    scores: list[float] = []
    failed = 0
    for path, label in zip(manifest["path"], manifest["label"], strict=True):
        try:
            res = predictor.score_file(path, sr=sr)
        except AudioError as exc:
            click.echo(f"warning: {exc}", err=True)
            failed += 1
            continue
        labels.append(str(label))
        scores.append(res.score)
    return labels, scores, failed


def _is_score_file(path: Path) -> bool:
    if not path.is_file():
        return False
    from dfaudio.io.audio import AUDIO_EXTENSIONS

    if path.suffix.lower() in AUDIO_EXTENSIONS:
        return False
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        head = fh.readline().lower()
    # a CSV list of audio files has a path/file column and no score column
    return "score" in head or ("," not in head and len(head.split()) in (3, 4, 6))


@click.command(
    "calibrate",
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Labelled sample: audio folders / a CSV list of files, or a score file with keys.",
)
@click.option(
    "--method",
    type=click.Choice(["logistic", "pav"]),
    default="logistic",
    show_default=True,
    help="logistic: llr = a * score + b; pav: isotonic (needs more data).",
)
@click.option("--out", type=click.Path(path_type=Path), help="New run folder [<run>-cal].")
@click.option("--force", is_flag=True, help="Replace --out when it is a dfaudio run.")
@click.option(
    "--label-map", multiple=True, metavar="NAME=KEY", help="Extra label spellings of the sample."
)
@click.option("--bonafide-value", default=None, help="Numeric label that means bona fide.")
@click.option("--label-col", default=None, help="Label column of a score CSV.")
@click.option("--score-col", default=None, help="Score column of a score CSV.")
@click.option("--key-map", multiple=True, metavar="VALUE=KEY", help="Label value -> key.")
@click.option("--sr", type=click.IntRange(min=1), default=None, help="Resample audio first.")
@click.option("--trust", is_flag=True, help="Load a model file dfaudio did not write.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def cli(
    run_dir: Path,
    data: tuple[Path, ...],
    method: str,
    out: Path | None,
    force: bool,
    label_map: tuple[str, ...],
    bonafide_value: str | None,
    label_col: str | None,
    score_col: str | None,
    key_map: tuple[str, ...],
    sr: int | None,
    trust: bool,
    as_json: bool,
) -> None:
    """Refit the score -> LLR map of RUN_DIR on a labelled sample; write a new run version."""
    from dfaudio.exceptions import DataError, ParameterError
    from dfaudio.metrics import act_dcf, cllr, min_dcf
    from dfaudio.runs.calibration import load_run_calibration, recalibrate_run

    if out is not None and out.exists() and not force:
        raise ParameterError(f"--out {out} exists; pass --force to replace it")
    for p in data:
        if not p.exists():
            raise DataError("not found", p)
    if len(data) == 1 and _is_score_file(data[0]):
        from dfaudio.io.scores import read_scores

        table = read_scores(
            data[0],
            bonafide_value=bonafide_value,
            label_col=label_col,
            score_col=score_col,
            key_map=list(key_map) or None,
        )
        labels = table["key"].astype(str).tolist()
        scores = table["score"].astype(float).tolist()
        source, failed = f"score file {data[0]}", 0
    else:
        from dfaudio.scoring import load_predictor

        predictor = load_predictor(run_dir, trust=trust)
        labels, scores, failed = _sample_scores(
            predictor, data, label_map=parse_label_map_option(label_map), sr=sr
        )
        source = "audio " + ", ".join(str(p) for p in data)
    n_b, n_s = labels.count("bonafide"), labels.count("spoof")
    if n_b == 0 or n_s == 0:
        raise DataError(f"the sample needs both classes; it has {n_b} bona fide and {n_s} spoof")
    old = load_run_calibration(run_dir)
    new_dir, summary = recalibrate_run(
        run_dir, labels, scores, out_dir=out, method=method, source=source, force=force
    )
    new = load_run_calibration(new_dir)

    import numpy as np

    lab = np.asarray(labels)
    s = np.asarray(scores, dtype=np.float64)
    b, sp = lab == "bonafide", lab == "spoof"
    report: dict[str, Any] = {
        "run": str(new_dir),
        "parent_run": str(run_dir),
        "sample": source,
        "n_bonafide": n_b,
        "n_spoof": n_s,
        "n_failed": failed,
        "method": method,
        "min_dcf_sample": min_dcf(s[b], s[sp])["value"],
        "calibration": summary,
    }
    for name, cal in (("before", old), ("after", new)):
        if cal is not None:
            llr = cal.transform(s)
            report[f"act_dcf_{name}"] = act_dcf(llr[b], llr[sp])["value"]
            report[f"cllr_{name}"] = cllr(llr[b], llr[sp])
    if as_json:
        echo_json(report)
        return
    click.echo(
        f"sample: {source} ({n_b} bona fide, {n_s} spoof"
        + (f", {failed} failed)" if failed else ")")
    )
    click.echo(f"new run: {new_dir} (model of {run_dir}, new {method} calibration)")
    if "act_dcf_before" in report:
        click.echo(
            f"on the sample: actDCF {report['act_dcf_before']:.4f} -> {report['act_dcf_after']:.4f}"
            f" (minDCF {report['min_dcf_sample']:.4f}), Cllr {report['cllr_before']:.4f} -> "
            f"{report['cllr_after']:.4f} bits  (in-sample: the map was fitted on these files)"
        )
    else:
        click.echo(
            f"on the sample: actDCF {report['act_dcf_after']:.4f} (minDCF "
            f"{report['min_dcf_sample']:.4f}), Cllr {report['cllr_after']:.4f} bits (in-sample)"
        )
