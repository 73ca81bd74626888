"""``dfaudio predict``: score new audio files (or a live stream) with a trained run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dfaudio.cli.common import echo_json, fail, handle_errors, parse_label_map_option

__all__ = ["EPILOG", "cli"]

EPILOG = """\b
Examples:
  dfaudio predict runs/20260101-120000-xgboost-deep-voice-26 clip.wav more_audio/
  dfaudio predict RUN clip.wav --per-window --json
  dfaudio predict RUN real/ fake/ --scores-out scores.txt && dfaudio evaluate scores.txt
  dfaudio predict RUN --stream clip.wav
  dfaudio predict RUN clip.wav --explain 8 --plot timeline.png
  sox in.flac -t wav - | dfaudio predict RUN --stream -
  arecord -f S16_LE -r 22050 -c 1 -t raw | dfaudio predict RUN --stream - --stream-sr 22050

\b
Scores: higher = more bona fide (log-odds for classical models); p_fake = P(spoof).
A file's score is the mean of its one-second window scores. Runs with a calibration map
(calibration.json, fitted on held-out scores) also give the file's LLR, and p_fake is the
posterior for the spoof prior --prior-spoof (default 0.05, ASVspoof 5); the verdict is then
spoof below the Bayes threshold (LLR < log(10 p / (1 - p))). Older runs decide at their EER
threshold. The first line (stderr) says which threshold was used.
\b
--scores-out writes "UTT ATTACK KEY SCORE" lines (ASVspoof style, ATTACK "-"), which
`dfaudio evaluate` reads, when every file has a key: --label, a folder named
real/bonafide/... or fake/spoof/... above the file, or --label-map FOLDER=KEY
(evaluate treats these as raw scores; add --score-kind logodds for p_fake 0.5 decisions).
Without keys it writes the ASVspoof 2021 submission form "UTT SCORE" (join it with
your protocol before evaluating).
\b
Unreadable files get one "warning:" line each on stderr and the others are still scored;
the exit status is 0 when at least one file was scored, 2 otherwise.
"""


@click.command("predict", epilog=EPILOG)
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("audio", nargs=-1, type=click.Path())
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="Verdict threshold on the bona fide score [default: the Bayes threshold for "
    "--prior-spoof through the run's calibration; the EER threshold for runs without one].",
)
@click.option(
    "--prior-spoof",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Prior probability of spoof in the audio you score: sets p_fake and the Bayes "
    "threshold (runs with a calibration map).",
)
@click.option("--per-window", is_flag=True, help="Also print every one-second window's score.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON list, one object per file (stream: one JSON line per window).",
)
@click.option(
    "--scores-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a score file that dfaudio evaluate reads (see below).",
)
@click.option(
    "--label",
    type=click.Choice(["bonafide", "spoof"]),
    default=None,
    help="Key of every input file (else taken from real/fake folder names).",
)
@click.option(
    "--label-map",
    multiple=True,
    metavar="FOLDER=bonafide|spoof",
    help="Folder name that gives the key of the files below it (repeatable).",
)
@click.option("--force", is_flag=True, help="Overwrite --scores-out.")
@click.option(
    "--trust",
    is_flag=True,
    help="Load a model file dfaudio did not write itself (unpickles types it names; "
    "only for files from a source you trust).",
)
@click.option(
    "--sr",
    type=click.IntRange(min=1000),
    default=None,
    help="Resample every file to this rate first [default: native rate, as in training].",
)
@click.option(
    "--stream",
    is_flag=True,
    help="Score one source (a file, or - for standard input) second by second as it "
    "arrives, with the latency of each second.",
)
@click.option(
    "--stream-sr",
    type=click.IntRange(min=1000),
    default=None,
    help="Standard input is raw PCM at this rate (no WAV header).",
)
@click.option(
    "--stream-dtype",
    type=click.Choice(["int16", "float32"]),
    default="int16",
    show_default=True,
    help="Sample format of raw PCM input.",
)
@click.option(
    "--stream-channels",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Interleaved channels of raw PCM input (averaged).",
)
@click.option(
    "--explain",
    "explain_top",
    type=click.IntRange(min=1),
    is_flag=False,
    flag_value=5,
    default=None,
    metavar="[K]",
    help="Also print each file's K (default 5) most influential features: how far the score "
    "moves when the feature is set to its training mean (classical runs).",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="OUT.png",
    help="Draw each file's per-window score over time against the threshold (first 12 "
    "files; --force overwrites).",
)
@handle_errors
def cli(
    run_dir: Path,
    audio: tuple[str, ...],
    threshold: float | None,
    prior_spoof: float,
    per_window: bool,
    as_json: bool,
    scores_out: Path | None,
    label: str | None,
    label_map: tuple[str, ...],
    force: bool,
    trust: bool,
    sr: int | None,
    stream: bool,
    stream_sr: int | None,
    stream_dtype: str,
    stream_channels: int,
    explain_top: int | None,
    plot_path: Path | None,
) -> None:
    """Score AUDIO files or folders with the model of RUN_DIR: verdict, p_fake, score.

    Works with any finished run (scikit-learn, XGBoost, torch, fusion). Folders are searched
    recursively for audio files.
    """
    from dfaudio.exceptions import ParameterError
    from dfaudio.io.files import check_writable
    from dfaudio.scoring import load_predictor

    if stream:
        if len(audio) != 1:
            raise ParameterError("--stream takes exactly one source: a file, or - for stdin")
        if scores_out or per_window or label or label_map:
            raise ParameterError(
                "--scores-out, --per-window, --label and --label-map do not apply to --stream"
            )
    elif not audio:
        raise ParameterError("give at least one audio file or folder (or --stream SOURCE)")
    if stream_sr is not None and not stream:
        raise ParameterError("--stream-sr applies only to --stream")
    if stream and (explain_top or plot_path):
        raise ParameterError("--explain and --plot do not apply to --stream")
    if scores_out is not None:
        check_writable(scores_out, force=force)
    if plot_path is not None:
        check_writable(plot_path, force=force)
    predictor = load_predictor(run_dir, threshold=threshold, trust=trust, prior_spoof=prior_spoof)
    if stream:
        _run_stream(predictor, audio[0], as_json, stream_sr, stream_dtype, stream_channels)
    else:
        keys = {"label": label, "label_map": parse_label_map_option(label_map)}
        extras = {"explain_top": explain_top, "plot_path": plot_path}
        _run_files(predictor, audio, per_window, as_json, scores_out, keys, force, sr, **extras)


def _header(predictor: Any) -> str:
    cal = "" if predictor.p_fake_calibrated else " (p_fake: logistic of a decision function)"
    if predictor.calibration is not None:
        cal = (
            f"; llr = calibrated log-likelihood ratio, p_fake = P(spoof | llr) for prior "
            f"{predictor.p_spoof:g}"
        )
    return (
        f"model {predictor.model} ({predictor.kind}) from {predictor.run_dir}; threshold "
        f"{predictor.threshold:.4g} ({predictor.threshold_source}); "
        f"score: higher = more bona fide{cal}"
    )


def _run_files(
    predictor: Any,
    audio: tuple[str, ...],
    per_window: bool,
    as_json: bool,
    scores_out: Path | None,
    keys: dict[str, Any],
    force: bool,
    sr: int | None,
    *,
    explain_top: int | None = None,
    plot_path: Path | None = None,
) -> None:
    from dfaudio.exceptions import AudioError
    from dfaudio.scoring import find_audio, infer_label

    if explain_top and predictor.kind != "sklearn":
        fail("--explain needs a classical run (fit-sklearn)")

    files = find_audio(audio)
    if not files:
        fail("no audio files found in " + ", ".join(audio))
    if not as_json:
        click.echo(_header(predictor), err=True)
        llr_head = f"{'llr':>9}" if predictor.calibration is not None else ""
        click.echo(f"{'verdict':<9}{'p_fake':>8}{'score':>10}{llr_head}{'windows':>9}  file")
    records: list[dict[str, Any]] = []
    scored = []
    plotted: list[dict[str, Any]] = []
    for path in files:
        key = keys["label"] or infer_label(path, label_map=keys["label_map"])
        try:
            res = predictor.score_file(path, per_window=per_window or bool(plot_path), sr=sr)
            why = _explain(predictor, path, sr, explain_top) if explain_top else None
        except AudioError as exc:
            click.echo(f"warning: {exc}", err=True)
            records.append(
                {"file": str(path), "error": exc.category, "detail": exc.detail, "label": key}
            )
            continue
        res.label = key
        scored.append(res)
        records.append(res.to_dict())
        if why is not None:
            records[-1]["explain"] = why
        windows = res.windows
        if not per_window:  # computed for --plot only: drawn, not printed
            res.windows = None
            records[-1].pop("windows", None)
        if plot_path is not None:
            plotted.append({**records[-1], "windows": windows, "window_s": predictor.window_s})
        if not as_json:
            llr = f"{res.llr:>9.3f}" if res.llr is not None else ""
            click.echo(
                f"{res.verdict:<9}{res.p_fake:>8.3f}{res.score:>10.3f}{llr}{res.n_windows:>9}"
                f"  {path}"
            )
            for note in res.notes:
                click.echo(f"  note: {note}")
            for w in why or []:
                click.echo(
                    f"  why: {w['feature']:<28} {w['value']:>10.4g} (training mean "
                    f"{w['reference']:.4g}) -> {w['toward']:<8} {w['contribution']:+.3f}"
                )
            for w in res.windows or []:
                click.echo(
                    f"  {w['start_s']:>7.1f} s  {w['verdict']:<9}{w['p_fake']:>8.3f}"
                    f"{w['score']:>10.3f}"
                )
    if as_json:
        echo_json(records)
    n_failed = len(files) - len(scored)
    if scores_out is not None and scored:
        layout = _write_scores(scored, scores_out, force=force)
        click.echo(f"wrote {scores_out} ({layout}, {len(scored)} files)", err=True)
    if not scored:
        fail(f"no file could be scored ({n_failed} failed)")
    if plot_path is not None:
        from dfaudio.explain import plot_timeline

        plot_timeline(plotted[:12], plot_path, threshold=predictor.threshold, force=force)
        more = f" (first 12 of {len(plotted)} files)" if len(plotted) > 12 else ""
        click.echo(f"wrote {plot_path}{more}", err=True)
    if n_failed and not as_json:
        click.echo(f"{len(scored)} scored, {n_failed} failed", err=True)


def _explain(predictor: Any, path: str, sr: int | None, top: int) -> list[dict[str, Any]]:
    from dfaudio.explain import explain_file

    return explain_file(predictor, path, sr=sr, top=top)


def _utt(path: str) -> str:
    return "_".join(str(path).split()) or "-"


def _write_scores(scored: list[Any], path: Path, *, force: bool) -> str:
    """Write the ``--scores-out`` file; returns a description of its layout."""
    from dfaudio.io.files import write_text

    missing = [r.file for r in scored if r.label is None]
    if missing:
        lines = [f"{_utt(r.file)} {r.score:.6f}" for r in scored]
        click.echo(
            f"warning: {len(missing)} of {len(scored)} files have no key (no --label, no "
            f"real/fake folder, e.g. {missing[0]}): writing 'UTT SCORE' lines, which dfaudio "
            "evaluate cannot read until joined with keys",
            err=True,
        )
        layout = "UTT SCORE"
    else:
        lines = [f"{_utt(r.file)} - {r.label} {r.score:.6f}" for r in scored]
        layout = "UTT ATTACK KEY SCORE"
    write_text(path, "\n".join(lines) + "\n", force=force)
    return layout


def _run_stream(
    predictor: Any,
    source: str,
    as_json: bool,
    stream_sr: int | None,
    stream_dtype: str,
    stream_channels: int,
) -> None:
    import json

    from dfaudio.io.stream import read_stream
    from dfaudio.scoring import stream_summary

    sr, blocks = read_stream(
        source,
        block_s=predictor.window_s,
        raw_sr=stream_sr,
        raw_dtype=stream_dtype,
        channels=stream_channels,
    )
    warm_ms = predictor.warm_up(sr)
    name = "<stdin>" if source == "-" else source
    if not as_json:
        click.echo(_header(predictor), err=True)
        note = predictor.rate_note(sr)
        click.echo(
            f"stream {name}: {sr} Hz, {predictor.window_s:g} s windows (warm-up {warm_ms:.0f} ms)"
            + (f"\nnote: {note}" if note else "")
        )
        click.echo(f"{'t_s':>7}  {'verdict':<9}{'p_fake':>8}{'score':>10}{'latency_ms':>12}")
    chunks = []
    for c in predictor.stream(blocks, sr=sr):
        chunks.append(c)
        if as_json:
            click.echo(json.dumps(c.to_dict()))
        else:
            click.echo(
                f"{c.start_s:>7.1f}  {c.verdict:<9}{c.p_fake:>8.3f}{c.score:>10.3f}"
                f"{c.latency_ms:>12.1f}"
            )
    summary = stream_summary(
        chunks,
        window_s=predictor.window_s,
        threshold=predictor.threshold,
        tail_s=predictor.stream_tail_s,
    )
    summary.update(sr=sr, warm_up_ms=warm_ms, source=name)
    if predictor.calibration is not None and summary.get("mean_score") is not None:
        summary["p_fake"] = predictor.p_fake(summary["mean_score"])  # through the run's map
        summary["llr"] = predictor.llr(summary["mean_score"])
    if as_json:
        click.echo(json.dumps({"summary": summary}))
    elif chunks:
        click.echo(
            f"summary: {summary['n_windows']} windows ({summary['audio_s']:g} s scored, "
            f"{summary['tail_s_not_scored']:.2f} s tail not scored); spoof "
            f"{summary['n_spoof']}, bonafide {summary['n_bonafide']}; overall {summary['verdict']} "
            f"(p_fake {summary['p_fake']:.3f}); latency p50 {summary['latency_ms_p50']:.1f} ms, "
            f"p99 {summary['latency_ms_p99']:.1f} ms; real-time factor {summary['rtf']:.4f}"
        )
    if not chunks:
        fail(f"{name}: stream ended before one full {predictor.window_s:g} s window")
