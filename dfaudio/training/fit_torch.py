"""Train a torch model on time-frequency tensors and write a run directory (``dfaudio fit-deep``).

Plan -> train -> hand the results to the run writer:

1. **Plan**: manifest (:func:`dfaudio.datasets.load_manifest`) -> train / dev / test roles
   (:func:`dfaudio.training.splits.plan_roles`: the data's own split where it has one, else
   grouped hold-outs, so one recording or speaker never straddles two roles).
2. **Train** (:mod:`dfaudio.deep`): features of every file computed once into the on-disk cache
   (:func:`dfaudio.deep.cache.precompute`; unusable files are dropped and counted) -> Adam +
   BCE-with-logits (spoof = positive class, optional ``pos_weight`` for class imbalance) ->
   early stopping on the dev EER, best weights kept (:class:`dfaudio.deep.trainer.Trainer`) ->
   the best weights scored on the test role.
3. **Write**: the run directory of :mod:`dfaudio.runs`.

The bona fide score of a clip is ``-logit`` (log-odds of bona fide, higher = more bona fide), so
``p_fake = sigmoid(logit)``.

Run directory (same format as ``fit-sklearn``, plus the deep-path files)::

    config.json        everything needed to rebuild or resume the run
    split.csv          path, label, group, role (train/dev/test) of every usable file
    checkpoint.pt      last finished epoch (model, optimizer, scaler, epoch, RNG, history);
                       removed when the run finishes
    model.safetensors  best weights (lowest dev EER)      model.json  how to rebuild the model
    scores.csv         test clips: file, window (-1), group, label, score, p_fake, fold (0)
    environment.json   versions, platform, command line, seed
    metrics.json       written last: test metrics, per-epoch history, best epoch, timings

Interrupting (Ctrl-C) keeps ``checkpoint.pt`` of the last finished epoch and raises
:class:`TrainingInterrupted`; :func:`resume_torch` continues from it. Each epoch reseeds torch
and the shuffling from ``(seed, epoch)``, so a resumed run reproduces an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dfaudio.deep.cache import FeatureCache, precompute
from dfaudio.deep.checkpoint import (
    CHECKPOINT,
    MODEL_FILE,
    MODEL_JSON,
    SPLIT_FILE,
    load_checkpoint,
    load_weights,
    seed_everything,
)
from dfaudio.deep.config import CLASS_WEIGHTS, DEVICES, DeepConfig, TimeFreqConfig
from dfaudio.deep.dataset import Normalizer, TimeFreqDataset, make_loader
from dfaudio.deep.inference import TorchBackend, load_backend
from dfaudio.deep.trainer import (
    EpochCallback,
    Trainer,
    TrainingInterrupted,
    logits_to_scores,
    predict_logits,
    resolve_device,
)
from dfaudio.exceptions import DataError, ParameterError
from dfaudio.labels import CLASS_NAMES, encode_labels, score_to_p_fake
from dfaudio.runs import FitResult

__all__ = [
    "CHECKPOINT",
    "CLASS_WEIGHTS",
    "DEVICES",
    "MODEL_FILE",
    "MODEL_JSON",
    "SPLIT_FILE",
    "DeepConfig",
    "EpochCallback",
    "FitResult",
    "TorchBackend",
    "TrainingInterrupted",
    "assign_roles",
    "fit_torch",
    "load_backend",
    "load_weights",
    "resolve_device",
    "resume_torch",
    "seed_everything",
]


# --------------------------------------------------------------------------- plan


def assign_roles(manifest: pd.DataFrame, cfg: DeepConfig) -> tuple[np.ndarray, str, str, str]:
    """Train / dev / test role of every file (:func:`dfaudio.training.splits.plan_roles`).

    Returns
    -------
    roles : np.ndarray [shape=(n,)] of {"train", "dev", "test"}
    split_type : {"given", "grouped"}
    description : str
    eval_name : str
        What the test files are called ("eval", "test", "dev").
    """
    plan = _plan_roles(manifest, cfg)
    return plan.roles, plan.split_type, plan.description, plan.eval_name


def _plan_roles(manifest: pd.DataFrame, cfg: DeepConfig) -> Any:
    from dfaudio.training.splits import plan_roles

    return plan_roles(
        encode_labels(manifest["label"].to_numpy()),
        groups=manifest["group"].astype(str).to_numpy(),
        splits=manifest["split"].to_numpy() if "split" in manifest.columns else None,
        test_size=cfg.test_size,
        dev_size=cfg.dev_size,
        seed=cfg.seed,
    )


def fit_torch(
    cfg: DeepConfig,
    *,
    runs_dir: str | Path = "runs",
    data_name: str | None = None,
    manifest: pd.DataFrame | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> FitResult:
    """Train ``cfg.model`` on ``cfg.feature`` tensors of ``cfg.data`` and write a run directory.

    Parameters
    ----------
    cfg : DeepConfig
    runs_dir : path
        Parent of the new run directory.
    data_name : str, optional
        Name of the data on the leaderboard (default: the inputs' folder names).
    manifest : pd.DataFrame, optional
        A ready manifest (default: :func:`dfaudio.datasets.load_manifest` of ``cfg.data``).
    progress : bool
        tqdm bars (features, one per epoch with loss and dev EER).
    log : callable, optional
        Receives one-line notes (split, dropped files, early stop).
    on_epoch_end : callable, optional
        ``f(epoch, record)`` after each finished epoch (and its checkpoint).

    Returns
    -------
    FitResult

    Raises
    ------
    TrainingInterrupted
        On Ctrl-C; the run directory keeps the checkpoint of the last finished epoch.
    """
    from dfaudio.models.torch_zoo import build_model
    from dfaudio.runs import RunWriter, new_run_dir

    tf_cfg = cfg.timefreq()
    _ = tf_cfg.shape  # fail fast on bad feature parameters ...
    build_model(cfg.model, tf_cfg.shape, pretrained=cfg.pretrained, freeze=cfg.freeze)  # ... model
    if manifest is None:
        manifest = _load_manifest(cfg)
    plan = _plan_roles(manifest, cfg)
    run_dir = new_run_dir(runs_dir, f"{cfg.model.replace(':', '-')}-{cfg.feature}")
    split = manifest.copy()
    split["role"] = plan.roles
    info = {
        "split_type": plan.split_type,
        "split": plan.description,
        "eval_name": plan.eval_name,
        "data_name": data_name or _data_name(cfg.data),
        "warnings": list(plan.warnings),
    }
    writer = RunWriter(run_dir)
    writer.config({"kind": "torch", **cfg.to_dict(), **info, "timefreq": tf_cfg.to_dict()})
    from dfaudio.io.files import atomic_path

    with atomic_path(run_dir / SPLIT_FILE, force=True) as tmp:
        split.to_csv(tmp, index=False)
    writer.environment(seed=cfg.seed)
    return _train(cfg, run_dir, split, info, progress=progress, log=log, on_epoch_end=on_epoch_end)


def resume_torch(
    run_dir: str | Path,
    *,
    epochs: int | None = None,
    device: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> FitResult:
    """Continue an interrupted run from its ``checkpoint.pt``.

    ``epochs`` (raise the total), ``device`` and ``workers`` may differ from the original run;
    everything else comes from the run's ``config.json`` and ``split.csv``.
    """
    from dfaudio.runs import CONFIG, METRICS, load_json

    d = Path(run_dir)
    if not (d / CONFIG).is_file():
        raise DataError("not a dfaudio run directory (no config.json)", d)
    if (d / METRICS).is_file():
        raise DataError("this run has finished (metrics.json exists); nothing to resume", d)
    saved = load_json(d / CONFIG)
    if saved.get("kind") != "torch":
        raise DataError("only fit-deep (torch) runs can be resumed", d)
    cfg = DeepConfig.from_dict(saved)
    overrides = {"epochs": epochs, "device": device, "workers": workers}
    cfg = dataclasses.replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    split = pd.read_csv(d / SPLIT_FILE, dtype={"group": str, "path": str}, keep_default_na=False)
    info = {k: saved[k] for k in ("split_type", "split", "eval_name", "data_name")}
    info["warnings"] = list(saved.get("warnings", []))
    return _train(
        cfg,
        d,
        split,
        info,
        progress=progress,
        log=log,
        on_epoch_end=on_epoch_end,
        resume=load_checkpoint(d),
    )


def _load_manifest(cfg: DeepConfig) -> pd.DataFrame:
    from dfaudio.datasets import load_manifest

    if not cfg.data:
        raise ParameterError("no data given (data=[...])")
    return load_manifest(
        cfg.data,
        layout=cfg.layout,
        label_map=cfg.label_map,
        protocols=cfg.protocols or None,
        group_regex=cfg.group_regex,
    )


def _data_name(inputs: Sequence[str]) -> str:
    return "+".join(Path(p).name or str(p) for p in inputs) or "?"


# --------------------------------------------------------------------------- train


def _train(
    cfg: DeepConfig,
    run_dir: Path,
    split: pd.DataFrame,
    info: dict[str, Any],
    *,
    progress: bool,
    log: Callable[[str], None] | None,
    on_epoch_end: EpochCallback | None,
    resume: dict[str, Any] | None = None,
) -> FitResult:
    from dfaudio.models.nets import count_parameters
    from dfaudio.models.torch_zoo import build_model

    say = log or (lambda _msg: None)
    if resume is None:
        for w in info.get("warnings", []):
            say(f"note: {w}")
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    amp = bool(cfg.amp and device.type == "cuda")
    if cfg.amp and not amp:
        say("note: --amp needs CUDA; training in float32 on CPU")
    tf_cfg = cfg.timefreq()
    cache = FeatureCache(tf_cfg, cfg.cache_dir)
    paths = split["path"].astype(str).to_numpy()
    roles = split["role"].astype(str).to_numpy()
    labels = encode_labels(split["label"].to_numpy())

    t0 = time.perf_counter()
    pre = precompute(
        paths,
        cache,
        stats_mask=roles == "train",
        workers=cfg.workers,
        progress=progress,
        desc=f"{cfg.feature} features",
    )
    feature_s = time.perf_counter() - t0
    if pre.failures:
        reasons: dict[str, int] = {}
        for _, reason, _ in pre.failures:
            reasons[reason] = reasons.get(reason, 0) + 1
        say(
            f"note: {len(pre.failures)} unusable file(s) dropped ("
            + ", ".join(f"{k}: {v}" for k, v in reasons.items())
            + f"), e.g. {pre.failures[0][0]}: {pre.failures[0][2]}"
        )
    idx = {r: np.flatnonzero(pre.ok & (roles == r)) for r in ("train", "dev", "test")}
    for r, i in idx.items():
        if len(np.unique(labels[i])) < 2:
            raise DataError(f"the {r} files hold a single class after dropping unusable files")
    normalizer = Normalizer.fit_from_stats(pre.stats, mode=cfg.normalize)

    def dataset(role: str, *, train: bool) -> TimeFreqDataset:
        i = idx[role]
        return TimeFreqDataset(
            paths[i], labels[i], cache=cache, normalizer=normalizer, train=train, seed=cfg.seed
        )

    def eval_loader(role: str) -> Any:
        return make_loader(
            dataset(role, train=False),
            batch_size=cfg.batch_size,
            workers=cfg.workers,
            pin_memory=device.type == "cuda",
        )

    model = build_model(cfg.model, tf_cfg.shape, pretrained=cfg.pretrained, freeze=cfg.freeze)
    model.to(device)
    y_train = labels[idx["train"]]
    n_spoof, n_bona = int(y_train.sum()), int(len(y_train) - y_train.sum())
    pos_weight = n_bona / max(n_spoof, 1) if cfg.class_weight == "auto" else None
    trainer = Trainer(
        model,
        train_ds=dataset("train", train=True),
        dev_loader=eval_loader("dev"),
        dev_labels=labels[idx["dev"]],
        run_dir=run_dir,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        patience=cfg.patience,
        seed=cfg.seed,
        workers=cfg.workers,
        device=device,
        amp=amp,
        pos_weight=pos_weight,
    )
    if resume is not None:
        trainer.restore(resume)
        say(f"resuming {run_dir.name} after epoch {trainer.epochs_done}")
    outcome = trainer.fit(progress=progress, on_epoch_end=on_epoch_end)
    if outcome.stopped_early:
        say(
            f"early stop: no better dev EER (ties: dev loss) for {cfg.patience} epochs "
            f"(best: epoch {outcome.best['epoch']})"
        )

    # The best weights (loaded by Trainer.fit) -> test.
    test_logits = predict_logits(model, eval_loader("test"), device=device, amp=amp)
    y_test = labels[idx["test"]]
    test_rows = split.iloc[idx["test"]]
    scores = logits_to_scores(test_logits)
    scores_df = pd.DataFrame(
        {
            "file": test_rows["path"].to_numpy(),
            "window": -1,
            "group": test_rows["group"].astype(str).to_numpy(),
            "label": np.asarray(CLASS_NAMES)[y_test],
            "score": scores,
            "p_fake": score_to_p_fake(scores),
            "fold": 0,
        }
    )
    for extra in ("attack", "speaker", "split"):
        if extra in test_rows.columns:
            scores_df[extra] = test_rows[extra].to_numpy()
    # dev scores of the best weights: what the run's score -> LLR map is fitted on (issue 9)
    dev_scores = logits_to_scores(predict_logits(model, eval_loader("dev"), device=device, amp=amp))
    dev_df = pd.DataFrame(
        {"label": np.asarray(CLASS_NAMES)[labels[idx["dev"]]], "score": dev_scores}
    )
    return _finish(
        cfg,
        run_dir,
        info,
        scores_df,
        model=model,
        normalizer=normalizer,
        tf_cfg=tf_cfg,
        history=outcome.history,
        best=outcome.best,
        stopped_early=outcome.stopped_early,
        n_params=count_parameters(model),
        n_trainable=count_parameters(model, trainable_only=True),
        device=device,
        amp=amp,
        n_files={r: int(len(i)) for r, i in idx.items()},
        failures=pre.failures,
        feature_s=feature_s,
        train_s=outcome.train_seconds,
        cache=pre,
        pos_weight=pos_weight,
        dev_df=dev_df,
    )


# --------------------------------------------------------------------------- write
def _finish(
    cfg: DeepConfig,
    run_dir: Path,
    info: dict[str, Any],
    scores_df: pd.DataFrame,
    **kw: Any,
) -> FitResult:
    """Hand the test scores, the model description and the training record to the run writer."""
    from dfaudio.io.audio import probe_sample_rates
    from dfaudio.runs import ModelInfo, RunInfo, RunWriter, build_record

    writer = RunWriter(run_dir)
    writer.scores(scores_df)
    tf_cfg: TimeFreqConfig = kw["tf_cfg"]
    best_epoch = kw["best"]["epoch"]
    writer.model_info(
        ModelInfo(
            kind="torch",
            format="safetensors",
            file=MODEL_FILE,
            model=cfg.model,
            trained_on=f"train role, best dev EER (epoch {best_epoch})",
            output="one logit per clip; p_fake = sigmoid(logit); bona fide score = -logit",
            spec={
                "input_shape": list(tf_cfg.shape),
                "timefreq": tf_cfg.to_dict(),
                "normalizer": kw["normalizer"].to_dict(),
                "pretrained": cfg.pretrained,
                "freeze": cfg.freeze,
                "best_epoch": best_epoch,
            },
        )
    )
    history = kw["history"]
    run_info = RunInfo(
        kind="torch",
        model=cfg.model,
        features=cfg.feature,
        data=info["data_name"],
        split_type=info["split_type"],
        split=info["split"],
        eval_name=info["eval_name"],
        n_rows=int(sum(kw["n_files"].values())),
        n_folds=1,
        seed=cfg.seed,
        warnings=list(info.get("warnings", [])),
    )
    extra: dict[str, Any] = {
        "n_files": kw["n_files"],
        "n_failed": len(kw["failures"]),
        "input_shape": list(tf_cfg.shape),
        "n_params": kw["n_params"],
        "n_trainable_params": kw["n_trainable"],
        "device": str(kw["device"]),
        "amp": kw["amp"],
        "pos_weight": kw["pos_weight"],
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "best_dev_eer": kw["best"]["dev_eer"],
        "stopped_early": kw["stopped_early"],
        "history": history,
        "feature_seconds": round(kw["feature_s"], 3),
        "features_computed": kw["cache"].computed,
        "features_cached": kw["cache"].cached,
        "train_seconds": round(kw["train_s"], 3),
        "model_file": f"{MODEL_FILE} (best dev EER, epoch {best_epoch})",
        "sample_rates": probe_sample_rates(scores_df["file"].astype(str)),
    }
    if kw["failures"]:
        extra["failures"] = [list(f) for f in kw["failures"][:20]]
    record = build_record(run_info, scores_df, extra=extra)
    ckpt = run_dir / CHECKPOINT
    if ckpt.exists():
        ckpt.unlink()
    title = f"{cfg.model} / {cfg.feature} ({info['split_type']})"
    return writer.finish(
        record,
        scores_df,
        plot_title=title,
        config=cfg.to_dict(),
        calibration_scores=kw.get("dev_df"),
    )
