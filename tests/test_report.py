"""The self-contained HTML report (``dfaudio compare --html``) and per-run plots.

Structure tests always run. The browser test renders the report in Debian's headless chromium
(``experiments/check_report_browser.py``) and is skipped when ``shutil.which("chromium")`` finds
no browser.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import stat
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dfaudio.cli.main import cli as main_cli

REPO = Path(__file__).resolve().parents[1]
EVIL = "<script>alert('x')</script>"


def _write_run(
    base: Path, name: str, *, model: str, split_type: str, plots: bool, seed: int
) -> Path:
    from dfaudio.labels import SCORE_DIRECTION
    from dfaudio.runs import RunWriter, new_run_dir, save_run_plots

    rng = np.random.default_rng(seed)
    labels = np.array(["bonafide"] * 30 + ["spoof"] * 30)
    score = np.r_[rng.normal(1.0, 1.0, 30), rng.normal(-1.0, 1.0, 30)]
    df = pd.DataFrame(
        {
            "file": [f"f{i // 3}.wav" for i in range(60)],
            "window": np.arange(60) % 3,
            "group": [f"g{i // 6}" for i in range(60)],
            "label": labels,
            "score": score,
            "p_fake": 1 / (1 + np.exp(score)),
            "fold": 0,
        }
    )
    run = new_run_dir(base, name)
    w = RunWriter(run)
    w.config({"kind": "sklearn", "model": model})
    w.scores(df)
    from dfaudio.evaluation import summarize

    s = summarize(labels, score)
    metrics = {
        "kind": "sklearn",
        "model": model,
        "features": "deep-voice-26",
        "data": "synthetic & <data>",
        "split_type": split_type,
        "split": f"{split_type} test split",
        "n_rows": 60,
        "n_test_rows": 60,
        "created": "2026-01-01T00:00:00+00:00",
        "score_direction": SCORE_DIRECTION,
        "accuracy": s["accuracy"],
        "eer": s["eer"],
        "eer_pooled": s["eer"],
        "eer_threshold": s["eer_threshold"],
        "roc_auc": s["roc_auc"],
        "eer_ci95": [0.1, 0.3],
        "warnings": ["a <b>warning</b>"],
    }
    if plots:
        metrics["plots"] = save_run_plots(run, df, title=model)
    w.metrics(metrics)
    return run


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three finished runs: with plots, without plots (drawn from scores.csv), a hostile name."""
    base = tmp_path_factory.mktemp("report") / "runs"
    _write_run(base, "a", model="logreg", split_type="grouped", plots=True, seed=0)
    _write_run(base, "b", model="xgboost", split_type="leaky", plots=False, seed=1)
    _write_run(base, "c", model=EVIL, split_type="stratified", plots=True, seed=2)
    return base


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(text: str) -> _Collect:
    p = _Collect()
    p.feed(text)
    return p


def test_save_run_plots_never_raises(tmp_path: Path) -> None:
    from dfaudio.runs import save_run_plots

    bad = pd.DataFrame({"label": ["bonafide", "bonafide"], "score": [0.1, 0.2]})  # one class
    out = save_run_plots(tmp_path, bad)
    assert set(out) == {"error"} and "DataError" in out["error"]
    ok = pd.DataFrame({"label": ["bonafide", "spoof"] * 5, "score": np.arange(10.0)})
    assert save_run_plots(tmp_path, ok)["files"] == [
        "det.png",
        "roc.png",
        "score_hist.png",
        "confusion.png",
    ]


def test_report_structure(runs_dir: Path, tmp_path: Path) -> None:
    from dfaudio.report import write_html_report
    from dfaudio.runs.leaderboard import collect

    df = collect(runs_dir)
    out = write_html_report(df, tmp_path / "r.html")
    text = out.read_text(encoding="utf-8")
    assert stat.S_IMODE(out.stat().st_mode) & 0o044  # readable by others (umask permitting)
    doc = _parse(text)
    tables = [a for t, a in doc.tags if t == "table" and a.get("id") == "leaderboard"]
    assert len(tables) == 1
    board = text.split("<table id='leaderboard'>")[1].split("</table>")[0]
    assert board.count("<tr>") == 1 + 3  # header + one row per run
    imgs = [a["src"] for t, a in doc.tags if t == "img"]
    assert len(imgs) == 12 and all(s.startswith("data:image/png;base64,") for s in imgs)
    # nothing external: no link/iframe, no src/href other than data: URIs and #anchors
    assert not any(t in ("link", "iframe", "object", "embed") for t, _ in doc.tags)
    refs = [a.get(k) for t, a in doc.tags for k in ("src", "href") if a.get(k)]
    assert all(r.startswith(("data:", "#")) for r in refs)
    assert len([t for t, a in doc.tags if t == "script"]) == 1  # only our inline load hook
    assert not re.search(r"https?://", text)
    # escaping
    assert EVIL not in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "<b>warning</b>" not in text and "synthetic &amp; &lt;data&gt;" in text
    # split types visible, legend present
    plain = " ".join(doc.text)
    for split in ("grouped", "leaky", "stratified"):
        assert f"split-{split}" in board
    assert "higher score = more bona fide" in plain and "Split types" in plain
    assert "plots drawn for this report from scores.csv" in plain  # run b has no plots/
    assert plain.count("DET curve (normal-deviate axes)") == 3


def test_report_empty_and_force(tmp_path: Path) -> None:
    from dfaudio.exceptions import ParameterError
    from dfaudio.report import write_html_report
    from dfaudio.runs.leaderboard import collect

    df = collect(tmp_path)
    path = write_html_report(df, tmp_path / "empty.html")
    assert "No finished runs" in path.read_text()
    with pytest.raises(ParameterError, match="force=True"):
        write_html_report(df, path)
    write_html_report(df, path, force=True)


def test_compare_html_cli(runs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    res = CliRunner().invoke(main_cli, ["compare", str(runs_dir), "--html", str(out)])
    assert res.exit_code == 0, res.output
    assert out.is_file() and "id='leaderboard'" in out.read_text()
    res = CliRunner().invoke(main_cli, ["compare", str(runs_dir), "--html", str(out)])
    assert res.exit_code == 2 and "--force" in res.stderr


def _checker() -> Any:  # the module in experiments/
    path = REPO / "experiments" / "check_report_browser.py"
    spec = importlib.util.spec_from_file_location("check_report_browser", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_check_dom_flags_problems() -> None:
    check = _checker()
    problems = check.check_dom("<html><body><img src='http://x/y.png'></body></html>")
    assert any("leaderboard" in p for p in problems)
    assert any("external" in p for p in problems)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_report_renders_in_headless_chromium(runs_dir: Path, tmp_path: Path) -> None:
    from dfaudio.report import write_html_report
    from dfaudio.runs.leaderboard import collect

    check = _checker()
    report = write_html_report(collect(runs_dir), tmp_path / "report.html")
    exe = check.chromium()
    dom = check.dump_dom(report, exe=exe)
    assert check.check_dom(dom, n_runs=3) == []
    assert 'data-images-decoded="12/12"' in dom
    shot = check.screenshot(report, tmp_path / "shot.png", exe=exe, size="1000,1400")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_report_details_of_a_fitted_run(tmp_path: Path) -> None:
    """A real (schema 2) run: the details say pooled EER with its own interval, the threshold,
    the trial counts and the fold mean/std on a separate line, as the leaderboard does."""
    from dfaudio.report import render_html
    from dfaudio.runs.leaderboard import collect
    from dfaudio.tables import FeatureTable
    from dfaudio.training.fit_sklearn import fit_sklearn

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 60)
    X = rng.normal(size=(120, 3)) + y[:, None] * 0.8
    meta = pd.DataFrame({"group": [f"g{i % 12}" for i in range(120)]})
    table = FeatureTable(X=X, y=y, meta=meta, features=["a", "b", "c"], source="syn.csv")
    res = fit_sklearn(table, model="lda", cv=3, runs_dir=tmp_path / "runs", data_name="syn")
    m = res.metrics
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", render_html(collect(tmp_path / "runs"))))
    lo, hi = m["eer_ci95"]
    pooled = f"{100 * m['eer']:.2f} % (95 % CI {100 * lo:.1f} % to {100 * hi:.1f} %)"
    trials = f"over {m['n_bonafide']} bona fide / {m['n_spoof']} spoof trials"
    assert f"EER (pooled held-out) {pooled} {trials}, threshold" in text
    fold = f"mean {100 * m['eer_fold_mean']:.2f} %, std {100 * m['eer_fold_std']:.2f} % (3 folds)"
    assert f"EER over folds {fold}" in text
