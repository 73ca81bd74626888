"""``dfaudio fit-deep``: torch models on time-frequency tensors.

Importing this module stays light (click, the feature registry): torch is imported only when the
command runs.
"""

from __future__ import annotations

import re
import sys

import click

from dfaudio.cli.common import (
    dataset_options,
    echo_json,
    handle_errors,
    parse_label_map_option,
)
from dfaudio.features.registry import TIMEFREQ

__all__ = [
    "MODEL_NAMES",
    "cli",
    "flag_names",
    "format_result",
]

# Listed here (not imported from the registry) so that ``--help`` never imports torch or timm; a
# test checks that this tuple equals ``dfaudio.models.torch_zoo.MODELS.names()``.
MODEL_NAMES = ("simple-ann", "simple-cnn", "lcnn", "lstm", "conv1d-lstm", "resnet101")


def _check_model(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or value in MODEL_NAMES or (value.startswith("timm:") and len(value) > 5):
        return value
    raise click.BadParameter(
        f"{value!r} is not one of {', '.join(MODEL_NAMES)} or timm:<name> (e.g. timm:resnet200d)"
    )


@click.command(
    "fit-deep",
    epilog="""\b
Examples:
  dfaudio fit-deep --model simple-cnn --feature mel --data data/          # real/ + fake/ folders
  dfaudio fit-deep --model resnet101 --feature mel --data LA/ --protocol \\
      LA/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.train.trn.txt ... --device cuda --amp
  dfaudio fit-deep --model resnet101 --pretrained resnet101.safetensors --data data/
  dfaudio fit-deep --model timm:resnet200d --feature lfcc --feature-param add_deltas=true ...
  dfaudio fit-deep --model lcnn --feature lfcc --feature-param preset=baseline-2019 ...  # B02 LFCC
  dfaudio fit-deep --model simple-cnn --feature seed-mel ...   # the seed's own input tensor
  dfaudio fit-deep --model lstm --data data/                  # BiLSTM over 20 MFCCs per frame
  dfaudio fit-deep --model conv1d-lstm --data data/           # seed Keras model, 40 MFCCs
  dfaudio fit-deep --resume runs/20261125-213000-simple-cnn-mel     # after Ctrl-C
\b
Roles: the data's own train/dev/eval split where it has one; otherwise grouped hold-outs
(--test-size, then --dev-size of the rest) so that one recording/speaker never straddles two.
Early stopping and the kept weights use the dev EER; metrics are on the test/eval files.
""",
)
@click.option(
    "--model",
    callback=_check_model,
    metavar="NAME",
    help=f"{' | '.join(MODEL_NAMES)} | timm:<name>.",
)
@click.option(
    "--feature",
    type=click.Choice(TIMEFREQ.names()),
    default=None,
    help="Time-frequency feature [default: mel; mfcc for lstm, 40 MFCCs for conv1d-lstm].",
)
@click.option(
    "--feature-param",
    "feature_params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Feature parameter, e.g. n_mels=80, add_deltas=true (repeatable).",
)
@click.option(
    "--data",
    "inputs",
    multiple=True,
    type=click.Path(exists=True),
    help="Dataset folder(s) or CSV list(s) (repeatable).",
)
@dataset_options()
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Adam learning rate.")
@click.option("--weight-decay", type=float, default=0.0, show_default=True)
@click.option(
    "--patience",
    type=int,
    default=3,
    show_default=True,
    help="Stop after this many epochs without a lower dev EER.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Fit N times with seeds SEED..SEED+N-1 (one run each) and report mean ± std; the "
    "leaderboard shows the spread.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--amp", is_flag=True, help="Mixed precision (CUDA only).")
@click.option(
    "--class-weight",
    type=click.Choice(["auto", "none"]),
    default="auto",
    show_default=True,
    help="auto: spoof loss weighted by n_bonafide / n_spoof (train).",
)
@click.option(
    "--pretrained",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Local timm weights (.safetensors / state dict); never fetched.",
)
@click.option(
    "--freeze",
    type=int,
    default=None,
    help="Freeze the first N parameter tensors of any model (2 per layer: weight, "
    "bias) [39 with --pretrained, else 0].",
)
@click.option(
    "--max-duration-s",
    type=float,
    default=6.0,
    show_default=True,
    help="Clip length: short clips repeat-padded, long ones cropped.",
)
@click.option(
    "--sr", type=int, default=16000, show_default=True, help="Resample audio to this rate."
)
@click.option(
    "--normalize",
    type=click.Choice(["global", "utterance", "none"]),
    default="global",
    show_default=True,
    help="Per-feature normalisation: training mean/std, per clip, or none.",
)
@click.option(
    "--test-size",
    type=float,
    default=0.2,
    show_default=True,
    help="Grouped test hold-out when the data has no eval/test split.",
)
@click.option(
    "--dev-size",
    type=float,
    default=0.2,
    show_default=True,
    help="Grouped dev hold-out (from train) when the data has no dev split.",
)
@click.option(
    "-j",
    "--workers",
    type=int,
    default=0,
    show_default=True,
    help="DataLoader worker processes (feature computation and batches).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Feature cache [default: ~/.cache/dfaudio/timefreq].",
)
@click.option("--no-cache", is_flag=True, help="Keep features in memory only.")
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs", show_default=True)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Continue an interrupted run (its config is reused; --epochs, --device and "
    "--workers may be changed).",
)
@click.option(
    "--eval-data",
    "eval_data",
    multiple=True,
    metavar="NAME[:KIND]=INPUT",
    help="Also score this external audio (any layout, or a list; repeatable) with the "
    "final model, as dfaudio predict does: metrics under eval_sets in "
    "metrics.json, scores and plots in eval-NAME/. KIND: cross-corpus (default), "
    "unseen-attack or in-corpus.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
@handle_errors
def cli(ctx: click.Context, **opts: object) -> None:
    """Train SimpleANN / SimpleCNN / LCNN / LSTM / Conv1D-LSTM / ResNet101 / any timm model on
    mel, MFCC, LFCC or chroma tensors and write a run directory (same format as fit-sklearn).

    Ctrl-C keeps a checkpoint of the finished epochs; --resume RUN_DIR continues from it.
    """
    from dfaudio.training.fit_torch import TrainingInterrupted

    eval_data = list(opts.pop("eval_data", None) or ())
    if eval_data:  # checked before training: a bad item fails now, not after the epochs
        from pathlib import Path

        from dfaudio.exceptions import DataError
        from dfaudio.generalization.evalsets import parse_eval_data

        for spec in parse_eval_data(eval_data):
            if not Path(spec.path).exists():
                raise DataError(f"eval set {spec.name!r}: no such file or directory", spec.path)
    n_seeds = int(opts.pop("seeds", 1) or 1)  # type: ignore[call-overload]
    if n_seeds > 1 and opts.get("resume_dir"):
        raise click.UsageError("--seeds does not combine with --resume")
    results = []
    for k in range(n_seeds):
        run_opts = dict(opts, seed=int(opts["seed"]) + k)  # type: ignore[call-overload]
        try:
            results.append(_run(ctx, run_opts))
        except TrainingInterrupted as exc:
            click.echo(f"\n{exc}", err=True)
            sys.exit(130)
        if n_seeds > 1 and not opts["as_json"]:
            click.echo(format_result(dict(results[-1].metrics, run_dir=str(results[-1].run_dir))))
    if n_seeds > 1:
        from dfaudio.runs.seeds import format_seed_group, mark_seed_group

        group = mark_seed_group([r.run_dir for r in results])
        if opts["as_json"]:
            echo_json({"seed_group": group, "runs": [str(r.run_dir) for r in results]})
        else:
            click.echo(format_seed_group(str(opts["model"]), group))
        return
    result = results[0]
    m = dict(result.metrics, run_dir=str(result.run_dir))
    if result.run_dir is not None:  # nuisance facts of the training audio (dfaudio audit)
        from dfaudio.generalization.audit import audit_run_data

        shortcuts = audit_run_data(result.run_dir)
        m["warnings"] = [*(m.get("warnings") or []), *shortcuts]
        if not opts["as_json"]:
            for w in shortcuts:
                click.echo(f"note: {w}", err=True)
    if eval_data and result.run_dir is not None:
        from dfaudio.generalization.evalsets import score_audio_sets

        def warn(path: str, reason: str, detail: str) -> None:
            click.echo(f"warning: {path}: {reason}: {detail}", err=True)

        m["eval_sets"] = score_audio_sets(result.run_dir, eval_data, on_failure=warn)
    if opts["as_json"]:
        echo_json(m)
    else:
        click.echo(format_result(m))
        for set_name, e in (m.get("eval_sets") or {}).items():
            ci = e.get("eer_ci95")
            ci_text = f" [{100 * ci[0]:.1f}-{100 * ci[1]:.1f}]" if ci else ""
            click.echo(
                f"  {set_name} ({e['kind']}, per file): EER {100 * e['eer']:.2f}%{ci_text}  "
                f"acc {100 * e['accuracy']:.2f}%  ({e['n_bonafide']} bona / {e['n_spoof']} spoof)"
            )


#: DeepConfig / fit_torch parameter names whose errors are shown as flags (``lr`` -> ``--lr``).
_FLAGS = (
    "epochs",
    "batch_size",
    "patience",
    "lr",
    "weight_decay",
    "class_weight",
    "device",
    "test_size",
    "dev_size",
    "workers",
    "freeze",
    "feature_params",
    "max_duration_s",
)


def flag_names(message: str) -> str:
    """Library messages name Python parameters; the CLI shows its flags instead.

    ``"lr must be > 0"`` -> ``"--lr must be > 0"``; ``"device='cuda': ..."`` ->
    ``"--device cuda: ..."``; ``"feature_params {...}"`` -> ``"--feature-param {...}"``.
    """
    for name in _FLAGS:
        flag = "--" + name.replace("_", "-").removesuffix("s" if name == "feature_params" else "")
        message = re.sub(rf"(?<![\w-]){name}='([^']*)'", rf"{flag} \1", message)
        message = re.sub(rf"(?<![\w-]){name}=(?=\S)", f"{flag} ", message)
        message = re.sub(rf"(?<![\w-]){name} (must|is|needs)\b", rf"{flag} \1", message)
        message = re.sub(rf"^{name}\b", flag, message)
    return message


def _run(ctx: click.Context, o: dict) -> object:
    from dfaudio.exceptions import ParameterError

    try:
        return _fit(ctx, o)
    except ParameterError as exc:
        raise ParameterError(flag_names(str(exc))) from None


def _fit(ctx: click.Context, o: dict) -> object:
    from dfaudio.deep.cache import DEFAULT_CACHE_DIR
    from dfaudio.deep.config import DeepConfig, parse_feature_params
    from dfaudio.training.fit_torch import fit_torch, resume_torch

    progress = not o["quiet"]

    def log(msg: str) -> None:
        click.echo(msg, err=True)

    if o["resume_dir"]:
        src = click.core.ParameterSource
        changed = {
            k: o[k]
            for k in ("epochs", "device", "workers")
            if ctx.get_parameter_source(k) != src.DEFAULT
        }
        return resume_torch(o["resume_dir"], progress=progress, log=log, **changed)
    if not o["model"]:
        raise click.UsageError("--model is required (or --resume RUN_DIR)")
    if not o["inputs"]:
        raise click.UsageError("--data is required (or --resume RUN_DIR)")
    cache_dir = None if o["no_cache"] else str(o["cache_dir"] or DEFAULT_CACHE_DIR)
    from dfaudio.io.files import check_folder_writable

    for folder in (cache_dir, o["runs_dir"]):  # before any feature is computed
        if folder is not None:
            check_folder_writable(folder)
    cfg = DeepConfig(
        model=o["model"],
        feature=o["feature"],
        data=[str(p) for p in o["inputs"]],
        layout=o["layout"],
        protocols=[str(p) for p in o["protocols"]],
        label_map=parse_label_map_option(o["label_map"]),
        group_regex=o["group_regex"],
        feature_params=parse_feature_params(o["feature_params"]),
        sr=o["sr"],
        max_duration_s=o["max_duration_s"],
        normalize=o["normalize"],
        epochs=o["epochs"],
        batch_size=o["batch_size"],
        lr=o["lr"],
        weight_decay=o["weight_decay"],
        patience=o["patience"],
        seed=o["seed"],
        device=o["device"],
        amp=o["amp"],
        class_weight=o["class_weight"],
        pretrained=o["pretrained"],
        freeze=o["freeze"],
        test_size=o["test_size"],
        dev_size=o["dev_size"],
        workers=o["workers"],
        cache_dir=cache_dir,
    )
    if not o["as_json"]:
        log(f"fit-deep: {cfg.model} on {cfg.feature} ({', '.join(cfg.data)})")
    return fit_torch(cfg, runs_dir=o["runs_dir"], progress=progress, log=log)


def format_result(m: dict) -> str:
    """Two lines: test accuracy, EER, AUC, best epoch; the run directory."""
    shape = "x".join(str(v) for v in m.get("input_shape", []))
    line = (
        f"{m['model']} / {m['features']} [{shape}]  {m['eval_name']}: acc "
        f"{100 * m['accuracy']:.2f}%  EER {100 * m['eer']:.2f}%  AUC {m['roc_auc']:.4f}  "
        f"(best dev EER {100 * m['best_dev_eer']:.2f}% at epoch {m['best_epoch']}/"
        f"{m['epochs_run']}, {m['split_type']} split)"
    )
    return f"{line}\n  -> {m['run_dir']}"
