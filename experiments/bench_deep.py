"""Throughput of the deep path on the seed input (1 x 64 x 188, batch 16).

- simple-cnn: training clips/s (forward + BCE-with-logits + backward + Adam step)
- resnet101: inference clips/s (eval mode, no grad)
- lstm (1 x 20 x 188, 20 MFCCs) and conv1d-lstm (1 x 40 x 188, 40 MFCCs), the sequence models at
  their default fit-deep inputs: training clips/s

on the CPU (``--threads``, default all cores) and on CUDA when a GPU is present (float32 and AMP).
Random tensors stand in for features (the model cost does not depend on the values); the
feature cost is measured separately: log-mel of one 6 s clip at 16 kHz.

    python experiments/bench_deep.py [--steps 5] [--threads N] [--cpu-only]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from dfaudio.features.mel import log_mel_spectrogram
from dfaudio.models.nets import count_parameters
from dfaudio.models.torch_zoo import build_model

SHAPE = (1, 64, 188)
BATCH = 16
#: Sequence models at their default fit-deep inputs (6 s of 20 / 40 MFCCs).
SEQUENCE_SHAPES = {"lstm": (1, 20, 188), "conv1d-lstm": (1, 40, 188)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_rate(
    name: str,
    device: torch.device,
    *,
    steps: int,
    amp: bool = False,
    shape: tuple[int, int, int] = SHAPE,
) -> float:
    torch.manual_seed(0)
    model = build_model(name, shape).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    x = torch.randn(BATCH, *shape, device=device)
    y = (torch.arange(BATCH, device=device) % 2).float()
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            loss = loss_fn(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()  # warm-up (allocations, kernels)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * BATCH / (time.perf_counter() - t0)


@torch.no_grad()
def infer_rate(name: str, device: torch.device, *, steps: int, amp: bool = False) -> float:
    model = build_model(name, SHAPE).to(device).eval()
    x = torch.randn(BATCH, *SHAPE, device=device)
    with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
        model(x)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            model(x)
        _sync(device)
    return steps * BATCH / (time.perf_counter() - t0)


def feature_rate(repeats: int = 20) -> float:
    y = (0.1 * np.random.default_rng(0).standard_normal(96000)).astype(np.float32)
    log_mel_spectrogram(y, 16000)
    t0 = time.perf_counter()
    for _ in range(repeats):
        log_mel_spectrogram(y, 16000)
    return repeats / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5, help="timed batches per measurement")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cpu-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{args.threads} CPU thread(s), batch {BATCH}, input {'x'.join(map(str, SHAPE))}"
    )
    for name in ("simple-cnn", "resnet101"):
        print(f"  {name}: {count_parameters(build_model(name, SHAPE)):,} parameters")
    for name, shape in SEQUENCE_SHAPES.items():
        n = count_parameters(build_model(name, shape))
        print(f"  {name} ({'x'.join(map(str, shape))}): {n:,} parameters")
    print(f"  log-mel of a 6 s clip (numpy STFT): {feature_rate():.0f} clips/s on one core")
    rows = []
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.cpu_only:
        devices.append(torch.device("cuda"))
    for dev in devices:
        label = "cpu" if dev.type == "cpu" else f"cuda ({torch.cuda.get_device_name(dev)})"
        for amp in (False, True) if dev.type == "cuda" else (False,):
            prec = "amp fp16" if amp else "fp32"
            steps = args.steps if dev.type == "cpu" else max(args.steps, 50)
            rows.append(
                (
                    label,
                    prec,
                    "simple-cnn train",
                    train_rate("simple-cnn", dev, steps=steps, amp=amp),
                )
            )
            rows.append(
                (label, prec, "resnet101 infer", infer_rate("resnet101", dev, steps=steps, amp=amp))
            )
            for name, shape in SEQUENCE_SHAPES.items():
                rate = train_rate(name, dev, steps=steps, amp=amp, shape=shape)
                rows.append((label, prec, f"{name} train", rate))
    print()
    print("| device | precision | measurement | clips/s |")
    print("|---|---|---|---:|")
    for label, prec, what, rate in rows:
        print(f"| {label} | {prec} | {what} | {rate:,.1f} |")


if __name__ == "__main__":
    main()
