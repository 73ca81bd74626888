"""Train a torch model on time-frequency tensors and write a run directory (``dfaudio fit-deep``).

Flow: manifest (:func:`dfaudio.datasets.load_manifest`) -> train / dev / test roles (the data's
own ``split`` column where it has one, else grouped hold-outs from
:func:`dfaudio.training.splits.plan_splits`, so one recording or speaker never straddles two
roles) -> features of every file computed once into the on-disk cache
(:func:`dfaudio.timefreq.precompute`; unusable files are dropped and counted) -> Adam +
BCE-with-logits (spoof = positive class, optional ``pos_weight`` for class imbalance) -> early
stopping on the dev EER, best weights kept -> the best weights scored on the test role with
:func:`dfaudio.evaluation.summarize` -> the run directory of :mod:`dfaudio.runs`.

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
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dfaudio.exceptions import DataError, DfaudioError, ParameterError
from dfaudio.labels import CLASS_NAMES, LABEL_IDS, SCORE_DIRECTION
from dfaudio.timefreq import (
    DEFAULT_CACHE_DIR,
    FeatureCache,
    Normalizer,
    TimeFreqConfig,
    TimeFreqDataset,
    make_loader,
    precompute,
)

CHECKPOINT = "checkpoint.pt"
MODEL_FILE = "model.safetensors"
MODEL_JSON = "model.json"
SPLIT_FILE = "split.csv"
CLASS_WEIGHTS = ("auto", "none")
DEVICES = ("auto", "cpu", "cuda")

EpochCallback = Callable[[int, dict[str, Any]], None]


class TrainingInterrupted(DfaudioError):
    """Training stopped by Ctrl-C; ``run_dir`` holds a checkpoint to resume from."""

    def __init__(self, run_dir: Path, epochs_done: int) -> None:
        self.run_dir = Path(run_dir)
        self.epochs_done = epochs_done
        super().__init__(
            f"interrupted after {epochs_done} finished epoch(s); checkpoint saved in "
            f"{run_dir / CHECKPOINT}. Resume with: dfaudio fit-deep --resume {run_dir}"
        )


@dataclasses.dataclass
class DeepConfig:
    """Everything that defines a ``fit-deep`` run (saved as ``config.json``).

    Parameters
    ----------
    model : str
        :data:`dfaudio.models.torch_zoo.MODELS` name or ``timm:<name>``.
    feature : str
        :data:`dfaudio.features.registry.TIMEFREQ` name.
    data : list of str
        Inputs given to :func:`dfaudio.datasets.load_manifest`.
    layout, protocols, label_map, group_regex
        Passed to :func:`~dfaudio.datasets.load_manifest`.
    feature_params : dict
        Keyword arguments of the feature function.
    sr, max_duration_s, normalize
        :class:`~dfaudio.timefreq.TimeFreqConfig` (clip length = ``max_duration_s``).
    epochs, batch_size, lr, weight_decay, patience
        Adam and early stopping (stop after ``patience`` epochs without a lower dev EER).
    seed : int
    device : {"auto", "cpu", "cuda"}
    amp : bool
        Mixed precision (float16 autocast + gradient scaling) on CUDA; ignored on CPU.
    class_weight : {"auto", "none"}
        ``auto``: ``pos_weight = n_bonafide / n_spoof`` of the training files.
    pretrained : str, optional
        Local timm weights file.
    freeze : int, optional
        Parameter tensors to freeze (default: 39 with ``pretrained``, else 0).
    test_size, dev_size : float
        Grouped hold-out fractions used when the data has no test / dev split.
    workers : int
        DataLoader worker processes (feature computation and batches).
    cache_dir : str, optional
        Feature cache root (``None``: in memory only).
    """

    model: str
    feature: str = "mel"
    data: list[str] = dataclasses.field(default_factory=list)
    layout: str = "auto"
    protocols: list[str] = dataclasses.field(default_factory=list)
    label_map: dict[str, str] | None = None
    group_regex: str | None = None
    feature_params: dict[str, Any] = dataclasses.field(default_factory=dict)
    sr: int = 16000
    max_duration_s: float = 6.0
    normalize: str = "global"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    class_weight: str = "auto"
    pretrained: str | None = None
    freeze: int | None = None
    test_size: float = 0.2
    dev_size: float = 0.2
    workers: int = 0
    cache_dir: str | None = str(DEFAULT_CACHE_DIR)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ParameterError(f"--{name.replace('_', '-')} must be >= 1")
        if self.patience < 1:
            raise ParameterError("--patience must be >= 1")
        if not self.lr > 0:
            raise ParameterError(f"--lr must be > 0, got {self.lr}")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ParameterError(f"--class-weight must be one of {CLASS_WEIGHTS}")
        if self.device not in DEVICES:
            raise ParameterError(f"--device must be one of {DEVICES}")
        for name in ("test_size", "dev_size"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ParameterError(f"{name} must be in (0, 1)")
        if self.workers < 0:
            raise ParameterError("--workers must be >= 0")

    def timefreq(self) -> TimeFreqConfig:
        """The tensor configuration."""
        return TimeFreqConfig(
            feature=self.feature,
            params=dict(self.feature_params),
            sr=self.sr,
            duration_s=self.max_duration_s,
            normalize=self.normalize,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeepConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclasses.dataclass
class FitResult:
    """Where the run was written and its metrics."""

    run_dir: Path
    metrics: dict[str, Any]


# --------------------------------------------------------------------------- devices and seeds


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU raises."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ParameterError("--device cuda: no CUDA device is available (use --device cpu)")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds third-party code using the legacy RNG
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()  # noqa: NPY002
    return {
        "python": repr(random.getstate()),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    import ast

    random.setstate(_tuplify(ast.literal_eval(state["python"])))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


# --------------------------------------------------------------------------- roles


def assign_roles(manifest: pd.DataFrame, cfg: DeepConfig) -> tuple[np.ndarray, str, str, str]:
    """Train / dev / test role of every file.

    The data's own split is used where it has one (``train``; ``dev``; ``eval`` or ``test``). A
    missing test part is a grouped hold-out of ``test_size``, a missing dev part a grouped
    hold-out of ``dev_size`` of the remaining training files.

    Returns
    -------
    roles : np.ndarray [shape=(n,)] of {"train", "dev", "test"}
    split_type : {"given", "grouped"}
    description : str
    eval_name : str
        What the test files are called ("eval", "test").
    """
    n = len(manifest)
    y = manifest["label"].map(LABEL_IDS).to_numpy()
    groups = manifest["group"].astype(str).to_numpy()
    roles = np.full(n, "", dtype=object)
    given = (
        manifest["split"].astype(str).str.lower().to_numpy()
        if "split" in manifest.columns
        else np.full(n, "", dtype=object)
    )
    parts: list[str] = []
    if (given == "train").any():
        roles[given == "train"] = "train"
        eval_name = "eval" if (given == "eval").any() else "test"
        has_test = (given == eval_name).any()
        has_dev = (given == "dev").any()
        if has_test:
            roles[given == eval_name] = "test"
            parts.append(f"given {eval_name}")
        if has_dev and has_test:
            roles[given == "dev"] = "dev"
            parts.append("given dev")
        elif has_dev:  # train + dev only: dev is the test set, dev for early stopping is carved
            roles[given == "dev"] = "test"
            eval_name = "dev"
            parts.append("given dev as test")
        split_type = "given"
    else:
        tr, te = _grouped_holdout(y, groups, cfg.test_size, seed=cfg.seed, what="test")
        roles[tr] = "train"
        roles[te] = "test"
        parts.append(f"grouped test hold-out ({len(te)} files)")
        split_type, eval_name = "grouped", "test"
    if not (roles == "dev").any():
        tr_idx = np.flatnonzero(roles == "train")
        _, dev = _grouped_holdout(
            y[tr_idx], groups[tr_idx], cfg.dev_size, seed=cfg.seed + 1, what="dev"
        )
        roles[tr_idx[dev]] = "dev"
        parts.append(f"grouped dev hold-out ({len(dev)} files) from train")
    if not (roles == "test").any():
        raise ParameterError("no test files: the data needs an eval/test split or more files")
    counts = ", ".join(f"{r} {int((roles == r).sum())}" for r in ("train", "dev", "test"))
    return roles, split_type, f"{'; '.join(parts)} ({counts})", eval_name


def shared_group_warnings(groups: np.ndarray, roles: np.ndarray) -> list[str]:
    """A note for every pair of roles that share a group (speaker/recording).

    Grouped hold-outs never do; a split given by the data (a CSV ``split`` column, protocols)
    can, and then its dev/test figures are not speaker- or recording-independent.
    """
    from dfaudio.training.splits import shared_between

    out = []
    for a, b in (("train", "test"), ("train", "dev"), ("dev", "test")):
        shared = shared_between(groups, np.flatnonzero(roles == a), np.flatnonzero(roles == b))
        if shared:
            out.append(
                f"{len(shared)} group(s) (speakers/recordings) are in both {a} and {b} "
                f"(e.g. {shared[0]}): the split is not speaker-independent"
            )
    return out


def _grouped_holdout(
    y: np.ndarray, groups: np.ndarray, size: float, *, seed: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """One stratified group hold-out of about ``size`` (fewer folds when groups are scarce)."""
    from dfaudio.training.splits import holdout_folds, plan_splits

    per_class = min(len(np.unique(groups[y == c])) for c in (0, 1)) if len(np.unique(y)) == 2 else 0
    k, flip = holdout_folds(size)
    k = min(k, per_class)
    if k < 2:
        raise ParameterError(
            f"too few recordings per class for a grouped {what} hold-out ({per_class}); "
            "add data or give a split (CSV 'split' column, ASVspoof protocols)"
        )
    try:
        test_size = (k - 1) / k if flip else 1.0 / k
        plan = plan_splits(y, groups=groups, test_size=test_size, split_by="group", seed=seed)
    except ValueError as exc:  # sklearn's own checks
        raise ParameterError(f"cannot make a grouped {what} hold-out: {exc}") from None
    return plan.folds[0]


# --------------------------------------------------------------------------- scoring


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module, loader: Any, *, device: torch.device, amp: bool = False
) -> np.ndarray:
    """Logits (spoof positive) of every item of ``loader``, in order."""
    model.eval()
    out = []
    for x, _ in loader:
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            logits = model(x.to(device, non_blocking=True))
        out.append(logits.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _summarize(labels: np.ndarray, logits: np.ndarray) -> dict[str, Any]:
    from dfaudio import evaluation

    return evaluation.summarize(np.asarray(CLASS_NAMES)[labels], -logits.astype(np.float64))


def _bce(labels: np.ndarray, logits: np.ndarray) -> float:
    """Mean unweighted binary cross-entropy of logits (spoof = 1)."""
    z = logits.astype(np.float64)
    return float(np.mean(np.logaddexp(0.0, z) - labels * z))


def _dev_eer(labels: np.ndarray, logits: np.ndarray) -> float:
    from dfaudio import evaluation

    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(evaluation.eer(labels, -logits.astype(np.float64))[0])


# --------------------------------------------------------------------------- checkpoints


def _save_checkpoint(run_dir: Path, state: dict[str, Any]) -> None:
    from dfaudio.io.files import atomic_path

    with atomic_path(run_dir / CHECKPOINT, force=True) as tmp:
        torch.save(state, tmp)


def _load_checkpoint(run_dir: Path) -> dict[str, Any]:
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise DataError("no checkpoint.pt to resume from", run_dir)
    return torch.load(path, map_location="cpu", weights_only=True)


def _save_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    from dfaudio.io.files import atomic_path

    with atomic_path(path, force=True) as tmp:
        save_file(state, str(tmp))


def load_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Load ``model.safetensors`` written by :func:`fit_torch` (no pickle involved)."""
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path)))


# --------------------------------------------------------------------------- training


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
    roles, split_type, description, eval_name = assign_roles(manifest, cfg)
    run_dir = new_run_dir(runs_dir, f"{cfg.model.replace(':', '-')}-{cfg.feature}")
    split = manifest.copy()
    split["role"] = roles
    info = {
        "split_type": split_type,
        "split": description,
        "eval_name": eval_name,
        "data_name": data_name or _data_name(cfg.data),
        "warnings": shared_group_warnings(manifest["group"].astype(str).to_numpy(), roles),
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
        cfg, d, split, info, progress=progress, log=log, on_epoch_end=on_epoch_end,
        resume=_load_checkpoint(d),
    )  # fmt: skip


def _load_manifest(cfg: DeepConfig) -> pd.DataFrame:
    from dfaudio.datasets import load_manifest

    if not cfg.data:
        raise ParameterError("no --data given")
    return load_manifest(
        cfg.data,
        layout=cfg.layout,
        label_map=cfg.label_map,
        protocols=cfg.protocols or None,
        group_regex=cfg.group_regex,
    )


def _data_name(inputs: Sequence[str]) -> str:
    return "+".join(Path(p).name or str(p) for p in inputs) or "?"


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
    from tqdm import tqdm  # not tqdm.auto: its asyncio class calls iter() on the iterable twice

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
    labels = split["label"].map(LABEL_IDS).to_numpy()

    t0 = time.perf_counter()
    pre = precompute(
        paths, cache, stats_mask=roles == "train", workers=cfg.workers, progress=progress,
        desc=f"{cfg.feature} features",
    )  # fmt: skip
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
    ok = pre.ok
    idx = {r: np.flatnonzero(ok & (roles == r)) for r in ("train", "dev", "test")}
    for r, i in idx.items():
        if len(np.unique(labels[i])) < 2:
            raise DataError(f"the {r} files hold a single class after dropping unusable files")
    normalizer = Normalizer.fit_from_stats(pre.stats, mode=cfg.normalize)

    def dataset(role: str, train: bool) -> TimeFreqDataset:
        i = idx[role]
        return TimeFreqDataset(
            paths[i], labels[i], cache=cache, normalizer=normalizer, train=train, seed=cfg.seed
        )

    train_ds, dev_ds, test_ds = (
        dataset("train", True),
        dataset("dev", False),
        dataset("test", False),
    )
    pin = device.type == "cuda"
    eval_loader = lambda ds: make_loader(  # noqa: E731
        ds, batch_size=cfg.batch_size, workers=cfg.workers, pin_memory=pin
    )
    dev_loader, test_loader = eval_loader(dev_ds), eval_loader(test_ds)

    model = build_model(cfg.model, tf_cfg.shape, pretrained=cfg.pretrained, freeze=cfg.freeze)
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    y_train = labels[idx["train"]]
    n_spoof, n_bona = int(y_train.sum()), int(len(y_train) - y_train.sum())
    pos_weight = None
    if cfg.class_weight == "auto":
        pos_weight = torch.tensor(n_bona / max(n_spoof, 1), device=device)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"epoch": 0, "dev_eer": math.inf, "dev_loss": math.inf}
    bad_epochs = 0
    start_epoch = 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        scaler.load_state_dict(resume["scaler"])
        history = list(resume["history"])
        best = dict(resume["best"])
        bad_epochs = int(resume["bad_epochs"])
        start_epoch = int(resume["epoch"])
        _set_rng_state(resume["rng"])
        say(f"resuming {run_dir.name} after epoch {start_epoch}")

    def checkpoint(epoch: int) -> None:
        _save_checkpoint(
            run_dir,
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scaler": scaler.state_dict(),
                "epoch": epoch,
                "history": history,
                "best": best,
                "bad_epochs": bad_epochs,
                "rng": _rng_state(),
            },
        )

    if resume is None:
        checkpoint(0)
    drop_last = len(train_ds) > cfg.batch_size and len(train_ds) % cfg.batch_size == 1
    stopped_early = False
    train_s = 0.0
    try:
        for epoch in range(start_epoch, cfg.epochs):
            if bad_epochs >= cfg.patience:
                stopped_early = True
                break
            torch.manual_seed(cfg.seed * 1000 + epoch)
            train_ds.set_epoch(epoch)
            loader = make_loader(
                train_ds, batch_size=cfg.batch_size, shuffle=True, workers=cfg.workers,
                seed=cfg.seed * 1000 + epoch, pin_memory=pin, drop_last=drop_last,
            )  # fmt: skip
            bar = tqdm(
                total=len(loader), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress,
                unit="batch", leave=True,
            )  # fmt: skip
            model.train()
            total, seen = 0.0, 0
            t_epoch = time.perf_counter()
            for x, y in loader:
                x = x.to(device, non_blocking=True)
                y = y.to(device, non_blocking=True)
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                    loss = loss_fn(model(x), y)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                total += float(loss.detach()) * len(y)
                seen += len(y)
                bar.update(1)
                bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
            epoch_s = time.perf_counter() - t_epoch
            train_s += epoch_s
            dev_logits = predict_logits(model, dev_loader, device=device, amp=amp)
            dev_eer = _dev_eer(labels[idx["dev"]], dev_logits)
            dev_loss = _bce(labels[idx["dev"]], dev_logits)
            bar.set_postfix(loss=f"{total / max(seen, 1):.4f}", dev_eer=f"{100 * dev_eer:.2f}%")
            bar.close()
            record = {
                "epoch": epoch + 1,
                "train_loss": total / max(seen, 1),
                "dev_eer": dev_eer,
                "dev_loss": dev_loss,
                "seconds": round(epoch_s, 3),
                "clips_per_s": round(seen / max(epoch_s, 1e-9), 2),
            }
            history.append(record)
            # Lower dev EER wins; on a tie (small dev sets) the lower dev loss.
            tie = abs(dev_eer - best["dev_eer"]) <= 1e-12 and dev_loss < best.get(
                "dev_loss", math.inf
            )
            if dev_eer < best["dev_eer"] - 1e-12 or tie or best["epoch"] == 0:
                best = {"epoch": epoch + 1, "dev_eer": dev_eer, "dev_loss": dev_loss}
                bad_epochs = 0
                _save_weights(model, run_dir / MODEL_FILE)
            else:
                bad_epochs += 1
            checkpoint(epoch + 1)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, record)
            if bad_epochs >= cfg.patience and epoch + 1 < cfg.epochs:
                stopped_early = True
                break
    except KeyboardInterrupt:
        raise TrainingInterrupted(run_dir, len(history)) from None
    if stopped_early:
        say(
            f"early stop: no better dev EER (ties: dev loss) for {cfg.patience} epochs "
            f"(best: epoch {best['epoch']})"
        )

    # Best weights -> test.
    load_weights(model, run_dir / MODEL_FILE)
    test_logits = predict_logits(model, test_loader, device=device, amp=amp)
    y_test = labels[idx["test"]]
    summary = _summarize(y_test, test_logits)
    test_rows = split.iloc[idx["test"]]
    scores_df = pd.DataFrame(
        {
            "file": test_rows["path"].to_numpy(),
            "window": -1,
            "group": test_rows["group"].astype(str).to_numpy(),
            "label": np.asarray(CLASS_NAMES)[y_test],
            "score": -test_logits.astype(np.float64),
            "p_fake": 1.0 / (1.0 + np.exp(-test_logits.astype(np.float64))),
            "fold": 0,
        }
    )
    for extra in ("attack", "speaker", "split"):
        if extra in test_rows.columns:
            scores_df[extra] = test_rows[extra].to_numpy()
    return _finish(
        cfg, run_dir, info, scores_df, summary, model=model, normalizer=normalizer,
        tf_cfg=tf_cfg, history=history, best=best, stopped_early=stopped_early,
        n_params=count_parameters(model), n_trainable=count_parameters(model, trainable_only=True),
        device=device, amp=amp, n_files={r: int(len(i)) for r, i in idx.items()},
        failures=pre.failures, feature_s=feature_s, train_s=train_s, cache=pre,
        pos_weight=None if pos_weight is None else float(pos_weight),
    )  # fmt: skip


def _finish(
    cfg: DeepConfig,
    run_dir: Path,
    info: dict[str, Any],
    scores_df: pd.DataFrame,
    summary: dict[str, Any],
    **kw: Any,
) -> FitResult:
    from dfaudio import evaluation
    from dfaudio.runs import RunWriter, now

    writer = RunWriter(run_dir)
    writer.scores(scores_df)
    tf_cfg: TimeFreqConfig = kw["tf_cfg"]
    model_json = {
        "format": "safetensors",
        "model": cfg.model,
        "input_shape": list(tf_cfg.shape),
        "timefreq": tf_cfg.to_dict(),
        "normalizer": kw["normalizer"].to_dict(),
        "pretrained": cfg.pretrained,
        "freeze": cfg.freeze,
        "best_epoch": kw["best"]["epoch"],
        "output": "one logit per clip; p_fake = sigmoid(logit); bona fide score = -logit",
    }
    from dfaudio.io.files import write_json

    write_json(run_dir / MODEL_JSON, model_json, force=True)
    history = kw["history"]
    metrics: dict[str, Any] = {
        "kind": "torch",
        "model": cfg.model,
        "features": cfg.feature,
        "data": info["data_name"],
        "split_type": info["split_type"],
        "split": info["split"],
        "eval_name": info["eval_name"],
        "n_rows": int(sum(kw["n_files"].values())),
        "n_test_rows": int(len(scores_df)),
        "n_files": kw["n_files"],
        "n_failed": len(kw["failures"]),
        "n_folds": 1,
        "seed": cfg.seed,
        "created": now(),
        "score_direction": SCORE_DIRECTION,
        "p_fake_calibrated": True,
        "warnings": list(info.get("warnings", [])),
    }
    for key in ("accuracy", "balanced_accuracy", "eer", "roc_auc", "f1"):
        metrics[key] = summary[key]
    metrics["eer_pooled"] = summary["eer"]
    metrics["eer_threshold"] = summary["eer_threshold"]
    metrics["pooled"] = summary
    metrics["test"] = summary
    groups = scores_df["group"].astype(str).to_numpy()
    for metric in ("eer", "accuracy"):
        lo, hi = evaluation.bootstrap_ci(
            scores_df["label"].to_numpy(), scores_df["score"].to_numpy(), groups=groups,
            metric=metric, seed=cfg.seed,
        )  # fmt: skip
        metrics[f"{metric}_ci95"] = [lo, hi]
    metrics.update(
        {
            "input_shape": list(tf_cfg.shape),
            "n_params": kw["n_params"],
            "n_trainable_params": kw["n_trainable"],
            "device": str(kw["device"]),
            "amp": kw["amp"],
            "pos_weight": kw["pos_weight"],
            "epochs_run": len(history),
            "best_epoch": kw["best"]["epoch"],
            "best_dev_eer": kw["best"]["dev_eer"],
            "stopped_early": kw["stopped_early"],
            "history": history,
            "feature_seconds": round(kw["feature_s"], 3),
            "features_computed": kw["cache"].computed,
            "features_cached": kw["cache"].cached,
            "train_seconds": round(kw["train_s"], 3),
            "model_file": f"{MODEL_FILE} (best dev EER, epoch {kw['best']['epoch']})",
        }
    )
    if kw["failures"]:
        metrics["failures"] = [list(f) for f in kw["failures"][:20]]
    try:
        from dfaudio.predict import probe_sample_rates

        metrics["sample_rates"] = probe_sample_rates(scores_df["file"].astype(str))
    except ImportError:  # pragma: no cover - predict is part of the package
        pass
    try:
        from dfaudio.report import save_run_plots

        metrics["plots"] = save_run_plots(
            run_dir, scores_df, title=f"{cfg.model} / {cfg.feature} ({info['split_type']})"
        )
    except ImportError:  # pragma: no cover
        pass
    ckpt = run_dir / CHECKPOINT
    if ckpt.exists():
        ckpt.unlink()
    writer.metrics(metrics)
    return FitResult(run_dir=run_dir, metrics=metrics)


# --------------------------------------------------------------------------- dfaudio predict


class TorchBackend:
    """Scores audio with a finished fit-deep run (the :class:`dfaudio.predict.Backend` protocol).

    A file is cut into consecutive windows of the training clip length (in frames of the
    whole-file feature; a file shorter than one window is repeat-padded, as in training); each
    window's bona fide score is ``-logit``.
    """

    kind = "torch"

    def __init__(self, run_dir: str | Path, *, device: str = "cpu") -> None:
        from dfaudio.models.torch_zoo import build_model
        from dfaudio.runs import load_json

        d = Path(run_dir)
        spec = load_json(d / MODEL_JSON)
        self.tf_cfg = TimeFreqConfig.from_dict(spec["timefreq"])
        self.normalizer = Normalizer.from_dict(spec["normalizer"])
        self.device = resolve_device(device)
        # Architecture only: the weights come from the run, never from the pretrained file.
        model = build_model(spec["model"], spec["input_shape"], pretrained=None, freeze=0)
        load_weights(model, d / MODEL_FILE)
        self.model = model.to(self.device).eval()
        self.window_s = float(self.tf_cfg.duration_s)
        self.sr: int | None = int(self.tf_cfg.sr)
        self.n_frames = self.tf_cfg.shape[2]

    @torch.no_grad()
    def _scores(self, S: np.ndarray) -> np.ndarray:
        from dfaudio.timefreq import crop_frames

        n = self.n_frames
        offsets = list(range(0, max(S.shape[1] - n, 0) + 1, n))
        x = np.stack([self.normalizer(crop_frames(S, n, offset=o))[None] for o in offsets])
        logits = self.model(torch.from_numpy(x).to(self.device)).float().cpu().numpy()
        return -logits.astype(np.float64)

    def score_file(self, path: str) -> tuple[np.ndarray, np.ndarray, int | None, float, list[str]]:
        from dfaudio.io.audio import load
        from dfaudio.timefreq import repeat_pad

        y, sr = load(path, sr=self.tf_cfg.sr)
        S = self.tf_cfg.extract(repeat_pad(y, self.tf_cfg.n_samples))
        scores = self._scores(S)
        hop_s = self.window_s
        notes = []
        if len(y) < self.tf_cfg.n_samples:
            notes.append(f"shorter than {self.window_s:g} s: repeat-padded to one window")
        return scores, np.arange(len(scores)) * hop_s, sr, len(y) / sr, notes

    def score_window(self, y: np.ndarray, sr: int) -> float:
        from dfaudio.io.audio import resample
        from dfaudio.timefreq import repeat_pad

        if sr != self.tf_cfg.sr:
            y = resample(np.asarray(y, dtype=np.float32), orig_sr=sr, target_sr=self.tf_cfg.sr)
        S = self.tf_cfg.extract(repeat_pad(np.asarray(y, np.float32), self.tf_cfg.n_samples))
        return float(self._scores(S)[0])


def load_backend(run_dir: str | Path, config: dict[str, Any], *, trust: bool = False) -> Any:
    """Entry point used by :mod:`dfaudio.predict` for ``kind: "torch"`` runs.

    Weights are safetensors (no code execution), so ``trust`` is not needed.
    """
    d = Path(run_dir)
    if not (d / MODEL_FILE).is_file() or not (d / MODEL_JSON).is_file():
        raise DataError(f"torch run without {MODEL_FILE} / {MODEL_JSON}", d)
    try:
        return TorchBackend(d)
    except (KeyError, json.JSONDecodeError) as exc:
        raise DataError(f"{MODEL_JSON} is incomplete ({exc})", d) from None
