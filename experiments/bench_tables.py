"""Feature tables on disk: CSV against Parquet for a large DEEP-VOICE-like table.

Generates a table with the columns ``dfaudio tabulate`` writes (26 DEEP-VOICE features as float64,
``label``, ``file``, ``window``, ``start_s``, ``duration_s``, ``sr``, ``group``), each feature drawn
from a normal with the mean and standard deviation of that column in the real DEEP-VOICE table
(``--reference``, default ``../shared/data/deep-voice/DATASET-balanced.csv``; unit normals
without it), then writes it through
:func:`dfaudio.io.tables.write_frame` as CSV and as Parquet and prints, for each, the size on disk,
the write time and the read time (median of ``--repeats`` reads with
:func:`dfaudio.io.tables.read_frame`, which is what ``read_table`` uses), with Parquet's ratios
against CSV measured in the same run. It also checks that both read back to the same values
(Parquet exactly; CSV to its 9 significant digits).

Usage::

    python experiments/bench_tables.py [--rows 1000000] [--repeats 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from dfaudio.io.tables import PARQUET_COMPRESSION, read_frame, write_frame
from dfaudio.schema import DEEP_VOICE_FEATURES

DEEP_VOICE = Path(__file__).resolve().parents[2] / "shared/data/deep-voice/DATASET-balanced.csv"
WINDOWS_PER_FILE = 60


def make_table(n_rows: int, *, seed: int = 0, reference: Path = DEEP_VOICE) -> pd.DataFrame:
    """A DEEP-VOICE-like table with provenance: ``n_rows`` one-second windows of 60 s files."""
    rng = np.random.default_rng(seed)
    feats = list(DEEP_VOICE_FEATURES)
    if reference.is_file():
        ref = pd.read_csv(reference, usecols=feats)
        mean, std = ref.mean().to_numpy(), ref.std().to_numpy()
    else:
        mean, std = np.zeros(len(feats)), np.ones(len(feats))
    df = pd.DataFrame(rng.normal(size=(n_rows, len(feats))) * std + mean, columns=feats)
    file_id = np.arange(n_rows) // WINDOWS_PER_FILE
    window = np.arange(n_rows) % WINDOWS_PER_FILE
    df["label"] = np.where(file_id % 2 == 1, "spoof", "bonafide")
    df["file"] = [f"corpus/speaker_{i % 500:03d}/utt_{i:06d}.wav" for i in file_id]
    df["window"] = window.astype(np.int64)
    df["start_s"] = window.astype(np.float64)
    df["duration_s"] = 1.0
    df["sr"] = np.int64(16000)
    df["group"] = [f"utt_{i:06d}" for i in file_id]
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3, help="reads per format (median reported)")
    ap.add_argument("--dir", default=None, help="where to write the files (default: a temp dir)")
    ap.add_argument("--reference", type=Path, default=DEEP_VOICE, help="DATASET-balanced.csv")
    args = ap.parse_args()

    df = make_table(args.rows, reference=args.reference)
    src = args.reference if args.reference.is_file() else "unit normals (no reference table)"
    print(f"feature distributions from: {src}")
    print(
        f"table: {len(df):,} rows x {df.shape[1]} columns (26 float64 features + label + "
        f"provenance), {df.memory_usage(deep=True).sum() / 2**20:.0f} MiB in memory"
    )
    results = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for fmt, name in (("csv", "t.csv"), ("parquet", "t.parquet")):
            path = Path(tmp) / name
            t0 = time.perf_counter()
            write_frame(df, path)
            write_s = time.perf_counter() - t0
            reads = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                back = read_frame(path)
                reads.append(time.perf_counter() - t0)
            feats = list(DEEP_VOICE_FEATURES)
            if fmt == "parquet":
                pd.testing.assert_frame_equal(back, df, check_exact=True)
            else:
                np.testing.assert_allclose(back[feats].to_numpy(), df[feats].to_numpy(), rtol=1e-8)
            results[fmt] = (path.stat().st_size, write_s, statistics.median(reads))
            del back
    label = {"csv": "CSV (%.9g)", "parquet": f"Parquet ({PARQUET_COMPRESSION})"}
    print(f"\n| format | size on disk MiB | write s | read s (median of {args.repeats}) |")
    print("|---|---:|---:|---:|")
    for fmt, (size, write_s, read_s) in results.items():
        print(f"| {label[fmt]} | {size / 2**20:.1f} | {write_s:.2f} | {read_s:.2f} |")
    (cs, cw, cr), (ps, pw, pr) = results["csv"], results["parquet"]
    print(
        f"\nParquet vs CSV: {cs / ps:.1f}x smaller, reads {cr / pr:.1f}x faster, "
        f"writes {cw / pw:.1f}x faster; Parquet values and dtypes identical, CSV to 9 digits."
    )


if __name__ == "__main__":
    main()
