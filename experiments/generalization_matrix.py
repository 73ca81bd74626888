"""Does it generalize? Train x test matrix and shortcut audit over the corpora of shared/data.

Corpora (all audio tabulated at 16 kHz, 1 s windows, DEEP-VOICE's 26 features; real/fake name
pairs grouped, see ``dfaudio.datasets.pairs``):

* ``wavefake-mh``   ../shared/data/wavefake-melgan-mh: 53 LJSpeech clips + their MelGAN copies
* ``wavefake-5``    ../shared/data/wavefake-test-samples: 5 LJSpeech clips + their WaveFake copies
                    (+ 1 extra real clip)
* ``trump``         ../shared/data/resemblyzer-trump-real-fake: 12 real / 6 fake MP3s
* ``codecfake``     ../shared/data/codecfake-demo: 5 VCTK utterances x (genuine + 15 codecs)
* ``asvspoof``      ../shared/data/asvspoof2019-la/flac_samples (1 bona fide + 1 spoof, A15) and
                    asvspoof2019-pa-d3m (1 bona fide + 3 replay spoofs): a test column only (6
                    files are too few to train on; its cells are anecdotes and marked ``*``)
* ``synth-libri``   (unless --no-synth) ``dfaudio synth`` copies (griffin-lim, world) of 20
                    LibriSpeech test-other clips, the copy-synthesis corpus of issue 7
* ``deep-voice``    ../shared/data/deep-voice/DATASET-balanced.csv (no audio, no provenance): a
                    training row only

For every corpus: ``dfaudio audit`` (nuisance facts alone, grouped CV). Then the matrix
(``dfaudio.generalization.crosseval``): diagonal = grouped 5-fold CV in the corpus (in-corpus),
other cells = fitted on all of the row, scored on the column (cross-corpus). EER % with 95 %
group-bootstrap intervals.

Usage::

    python experiments/generalization_matrix.py                  # ~10 min on 2 busy cores
    python experiments/generalization_matrix.py --models logreg  # one model only

Tables, synth copies and outputs go under ``--work`` (default ``runs/generalization``,
git-ignored); tables found there are reused (``--force`` recomputes them).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _corpora(data: Path, work: Path, *, synth: bool, force: bool) -> list[tuple[str, list, dict]]:
    """(name, inputs, load_manifest kwargs) of every audio corpus."""
    la = data / "asvspoof2019-la" / "flac_samples"
    out = [
        ("wavefake-mh", [data / "wavefake-melgan-mh"], {}),
        (
            "wavefake-5",
            [data / "wavefake-test-samples"],
            {"label_map": {"ljspeech": "bonafide", "generated": "spoof", "special": "bonafide"}},
        ),
        ("trump", [data / "resemblyzer-trump-real-fake"], {}),
        ("codecfake", [data / "codecfake-demo"], {}),
        ("asvspoof", [la, data / "asvspoof2019-pa-d3m"], {"protocols": [la / "labels.txt"]}),
    ]
    if synth:
        lst = work / "synth-libri" / "list.csv"
        if force or not lst.is_file():
            src = work / "libri-20"
            src.mkdir(parents=True, exist_ok=True)
            files = sorted((data / "librispeech-test-other-sample").rglob("*.flac"))[:100:5]
            for f in files:  # 20 clips, 2 from each of 10 speakers
                link = src / f.name
                if not link.exists():
                    link.symlink_to(f.resolve())
            cmd = [
                sys.executable,
                "-m",
                "dfaudio",
                "synth",
                str(src),
                "-o",
                str(work / "synth-libri"),
                "--attack",
                "griffin-lim,world",
                "--layout",
                "plain",
                "--speaker-regex",
                r"^(\d+)-",
                "-q",
                "--force",
            ]
            print("$", " ".join(cmd[2:]), flush=True)
            subprocess.run(cmd, check=True, cwd=REPO)
        out.append(("synth-libri", [lst], {}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "generalization")
    ap.add_argument("--models", nargs="+", default=["logreg", "xgboost"])
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--sr", type=int, default=16000)
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument(
        "--features",
        default="deep-voice",
        help="feature sets (tabulate --features); not "
        "deep-voice: the DEEP-VOICE table (26 columns) is left out",
    )
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()

    import pandas as pd

    from dfaudio.datasets import load_manifest
    from dfaudio.generalization.audit import audit, facts_of_table, format_audit
    from dfaudio.generalization.crosseval import Corpus, crosseval, heatmap, load_corpus, render
    from dfaudio.io.files import write_text
    from dfaudio.tables import read_table
    from dfaudio.tabular import tabulate, write_table

    t0 = time.perf_counter()
    work = args.work
    (work / "tables").mkdir(parents=True, exist_ok=True)
    corpora: list[Corpus] = []
    for name, inputs, kw in _corpora(args.data, work, synth=not args.no_synth, force=args.force):
        slug = args.features.replace(",", "+").replace(":", "_")
        table_path = (
            work
            / "tables"
            / (f"{name}.csv" if args.features == "deep-voice" else f"{name}.{slug}.parquet")
        )
        if name == "asvspoof":  # LA by its protocol, PA by its labels.tsv
            manifest = pd.concat(
                [load_manifest(inputs[:1], **kw), load_manifest(inputs[1:])], ignore_index=True
            )
            manifest.attrs["pairs"] = load_manifest(inputs[1:]).attrs["pairs"]
        else:
            manifest = load_manifest(inputs, **kw)
        pairs = manifest.attrs["pairs"]
        if args.force or not table_path.is_file():
            res = tabulate(manifest, sr=args.sr, progress=False, feature_sets=args.features)
            write_table(res.table, table_path, force=True, info=res.info or None)
        corpus = load_corpus(name, table_path)
        corpus.train_ok = name != "asvspoof"
        t = corpus.table
        print(
            f"\n## {name}: {len(manifest)} files, {int((t.y == 0).sum())} bona fide / "
            f"{int((t.y == 1).sum())} spoof windows at {args.sr} Hz, "
            f"{len(set(t.groups))} groups"
            + (f"; pairs: {pairs.describe()}" if pairs.n_pairs else "")
        )
        try:
            meta = t.meta.assign(label=["bonafide" if v == 0 else "spoof" for v in t.y])
            print(format_audit(audit(facts_of_table(meta), n_boot=args.n_boot, source=name)))
        except Exception as exc:  # a corpus too small to audit still gets its matrix cells
            print(f"audit: not possible ({exc})")
        corpora.append(corpus)
    if args.features == "deep-voice":
        dv = args.data / "deep-voice" / "DATASET-balanced.csv"
        corpora.append(
            Corpus(
                "deep-voice",
                read_table(dv),
                str(dv),
                test_ok=False,
                note="deep-voice: the DEEP-VOICE table has no audio and no "
                "provenance (no file/group columns): a training row only "
                "(features at its own rate, not 16 kHz)",
            )
        )
        print(f"\n## deep-voice: {len(corpora[-1].table.y)} windows (training row only)")
    mx = crosseval(corpora, models=args.models, cv=args.cv, n_boot=args.n_boot)
    print("\n## matrix (EER %, [95 % CI])\n")
    print(render(mx, "markdown"))
    out = work / ("matrix" if args.features == "deep-voice" else f"matrix-{slug}")
    write_text(out / "matrix.csv", render(mx, "csv"), force=True)
    write_text(out / "matrix.md", render(mx, "markdown") + "\n", force=True)
    write_text(out / "matrix.json", render(mx, "json") + "\n", force=True)
    for m in args.models:
        heatmap(mx, out / f"heatmap-{m}.png", model=m, force=True)
    frame = mx.frame()
    cross = frame[frame["kind"] == "cross-corpus"].dropna(subset=["eer"])
    inc = frame[frame["kind"] == "in-corpus"].dropna(subset=["eer"])
    with pd.option_context("display.width", 120):
        print(
            f"\nin-corpus cells: median EER {100 * inc['eer'].median():.1f} %; cross-corpus "
            f"cells: median EER {100 * cross['eer'].median():.1f} % ({len(cross)} cells)"
        )
    print(f"\nwrote {out}/ ; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
