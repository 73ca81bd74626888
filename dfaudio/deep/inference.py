"""Scoring new audio with a finished deep run (used by :mod:`dfaudio.predict` / scoring).

A file is cut into consecutive windows of the training clip length (in frames of the whole-file
feature; a file shorter than one window is repeat-padded, as in training); each window goes
through the run's normaliser and model, and its bona fide score is ``-logit``
(:func:`dfaudio.deep.trainer.logits_to_scores`). The first window of a file equals the tensor the
run scored for ``scores.csv`` (offset 0), so scoring the test files again reproduces that file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dfaudio.deep.cache import repeat_pad
from dfaudio.deep.checkpoint import MODEL_FILE, MODEL_JSON, load_weights
from dfaudio.deep.config import TimeFreqConfig
from dfaudio.deep.dataset import Normalizer, crop_frames
from dfaudio.deep.trainer import logits_to_scores, resolve_device
from dfaudio.exceptions import DataError

__all__ = ["TorchBackend", "load_backend"]


class TorchBackend:
    """Scores audio with a finished fit-deep run (the predictor's backend protocol).

    Parameters
    ----------
    run_dir : str or Path
        A finished run (``model.json`` + ``model.safetensors``).
    device : str
        ``cpu``, ``cuda`` or ``auto``.
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
    def scores_of_features(self, S: np.ndarray) -> np.ndarray:
        """Bona fide scores of consecutive ``n_frames`` windows of a whole-clip feature.

        Returns
        -------
        scores : np.ndarray [shape=(n_windows,)], float64
        """
        n = self.n_frames
        offsets = list(range(0, max(S.shape[1] - n, 0) + 1, n))
        x = np.stack([self.normalizer(crop_frames(S, n, offset=o))[None] for o in offsets])
        logits = self.model(torch.from_numpy(x).to(self.device)).float().cpu().numpy()
        return logits_to_scores(logits)

    def features(self, y: np.ndarray, sr: int) -> np.ndarray:
        """Whole-clip feature of a signal, resampled to the run's rate and repeat-padded to at
        least one window (as in training)."""
        from dfaudio.io.audio import resample

        y = np.asarray(y, dtype=np.float32)
        if sr != self.tf_cfg.sr:
            y = resample(y, orig_sr=sr, target_sr=self.tf_cfg.sr)
        return self.tf_cfg.extract(repeat_pad(y, self.tf_cfg.n_samples))

    def score_file(self, path: str) -> tuple[np.ndarray, np.ndarray, int | None, float, list[str]]:
        """Scores of every window of a file, their start times (s), the file's rate, its
        duration (s) and notes (e.g. padding)."""
        from dfaudio.io.audio import load

        y, sr = load(path, sr=self.tf_cfg.sr)
        scores = self.scores_of_features(self.features(y, sr))
        notes = []
        if len(y) < self.tf_cfg.n_samples:
            notes.append(f"shorter than {self.window_s:g} s: repeat-padded to one window")
        return scores, np.arange(len(scores)) * self.window_s, sr, len(y) / sr, notes

    def score_window(self, y: np.ndarray, sr: int) -> float:
        """Score of one window of audio (shorter input is repeat-padded, as in file mode)."""
        return float(self.scores_of_features(self.features(y, sr))[0])


def load_backend(run_dir: str | Path, config: dict[str, Any], *, trust: bool = False) -> Any:
    """The backend of a ``kind: "torch"`` run.

    Weights are safetensors (no code execution). Their SHA-256 must match the one recorded in
    ``model.json`` (:func:`dfaudio.models.persist.verify_model_file`); ``trust=True`` accepts a
    file that changed on purpose.

    Raises
    ------
    DataError
        If the run lacks its model files, ``model.json`` is malformed or incomplete, the weights
        do not match their checksum, or they cannot be read into the recorded architecture.
    """
    from dfaudio.models.persist import read_model_info, verify_model_file

    d = Path(run_dir)
    if not (d / MODEL_FILE).is_file() or not (d / MODEL_JSON).is_file():
        raise DataError(f"torch run without {MODEL_FILE} / {MODEL_JSON}", d)
    info = read_model_info(d)
    if info["format"] != "safetensors":
        raise DataError(f"a torch run needs safetensors weights, not {info['format']!r}", d)
    verify_model_file(d, info, trust=trust)
    try:
        return TorchBackend(d)
    except (KeyError, json.JSONDecodeError) as exc:
        raise DataError(f"{MODEL_JSON} is incomplete ({exc})", d) from None
    except DataError:
        raise
    except Exception as exc:  # safetensors header errors, shape mismatches, bad spec values
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise DataError(
            f"cannot load the weights into the recorded model ({type(exc).__name__}: {detail}); "
            "re-fit the model",
            d / MODEL_FILE,
        ) from None
