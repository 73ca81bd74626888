"""``dfaudio evaluate``: EER, min t-DCF and per-attack metrics of a score file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from dfaudio.cli.common import echo_json, handle_errors

EPILOG = """\b
Examples:
  dfaudio evaluate B02_LA_primary_eval.txt
  dfaudio evaluate B02_LA_primary_eval.txt --per-attack \\
      --asv-scores ASVspoof2019.LA.asv.eval.gi.trl.scores.txt --tdcf legacy
  dfaudio evaluate runs/20250101-120000-xgboost-deepvoice --bootstrap 1000 --json
  dfaudio evaluate scores.txt --plot figures/ --threshold 0.5

\b
Score files (detected automatically):
  SPK UTT - ATTACK KEY SCORE     ASVspoof 2019 baselines (B01/B02)
  UTT ATTACK KEY SCORE
  UTT KEY SCORE
  CSV with a header holding label and score (dfaudio scores.csv; a run folder means its scores.csv)
KEY is bonafide or spoof; higher scores mean more bona fide. EER follows the official ASVspoof
algorithm. --json prints fractions (0.0809), the table prints percent (8.09 %).
"""


def _pct(x: float) -> str:
    return f"{x * 100:.4f} %"


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _human(result: dict[str, Any], path: str, *, show_attacks: bool) -> str:
    rows = [
        ("score file", f"{path} ({result.get('layout')})"),
        ("bona fide", f"{result['n_bonafide']:,}"),
        ("spoof", f"{result['n_spoof']:,}"),
        ("EER", f"{_pct(result['eer'])}  (threshold {result['eer_threshold']:.6g})"),
    ]
    if "eer_ci" in result:
        ci = result["eer_ci"]
        level = round((1 - ci["alpha"]) * 100)
        by = f", resampling {ci['groups']}" if ci["groups"] else ""
        rows.append(
            (
                f"EER {level} % CI",
                f"{_pct(ci['low'])} .. {_pct(ci['high'])}  ({ci['n_boot']} resamples{by})",
            )
        )
    rows.append(("ROC AUC", f"{result['roc_auc']:.4f}"))
    rows.append(
        (
            "accuracy",
            f"{_pct(result['accuracy'])}  at threshold {result['threshold']:.6g} "
            f"({result['threshold_source']})",
        )
    )
    if result.get("ties_between_classes"):
        rows.append(("tied values", f"{result['ties_between_classes']} (in both classes)"))
    if "min_tdcf" in result:
        t = result["min_tdcf"]
        rows.append(("min t-DCF", f"{t['value']:.4f}  ({t['formulation']})"))
        rows.append(
            (
                "ASV (EER point)",
                f"EER {_pct(t['asv_eer'])}, threshold {t['asv_threshold']:.6g}, "
                f"Pfa {_pct(t['pfa_asv'])}, Pmiss {_pct(t['pmiss_asv'])}, "
                f"spoofs accepted {_pct(t['pfa_spoof_asv'])}",
            )
        )
    text = _table(rows)
    if show_attacks and "per_attack" in result:
        attacks = result["per_attack"]
        has_tdcf = any("min_tdcf" in v for v in attacks.values())
        header = f"{'attack':<8}{'n spoof':>9}{'EER %':>9}" + (
            f"{'min t-DCF':>11}" if has_tdcf else ""
        )
        lines = ["", header]
        for name, v in attacks.items():
            line = f"{name:<8}{v['n_spoof']:>9,}{v['eer'] * 100:>9.2f}"
            if has_tdcf:
                line += f"{v['min_tdcf']:>11.4f}"
            lines.append(line)
        if has_tdcf:
            kinds = {v.get("asv_spoof_scores") for v in attacks.values()}
            if kinds == {"pooled"}:
                lines.append(
                    "(per-attack t-DCF uses the pooled ASV spoof scores: no attack column)"
                )
        text += "\n" + "\n".join(lines)
    if show_attacks and "per_condition" in result:
        lines = ["", f"{'condition':<10}{'n bona':>8}{'n spoof':>9}{'EER %':>9}"]
        for name, v in result["per_condition"].items():
            eer = "" if v["eer"] is None else f"{v['eer'] * 100:.2f}"
            lines.append(f"{name:<10}{v['n_bonafide']:>8,}{v['n_spoof']:>9,}{eer:>9}")
        text += "\n" + "\n".join(lines)
    return text


def hard_decisions_warning(scores: Any) -> str | None:
    """The warning for scores with fewer than 3 distinct values (hard decisions), else ``None``.

    The EER of 0/1 decisions is one operating point, not the detector's EER: the official
    algorithm still returns a number (0 % beside an accuracy of 11.8 % in issue 13). dfaudio
    warns instead of refusing, because some models legitimately give two values (a decision
    tree with pure leaves); the t-DCF, which needs a threshold sweep, refuses them.
    """
    import numpy as np

    n = int(np.unique(np.asarray(scores, dtype=np.float64)).size)
    if n >= 3:
        return None
    return (
        f"the scores take only {n} distinct value{'s' if n != 1 else ''}: these are hard "
        "decisions, not scores, and the EER below is one operating point, not the detector's "
        "EER; evaluate continuous scores (log-odds, probabilities) instead"
    )


def _check_plot_dir(plot_dir: Path) -> None:
    from dfaudio.exceptions import ParameterError
    from dfaudio.io.files import check_folder_writable, special_file_kind

    kind = special_file_kind(plot_dir)
    if plot_dir.exists() and kind != "a folder":
        raise ParameterError(
            f"--plot {plot_dir}: exists and is {kind or 'a file'}; --plot takes a folder"
        )
    check_folder_writable(plot_dir)


@contextlib.contextmanager
def _readable(scorefile: Path) -> Iterator[Path]:
    """A regular file to read: ``-`` (standard input), a pipe or a device is copied first.

    ``dfaudio evaluate - < scores.txt`` and ``dfaudio evaluate <(grep ...)`` then work like a file,
    and errors name ``<stdin>`` (or the pipe) rather than the temporary copy.
    """
    import sys
    import tempfile

    from dfaudio.exceptions import DataError
    from dfaudio.io.files import special_file_kind

    name = str(scorefile)
    kind = None if name == "-" else special_file_kind(scorefile)
    if name != "-" and kind in (None, "a folder"):
        yield scorefile
        return
    shown = "<stdin>" if name == "-" else name
    if name == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(scorefile, "rb") as fh:
            data = fh.read()
    if not data:
        raise DataError(f"no data ({kind or 'standard input'} gave 0 bytes)", shown)
    with tempfile.TemporaryDirectory(prefix="dfaudio-evaluate-") as tmp:
        copy = Path(tmp) / "scores"
        copy.write_bytes(data)
        try:
            yield copy
        except DataError as exc:
            raise DataError(str(exc).replace(str(copy), shown)) from None


@click.command(
    "evaluate",
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("scorefile", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (fractions).")
@click.option(
    "--asv-scores",
    type=click.Path(path_type=Path),
    help="Organisers' ASV scores (SOURCE KEY SCORE, or the 6-column form): adds min t-DCF.",
)
@click.option(
    "--tdcf",
    "formulation",
    type=click.Choice(["revised", "legacy"]),
    default="revised",
    show_default=True,
    help="t-DCF formulation: revised (ASVspoof 2021+) or legacy (the 2019 challenge).",
)
@click.option("--per-attack", is_flag=True, help="Show the EER (and t-DCF) of every attack.")
@click.option(
    "--plot",
    "plot_dir",
    type=click.Path(path_type=Path),
    help="Write det.png, roc.png, score_hist.png, confusion.png into this folder.",
)
@click.option("--force", is_flag=True, help="Overwrite existing plots.")
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=0),
    default=0,
    help="Resamples for a 95 % EER confidence interval (groups/files resampled whole).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="Hard-decision threshold (score >= T is bona fide). Default: 0 for dfaudio log-odds "
    "scores, the EER threshold otherwise.",
)
@click.option(
    "--score-kind",
    type=click.Choice(["auto", "logodds", "raw"]),
    default="auto",
    show_default=True,
    help="auto: log-odds for dfaudio CSV files, raw for ASVspoof text files.",
)
@handle_errors
def cli(
    scorefile: Path,
    as_json: bool,
    asv_scores: Path | None,
    formulation: str,
    per_attack: bool,
    plot_dir: Path | None,
    force: bool,
    n_boot: int,
    seed: int,
    threshold: float | None,
    score_kind: str,
) -> None:
    """EER, min t-DCF and per-attack metrics of a countermeasure score file.

    SCOREFILE is a score file, a dfaudio run folder, or - for standard input.
    """
    from dfaudio.cli.common import check_range, check_seed
    from dfaudio.evaluation import evaluate_scores, read_asv_scores, read_scores

    check_range(threshold, flag="--threshold")
    check_seed(seed)
    if plot_dir is not None:
        _check_plot_dir(plot_dir)
    with _readable(scorefile) as path:
        table = read_scores(path)
    asv = read_asv_scores(asv_scores) if asv_scores is not None else None
    result = evaluate_scores(
        table,
        asv=asv,
        formulation=formulation,  # type: ignore[arg-type]
        attacks=per_attack or as_json,
        n_boot=n_boot,
        seed=seed,
        threshold=threshold,
        score_kind=None if score_kind == "auto" else score_kind,  # type: ignore[arg-type]
    )
    if plot_dir is not None:
        from dfaudio.plots import save_plots

        written = save_plots(
            plot_dir,
            table["key"].to_numpy(),
            table["score"].to_numpy(),
            threshold=result["threshold"],
            title=Path(scorefile).name,
            force=force,
        )
        result["plots"] = [str(p) for p in written]
    warning = hard_decisions_warning(table["score"].to_numpy())
    if warning:
        result.setdefault("warnings", []).append(warning)
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        echo_json(result)
        return
    click.echo(_human(result, "<stdin>" if str(scorefile) == "-" else str(scorefile),
                      show_attacks=per_attack))  # fmt: skip
    if plot_dir is not None:
        click.echo(f"plots: {', '.join(result['plots'])}")
