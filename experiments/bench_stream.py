"""Streaming latency: one-second chunk -> DEEP-VOICE row -> XGBoost p_fake, on ONE core.

Usage::

    .venv/bin/python experiments/bench_stream.py [--passes 10]

An XGBoost classifier (library defaults, ``n_jobs=1``) is trained here on the DEEP-VOICE table
(``DATASET-balanced.csv``, FAKE = spoof = 1). Then a real 22.05 kHz WaveFake WAV and a 16 kHz
LibriSpeech FLAC are streamed from disk with ``soundfile.SoundFile.read`` one second at a time;
each chunk goes through the feature row (fast path or the naive librosa recipe) and one
``predict`` on that single row. Per chunk we time (wall, ``perf_counter``) read, features and
predict; the file is streamed ``--passes`` times to get enough chunks for a p99 (the very first
chunk of each route, which pays one-time set-up, is left out and reported separately).
Real-time factor = processing time / audio time (lower is better). Wall latency on a shared
machine includes time the scheduler gives to other processes, so CPU time per chunk
(``process_time``) is shown too.

Two predict calls are shown: ``XGBClassifier.predict_proba`` (sklearn API, input validation) and
``Booster.inplace_predict`` (the native call the sklearn API ends in).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dfaudio.features.summary import (  # noqa: E402
    DEEP_VOICE_FEATURES,
    deep_voice_features,
    deep_voice_features_naive,
)

DATA = Path(os.environ.get("DFAUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))
FILES = [
    DATA / "wavefake-test-samples" / "LJSpeech" / "LJ001-0001.wav",
    DATA / "librispeech-test-other-sample" / "3080" / "3080-5032-0009.flac",
]


def train():
    import pandas as pd
    import xgboost as xgb

    table = pd.read_csv(DATA / "deep-voice" / "DATASET-balanced.csv")
    X = table[DEEP_VOICE_FEATURES].to_numpy(dtype=np.float32)
    y = (table["LABEL"] == "FAKE").to_numpy(dtype=int)
    t = time.process_time()
    model = xgb.XGBClassifier(n_jobs=1).fit(X, y)
    print(
        f"trained XGBoost (defaults, n_jobs=1) on {len(X)} rows in {time.process_time() - t:.1f} s"
    )
    return model


def stream(path: Path, features, predict, passes: int) -> dict[str, np.ndarray]:
    t_read, t_feat, t_pred, p_fake, cpu = [], [], [], [], []
    for _ in range(passes):
        with sf.SoundFile(str(path)) as f:
            sr = f.samplerate
            while True:
                c0 = time.process_time()
                t0 = time.perf_counter()
                chunk = f.read(sr, dtype="float32")
                t1 = time.perf_counter()
                if len(chunk) < sr:
                    break  # the tail shorter than one second is dropped, as in the table
                row = features(chunk, sr)
                t2 = time.perf_counter()
                p = predict(row)
                t3 = time.perf_counter()
                cpu.append(time.process_time() - c0)
                t_read.append(t1 - t0)
                t_feat.append(t2 - t1)
                t_pred.append(t3 - t2)
                p_fake.append(p)
    return {
        "read": np.array(t_read),
        "features": np.array(t_feat),
        "predict": np.array(t_pred),
        "p_fake": np.array(p_fake),
        "cpu": np.array(cpu),
        "sr": sr,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passes", type=int, default=10, help="times each file is streamed")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; threads pinned to 1")
    model = train()
    booster = model.get_booster()

    def proba(row: np.ndarray) -> float:
        return float(model.predict_proba(row)[0, 1])

    def inplace(row: np.ndarray) -> float:
        return float(booster.inplace_predict(row)[0])

    def naive(y: np.ndarray, sr: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return deep_voice_features_naive(y, sr).astype(np.float32)

    def fast(y: np.ndarray, sr: int) -> np.ndarray:
        return deep_voice_features(y, sr).astype(np.float32)

    print(
        f"\n{'file':22s} {'sr':>6s} {'route':28s} {'chunks':>6s} {'first ms':>8s} "
        f"{'p50 ms':>7s} {'p99 ms':>7s} {'max ms':>7s} {'RTF':>8s} {'CPU p50':>7s} {'CPU p99':>7s}"
        "  wall p50 read/feat/pred ms"
    )
    for path in FILES:
        if not path.is_file():
            print(f"(missing {path})")
            continue
        routes = [
            ("naive + predict_proba", naive, proba),
            ("fast + predict_proba", fast, proba),
            ("fast + inplace_predict", fast, inplace),
        ]
        p_by_route = {}
        for name, feat, pred in routes:
            first = stream(path, feat, pred, 1)  # fresh route: its first chunk pays set-up
            first_ms = 1e3 * (first["read"][0] + first["features"][0] + first["predict"][0])
            r = stream(path, feat, pred, args.passes)
            total = r["read"] + r["features"] + r["predict"]
            rtf = total.sum() / len(total)  # seconds of processing per second of audio
            p50 = [1e3 * np.median(r[k]) for k in ("read", "features", "predict")]
            print(
                f"{path.name:22s} {r['sr']:6d} {name:28s} {len(total):6d} {first_ms:8.1f} "
                f"{1e3 * np.median(total):7.2f} {1e3 * np.percentile(total, 99):7.2f} "
                f"{1e3 * total.max():7.2f} {rtf:8.5f} {1e3 * np.median(r['cpu']):7.2f} "
                f"{1e3 * np.percentile(r['cpu'], 99):7.2f}  " + "/".join(f"{v:.2f}" for v in p50)
            )
            p_by_route[name] = r["p_fake"]
        a, b = p_by_route["naive + predict_proba"], p_by_route["fast + predict_proba"]
        print(
            f"{'':22s} max |p_fake fast - naive| = {np.max(np.abs(a - b)):.1e}; "
            f"mean p_fake {b.mean():.3f}"
        )
    print("\nRTF = processing time / audio time; goal p99 < 5 ms per one-second chunk.")


if __name__ == "__main__":
    main()
