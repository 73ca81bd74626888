"""The training loop of a deep run, in separate steps.

- :func:`train_epoch`: one pass over the training loader (Adam or any optimizer, BCE-with-logits,
  optional mixed precision); returns the mean loss.
- :func:`evaluate`: logits of a loader, the EER (bona fide score ``-logit``) and the unweighted
  BCE against the labels.
- :func:`select_best`: whether an epoch beats the best so far (lower dev EER; on a tie, lower dev
  loss). The run keeps the weights of the best epoch, not of the last.
- :class:`Trainer`: the loop over epochs, early stopping after ``patience`` epochs without a
  better dev EER, a checkpoint after every epoch (resume after Ctrl-C) and the best weights in
  ``model.safetensors``.

Scores follow the ASVspoof convention (higher = more bona fide): a model outputs one logit per
clip with spoof as the positive class, so the bona fide score is ``-logit``
(:func:`logits_to_scores`) and ``p_fake = sigmoid(logit)``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dfaudio.deep.checkpoint import (
    MODEL_FILE,
    load_weights,
    rng_state,
    save_checkpoint,
    save_weights,
    set_rng_state,
)
from dfaudio.deep.dataset import TimeFreqDataset, make_loader
from dfaudio.exceptions import DfaudioError, ParameterError

__all__ = [
    "EpochCallback",
    "EvalResult",
    "TrainOutcome",
    "Trainer",
    "TrainingInterrupted",
    "evaluate",
    "logits_to_scores",
    "predict_logits",
    "resolve_device",
    "select_best",
    "train_epoch",
]

EpochCallback = Callable[[int, dict[str, Any]], None]


class TrainingInterrupted(DfaudioError):
    """Training stopped by Ctrl-C; ``run_dir`` holds a checkpoint to resume from."""

    def __init__(self, run_dir: Path, epochs_done: int) -> None:
        from dfaudio.deep.checkpoint import CHECKPOINT

        self.run_dir = Path(run_dir)
        self.epochs_done = epochs_done
        super().__init__(
            f"interrupted after {epochs_done} finished epoch(s); checkpoint saved in "
            f"{self.run_dir / CHECKPOINT}. Resume with: dfaudio fit-deep --resume {run_dir}"
        )


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU raises."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device='cuda': no CUDA device is available (use device='cpu')")
    return torch.device(name)


def logits_to_scores(logits: np.ndarray) -> np.ndarray:
    """Bona fide scores (higher = more bona fide) from spoof-positive logits: ``-logit``.

    Examples
    --------
    >>> logits_to_scores(np.array([2.0, -1.0])).tolist()
    [-2.0, 1.0]
    """
    return -np.asarray(logits, dtype=np.float64)


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module, loader: Any, *, device: torch.device, amp: bool = False
) -> np.ndarray:
    """Logits (spoof positive) of every item of ``loader``, in order.

    Returns
    -------
    logits : np.ndarray [shape=(n_items,)], float32
    """
    model.eval()
    out = []
    for x, _ in loader:
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            logits = model(x.to(device, non_blocking=True))
        out.append(logits.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


@dataclasses.dataclass
class EvalResult:
    """Logits of one evaluation pass and what they score.

    Attributes
    ----------
    logits : np.ndarray [shape=(n,)]
    eer : float
        EER of the bona fide scores ``-logits`` (NaN with a single class).
    loss : float
        Mean unweighted binary cross-entropy (spoof = 1).
    """

    logits: np.ndarray
    eer: float
    loss: float


def evaluate(
    model: torch.nn.Module,
    loader: Any,
    labels: np.ndarray,
    *,
    device: torch.device,
    amp: bool = False,
) -> EvalResult:
    """Score ``loader`` and measure the EER and BCE against ``labels`` (0 bona fide, 1 spoof)."""
    from dfaudio import evaluation

    logits = predict_logits(model, loader, device=device, amp=amp)
    y = np.asarray(labels)
    z = logits.astype(np.float64)
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z)) if len(z) else float("nan")
    eer = float("nan")
    if len(np.unique(y)) == 2:
        eer = float(evaluation.eer(y, logits_to_scores(logits), bonafide_value=0)[0])
    return EvalResult(logits=logits, eer=eer, loss=loss)


def select_best(record: dict[str, Any], best: dict[str, Any]) -> bool:
    """Whether the epoch ``record`` beats ``best`` (both hold ``dev_eer`` and ``dev_loss``).

    A lower dev EER wins; on a tie (small dev sets often tie) the lower dev loss. The first epoch
    always becomes the best (``best["epoch"] == 0``); a NaN EER never beats a number.

    Examples
    --------
    >>> best = {"epoch": 1, "dev_eer": 0.2, "dev_loss": 0.4}
    >>> select_best({"dev_eer": 0.1, "dev_loss": 0.5}, best)
    True
    >>> select_best({"dev_eer": 0.2, "dev_loss": 0.5}, best)
    False
    """
    if best.get("epoch", 0) == 0:
        return True
    eer, best_eer = float(record["dev_eer"]), float(best["dev_eer"])
    if math.isnan(eer):
        return False
    if math.isnan(best_eer) or eer < best_eer - 1e-12:
        return True
    tie = abs(eer - best_eer) <= 1e-12
    return tie and float(record["dev_loss"]) < float(best.get("dev_loss", math.inf))


def train_epoch(
    model: torch.nn.Module,
    loader: Any,
    *,
    optimizer: torch.optim.Optimizer,
    loss_fn: torch.nn.Module,
    device: torch.device,
    scaler: Any = None,
    amp: bool = False,
    bar: Any = None,
) -> tuple[float, int]:
    """One pass over ``loader`` with gradient steps.

    Returns
    -------
    mean_loss : float
        Mean training loss per clip (NaN for an empty loader).
    n_seen : int
        Clips seen.
    """
    model.train()
    total, seen = 0.0, 0
    for x, y in loader:
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            loss = loss_fn(model(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        total += float(loss.detach()) * len(y)
        seen += len(y)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
    return (total / seen if seen else float("nan")), seen


@dataclasses.dataclass
class TrainOutcome:
    """What :meth:`Trainer.fit` leaves behind (the best weights are loaded into the model).

    Attributes
    ----------
    history : list of dict
        One record per finished epoch (``epoch``, ``train_loss``, ``dev_eer``, ``dev_loss``,
        ``seconds``, ``clips_per_s``).
    best : dict
        ``epoch``, ``dev_eer``, ``dev_loss`` of the kept weights.
    stopped_early : bool
    train_seconds : float
        Time spent in training passes in this process (not counting resumed epochs).
    """

    history: list[dict[str, Any]]
    best: dict[str, Any]
    stopped_early: bool
    train_seconds: float


class Trainer:
    """Epoch loop with dev-EER model selection, early stopping and checkpoints.

    Parameters
    ----------
    model : torch.nn.Module
        Already on ``device``; only parameters with ``requires_grad`` are optimised.
    train_ds : TimeFreqDataset
        Training clips (random crops, reseeded per epoch).
    dev_loader : iterable
        Dev clips, in a fixed order.
    dev_labels : np.ndarray [shape=(n_dev,)]
    run_dir : Path
        Where ``checkpoint.pt`` and ``model.safetensors`` go.
    epochs, batch_size, lr, weight_decay, patience, seed, workers
        As in :class:`dfaudio.deep.config.DeepConfig`.
    device : torch.device
    amp : bool
        Mixed precision (CUDA only).
    pos_weight : float, optional
        Weight of the spoof class in the loss.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        train_ds: TimeFreqDataset,
        dev_loader: Any,
        dev_labels: np.ndarray,
        run_dir: Path,
        epochs: int,
        batch_size: int,
        lr: float,
        weight_decay: float = 0.0,
        patience: int = 3,
        seed: int = 0,
        workers: int = 0,
        device: torch.device,
        amp: bool = False,
        pos_weight: float | None = None,
    ) -> None:
        self.model = model
        self.train_ds = train_ds
        self.dev_loader = dev_loader
        self.dev_labels = np.asarray(dev_labels)
        self.run_dir = Path(run_dir)
        self.epochs, self.batch_size, self.patience = epochs, batch_size, patience
        self.seed, self.workers = seed, workers
        self.device, self.amp = device, amp
        trainable = [p for p in model.parameters() if p.requires_grad]
        if not trainable:
            raise ParameterError("every parameter of the model is frozen: nothing to train")
        self.optimizer = torch.optim.Adam(trainable, lr=lr, weight_decay=weight_decay)
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp)
        pw = None if pos_weight is None else torch.tensor(pos_weight, device=device)
        self.loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pw)
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] = {"epoch": 0, "dev_eer": math.inf, "dev_loss": math.inf}
        self.bad_epochs = 0
        self.epochs_done = 0

    # ---------------------------------------------------------------- state

    def state(self) -> dict[str, Any]:
        """Everything :meth:`restore` needs (saved as ``checkpoint.pt``)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epochs_done,
            "history": self.history,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
            "rng": rng_state(),
        }

    def restore(self, ckpt: dict[str, Any]) -> None:
        """Continue from a checkpoint written by :meth:`state`.

        Raises
        ------
        DataError
            The checkpoint does not fit this run (another architecture, missing or odd entries).
        """
        try:
            self.model.load_state_dict(ckpt["model"])
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.scaler.load_state_dict(ckpt["scaler"])
            self.history = list(ckpt["history"])
            self.best = dict(ckpt["best"])
            self.bad_epochs = int(ckpt["bad_epochs"])
            self.epochs_done = int(ckpt["epoch"])
            set_rng_state(ckpt["rng"])
        except (KeyError, TypeError, ValueError, RuntimeError, SyntaxError) as exc:
            from dfaudio.deep.checkpoint import CHECKPOINT
            from dfaudio.exceptions import DataError

            detail = " ".join(str(exc).split())[:160] or type(exc).__name__
            raise DataError(
                f"does not fit this run ({type(exc).__name__}: {detail}); it is from another "
                "model or damaged: start the run again",
                self.run_dir / CHECKPOINT,
            ) from None

    def checkpoint(self) -> None:
        """Write ``checkpoint.pt`` of the last finished epoch."""
        save_checkpoint(self.run_dir, self.state())

    # ---------------------------------------------------------------- loop

    def run_epoch(self, epoch: int, *, progress: bool = False) -> dict[str, Any]:
        """Train epoch ``epoch`` (0-based), evaluate on dev, keep the weights if best.

        Returns
        -------
        record : dict
            The epoch's line of the history.
        """
        from tqdm import tqdm  # not tqdm.auto: its asyncio class calls iter() on the iterable twice

        seed = self.seed * 1000 + epoch
        torch.manual_seed(seed)
        self.train_ds.set_epoch(epoch)
        n = len(self.train_ds)
        loader = make_loader(
            self.train_ds,
            batch_size=self.batch_size,
            shuffle=True,
            workers=self.workers,
            seed=seed,
            pin_memory=self.device.type == "cuda",
            drop_last=n > self.batch_size and n % self.batch_size == 1,  # no batch of one (BN)
        )
        bar = tqdm(
            total=len(loader),
            desc=f"epoch {epoch + 1}/{self.epochs}",
            disable=not progress,
            unit="batch",
            leave=True,
        )
        t0 = time.perf_counter()
        loss, seen = train_epoch(
            self.model,
            loader,
            optimizer=self.optimizer,
            loss_fn=self.loss_fn,
            device=self.device,
            scaler=self.scaler,
            amp=self.amp,
            bar=bar,
        )
        seconds = time.perf_counter() - t0
        dev = evaluate(
            self.model, self.dev_loader, self.dev_labels, device=self.device, amp=self.amp
        )
        bar.set_postfix(loss=f"{loss:.4f}", dev_eer=f"{100 * dev.eer:.2f}%")
        bar.close()
        record = {
            "epoch": epoch + 1,
            "train_loss": loss,
            "dev_eer": dev.eer,
            "dev_loss": dev.loss,
            "seconds": round(seconds, 3),
            "clips_per_s": round(seen / max(seconds, 1e-9), 2),
        }
        self.history.append(record)
        if select_best(record, self.best):
            self.best = {"epoch": epoch + 1, "dev_eer": dev.eer, "dev_loss": dev.loss}
            self.bad_epochs = 0
            save_weights(self.model, self.run_dir / MODEL_FILE)
        else:
            self.bad_epochs += 1
        self.epochs_done = epoch + 1
        return record

    def fit(
        self,
        *,
        progress: bool = False,
        on_epoch_end: EpochCallback | None = None,
    ) -> TrainOutcome:
        """Run the remaining epochs, then load the best weights into the model.

        Raises
        ------
        TrainingInterrupted
            On Ctrl-C (``KeyboardInterrupt``), after the last finished epoch's checkpoint.
        """
        if self.epochs_done == 0 and not self.history:
            self.checkpoint()
        stopped_early = False
        train_s = 0.0
        try:
            for epoch in range(self.epochs_done, self.epochs):
                if self.bad_epochs >= self.patience:
                    stopped_early = True
                    break
                record = self.run_epoch(epoch, progress=progress)
                train_s += record["seconds"]
                self.checkpoint()
                if on_epoch_end is not None:
                    on_epoch_end(epoch + 1, record)
                if self.bad_epochs >= self.patience and epoch + 1 < self.epochs:
                    stopped_early = True
                    break
        except KeyboardInterrupt:
            raise TrainingInterrupted(self.run_dir, len(self.history)) from None
        load_weights(self.model, self.run_dir / MODEL_FILE)
        return TrainOutcome(
            history=self.history, best=self.best, stopped_early=stopped_early, train_seconds=train_s
        )
