"""``dfaudio evaluate``: EER, the ASVspoof 5 metric set, min t-DCF and per-attack metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from dfaudio.cli.common import echo_json, handle_errors

__all__ = ["EPILOG", "cli", "hard_decisions_warning"]

EPILOG = """\b
Examples:
  dfaudio evaluate B02_LA_primary_eval.txt
  dfaudio evaluate B02_LA_primary_eval.txt --per-attack \\
      --asv-scores ASVspoof2019.LA.asv.eval.gi.trl.scores.txt --tdcf legacy
  dfaudio evaluate runs/20250101-120000-xgboost-deepvoice --bootstrap 1000 --json
  dfaudio evaluate scores.txt --plot figures/ --threshold 0.5
  dfaudio evaluate dev_scores_label.csv --label-col sasv_label --score-col cm_score \\
      --key-map 1.0=target --key-map 2.0=nontarget --key-map 0.0=spoof --asv-col asv_score

\b
Score files (detected automatically):
  SPK UTT - ATTACK KEY SCORE     ASVspoof 2019 baselines (B01/B02)
  UTT ATTACK KEY SCORE
  UTT KEY SCORE
  CSV with a header holding label and score (dfaudio scores.csv; a run folder means its scores.csv)
  any CSV, naming its columns with --label-col/--score-col
KEY is bonafide or spoof; higher scores mean more bona fide. Numeric labels need --bonafide-value
(or --key-map): 0 means bona fide in some files and spoof in others. An utterance id may appear
once; '#' starts a comment. EER follows the official ASVspoof algorithm. minDCF, actDCF and Cllr
follow the ASVspoof 5 package (Pspoof 0.05, Cmiss 1, Cfa 10); actDCF and Cllr read the scores
as log-likelihood ratios, so their gap to minDCF / minCllr is the calibration loss.
--json prints fractions (0.0809), the table prints percent (8.09 %).
"""


def _pct(x: float) -> str:
    return f"{x * 100:.4f} %"


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def _ci_row(result: dict[str, Any], name: str, label: str, fmt: Any) -> tuple[str, str] | None:
    ci = result.get(f"{name}_ci")
    if ci is None:
        return None
    level = round((1 - ci["alpha"]) * 100)
    by = f", resampling {ci['groups']}" if ci["groups"] else ""
    return (
        f"{label} {level} % CI",
        f"{fmt(ci['low'])} .. {fmt(ci['high'])}  ({ci['n_boot']} resamples{by})",
    )


def _asv5_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """minDCF, actDCF, Cllr, calibration loss (with intervals) and SASV rows."""
    from dfaudio.metrics import bayes_threshold

    def num(x: float) -> str:
        return f"{x:.4f}"

    cost = result["cost_model"]
    bayes = bayes_threshold(**cost)
    rows = [
        (
            "minDCF",
            f"{result['min_dcf']:.4f}  (Pspoof {cost['p_spoof']:g}, Cmiss {cost['c_miss']:g}, "
            f"Cfa {cost['c_fa']:g})",
        ),
        _ci_row(result, "min_dcf", "minDCF", num),
        ("actDCF", f"{result['act_dcf']:.4f}  (scores read as LLRs, Bayes threshold {bayes:.4f})"),
        _ci_row(result, "act_dcf", "actDCF", num),
        ("Cllr", f"{result['cllr']:.4f} bits  (minCllr {result['min_cllr']:.4f})"),
        _ci_row(result, "cllr", "Cllr", num),
    ]
    loss = result["calibration_loss"]
    rows.append(
        (
            "calibration loss",
            f"actDCF - minDCF {loss['dcf']:.4f}, Cllr - minCllr {loss['cllr']:.4f} bits",
        )
    )
    if "sasv" in result:
        v = result["sasv"]
        rows.append(
            (
                "SASV trials",
                f"{v['n_target']:,} target, {v['n_nontarget']:,} nontarget, {v['n_spoof']:,} spoof",
            )
        )
        rows.append(("a-DCF", f"{v['a_dcf_asv']:.4f} (ASV score), {v['a_dcf_cm']:.4f} (CM score)"))
        rows.append(("t-EER", f"{_pct(v['t_eer'])}  (ASV + CM in tandem, concurrent)"))
    return [r for r in rows if r is not None]


def _human(result: dict[str, Any], path: str, *, show_attacks: bool) -> str:
    rows = [
        ("score file", f"{path} ({result.get('layout')})"),
        ("bona fide", f"{result['n_bonafide']:,}"),
        ("spoof", f"{result['n_spoof']:,}"),
        ("EER", f"{_pct(result['eer'])}  (threshold {result['eer_threshold']:.6g})"),
    ]
    if result.get("calibration_map"):
        rows.insert(1, ("calibration", result["calibration_map"]))
    eer_ci = _ci_row(result, "eer", "EER", _pct)
    if eer_ci:
        rows.append(eer_ci)
    rows.extend(_asv5_rows(result))
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
        header = f"{'attack':<8}{'n spoof':>9}{'EER %':>9}{'minDCF':>9}{'actDCF':>9}{'Cllr':>9}" + (
            f"{'min t-DCF':>11}" if has_tdcf else ""
        )
        lines = ["", header]
        for name, v in attacks.items():
            line = (
                f"{name:<8}{v['n_spoof']:>9,}{v['eer'] * 100:>9.2f}{v['min_dcf']:>9.4f}"
                f"{v['act_dcf']:>9.4f}{v['cllr']:>9.4f}"
            )
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


def _reliability_png(path: Path, labels: Any, scores: Any, *, title: str, force: bool) -> Path:
    """Reliability diagram of the scores read as LLRs (equal-count bins, ECE in the title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dfaudio.io.files import atomic_path, check_writable
    from dfaudio.metrics.calibration import reliability_table

    check_writable(path, force=force)
    table = reliability_table(labels, scores, n_bins=15)
    x = [b["p_fake"] for b in table["bins"]]
    y = [b["spoof_rate"] for b in table["bins"]]
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfectly calibrated")
    ax.plot(x, y, marker="o", lw=1.5, label="scores read as LLRs")
    ax.set_xlabel(f"predicted p_fake (prior = spoof share {table['p_spoof']:.3f})")
    ax.set_ylabel("observed spoof rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"Reliability {title}\nECE {table['ece']:.3f}", fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, force=force) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


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
@click.option(
    "--per-attack", is_flag=True, help="Show EER, minDCF, actDCF, Cllr (and t-DCF) per attack."
)
@click.option(
    "--plot",
    "plot_dir",
    type=click.Path(path_type=Path),
    help="Write det.png, roc.png, score_hist.png, confusion.png and reliability.png (calibration "
    "of the scores read as LLRs) into this folder.",
)
@click.option("--force", is_flag=True, help="Overwrite existing plots.")
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=0),
    default=0,
    help="Resamples for 95 % intervals of EER, minDCF, actDCF and Cllr (groups/files resampled "
    "whole).",
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
@click.option(
    "--bonafide-value",
    default=None,
    help="Label value that means bona fide when labels are numbers (all others are spoof).",
)
@click.option("--label-col", default=None, help="Label column of a CSV (default: label).")
@click.option("--score-col", default=None, help="Score column of a CSV (default: score).")
@click.option(
    "--key-map",
    multiple=True,
    metavar="VALUE=KEY",
    help="Map a label value to bonafide|spoof (or target|nontarget for SASV files); repeat.",
)
@click.option(
    "--asv-col",
    default=None,
    help="ASV score column of a SASV CSV (keys from --key-map): adds a-DCF and t-EER.",
)
@click.option(
    "--calibration",
    "calibration_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Map the scores to LLRs through a run's calibration (a run folder or its "
    "calibration.json) before computing the metrics.",
)
@click.option(
    "--p-spoof",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Spoof prior of minDCF/actDCF.",
)
@click.option(
    "--c-miss",
    type=click.FloatRange(0, min_open=True),
    default=1.0,
    show_default=True,
    help="Cost of rejecting bona fide.",
)
@click.option(
    "--c-fa",
    type=click.FloatRange(0, min_open=True),
    default=10.0,
    show_default=True,
    help="Cost of accepting a spoof.",
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
    bonafide_value: str | None,
    label_col: str | None,
    score_col: str | None,
    key_map: tuple[str, ...],
    asv_col: str | None,
    calibration_path: Path | None,
    p_spoof: float,
    c_miss: float,
    c_fa: float,
) -> None:
    """EER, minDCF, actDCF, Cllr, min t-DCF and per-attack metrics of a CM score file.

    SCOREFILE is a score file, a dfaudio run folder, or - for standard input.
    """
    from dfaudio.cli.common import check_range, check_seed
    from dfaudio.evaluation import evaluate_scores, read_asv_scores, read_scores

    check_range(threshold, flag="--threshold")
    check_seed(seed)
    if plot_dir is not None:
        _check_plot_dir(plot_dir)
    with _readable(scorefile) as path:
        table = read_scores(
            path,
            bonafide_value=bonafide_value,
            label_col=label_col,
            score_col=score_col,
            key_map=list(key_map) or None,
            asv_col=asv_col,
        )
    calibration_note = None
    if calibration_path is not None:
        from dfaudio.metrics.calibration import from_dict
        from dfaudio.runs.calibration import CALIBRATION
        from dfaudio.runs.store import load_json

        cal_file = calibration_path / CALIBRATION if calibration_path.is_dir() else calibration_path
        cal = from_dict(load_json(cal_file), source=str(cal_file))
        table["score"] = cal.transform(table["score"].to_numpy())
        table.attrs["score_kind"] = "raw"
        calibration_note = f"scores mapped to LLRs through {cal_file} ({cal.method})"
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
        cost={"p_spoof": p_spoof, "c_miss": c_miss, "c_fa": c_fa},
    )
    if plot_dir is not None:
        from dfaudio.io.files import check_writable
        from dfaudio.plots import save_plots

        check_writable(plot_dir / "reliability.png", force=force)  # before any plot is drawn
        written = save_plots(
            plot_dir,
            table["key"].to_numpy(),
            table["score"].to_numpy(),
            threshold=result["threshold"],
            title=Path(scorefile).name,
            force=force,
        )
        written.append(
            _reliability_png(
                plot_dir / "reliability.png",
                table["key"].to_numpy(),
                table["score"].to_numpy(),
                title=Path(scorefile).name,
                force=force,
            )
        )
        result["plots"] = [str(p) for p in written]
    if calibration_note:
        result["calibration_map"] = str(calibration_note)
    warning = hard_decisions_warning(table["score"].to_numpy())
    if warning:
        result.setdefault("warnings", []).append(warning)
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        echo_json(result)
        return
    click.echo(
        _human(
            result, "<stdin>" if str(scorefile) == "-" else str(scorefile), show_attacks=per_attack
        )
    )
    if plot_dir is not None:
        click.echo(f"plots: {', '.join(result['plots'])}")
