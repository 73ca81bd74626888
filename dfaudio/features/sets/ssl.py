"""The ``ssl:MODEL[:LAYER]`` feature set: a self-supervised speech encoder through transformers.

``MODEL`` is a local folder written by ``save_pretrained`` or a hub id the machine can reach
(transformers' own cache applies); ``LAYER`` is an index into the model's hidden states (0: the
output of the convolutional front-end and projection, ``k``: the output of transformer layer
``k``) or ``mean`` (the default): the average of all of them. Per window, the samples are
resampled to the feature extractor's rate (16 kHz; soxr), passed through the model's own feature
extractor (``preprocessor_config.json``; without one, wav2vec 2.0 defaults: zero mean, unit
variance) and the model, and the chosen hidden states are averaged over frames: one row of
``hidden_size`` values, columns ``ssl_0 .. ssl_{hidden_size-1}``.

Works with wav2vec 2.0 / XLS-R, HuBERT, WavLM and data2vec-audio (``AutoModel``), and with
Whisper's encoder (the window is padded to Whisper's 30 s input and only the frames that cover
the window, 50 per second, are pooled). Runs on CUDA when available (``device="auto"``). Remote
code is never run (``trust_remote_code=False``). Needs the ``ssl`` extra (transformers).

Examples
--------
``dfaudio tabulate data/ -o xlsr.csv --features ssl:facebook/wav2vec2-xls-r-300m:8`` (hub id),
``--features ssl:microsoft/wavlm-base-plus`` (mean over layers), or, offline,
``--features ssl:/models/wavlm-base-plus:6`` for a folder saved with ``save_pretrained``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from dfaudio.exceptions import ParameterError

__all__ = [
    "PREFIX",
    "columns",
    "load",
    "pool_hidden_states",
    "resolve_device",
    "ssl_embeddings",
]

PREFIX = "ssl_"


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        from dfaudio.features.sets import missing_extra

        raise missing_extra("ssl", "ssl", "transformers") from None
    return transformers


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.lru_cache(maxsize=4)
def _config(model: str) -> Any:
    tr = _transformers()
    try:
        return tr.AutoConfig.from_pretrained(model, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ParameterError(
            f"ssl model {model!r} cannot be loaded (a folder saved with save_pretrained or a "
            f"reachable hub id): {' '.join(str(exc).split())[:200]}"
        ) from None


def _hidden_size(config: Any) -> int:
    for key in ("hidden_size", "d_model"):
        if getattr(config, key, None):
            return int(getattr(config, key))
    raise ParameterError(f"cannot tell the hidden size of a {config.model_type} model")


def columns(*, model: str, **_: object) -> list[str]:
    """``ssl_0 .. ssl_{hidden_size-1}`` (reads the model's config only)."""
    return [f"{PREFIX}{i}" for i in range(_hidden_size(_config(model)))]


@functools.lru_cache(maxsize=2)
def load(model: str, device: str = "cpu") -> tuple[Any, Any]:
    """``(feature_extractor, encoder)`` for ``model`` on ``device`` (cached, eval mode)."""
    tr = _transformers()
    tr.utils.logging.disable_progress_bar()
    config = _config(model)
    try:
        fe = tr.AutoFeatureExtractor.from_pretrained(model, trust_remote_code=False)
    except (OSError, ValueError):
        if config.model_type == "whisper":
            raise ParameterError(
                f"ssl model {model!r}: Whisper needs its preprocessor_config.json"
            ) from None
        fe = tr.Wav2Vec2FeatureExtractor()  # zero mean, unit variance, 16 kHz
    try:
        net = tr.AutoModel.from_pretrained(model, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ParameterError(
            f"ssl model {model!r} cannot be loaded: {' '.join(str(exc).split())[:200]}"
        ) from None
    if getattr(config, "is_encoder_decoder", False):
        net = net.get_encoder()
    return fe, net.to(device).eval()


def _check_layer(layer: int | str, n_hidden: int, model: str) -> None:
    if layer == "mean":
        return
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n_hidden:
        raise ParameterError(
            f"ssl model {model!r} has hidden states 0..{n_hidden - 1}; layer={layer!r} "
            "is not one of them (or use 'mean')"
        )


def pool_hidden_states(
    hidden_states: Any, *, layer: int | str = "mean", n_frames: int | None = None
) -> np.ndarray:
    """Hidden states ``tuple of [shape=(batch, frames, hidden)]`` -> ``(batch, hidden)``.

    ``layer`` picks one entry (or ``"mean"``: their average); frames are averaged (the first
    ``n_frames`` only, when given).
    """
    import torch

    h = torch.stack(list(hidden_states)).mean(0) if layer == "mean" else hidden_states[layer]
    if n_frames is not None:
        h = h[:, :n_frames]
    return h.mean(dim=1).double().cpu().numpy()


def ssl_embeddings(
    y: np.ndarray,
    sr: float,
    *,
    window_s: float | None = 1.0,
    short: str = "whole",
    model: str,
    layer: int | str = "mean",
    device: str = "auto",
    batch_windows: int = 16,
) -> np.ndarray:
    """Frame-averaged hidden states of a speech encoder, one row per window.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : float
        Sample rate in Hz (resampled per window to the extractor's rate).
    window_s : float or None
        Block length in seconds; ``None``: one row over the whole signal.
    short : {"whole", "pad", "skip"}
        Policy for a clip shorter than one block.
    model : str
        Local folder or hub id.
    layer : int or "mean"
        Hidden-state index, or the mean over all of them.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` ...
    batch_windows : int
        Windows per forward pass.

    Returns
    -------
    X : np.ndarray [shape=(n_windows, hidden_size)]
    """
    import torch

    from dfaudio.features.sets import window_blocks
    from dfaudio.io.audio import resample

    config = _config(model)
    fe, net = load(model, resolve_device(device))
    n_hidden = int(getattr(config, "num_hidden_layers", 0) or config.encoder_layers) + 1
    _check_layer(layer, n_hidden, model)
    target_sr = int(getattr(fe, "sampling_rate", 16000))
    blocks = window_blocks(y, sr, window_s=window_s, short=short)
    wavs = [
        resample(np.asarray(b, dtype=np.float32), orig_sr=int(round(sr)), target_sr=target_sr)
        for b in blocks
    ]
    out = np.zeros((len(wavs), _hidden_size(config)))
    whisper = config.model_type == "whisper"
    dev = next(net.parameters()).device
    for i in range(0, len(wavs), max(1, int(batch_windows))):
        batch = wavs[i : i + batch_windows]
        with torch.no_grad():
            if whisper:
                feats = fe(batch, sampling_rate=target_sr, return_tensors="pt").input_features
                res = net(feats.to(dev), output_hidden_states=True)
                # 100 mel frames per second, halved by the encoder's strided convolution
                n_frames = int(np.ceil(len(batch[0]) / target_sr * 50))
                out[i : i + len(batch)] = pool_hidden_states(
                    res.hidden_states, layer=layer, n_frames=n_frames
                )
            else:
                feats = fe(batch, sampling_rate=target_sr, return_tensors="pt").input_values
                res = net(feats.to(dev), output_hidden_states=True)
                out[i : i + len(batch)] = pool_hidden_states(res.hidden_states, layer=layer)
    return out
