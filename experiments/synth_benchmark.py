"""Local multi-attack benchmark made with ``dfaudio synth`` from the bona fide audio of shared/data.

Stages (each prints its command or method, its figures and its wall-clock time):

1. sources   bona fide list: FSDD (``--fsdd-per-speaker`` clips of each of 6 speakers, digits 0-9 x
             the lowest indices), LibriSpeech test-other (``--libri-per-speaker`` of 10 speakers),
             VCTK p225 (4 files, mic1 and mic2 of 2 utterances, one group per utterance), LJSpeech
             (6 files of wavefake-test-samples). wavefake-melgan-mh, codecfake-demo and the Trump
             MP3s are NOT used as sources: they are the cross-corpus test sets of stage 6.
2. synth     ``dfaudio synth`` with every built-in attack (world, griffin-lim, lpc, pvoc).
3. audit     own paired check of every copy against its source (length in samples, RMS and peak
             level, leading/trailing silence, sample rate, format/subtype), per attack, plus the
             single-fact EER of each nuisance fact per attack; then ``dfaudio audit`` on the list.
4. tabulate  one row per file (``--window whole``) for each feature set.
5. classical leave-one-attack-out (LOAO: train on bona fide + the other attacks, test on bona fide
             + the held-out attack, 5-fold grouped by source utterance so a copy never meets its
             source across the split), seen-attack baseline (same folds, every attack in training)
             and speaker-disjoint (5-fold grouped by speaker, every attack), for logreg and
             xgboost on each feature set. EER % pooled over folds with a 95 % group-bootstrap
             interval (groups = source utterances).
6. cross     train on the whole synthetic corpus, test on real spoof corpora (cross-corpus,
             labelled as such): wavefake-melgan-mh (MelGAN, LJSpeech), codecfake-demo (15 codecs,
             VCTK).
7. deep      ``dfaudio fit-deep --model lcnn --feature lfcc --lr 1e-4`` (8 epochs, 1 s crops, CPU)
             on the corpus list (grouped hold-outs by source utterance, so seen attacks), with its
             per-epoch learning curve and per-attack test EER.

Usage::

    python experiments/synth_benchmark.py --jobs 2            # ~35 min on a busy 2-core machine
    python experiments/synth_benchmark.py --quick             # a smoke run (~2 min)

Everything is written under ``--work`` (default ``runs/synth-bench``, git-ignored); re-running
replaces what the previous run wrote there (``--force`` of each command); ``--reuse`` keeps the
corpus and tables, ``--skip-classical`` / ``--skip-deep`` skip stages.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DFAUDIO_SHARED_DATA", REPO.parent / "shared" / "data"))
ATTACKS = ("world", "griffin-lim", "lpc", "pvoc")
MODELS = ("logreg", "xgboost")
CROSS = {
    "wavefake-melgan-mh": "wavefake-melgan-mh",
    "codecfake-demo": "codecfake-demo",
}


def sh(cmd: list[str], *, what: str) -> float:
    """Run a dfaudio command, echo it, return its wall-clock seconds (abort on failure)."""
    shown = " ".join(c if " " not in c else repr(c) for c in cmd)
    print(f"$ {shown}", flush=True)
    t0 = time.perf_counter()
    cpu0 = _children_cpu()
    r = subprocess.run(cmd, cwd=REPO, text=True, capture_output=True)
    dt = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    out = (r.stdout + r.stderr).strip().splitlines()
    for line in out[-14:]:
        print(f"    {line}")
    if r.returncode != 0:
        sys.exit(f"{what} failed (exit {r.returncode})")
    print(f"    [{what}: {dt:.1f} s wall, {cpu:.1f} s CPU of its processes]", flush=True)
    return dt


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (and their children)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def dfaudio(*args: str) -> list[str]:
    return [sys.executable, "-m", "dfaudio", *args]


# ------------------------------------------------------------------------------------------------
# 1. sources
# ------------------------------------------------------------------------------------------------


def build_sources(work: Path, *, fsdd_per_speaker: int, libri_per_speaker: int) -> Path:
    rows = []
    fsdd = sorted((DATA / "fsdd" / "recordings").glob("*.wav"))
    by_spk: dict[str, list[tuple[int, int, Path]]] = {}
    for f in fsdd:
        digit, spk, idx = f.stem.split("_")
        by_spk.setdefault(spk, []).append((int(idx), int(digit), f))
    for spk, items in sorted(by_spk.items()):
        for _, _, f in sorted(items)[:fsdd_per_speaker]:  # lowest indices first, all digits
            rows.append(("fsdd", f, f"fsdd/{f.stem}", spk))
    libri = DATA / "librispeech-test-other-sample"
    for spk_dir in sorted(p for p in libri.iterdir() if p.is_dir()):
        for f in sorted(spk_dir.glob("*.flac"))[:libri_per_speaker]:
            rows.append(("librispeech", f, f"libri/{f.stem}", f"libri-{spk_dir.name}"))
    for f in sorted((DATA / "vctk-sample").glob("*.flac")):
        utt = f.stem.rsplit("_", 1)[0]  # p225_001_mic1 -> p225_001: both mics in one group
        rows.append(("vctk", f, f"vctk/{utt}", "vctk-p225"))
    wf = DATA / "wavefake-test-samples"
    for f in sorted([*(wf / "LJSpeech").glob("*.wav"), *(wf / "special").glob("*.wav")]):
        rows.append(("ljspeech", f, f"lj/{f.stem}", "LJ"))
    df = pd.DataFrame(
        [
            {"path": str(f), "label": "bonafide", "group": g, "speaker": s, "corpus": c}
            for c, f, g, s in rows
        ]
    )
    work.mkdir(parents=True, exist_ok=True)
    out = work / "sources.csv"
    df.to_csv(out, index=False)
    import soundfile as sf

    secs = sum(sf.info(p).duration for p in df["path"])
    print(f"{len(df)} bona fide sources, {secs:.0f} s, {df['speaker'].nunique()} speakers:")
    for c, n in df["corpus"].value_counts().items():
        print(f"    {c:<12} {n}")
    return out


# ------------------------------------------------------------------------------------------------
# 3. audit
# ------------------------------------------------------------------------------------------------


def file_facts(path: Path) -> dict:
    """Length, RMS/peak level, leading/trailing silence (20 ms frames 40 dB below the loudest),
    sample rate and format of one file, read as the bits on disk (soundfile)."""
    import soundfile as sf

    info = sf.info(str(path))
    y, sr = sf.read(str(path), dtype="float64", always_2d=True)
    x = y.mean(axis=1)
    frame = max(1, int(0.02 * sr))
    n = len(x) // frame
    e = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-20)
    loud = e > e.max() * 10 ** (-40 / 20)
    first = int(np.argmax(loud))
    last = int(n - 1 - np.argmax(loud[::-1]))
    return {
        "frames": info.frames,
        "sr": sr,
        "format": f"{info.format}/{info.subtype}",
        "rms_db": 20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12),
        "peak_db": 20 * np.log10(np.max(np.abs(x)) + 1e-12),
        "lead_s": first * frame / sr,
        "trail_s": (n - 1 - last) * frame / sr,
    }


def single_fact_eer(bona: np.ndarray, spoof: np.ndarray) -> float:
    """EER of one fact used directly as a score, in its better direction (0.5: no information).

    Facts such as leading silence are 0 for most files; the EER is read off the ROC polyline
    (ties give straight segments), which stays 0.5 for identical distributions.
    """
    from sklearn.metrics import roc_curve

    y = np.r_[np.zeros(len(bona)), np.ones(len(spoof))]
    fpr, tpr, _ = roc_curve(y, np.r_[bona, spoof])
    fnr = 1 - tpr
    i = int(np.flatnonzero(fnr <= fpr)[0])  # first point past the crossing
    if i == 0:
        e = fpr[0]
    else:  # intersect the segment (fpr[i-1], fnr[i-1]) -> (fpr[i], fnr[i]) with fnr = fpr
        d0, d1 = fnr[i - 1] - fpr[i - 1], fnr[i] - fpr[i]
        t = d0 / (d0 - d1) if d0 != d1 else 0.0
        e = fpr[i - 1] + t * (fpr[i] - fpr[i - 1])
    return float(min(e, 1 - e))


def audit(work: Path, listed: pd.DataFrame) -> pd.DataFrame:
    corpus = work / "corpus"
    facts = pd.DataFrame([file_facts(corpus / p) for p in listed["path"]])
    facts = pd.concat([listed.reset_index(drop=True), facts], axis=1)
    # pair each copy with its source: ATTACK/<source path below the sources' common folder>
    absolute = [os.path.abspath(corpus / p) for p in listed["path"]]
    is_bona = (facts["label"] == "bonafide").to_numpy()
    common = os.path.commonpath([os.path.dirname(a) for a, b in zip(absolute, is_bona) if b])  # noqa: B905
    facts["key"] = [
        os.path.splitext(os.path.relpath(a, common) if b else p.split("/", 1)[1])[0]
        for a, b, p in zip(absolute, is_bona, listed["path"], strict=True)
    ]
    bona = facts[is_bona].set_index("key")
    rows = []
    for attack in ["-", *ATTACKS]:
        sub = facts[facts["attack"] == attack].set_index("key")
        src = bona.loc[sub.index]
        row = {
            "attack": "bona fide" if attack == "-" else attack,
            "files": len(sub),
            "mean dur s": (sub["frames"] / sub["sr"]).mean(),
            "max |d len| smp": int(np.abs(sub["frames"] - src["frames"]).max()),
            "RMS dBFS": sub["rms_db"].mean(),
            "max |d RMS| dB": float(np.abs(sub["rms_db"] - src["rms_db"]).max()),
            "peak dBFS": sub["peak_db"].mean(),
            "lead s": sub["lead_s"].mean(),
            "trail s": sub["trail_s"].mean(),
            "sr same": bool((sub["sr"] == src["sr"]).all()),
            "format same": bool((sub["format"] == src["format"]).all()),
        }
        if attack != "-":
            for fact in ("rms_db", "peak_db", "lead_s", "trail_s"):
                row[f"EER {fact}"] = 100 * single_fact_eer(
                    bona[fact].to_numpy(), sub[fact].to_numpy()
                )
        rows.append(row)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        "EER <fact>: the fact alone as a score, bona fide vs that attack, better direction "
        "(50 % = no information); silence = 20 ms frames 40 dB below the loudest"
    )
    return table


# ------------------------------------------------------------------------------------------------
# 5. classical leave-one-attack-out, seen-attack and speaker-disjoint
# ------------------------------------------------------------------------------------------------


def read(path: Path) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Features (X), labels (bona fide 0, spoof 1) and provenance of a tabulate table."""
    from dfaudio.tables import read_table

    ft = read_table(path)
    meta = ft.meta.reset_index(drop=True).copy()
    for col in ("group", "attack", "speaker"):
        meta[col] = meta[col].fillna("").astype(str) if col in meta else ""
    return ft.X, ft.y.astype(int), meta


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame (index included) as a Markdown table."""
    d = df.reset_index()
    head = [str(c) for c in d.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in d.itertuples(index=False)]
    return "\n".join(lines)


def bona_scores(model_name: str, Xtr, ytr, Xte, seed: int = 0) -> np.ndarray:
    from dfaudio.models.sklearn_zoo import make_model

    model = make_model(model_name, seed=seed)
    model.fit(Xtr, ytr)
    return model.predict_proba(Xte)[:, 0]  # class 0 = bona fide: higher = more bona fide


def eer_ci(labels: np.ndarray, scores: np.ndarray, groups: np.ndarray, n_boot: int) -> tuple:
    from dfaudio.evaluation import bootstrap_ci, eer

    point = eer(labels, scores)[0]
    lo, hi = bootstrap_ci(labels, scores, groups=groups, n_boot=n_boot, seed=0)
    return 100 * point, 100 * lo, 100 * hi


def classical(
    X: np.ndarray, y: np.ndarray, meta: pd.DataFrame, model: str, *, n_boot: int
) -> list[dict]:
    from sklearn.model_selection import GroupKFold

    groups = meta["group"].to_numpy()
    attack = meta["attack"].to_numpy()
    labels = np.where(y == 1, "spoof", "bonafide")
    results = []
    folds = list(GroupKFold(n_splits=5).split(X, y, groups))
    # seen attacks: one model per fold on every attack; scored per attack below
    seen = np.full(len(y), np.nan)
    for tr, te in folds:
        seen[te] = bona_scores(model, X[tr], y[tr], X[te])
    # leave one attack out: the held-out attack is absent from training
    for held in ATTACKS:
        loao = np.full(len(y), np.nan)
        for tr, te in folds:
            tr = tr[attack[tr] != held]
            te = te[(attack[te] == held) | (y[te] == 0)]
            loao[te] = bona_scores(model, X[tr], y[tr], X[te])
        keep = (attack == held) | (y == 0)
        for kind, s in (("seen", seen), ("unseen", loao)):
            e, lo, hi = eer_ci(labels[keep], s[keep], groups[keep], n_boot)
            results.append(
                {"eval": kind, "attack": held, "model": model, "eer": e, "lo": lo, "hi": hi}
            )
    # speaker-disjoint, every attack in training
    spk = meta["speaker"].to_numpy()
    n_spk = len(set(spk))
    spk_scores = np.full(len(y), np.nan)
    for tr, te in GroupKFold(n_splits=min(5, n_spk)).split(X, y, spk):
        spk_scores[te] = bona_scores(model, X[tr], y[tr], X[te])
    e, lo, hi = eer_ci(labels, spk_scores, groups, n_boot)
    results.append(
        {"eval": "speaker-disjoint", "attack": "all", "model": model, "eer": e, "lo": lo, "hi": hi}
    )
    return results


def cross_corpus(
    X: np.ndarray, y: np.ndarray, tests: dict[str, Path], model: str, *, n_boot: int
) -> list[dict]:
    from dfaudio.models.sklearn_zoo import make_model

    out = []
    m = make_model(model, seed=0)
    m.fit(X, y)
    for name, path in tests.items():
        Xt, yt, mt = read(path)
        s = m.predict_proba(Xt)[:, 0]
        e, lo, hi = eer_ci(
            np.where(yt == 1, "spoof", "bonafide"), s, mt["group"].to_numpy(), n_boot
        )
        out.append(
            {
                "eval": f"cross:{name}",
                "attack": "real",
                "model": model,
                "eer": e,
                "lo": lo,
                "hi": hi,
            }
        )
    return out


# ------------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "synth-bench")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--fsdd-per-speaker", type=int, default=80)
    ap.add_argument("--libri-per-speaker", type=int, default=2)
    ap.add_argument("--sets", default="deep-voice,spectral-stats,egemaps")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--deep-model", default="lcnn")
    ap.add_argument("--lr", default="1e-4")
    ap.add_argument("--n-boot", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    ap.add_argument("--skip-deep", action="store_true")
    ap.add_argument("--skip-classical", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="keep the corpus and tables in --work")
    args = ap.parse_args()
    if args.quick:
        args.fsdd_per_speaker, args.libri_per_speaker, args.epochs = 10, 1, 1
        args.sets, args.n_boot = "deep-voice", 50
    if not DATA.is_dir():
        sys.exit(f"real data not found at {DATA}")
    work = args.work.resolve()
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    print("== 1. sources")
    src = build_sources(
        work, fsdd_per_speaker=args.fsdd_per_speaker, libri_per_speaker=args.libri_per_speaker
    )

    print("\n== 2. synth")
    corpus = work / "corpus"
    if not (args.reuse and (corpus / "list.csv").exists()):
        timings["synth"] = sh(
            dfaudio(
                "synth",
                str(src),
                "-o",
                str(corpus),
                "--attack",
                "all",
                "--seed",
                "0",
                "--jobs",
                str(args.jobs),
                "--force",
            ),
            what="synth",
        )
    listed = pd.read_csv(corpus / "list.csv", dtype=str, keep_default_na=False)
    print(f"    {len(listed)} files in the list")

    print("\n== 3. audit (originals vs copies)")
    t0 = time.perf_counter()
    audit(work, listed)
    timings["own audit"] = time.perf_counter() - t0
    timings["dfaudio audit"] = sh(
        dfaudio("audit", str(corpus / "list.csv"), "--n-boot", "200", "--jobs", str(args.jobs)),
        what="dfaudio audit",
    )

    print("\n== 4. tabulate (one row per file)")
    sets = [s for s in args.sets.split(",") if s]
    tables: dict[str, Path] = {}
    cross_tables: dict[str, dict[str, Path]] = {}
    for s in sets:
        tables[s] = work / f"table-{s}.csv"
        cross_tables[s] = {name: work / f"cross-{name}-{s}.csv" for name in CROSS}
        if args.reuse and all(p.exists() for p in [tables[s], *cross_tables[s].values()]):
            continue
        timings[f"tabulate {s}"] = sh(
            dfaudio(
                "tabulate",
                str(corpus / "list.csv"),
                "-o",
                str(tables[s]),
                "--features",
                s,
                "--window",
                "whole",
                "--jobs",
                str(args.jobs),
                "--force",
                "-q",
            ),
            what=f"tabulate {s}",
        )
        for name, folder in CROSS.items():
            out = cross_tables[s][name]
            timings[f"tabulate {name} {s}"] = sh(
                dfaudio(
                    "tabulate",
                    str(DATA / folder),
                    "-o",
                    str(out),
                    "--features",
                    s,
                    "--window",
                    "whole",
                    "--jobs",
                    str(args.jobs),
                    "--force",
                    "-q",
                ),
                what=f"tabulate {name} {s}",
            )

    print("\n== 5./6. classical: leave-one-attack-out, seen, speaker-disjoint, cross-corpus")
    results = []
    for s in sets if not args.skip_classical else []:
        X, y, meta = read(tables[s])
        for model in args.models.split(","):
            t0 = time.perf_counter()
            res = classical(X, y, meta, model, n_boot=args.n_boot)
            res += cross_corpus(X, y, cross_tables[s], model, n_boot=args.n_boot)
            dt = time.perf_counter() - t0
            timings[f"classical {s} {model}"] = dt
            for r in res:
                r["features"] = s
            results += res
            print(f"    {s} x {model}: {X.shape[1]} features, {dt:.1f} s")
    if results:
        report_classical(pd.DataFrame(results), work)

    if not args.skip_deep:
        print(f"\n== 7. deep: {args.deep_model} on LFCC")
        runs = work / "deep-runs"
        t0 = time.perf_counter()
        cmd = dfaudio(
            "fit-deep",
            "--model",
            args.deep_model,
            "--feature",
            "lfcc",
            "--data",
            str(corpus / "list.csv"),
            "--lr",
            args.lr,
            "--epochs",
            str(args.epochs),
            "--patience",
            str(args.epochs),
            "--max-duration-s",
            "1",
            "--device",
            "cpu",
            "--runs-dir",
            str(runs),
            "--cache-dir",
            str(work / "timefreq-cache"),
            "--json",
            "-q",
        )
        print("$ " + " ".join(cmd[2:] if cmd[1] == "-m" else cmd))
        r = subprocess.run(cmd, cwd=REPO, text=True, capture_output=True)
        timings["deep"] = time.perf_counter() - t0
        if r.returncode != 0:
            print(r.stderr[-2000:])
            sys.exit("fit-deep failed")
        metrics = json.loads(r.stdout)
        report_deep(metrics, runs)
        print(f"    [deep: {timings['deep']:.1f} s]")

    print("\n== timings (wall-clock s)")
    for k, v in timings.items():
        print(f"    {k:<36} {v:7.1f}")
    print(f"    {'total':<36} {time.perf_counter() - t_all:7.1f}")


def report_classical(res: pd.DataFrame, work: Path) -> None:
    """Print the unseen/seen-attack tables and the speaker-disjoint / cross-corpus table."""
    res["EER % [95% CI]"] = [
        f"{e:5.1f} [{lo:4.1f}-{hi:4.1f}]" for e, lo, hi in zip(res.eer, res.lo, res.hi, strict=True)
    ]
    res.to_csv(work / "results.csv", index=False)
    for kind in ("unseen", "seen"):
        sub = res[res["eval"] == kind]
        pivot = sub.pivot_table(
            index=["features", "model"], columns="attack", values="EER % [95% CI]", aggfunc="first"
        )[list(ATTACKS)]
        print(f"\n{kind}-attack EER % (pooled over 5 folds grouped by source utterance):")
        print(markdown(pivot))
    other = res[~res["eval"].isin(["seen", "unseen"])]
    pivot = other.pivot_table(
        index=["features", "model"], columns="eval", values="EER % [95% CI]", aggfunc="first"
    )
    print(
        "\nspeaker-disjoint (5 folds grouped by speaker, every attack) and cross-corpus "
        "(train: whole synthetic corpus; test: real spoof corpora) EER %:"
    )
    print(markdown(pivot))


def report_deep(metrics: dict, runs: Path) -> None:
    """The deep run's test EER (with its interval), per-attack EER and learning curve."""
    lo, hi = metrics["eer_ci95"]
    print(
        f"    test EER {100 * metrics['eer']:.1f} % [{100 * lo:.1f}-{100 * hi:.1f}] on "
        f"{metrics['n_test_rows']} files ({metrics['n_bonafide']} bona fide / "
        f"{metrics['n_spoof']} spoof, {metrics['split_type']} hold-out, seen attacks); "
        f"{metrics['n_params']} parameters; features {metrics['feature_seconds']:.0f} s, "
        f"training {metrics['train_seconds']:.0f} s"
    )
    print("    learning curve:")
    print("      epoch  train_loss  dev_loss  dev_EER%  seconds  clips/s")
    for h in metrics["history"]:
        print(
            f"      {h['epoch']:>5}  {h['train_loss']:10.4f}  {h['dev_loss']:8.4f}  "
            f"{100 * h['dev_eer']:8.1f}  {h['seconds']:7.1f}  {h['clips_per_s']:7.1f}"
        )
    run = sorted(p for p in runs.iterdir() if p.is_dir())[-1]
    s = pd.read_csv(run / "scores.csv", dtype={"attack": str})
    print("    per attack (test bona fide + that attack), EER % [95 % group bootstrap]:")
    for a in ATTACKS:
        keep = ((s["attack"] == a) | (s["label"] == "bonafide")).to_numpy()
        if (s["attack"] == a).any():
            e, lo, hi = eer_ci(
                s["label"].to_numpy()[keep],
                s["score"].to_numpy()[keep],
                s["group"].astype(str).to_numpy()[keep],
                300,
            )
            print(f"      {a:<12} {e:5.1f} [{lo:4.1f}-{hi:4.1f}]")


if __name__ == "__main__":
    main()
