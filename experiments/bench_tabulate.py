"""DEEP-VOICE per-second rows: the naive librosa recipe against the fast path, on ONE core.

Usage::

    .venv/bin/python experiments/bench_tabulate.py --quick   # a few files, < 1 minute
    .venv/bin/python experiments/bench_tabulate.py           # a few minutes

Measures, on the same real audio (LibriSpeech FLAC 16 kHz, WaveFake WAV 22.05 kHz, FSDD WAV 8 kHz
clips shorter than a second, Resemblyzer MP3 44.1/48 kHz):

- audio-seconds per CPU-second (``time.process_time``) of each route, the speed ratio; the two
  routes run file by file in turn so that other load on the machine hits both alike;
- the largest relative difference per column, ``|fast - naive| / max(|naive|, column scale)``;
- working memory (tracemalloc peak of one call) on a long file, and for a synthetic 1-hour 16 kHz
  signal: the fast path on the array in memory vs streamed in 60 s pieces
  (``deep_voice_features_blocks``), peak RSS of a one subprocess each;
- ``dfaudio.tabular.tabulate`` end to end (reading + features + table), jobs=1 vs jobs=2, when it
  exists;
- every tabular feature set (``dfaudio.features.sets``; ``--sets``) on the same LibriSpeech audio
  in 1 s windows: CPU ms per audio-second on one core (after a warm-up call that pays imports and
  model loading) and memory (peak RSS of a subprocess per set, and what loading the set cost).
  ``ssl:`` rows use ``--ssl-model`` (a folder or hub id), or by default a wav2vec 2.0 *base*-sized
  model with random weights built from ``Wav2Vec2Config()`` (same compute as the trained model;
  speed only); a CUDA row is added when a GPU is present.

BLAS/OpenMP/numba threads are pinned to 1 before numpy is imported.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dfaudio.features.summary import (  # noqa: E402
    COLUMN_SCALES,
    DEEP_VOICE_FEATURES,
    deep_voice_features,
    deep_voice_features_naive,
)

DATA = Path(os.environ.get("DFAUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))
SCALES = np.array([COLUMN_SCALES[c] for c in DEEP_VOICE_FEATURES])

# name, glob, files (quick, default), seconds cap per file (quick, default)
SETS = [
    ("LibriSpeech FLAC 16k", "librispeech-test-other-sample/*/*.flac", (4, 30), (None, None)),
    ("WaveFake WAV 22.05k", "wavefake-test-samples/*/*.wav", (4, 11), (None, None)),
    ("FSDD WAV 8k (<1 s)", "fsdd/recordings/*.wav", (40, 300), (None, None)),
    ("Resemblyzer MP3 44.1/48k", "resemblyzer-trump-real-fake/*/*.mp3", (2, 6), (15.0, 60.0)),
]


def read(path: Path, cap_s: float | None) -> tuple[np.ndarray, int]:
    info = sf.info(str(path))
    frames = -1 if cap_s is None else int(cap_s * info.samplerate)
    y, sr = sf.read(str(path), dtype="float32", frames=frames, always_2d=True)
    return np.ascontiguousarray(y.mean(axis=1), dtype=np.float32), int(sr)


def pick(pattern: str, n: int) -> list[Path]:
    files = sorted(DATA.glob(pattern))
    if len(files) <= n:
        return files
    idx = np.linspace(0, len(files) - 1, n).round().astype(int)  # spread over speakers
    return [files[i] for i in idx]


def speed_and_agreement(quick: bool) -> tuple[list[dict], np.ndarray, list[dict]]:
    rows, worst = [], np.zeros(len(DEEP_VOICE_FEATURES))
    manifest = []
    warm = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    deep_voice_features_naive(warm, 16000)  # pays librosa's imports / numba outside the timings
    deep_voice_features(warm, 16000)
    for name, pattern, n_files, caps in SETS:
        files = pick(pattern, n_files[0 if quick else 1])
        if not files:
            print(f"  (skipping {name}: no files)")
            continue
        cap = caps[0 if quick else 1]
        t_naive = t_fast = secs = 0.0
        n_rows = 0
        for f in files:
            y, sr = read(f, cap)
            secs += len(y) / sr
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.process_time()
                a = deep_voice_features_naive(y, sr)
                t_naive += time.process_time() - t
            t = time.process_time()
            b = deep_voice_features(y, sr)
            t_fast += time.process_time() - t
            n_rows += len(a)
            if len(a):
                err = np.abs(a - b) / np.maximum(np.abs(a), SCALES)
                worst = np.maximum(worst, err.max(axis=0))
            label = "spoof" if ("generated" in f.parts or "fake" in f.parts) else "bonafide"
            if cap is None:
                manifest.append({"path": str(f), "label": label, "group": f.stem, "secs": secs})
        rows.append(
            {
                "set": name,
                "files": len(files),
                "audio_s": secs,
                "rows": n_rows,
                "naive_ms": 1e3 * t_naive / secs,
                "fast_ms": 1e3 * t_fast / secs,
            }
        )
    return rows, worst, manifest


MEM_CHILD = r"""
import os, sys, json
def hwm_mb():  # peak RSS of this process (VmHWM; ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"): os.environ[v] = "1"
import numpy as np
from dfaudio.features.summary import deep_voice_features, deep_voice_features_blocks
mode, seconds = sys.argv[1], float(sys.argv[2])
sr, piece = 16000, 60 * 16000
n = int(seconds * sr)
def gen(start, stop):
    rng = np.random.default_rng(start)
    t = np.arange(start, stop) / sr
    x = 0.1 * np.sin(2 * np.pi * (200 + 50 * np.sin(t)) * t)
    return (x + 0.01 * rng.standard_normal(stop - start)).astype(np.float32)
base = hwm_mb()
import time; t = time.process_time()
if mode == "array":
    y = np.concatenate([gen(i, min(n, i + piece)) for i in range(0, n, piece)])
    out = deep_voice_features(y, sr)
else:
    out = deep_voice_features_blocks((gen(i, min(n, i + piece)) for i in range(0, n, piece)), sr)
cpu = time.process_time() - t
peak = hwm_mb()
print(json.dumps({"rows": len(out), "rss_before_mb": base, "peak_rss_mb": peak, "cpu_s": cpu}))
"""


def long_signal_memory(seconds: float) -> list[dict]:
    out = []
    for mode in ("array", "stream"):
        res = subprocess.run(
            [sys.executable, "-c", MEM_CHILD, mode, str(seconds)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        d = json.loads(res.stdout.strip().splitlines()[-1])
        d["mode"] = mode
        out.append(d)
    return out


def traced_peak_mb(fn, y: np.ndarray, sr: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(y[:sr], sr)
        tracemalloc.start()
        fn(y, sr)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 2**20


def tabulate_scaling(manifest: list[dict]) -> list[dict] | None:
    try:
        import pandas as pd

        from dfaudio.tabular import tabulate
    except ImportError:
        return None
    df = pd.DataFrame(manifest)[["path", "label", "group"]]
    secs = sum(sf.info(p).duration for p in df["path"])
    res = []
    direct = None
    for jobs, rep in ((1, 1), (2, 1), (2, 2)):
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        out = tabulate(df, jobs=jobs, progress=False)
        wall = time.perf_counter() - t_wall
        cpu = time.process_time() - t_cpu
        table = out.table
        if direct is None:
            direct = []
            for p in df["path"]:
                y, sr = sf.read(p, dtype="float32")
                direct.append(deep_voice_features(y, sr))
            direct = np.vstack(direct)
        same = table[DEEP_VOICE_FEATURES].to_numpy()
        diff = float(np.max(np.abs(same - direct) / np.maximum(np.abs(direct), SCALES)))
        res.append(
            {
                "jobs": jobs,
                "run": rep,
                "files": len(df),
                "audio_s": secs,
                "rows": len(table),
                "wall_s": wall,
                "parent_cpu_s": cpu,
                "audio_s_per_wall_s": secs / wall,
                "max_diff_vs_fast": diff,
                "failures": len(out.failures),
            }
        )
    return res


SET_CHILD = r"""
import os, sys, json, time, warnings
def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
warnings.simplefilter("ignore")
import numpy as np, soundfile as sf
spec_text, device, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
cap = float(sys.argv[4])
if spec_text.startswith("ssl:") or spec_text == "resemblyzer":
    import torch
    torch.set_num_threads(1)
from dfaudio.features.sets import compute, columns, parse_feature_sets
params = {"ssl": {"device": device}} if spec_text.startswith("ssl:") else None
spec = parse_feature_sets(spec_text, params=params)[0]
base = hwm_mb()
warm = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
compute(spec, warm, 16000)  # imports, model load, JIT
loaded = hwm_mb()
cpu = wall = secs = 0.0
rows = 0
for f in files:
    info = sf.info(f)
    y, sr = sf.read(f, dtype="float32", frames=int(cap * info.samplerate))
    t, w = time.process_time(), time.perf_counter()
    X = compute(spec, y, sr)
    if device == "cuda":
        torch.cuda.synchronize()
    cpu += time.process_time() - t
    wall += time.perf_counter() - w
    secs += len(y) / sr
    rows += len(X)
print(json.dumps({"n_features": len(columns(spec)), "rows": rows, "audio_s": secs, "cpu_s": cpu,
                  "wall_s": wall, "rss_imports_mb": base, "rss_loaded_mb": loaded,
                  "peak_rss_mb": hwm_mb()}))
"""

DEFAULT_SETS = "deep-voice,spectral-stats,egemaps,compare,resemblyzer,ssl:DEFAULT"


def _base_w2v2(folder: Path) -> str:
    """A wav2vec 2.0 base-sized model with random weights (for timing only), saved once."""
    if not (folder / "config.json").is_file():
        import torch
        from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

        torch.manual_seed(0)
        Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(folder)
        Wav2Vec2FeatureExtractor().save_pretrained(folder)
    return str(folder)


def feature_set_costs(quick: bool, sets: str, ssl_model: str | None) -> list[dict]:
    """One subprocess per set (and device): ms per audio-second and memory."""
    files = [str(p) for p in pick("librispeech-test-other-sample/*/*.flac", 2 if quick else 6)]
    cap = 10.0 if quick else 30.0
    out = []
    for name in [s.strip() for s in sets.split(",") if s.strip()]:
        devices = ["cpu"]
        label = name
        if name.startswith("ssl:"):
            if name == "ssl:DEFAULT":
                model = ssl_model or _base_w2v2(Path("/tmp/dfaudio-bench-w2v2-base"))
                label = "ssl:" + ("wav2vec2-base (random weights)" if not ssl_model else model)
                name = f"ssl:{model}"
            try:
                import torch

                if torch.cuda.is_available():
                    devices.append("cuda")
            except ImportError:
                pass
        for device in devices:
            env = dict(os.environ, PYTHONPATH=str(REPO))
            res = subprocess.run(
                [sys.executable, "-c", SET_CHILD, name, device, json.dumps(files), str(cap)],
                capture_output=True,
                text=True,
                cwd=REPO,
                env=env,
            )
            if res.returncode != 0:
                err = (res.stderr.strip().splitlines() or ["?"])[-1]
                out.append({"set": label, "device": device, "error": err})
                continue
            d = json.loads(res.stdout.strip().splitlines()[-1])
            d.update({"set": label, "device": device})
            out.append(d)
    return out


def print_set_costs(rows: list[dict]) -> None:
    print("\n== Feature sets, 1 s windows, LibriSpeech 16 kHz, one core (torch threads 1)")
    print(
        f"  {'set':34s} {'dev':4s} {'cols':>5s} {'rows':>5s} {'ms/audio-s':>10s} {'x RT':>6s} "
        f"{'RSS imports':>11s} {'+load':>6s} {'peak':>6s}"
    )
    for r in rows:
        if "error" in r:
            print(f"  {r['set']:34s} {r['device']:4s} failed: {r['error']}")
            continue
        t = r["wall_s"] if r["device"] == "cuda" else r["cpu_s"]
        ms = 1e3 * t / r["audio_s"]
        print(
            f"  {r['set']:34s} {r['device']:4s} {r['n_features']:5d} {r['rows']:5d} {ms:10.2f} "
            f"{1e3 / ms:6.0f} {r['rss_imports_mb']:9.0f}MB "
            f"{r['rss_loaded_mb'] - r['rss_imports_mb']:4.0f}MB {r['peak_rss_mb']:4.0f}MB"
        )
    print("  (CPU rows: process CPU time; cuda rows: wall time with synchronisation. RSS: after")
    print("   imports, added by the warm-up call (library + model), peak of the whole run)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few files, under a minute")
    ap.add_argument(
        "--sets",
        default=None,
        metavar="NAME[,NAME...]",
        help=f"only the feature-set rows, for these sets ({DEFAULT_SETS}; 'all' for all)",
    )
    ap.add_argument("--ssl-model", default=None, help="folder or hub id for the ssl: row")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"real data not found at {DATA}")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; threads pinned to 1")
    if args.sets:
        sets = DEFAULT_SETS if args.sets == "all" else args.sets
        print_set_costs(feature_set_costs(args.quick, sets, args.ssl_model))
        return

    rows, worst, manifest = speed_and_agreement(args.quick)
    print("\n== Speed, one core (CPU time; naive and fast interleaved file by file)")
    hdr = (
        f"{'data':26s} {'files':>5s} {'audio s':>8s} {'rows':>5s} {'naive ms/s':>10s} "
        f"{'fast ms/s':>9s} {'naive x RT':>10s} {'fast x RT':>9s} {'speed-up':>8s}"
    )
    print(hdr)
    tot = {"audio_s": 0.0, "naive": 0.0, "fast": 0.0}
    for r in rows:
        print(
            f"{r['set']:26s} {r['files']:5d} {r['audio_s']:8.1f} {r['rows']:5d} "
            f"{r['naive_ms']:10.2f} {r['fast_ms']:9.2f} {1e3 / r['naive_ms']:10.0f} "
            f"{1e3 / r['fast_ms']:9.0f} {r['naive_ms'] / r['fast_ms']:7.1f}x"
        )
        tot["audio_s"] += r["audio_s"]
        tot["naive"] += r["naive_ms"] * r["audio_s"]
        tot["fast"] += r["fast_ms"] * r["audio_s"]
    n_ms, f_ms = tot["naive"] / tot["audio_s"], tot["fast"] / tot["audio_s"]
    print(
        f"{'all':26s} {'':5s} {tot['audio_s']:8.1f} {'':5s} {n_ms:10.2f} {f_ms:9.2f} "
        f"{1e3 / n_ms:10.0f} {1e3 / f_ms:9.0f} {n_ms / f_ms:7.1f}x"
    )
    print("  (x RT = audio-seconds per CPU-second)")

    print("\n== Agreement: max |fast - naive| / max(|naive|, column scale), tolerance 1e-4")
    for i in range(0, len(DEEP_VOICE_FEATURES), 4):
        cells = [
            f"{c:>18s} {w:8.1e}"
            for c, w in zip(DEEP_VOICE_FEATURES[i : i + 4], worst[i : i + 4], strict=True)
        ]
        print("  " + "  ".join(cells))
    print(f"  worst overall {worst.max():.1e} ({'PASS' if worst.max() <= 1e-4 else 'FAIL'})")

    print("\n== Working memory of one call (tracemalloc peak, input excluded)")
    longest = max(
        DATA.glob("librispeech-test-other-sample/*/*.flac"), key=lambda p: sf.info(p).frames
    )
    mp3 = sorted(DATA.glob("resemblyzer-trump-real-fake/*/*.mp3"))
    for path, cap in ((longest, None), (mp3[0] if mp3 else None, 120.0)):
        if path is None:
            continue
        y, sr = read(path, cap)
        pn = traced_peak_mb(deep_voice_features_naive, y, sr)
        pf = traced_peak_mb(deep_voice_features, y, sr)
        print(
            f"  {path.name} ({len(y) / sr:.0f} s, {sr} Hz, input {y.nbytes / 2**20:.1f} MB): "
            f"naive {pn:.1f} MB, fast {pf:.1f} MB"
        )

    seconds = 600.0 if args.quick else 3600.0
    print(f"\n== Synthetic {seconds / 60:.0f}-minute 16 kHz signal, fast path, one subprocess each")
    for d in long_signal_memory(seconds):
        how = "whole array in memory" if d["mode"] == "array" else "streamed in 60 s pieces"
        print(
            f"  {how:24s} rows {d['rows']:6d}  peak RSS {d['peak_rss_mb']:7.0f} MB "
            f"(after imports {d['rss_before_mb']:.0f} MB)  CPU {d['cpu_s']:.1f} s "
            f"({seconds / d['cpu_s']:.0f}x real time, signal generation included)"
        )

    print("\n== dfaudio.tabular.tabulate end to end (read + features + table)")
    scal = tabulate_scaling(manifest[: 12 if args.quick else len(manifest)])
    if scal is None:
        print("  dfaudio.tabular not available")
    else:
        print(
            f"  {'jobs':>4s} {'run':>3s} {'files':>5s} {'audio s':>8s} {'rows':>5s} {'wall s':>7s} "
            f"{'audio s/wall s':>14s} {'max diff vs fast':>16s} {'failures':>8s}"
        )
        for r in scal:
            print(
                f"  {r['jobs']:4d} {r['run']:3d} {r['files']:5d} {r['audio_s']:8.1f} "
                f"{r['rows']:5d} {r['wall_s']:7.2f} {r['audio_s_per_wall_s']:14.0f} "
                f"{r['max_diff_vs_fast']:16.1e} {r['failures']:8d}"
            )
        print("  (run 1 of jobs=2 includes starting the worker processes; wall time on a shared")
        print("   2-core machine, so jobs=2 scaling depends on what else is running)")

    print_set_costs(feature_set_costs(args.quick, DEFAULT_SETS, args.ssl_model))


if __name__ == "__main__":
    main()
