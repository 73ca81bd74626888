"""Torch models by name (``dfaudio fit-deep --model NAME``).

Every builder is a plain function ``f(input_shape, *, pretrained=None, freeze=None) -> nn.Module``
whose module maps ``x [B, C, F, T]`` to one logit per clip ``[B]`` (spoof = positive class).

- ``simple-ann``, ``simple-cnn``: the seed architectures (:mod:`dfaudio.models.nets`).
- ``lcnn``: light CNN + BiLSTM after the ASVspoof 2021 LFCC-LCNN baseline.
- ``lstm``: a bidirectional LSTM over frames (``fit-deep`` default feature: 20 MFCCs).
- ``conv1d-lstm``: Conv1D + LSTM after the seed's Keras ASVspoof model (default: 40 MFCCs).
- ``resnet101``: timm ``resnet101`` with ``in_chans=C`` and ``num_classes=1`` (global average
  pool + one linear output), about 42.5 M parameters; with pretrained weights the first 39
  parameter tensors (the stem, ``layer1`` and the start of ``layer2``) are frozen, as in the seed.
- ``timm:<name>``: any timm model the same way (the seed's best run was ``timm:resnet200d``).

``freeze=N`` means the same for every family: the first ``N`` parameter tensors, in the model's
own order (``model.parameters()``: input side first), get ``requires_grad=False`` and are left
out of the optimizer, so they keep their initial (or pretrained) values. Every parametrised layer
holds two tensors (weight and bias; an LSTM layer four per direction), so for example
``simple-ann`` with ``freeze=6`` trains only its output layer, ``simple-cnn`` with ``freeze=4``
keeps both convolutions fixed and trains the MLP head, and ``lstm``/``conv1d-lstm`` freeze their
recurrent/convolutional front first. Freezing every tensor is refused (nothing would train).
Batch-norm running statistics are buffers, not parameters: they still adapt in training mode.

Nothing is ever downloaded: ``pretrained`` must be a local file holding a timm state dict
(``.safetensors``, or a torch file read with ``weights_only=True``). ImageNet weights with 3 input
channels are adapted to ``C`` channels with timm's ``adapt_input_conv``, and a classifier of the
wrong size is dropped (the new one is trained from scratch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dfaudio.exceptions import ParameterError
from dfaudio.registry import Registry

__all__ = [
    "MODELS",
    "SEED_FROZEN_TENSORS",
    "ModelBuilder",
    "build_model",
    "conv1d_lstm",
    "freeze_first",
    "get_builder",
    "lcnn",
    "load_timm_weights",
    "lstm",
    "model_names",
    "read_state_dict",
    "resnet101",
    "simple_ann",
    "simple_cnn",
    "timm_model",
]

MODELS = Registry("model")

#: Parameter tensors frozen by default when pretrained weights are loaded (the seed's choice).
SEED_FROZEN_TENSORS = 39

_NO_HUB = (
    "dfaudio never downloads weights. On a machine with internet access, save a timm state dict "
    '(e.g. `python -c "import timm, safetensors.torch as st; st.save_file(timm.create_model('
    "'{name}', pretrained=True).state_dict(), '{name}.safetensors')\"`, or download "
    "model.safetensors from huggingface.co/timm) and pass --pretrained PATH"
)

ModelBuilder = Callable[..., Any]


def _no_pretrained(name: str, pretrained: Any) -> None:
    if pretrained not in (None, False):
        raise ParameterError(f"{name} has no pretrained weights (it is trained from scratch)")


@MODELS.register("simple-ann", help="seed SimpleANN: flatten -> 1024 -> 512 -> 256 -> 1")
def simple_ann(
    input_shape: Sequence[int], *, pretrained: Any = None, freeze: int | None = None
) -> Any:
    """The seed's fully connected network (about 12.98 M parameters at 1 x 64 x 188)."""
    from dfaudio.models.nets import SimpleANN

    _no_pretrained("simple-ann", pretrained)
    return _frozen(SimpleANN(input_shape), freeze, "simple-ann")


@MODELS.register("simple-cnn", help="seed SimpleCNN: 2 x (conv 5x5 + maxpool) -> MLP")
def simple_cnn(
    input_shape: Sequence[int], *, pretrained: Any = None, freeze: int | None = None
) -> Any:
    """The seed's two-layer CNN (about 50.0 M parameters at 1 x 64 x 188)."""
    from dfaudio.models.nets import SimpleCNN

    _no_pretrained("simple-cnn", pretrained)
    return _frozen(SimpleCNN(input_shape), freeze, "simple-cnn")


@MODELS.register("lcnn", help="LCNN (max-feature-map) + BiLSTM, after the LFCC-LCNN baseline")
def lcnn(input_shape: Sequence[int], *, pretrained: Any = None, freeze: int | None = None) -> Any:
    """Light CNN for LFCC inputs (see :class:`dfaudio.models.nets.LCNN`)."""
    from dfaudio.models.nets import LCNN

    _no_pretrained("lcnn", pretrained)
    return _frozen(LCNN(input_shape), freeze, "lcnn")


@MODELS.register("lstm", help="bidirectional LSTM over frames (default feature: 20 MFCCs)")
def lstm(input_shape: Sequence[int], *, pretrained: Any = None, freeze: int | None = None) -> Any:
    """2-layer BiLSTM (128 units per direction) over frames, mean over time
    (see :class:`dfaudio.models.nets.FrameLSTM`)."""
    from dfaudio.models.nets import FrameLSTM

    _no_pretrained("lstm", pretrained)
    return _frozen(FrameLSTM(input_shape), freeze, "lstm")


@MODELS.register("conv1d-lstm", help="seed Keras ASVspoof model: Conv1D + LSTM (40 MFCCs)")
def conv1d_lstm(
    input_shape: Sequence[int], *, pretrained: Any = None, freeze: int | None = None
) -> Any:
    """Conv1D over time, LSTM, dense head (see :class:`dfaudio.models.nets.Conv1dLSTM`)."""
    from dfaudio.models.nets import Conv1dLSTM

    _no_pretrained("conv1d-lstm", pretrained)
    return _frozen(Conv1dLSTM(input_shape), freeze, "conv1d-lstm")


def _frozen(model: Any, freeze: int | None, name: str) -> Any:
    freeze_first(model, 0 if freeze is None else int(freeze), name=name)
    return model


@MODELS.register("resnet101", help="timm resnet101, in_chans=1, one logit (about 42.5 M params)")
def resnet101(
    input_shape: Sequence[int], *, pretrained: Any = None, freeze: int | None = None
) -> Any:
    """timm ResNet101 as in the seed (first 39 parameter tensors frozen when pretrained)."""
    return timm_model("resnet101", input_shape, pretrained=pretrained, freeze=freeze)


def timm_model(
    name: str,
    input_shape: Sequence[int],
    *,
    pretrained: str | Path | bool | None = None,
    freeze: int | None = None,
) -> Any:
    """Any timm model with ``in_chans = C`` and one output logit.

    Parameters
    ----------
    name : str
        A timm model name (``timm.list_models()``).
    input_shape : (int, int, int)
        ``(channels, n_feat, n_frames)``.
    pretrained : str or Path, optional
        Local timm state dict to start from. ``True`` raises (nothing is fetched from a hub).
    freeze : int, optional
        Freeze the first ``freeze`` parameter tensors; default :data:`SEED_FROZEN_TENSORS` when
        ``pretrained`` is given, else 0.

    Returns
    -------
    model : torch.nn.Module
        ``x [B, C, F, T] -> logits [B]``.
    """
    import timm

    if pretrained is True:
        raise ParameterError(f"pretrained weights requested without a file. {_no_hub(name)}")
    if not timm.is_model(name):
        close = timm.list_models(f"*{name.split('.')[0][:6]}*")[:8]
        hint = f"; similar: {', '.join(close)}" if close else ""
        raise ParameterError(f"unknown timm model {name!r}{hint}")
    channels = int(input_shape[0])
    net = timm.create_model(name, pretrained=False, in_chans=channels, num_classes=1)
    if pretrained:
        load_timm_weights(net, pretrained, in_chans=channels)
    n_freeze = (SEED_FROZEN_TENSORS if pretrained else 0) if freeze is None else int(freeze)
    freeze_first(net, n_freeze, name=f"timm:{name}")
    from dfaudio.models.nets import OneLogit

    return OneLogit(net)


def _no_hub(name: str) -> str:
    return _NO_HUB.format(name=name)


def freeze_first(model: Any, n: int, *, name: str = "the model") -> int:
    """Set ``requires_grad=False`` on the first ``n`` parameter tensors; returns how many.

    Raises
    ------
    ParameterError
        If ``n`` is negative or would freeze every parameter tensor.
    """
    if n < 0:
        raise ParameterError(f"freeze must be >= 0, got {n}")
    params = list(model.parameters())
    if n >= len(params) > 0:
        raise ParameterError(
            f"freeze={n} would freeze all {len(params)} parameter tensors of {name}; "
            f"use at most {len(params) - 1}"
        )
    for p in params[:n]:
        p.requires_grad = False
    return n


def read_state_dict(path: str | Path) -> dict[str, Any]:
    """A state dict from ``.safetensors`` or a torch file (``weights_only=True``, never pickle).

    Nested checkpoints (``{"state_dict": ...}``, ``{"model": ...}``) and ``module.`` prefixes
    (DataParallel) are unwrapped.
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"{p}: pretrained weights file not found. {_no_hub('resnet101')}")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd: Any = load_file(str(p))
        else:
            sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ParameterError(f"{p}: cannot read weights ({type(exc).__name__}: {exc})") from None
    for key in ("state_dict", "model", "model_state"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(hasattr(v, "shape") for v in sd.values()):
        raise ParameterError(f"{p}: not a state dict of tensors")
    return {k.removeprefix("module.").removeprefix("net."): v for k, v in sd.items()}


def load_timm_weights(net: Any, path: str | Path, *, in_chans: int) -> dict[str, list[str]]:
    """Load a local timm state dict into ``net``, adapting the stem and dropping the classifier.

    Returns
    -------
    report : dict
        ``{"adapted": [...], "dropped": [...], "missing": [...]}`` key lists.

    Raises
    ------
    ParameterError
        If the file does not fit the architecture (anything beyond the classifier is missing).
    """
    from timm.models import adapt_input_conv

    sd = read_state_dict(path)
    own = net.state_dict()
    cfg = getattr(net, "pretrained_cfg", {}) or {}
    first_conv = cfg.get("first_conv")
    first_convs = [first_conv] if isinstance(first_conv, str) else list(first_conv or [])
    classifiers = cfg.get("classifier") or []
    classifiers = [classifiers] if isinstance(classifiers, str) else list(classifiers)
    adapted, dropped = [], []
    for stem in first_convs:
        key = f"{stem}.weight"
        if key in sd and key in own and sd[key].shape[1] != own[key].shape[1]:
            sd[key] = adapt_input_conv(in_chans, sd[key])
            adapted.append(key)
    for key in list(sd):
        if key in own and sd[key].shape != own[key].shape:
            if any(key.startswith(f"{c}.") for c in classifiers):
                del sd[key]
                dropped.append(key)
            else:
                raise ParameterError(
                    f"{path}: {key} has shape {tuple(sd[key].shape)}, the model expects "
                    f"{tuple(own[key].shape)}; are these weights for another architecture?"
                )
    result = net.load_state_dict(sd, strict=False)
    missing = [
        k for k in result.missing_keys if not any(k.startswith(f"{c}.") for c in classifiers)
    ]
    if missing:
        raise ParameterError(
            f"{path}: {len(missing)} model tensors are missing from the file "
            f"(first: {missing[0]}); are these weights for another architecture?"
        )
    return {"adapted": adapted, "dropped": dropped, "missing": list(result.missing_keys)}


def get_builder(name: str) -> ModelBuilder:
    """The builder of a registered name or of ``timm:<name>``."""
    if name.startswith("timm:"):
        timm_name = name.split(":", 1)[1]
        if not timm_name:
            raise ParameterError("timm: needs a model name, e.g. timm:resnet200d")

        def build(
            input_shape: Sequence[int], *, pretrained: Any = None, freeze: int | None = None
        ) -> Any:
            return timm_model(timm_name, input_shape, pretrained=pretrained, freeze=freeze)

        return build
    return MODELS.get(name)


def build_model(
    name: str,
    input_shape: Sequence[int],
    *,
    pretrained: str | Path | bool | None = None,
    freeze: int | None = None,
) -> Any:
    """Build model ``name`` for inputs of ``input_shape`` (``(C, F, T)``).

    Examples
    --------
    >>> import torch
    >>> m = build_model("simple-cnn", (1, 16, 24))
    >>> m(torch.zeros(2, 1, 16, 24)).shape
    torch.Size([2])
    """
    return get_builder(name)(
        tuple(int(v) for v in input_shape), pretrained=pretrained, freeze=freeze
    )


def model_names() -> list[str]:
    """Registered names (``timm:<name>`` is accepted as well)."""
    return MODELS.names()
