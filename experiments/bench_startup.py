"""Start-up costs: ``dfaudio --help``, librosa's numba JIT on first use (cold vs warm cache), and
the first call of the fast DEEP-VOICE path in a fresh process.

Usage::

    .venv/bin/python experiments/bench_startup.py [--repeats 5]

Every figure is wall time of a fresh subprocess (median of ``--repeats`` runs where stated), so
it is sensitive to other load on the machine; the cold/warm contrast is what matters.

- ``dfaudio --help`` and ``python -c "import dfaudio"``: median of N runs.
- librosa, cold: a child process with ``NUMBA_CACHE_DIR`` pointing at an empty folder times its
  imports and the first call of each librosa feature the naive recipe uses (the first call of a
  librosa function also imports its submodules, whose numba functions are compiled then), then a
  second naive row. Warm: the same child again with the now-filled folder.
- fast path: ``deep_voice_features`` in a fresh process (first call, imports included, then a
  second call), and whether librosa or numba got imported.
- ``dfaudio tabulate`` end to end on two short WAV files in a fresh process (median of N).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DFAUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))
WAV = DATA / "wavefake-test-samples" / "LJSpeech" / "LJ001-0002.wav"
WAV_FAKE = DATA / "wavefake-test-samples" / "generated" / "LJ001-0002_gen.wav"

LIBROSA_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
T = {}
t = time.perf_counter()
import numpy as np, soundfile as sf
T["import numpy+soundfile"] = time.perf_counter() - t
y, sr = sf.read(sys.argv[1], dtype="float32")
b = y[:sr]
t = time.perf_counter()
import numba
T["import numba"] = time.perf_counter() - t
t = time.perf_counter()
import librosa
T["import librosa (lazy)"] = time.perf_counter() - t
steps = [
    ("stft", lambda: librosa.stft(b)),
    ("rms", lambda: librosa.feature.rms(y=b)),
    ("spectral_centroid", lambda: librosa.feature.spectral_centroid(y=b, sr=sr)),
    ("spectral_bandwidth", lambda: librosa.feature.spectral_bandwidth(y=b, sr=sr)),
    ("spectral_rolloff", lambda: librosa.feature.spectral_rolloff(y=b, sr=sr)),
    ("zero_crossing_rate", lambda: librosa.feature.zero_crossing_rate(b)),
    ("chroma_stft (piptrack)", lambda: librosa.feature.chroma_stft(y=b, sr=sr)),
    ("mfcc", lambda: librosa.feature.mfcc(y=b, sr=sr, n_mfcc=20)),
]
for name, fn in steps:
    t = time.perf_counter(); fn(); T["first " + name] = time.perf_counter() - t
from dfaudio.features.summary import deep_voice_features_naive
t = time.perf_counter(); deep_voice_features_naive(b, sr)
T["second naive row (all warm)"] = time.perf_counter() - t
print(json.dumps(T))
"""

FAST_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, soundfile as sf
from dfaudio.features.summary import deep_voice_features
y, sr = sf.read(sys.argv[1], dtype="float32")
t1 = time.perf_counter(); deep_voice_features(y, sr); t2 = time.perf_counter()
deep_voice_features(y, sr); t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "first call": t2 - t1, "second call": t3 - t2,
                  "librosa imported": "librosa" in sys.modules,
                  "numba imported": "numba" in sys.modules}))
"""


def wall(cmd: list[str], *, env: dict[str, str] | None = None, repeats: int = 1) -> float:
    """Median wall time of ``cmd`` in seconds (output discarded; fails loudly)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def child(code: str, *args: str, env: dict[str, str]) -> dict[str, float]:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, check=True, capture_output=True, text=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process wall"] = time.perf_counter() - t
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if not WAV.is_file():
        sys.exit(f"real audio not found: {WAV}")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    dfaudio_bin = Path(sys.executable).with_name("dfaudio")
    cli = [str(dfaudio_bin)] if dfaudio_bin.exists() else [sys.executable, "-m", "dfaudio"]

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"\n== CLI start-up (wall, median of {args.repeats})")
    wall([sys.executable, "-c", "import dfaudio"], env=env)  # warm the OS file cache
    t_import = wall([sys.executable, "-c", "import dfaudio"], env=env, repeats=args.repeats)
    print(f"  python -c 'import dfaudio'   {t_import * 1e3:8.0f} ms")
    has_cli = (REPO / "dfaudio" / "cli" / "main.py").is_file()
    if has_cli:
        wall([*cli, "--help"], env=env)
        t_help = wall([*cli, "--help"], env=env, repeats=args.repeats)
        print(f"  dfaudio --help               {t_help * 1e3:8.0f} ms")
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, dfaudio.cli.main; print(sorted(m for m in "
            "('torch','librosa','numba','xgboost','sklearn','pandas') if m in sys.modules))",
        ],
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"  heavy modules after importing dfaudio.cli.main: {heavy or '(cli missing)'}")

    with tempfile.TemporaryDirectory(prefix="dfaudio-numba-") as tmp:
        cache = Path(tmp) / "numba"
        cache.mkdir()
        env_cache = dict(env, NUMBA_CACHE_DIR=str(cache))
        print(f"\n== librosa first use, fresh processes, NUMBA_CACHE_DIR={cache}")
        cold = child(LIBROSA_CHILD, str(WAV), env=env_cache)
        compiled = sorted(p.name.split(".py")[0] for p in cache.rglob("*.nbi"))
        warm = child(LIBROSA_CHILD, str(WAV), env=env_cache)
        print(f"  {'step (seconds)':36s} {'cold cache':>11s} {'warm cache':>11s}")
        for key in cold:
            print(f"  {key:36s} {cold[key]:11.3f} {warm[key]:11.3f}")
        print(f"  numba cache entries written by the cold run ({len(compiled)}):")
        for name in compiled:
            print(f"    {name}")

        print("\n== fast path (deep_voice_features) in a fresh process, 1 file")
        fast = child(FAST_CHILD, str(WAV), env=env_cache)
        for key, val in fast.items():
            shown = f"{val:.3f} s" if isinstance(val, float) else str(val)
            print(f"  {key:28s} {shown}")

        if has_cli and WAV_FAKE.is_file() and (REPO / "dfaudio" / "cli" / "tabulate.py").is_file():
            root = Path(tmp) / "data"
            (root / "real").mkdir(parents=True)
            (root / "fake").mkdir(parents=True)
            shutil.copy(WAV, root / "real" / WAV.name)
            shutil.copy(WAV_FAKE, root / "fake" / WAV_FAKE.name)
            cmd = [*cli, "tabulate", str(root), "-o", str(Path(tmp) / "t.csv"), "--force", "-q"]
            t_tab = wall(cmd, env=env_cache, repeats=max(1, args.repeats // 2))
            print(f"\n== dfaudio tabulate, 2 files (wall, fresh process): {t_tab * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
