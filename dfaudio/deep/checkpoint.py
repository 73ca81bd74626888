"""Checkpoints (resume after Ctrl-C) and best weights of a deep run.

``checkpoint.pt`` holds the last finished epoch: model, optimizer and gradient-scaler state, the
epoch number, the history, the best epoch so far, the early-stopping counter and every RNG state.
It is read with ``torch.load(weights_only=True)`` (no pickle of arbitrary objects); the Python
RNG state is stored as its ``repr`` and parsed back with :func:`ast.literal_eval`.

``model.safetensors`` holds the best weights (safetensors: no code runs when it is read).
"""

from __future__ import annotations

import ast
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dfaudio.exceptions import DataError
from dfaudio.io.files import atomic_path

__all__ = [
    "CHECKPOINT",
    "MODEL_FILE",
    "MODEL_JSON",
    "SPLIT_FILE",
    "load_checkpoint",
    "load_weights",
    "rng_state",
    "save_checkpoint",
    "save_weights",
    "seed_everything",
    "set_rng_state",
]

CHECKPOINT = "checkpoint.pt"
MODEL_FILE = "model.safetensors"
MODEL_JSON = "model.json"
SPLIT_FILE = "split.csv"


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds third-party code using the legacy RNG
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Python, numpy, torch and CUDA RNG states in a ``weights_only``-loadable form."""
    np_state = np.random.get_state()  # noqa: NPY002
    return {
        "python": repr(random.getstate()),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    random.setstate(_tuplify(ast.literal_eval(state["python"])))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def save_checkpoint(run_dir: str | Path, state: dict[str, Any]) -> None:
    """Write ``run_dir/checkpoint.pt`` atomically."""
    with atomic_path(Path(run_dir) / CHECKPOINT, force=True) as tmp:
        torch.save(state, tmp)


def load_checkpoint(run_dir: str | Path) -> dict[str, Any]:
    """Read ``run_dir/checkpoint.pt`` (``weights_only=True``).

    Raises
    ------
    DataError
        If there is no checkpoint.
    """
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise DataError(f"no {CHECKPOINT} to resume from", run_dir)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, flipped or not a torch file at all
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise DataError(
            f"cannot be read ({type(exc).__name__}: {detail}); it is damaged or not a dfaudio "
            "checkpoint: start the run again",
            path,
        ) from None
    missing = sorted(_CHECKPOINT_KEYS - set(ckpt)) if isinstance(ckpt, dict) else ["all"]
    if missing:
        raise DataError(
            f"not a dfaudio checkpoint (missing {', '.join(missing)}): start the run again", path
        )
    return ckpt


#: What :meth:`dfaudio.deep.trainer.Trainer.state` writes.
_CHECKPOINT_KEYS = frozenset(
    {"model", "optimizer", "scaler", "epoch", "history", "best", "bad_epochs", "rng"}
)


def save_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Write the model's state dict as safetensors, atomically."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(Path(path), force=True) as tmp:
        save_file(state, str(tmp))


def load_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Load ``model.safetensors`` written by :func:`save_weights` (no pickle involved)."""
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(path)))
