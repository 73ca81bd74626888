"""Small torch networks for ``(C, F, T)`` time-frequency tensors; each returns one logit per clip.

- :class:`SimpleANN` and :class:`SimpleCNN` are the seed project's models (lexxsh/Deepfake-Audio,
  ASVspoof 2019 LA), sized from the input shape instead of hard-coding ``1 x 64 x 188``.
- :class:`LCNN` is a light CNN with Max-Feature-Map activations followed by a BiLSTM and average
  pooling over time, after the LFCC-LCNN baseline of ASVspoof 2021 (Wang & Yamagishi).
- :class:`FrameLSTM` reads the tensor as a sequence of frames (``C * F`` values per frame, e.g.
  20 MFCCs) with a bidirectional LSTM; :class:`Conv1dLSTM` puts a 1-D convolution over time in
  front of the LSTM, after the seed project's Keras ASVspoof model (Conv1D + LSTM on 40 MFCCs).

The output is a logit with spoof as the positive class: ``p_fake = sigmoid(logit)``; the bona fide
score used for evaluation is ``-logit`` (see :mod:`dfaudio.labels`). Train with
``BCEWithLogitsLoss`` (no sigmoid inside the model).

Parameter counts at the seed input ``1 x 64 x 188`` (computed from the architecture, checked in
the tests): SimpleANN 12,978,177; SimpleCNN 49,992,577. The seed's README quotes "about
12,350,721" and "about 7,177,857"; those figures do not match its own code.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dfaudio.exceptions import ParameterError

__all__ = [
    "LCNN",
    "SEED_INPUT_SHAPE",
    "Conv1dLSTM",
    "FrameLSTM",
    "MaxFeatureMap",
    "OneLogit",
    "SimpleANN",
    "SimpleCNN",
    "count_parameters",
]

#: The seed models' input: 1 channel, 64 mel bands, 188 frames (6 s at 16 kHz, hop 512).
SEED_INPUT_SHAPE = (1, 64, 188)


def _check_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ParameterError(f"input_shape must be (channels, n_feat, n_frames), got {input_shape}")
    c, f, t = (int(v) for v in input_shape)
    return c, f, t


def _mlp(n_in: int, hidden: Sequence[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), nn.ReLU(inplace=True)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = width
    layers.append(nn.Linear(n_in, 1))
    return nn.Sequential(*layers)


class SimpleANN(nn.Module):
    """Fully connected network on the flattened tensor (the seed's SimpleANN).

    ``flatten(C*F*T) -> 1024 -> 512 -> 256 -> 1`` with ReLU between layers.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(channels, n_feat, n_frames)`` of one input.
    hidden : sequence of int
        Hidden layer widths.
    dropout : float
        Dropout after each hidden layer (the seed used none).
    """

    def __init__(
        self,
        input_shape: Sequence[int] = SEED_INPUT_SHAPE,
        *,
        hidden: Sequence[int] = (1024, 512, 256),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        c, f, t = _check_shape(input_shape)
        self.input_shape = (c, f, t)
        self.net = _mlp(c * f * t, hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, F, T] -> logits [B]``."""
        return self.net(torch.flatten(x, 1)).squeeze(-1)


class SimpleCNN(nn.Module):
    """Two conv + max-pool stages and an MLP head (the seed's SimpleCNN).

    ``conv 5x5 C->32, ReLU, maxpool 2, conv 5x5 32->64, ReLU, maxpool 2, flatten
    (64 * F//4 * T//4) -> 1024 -> 512 -> 256 -> 1``.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(channels, n_feat, n_frames)``; ``n_feat`` and ``n_frames`` must be at least 4.
    hidden : sequence of int
        Hidden widths of the head.
    dropout : float
        Dropout in the head (the seed used none).
    """

    def __init__(
        self,
        input_shape: Sequence[int] = SEED_INPUT_SHAPE,
        *,
        hidden: Sequence[int] = (1024, 512, 256),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        c, f, t = _check_shape(input_shape)
        if f < 4 or t < 4:
            raise ParameterError(f"SimpleCNN needs at least 4 x 4 inputs, got {f} x {t}")
        self.input_shape = (c, f, t)
        self.features = nn.Sequential(
            nn.Conv2d(c, 32, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.head = _mlp(64 * (f // 4) * (t // 4), hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, F, T] -> logits [B]``."""
        return self.head(torch.flatten(self.features(x), 1)).squeeze(-1)


class MaxFeatureMap(nn.Module):
    """Max-Feature-Map: split the channels in two halves and keep the element-wise maximum."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.chunk(x, 2, dim=1)
        return torch.maximum(a, b)


def _mfm_conv(c_in: int, c_out: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, 2 * c_out, kernel_size=k, padding=k // 2), MaxFeatureMap()]


class LCNN(nn.Module):
    """Light CNN (Max-Feature-Map) + BiLSTM + mean over time, after the LFCC-LCNN baseline.

    Designed for LFCC with deltas (``1 x 60 x T``) but sized from any input with ``n_feat >= 16``.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(channels, n_feat, n_frames)``.
    dropout : float
        Dropout before the recurrent part (the baseline uses 0.7).
    """

    def __init__(self, input_shape: Sequence[int] = (1, 60, 601), *, dropout: float = 0.7) -> None:
        super().__init__()
        c, f, t = _check_shape(input_shape)
        if f < 16 or t < 16:
            raise ParameterError(f"LCNN needs at least 16 x 16 inputs, got {f} x {t}")
        self.input_shape = (c, f, t)
        self.features = nn.Sequential(
            *_mfm_conv(c, 32, 5),
            nn.MaxPool2d(2),
            *_mfm_conv(32, 32, 1),
            nn.BatchNorm2d(32),
            *_mfm_conv(32, 48, 3),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(48),
            *_mfm_conv(48, 48, 1),
            nn.BatchNorm2d(48),
            *_mfm_conv(48, 64, 3),
            nn.MaxPool2d(2),
            *_mfm_conv(64, 64, 1),
            nn.BatchNorm2d(64),
            *_mfm_conv(64, 32, 3),
            nn.BatchNorm2d(32),
            *_mfm_conv(32, 32, 1),
            nn.BatchNorm2d(32),
            *_mfm_conv(32, 32, 3),
            nn.MaxPool2d(2),
            nn.Dropout(dropout),
        )
        width = 32 * (f // 16)
        self.lstm = nn.LSTM(width, width // 2, num_layers=2, batch_first=True, bidirectional=True)
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, F, T] -> logits [B]``."""
        h = self.features(x)  # B, 32, F/16, T/16
        h = h.flatten(1, 2).transpose(1, 2)  # B, T/16, 32 * F/16
        r, _ = self.lstm(h)
        return self.out((r + h).mean(dim=1)).squeeze(-1)


def _frames(x: torch.Tensor) -> torch.Tensor:
    """``[B, C, F, T] -> [B, T, C * F]``: one feature vector per frame."""
    return x.flatten(1, 2).transpose(1, 2)


class FrameLSTM(nn.Module):
    """Bidirectional LSTM over frames, mean over time, one linear output.

    Each frame's ``C * F`` values (e.g. 20 MFCCs) are one step of the sequence; the outputs of
    the last layer are averaged over time (every frame counts, not only the last one) and mapped
    to one logit.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(channels, n_feat, n_frames)``.
    hidden : int
        LSTM units per direction.
    num_layers : int
        Stacked LSTM layers.
    dropout : float
        Dropout between LSTM layers and before the output layer.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 20, 188),
        *,
        hidden: int = 128,
        num_layers: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        c, f, t = _check_shape(input_shape)
        self.input_shape = (c, f, t)
        self.lstm = nn.LSTM(
            c * f,
            hidden,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, F, T] -> logits [B]``."""
        r, _ = self.lstm(_frames(x))  # B, T, 2 * hidden
        return self.out(self.drop(r.mean(dim=1))).squeeze(-1)


class Conv1dLSTM(nn.Module):
    """Conv1D over time + LSTM + dense head, after the seed's Keras ASVspoof model.

    ``conv1d(C*F -> filters, kernel 3, same padding), ReLU, maxpool 2, dropout, LSTM(filters ->
    hidden), last hidden state, dense(hidden -> 32), ReLU, dropout, dense(32 -> 1)``. The input
    is meant to be 40 MFCCs per frame (``1 x 40 x T``); any ``(C, F, T)`` with ``T >= 2`` works.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(channels, n_feat, n_frames)``.
    filters : int
        Convolution channels.
    hidden : int
        LSTM units.
    dropout : float
        Dropout after the pooling and in the head.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 40, 188),
        *,
        filters: int = 64,
        hidden: int = 64,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        c, f, t = _check_shape(input_shape)
        if t < 2:
            raise ParameterError(f"Conv1dLSTM needs at least 2 frames, got {t}")
        self.input_shape = (c, f, t)
        self.conv = nn.Sequential(
            nn.Conv1d(c * f, filters, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(2),
            nn.Dropout(dropout),
        )
        self.lstm = nn.LSTM(filters, hidden, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(hidden, 32), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(32, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, F, T] -> logits [B]``."""
        h = self.conv(x.flatten(1, 2))  # B, filters, T // 2
        _, (h_n, _) = self.lstm(h.transpose(1, 2))
        return self.head(h_n[-1]).squeeze(-1)


class OneLogit(nn.Module):
    """Wrap a ``[B, 1]`` classifier (a timm model with ``num_classes=1``) into ``[B]`` logits."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [B, C, F, T] -> logits [B]``."""
        return self.net(x).squeeze(-1)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
