"""Per-window latency of ``dfaudio predict --stream``: features vs model, by sample rate.

Usage::

    python experiments/bench_predict_latency.py RUN_DIR [RUN_DIR ...] [--repeats 30]

For each run and each rate (16, 22.05, 44.1 kHz) it scores one-second windows of real speech
(LJ Speech from the bundled demo, resampled) ``--repeats`` times after a warm-up, and prints the
median and 99th percentile of wall time and of process CPU time per window, split into the
DEEP-VOICE features and the model. CPU time is the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args(argv)

    from dfaudio.cli.demo import demo_data_dir
    from dfaudio.features.summary import deep_voice_features
    from dfaudio.io.audio import load, resample
    from dfaudio.scoring import load_predictor

    y, sr0 = load(Path(demo_data_dir()) / "real" / "LJ001-0001.wav")
    head = f"{'model':<14}{'sr':>7}  {'features ms p50/p99 (cpu p50)':<32}"
    print(head + "model ms p50/p99 (cpu p50)")
    for run in args.runs:
        pred = load_predictor(run)
        backend = pred.backend
        for sr in (16000, 22050, 44100):
            x = y if sr == sr0 else resample(y, orig_sr=sr0, target_sr=sr)
            blocks = [x[i * sr : (i + 1) * sr] for i in range(len(x) // sr)]
            pred.warm_up(sr)
            feat_w, feat_c, mod_w, mod_c = [], [], [], []
            for r in range(args.repeats):
                b = blocks[r % len(blocks)]
                t0, c0 = time.perf_counter(), time.process_time()
                X = deep_voice_features(b, sr, window_s=1.0)
                t1, c1 = time.perf_counter(), time.process_time()
                backend.scores(X)
                t2, c2 = time.perf_counter(), time.process_time()
                feat_w.append(t1 - t0)
                feat_c.append(c1 - c0)
                mod_w.append(t2 - t1)
                mod_c.append(c2 - c1)

            def ms(v: list[float], q: float) -> float:
                return 1000 * float(np.percentile(v, q))

            print(
                f"{pred.model:<14}{sr:>7}  "
                f"{ms(feat_w, 50):6.2f} / {ms(feat_w, 99):6.2f} ({ms(feat_c, 50):5.2f})"
                f"{'':<9}{ms(mod_w, 50):6.2f} / {ms(mod_w, 99):6.2f} ({ms(mod_c, 50):5.2f})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
