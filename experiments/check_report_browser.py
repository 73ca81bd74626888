"""Render a ``dfaudio compare --html`` report in a real headless browser and check it.

Usage::

    python experiments/check_report_browser.py                 # demo runs -> report -> check
    python experiments/check_report_browser.py report.html     # check an existing report
    python experiments/check_report_browser.py --screenshot shot.png

Needs Debian's ``chromium`` (``apt-get install -y chromium``). The page is loaded from a
``file://`` URL with networking features off; the script then checks, in the DOM that chromium
rendered (``--dump-dom``, after scripts ran), that

* the leaderboard table is there with one body row per run,
* every run has its section and plot images, all as ``data:image/png`` URIs,
* every image was decoded by the browser (the report's load handler writes
  ``data-images-decoded="n/n"`` on ``<body>``),
* nothing refers to an external resource,

and takes a full-page screenshot (``--screenshot``, default ``report.png`` next to the report).
Exit status 0 when every check passes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str | None:
    """Path of a chromium executable, if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def _run(args: list[str], *, timeout_s: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="dfaudio-chromium-") as profile:
        cmd = [*args[:1], *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args[1:]]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)


def dump_dom(html_path: Path, *, exe: str, timeout_s: float = 60.0) -> str:
    """The DOM of the page after load, as chromium serialises it."""
    proc = _run(
        [exe, "--virtual-time-budget=5000", "--dump-dom", html_path.resolve().as_uri()],
        timeout_s=timeout_s,
    )
    if proc.returncode != 0 or "<body" not in proc.stdout:
        raise RuntimeError(f"chromium --dump-dom failed ({proc.returncode}): {proc.stderr[-500:]}")
    return proc.stdout


def screenshot(
    html_path: Path, out: Path, *, exe: str, size: str = "1280,2400", timeout_s: float = 60.0
) -> Path:
    """A PNG screenshot of the page."""
    proc = _run(
        [
            exe,
            f"--screenshot={out.resolve()}",
            f"--window-size={size}",
            "--virtual-time-budget=5000",
            html_path.resolve().as_uri(),
        ],
        timeout_s=timeout_s,
    )
    if not out.is_file():
        raise RuntimeError(
            f"chromium --screenshot failed ({proc.returncode}): {proc.stderr[-500:]}"
        )
    return out


class _DomStats(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.in_board = False
        self.in_tbody = False
        self.board_rows = 0
        self.headers: list[str] = []
        self._in_th = False
        self.images: list[str] = []
        self.sections = 0
        self.body_attrs: dict[str, str | None] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.body_attrs = a
        if tag == "table" and a.get("id") == "leaderboard":
            self.in_board = True
        if self.in_board and tag == "tbody":
            self.in_tbody = True
        if self.in_tbody and tag == "tr":
            self.board_rows += 1
        if self.in_board and tag == "th":
            self._in_th = True
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "section" and "run" in (a.get("class") or ""):
            self.sections += 1
        for key in ("src", "href"):
            v = a.get(key) or ""
            if v and not v.startswith(("data:", "#")):
                self.external.append(f"<{tag} {key}={v[:80]}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.in_board:
            self.in_board = self.in_tbody = False
        if tag == "th":
            self._in_th = False

    def handle_data(self, data: str) -> None:
        if self._in_th:
            self.headers.append(data.strip())


def check_dom(dom: str, *, n_runs: int | None = None) -> list[str]:
    """Problems found in a rendered report DOM (empty list: all good)."""
    stats = _DomStats()
    stats.feed(dom)
    problems = []
    if "leaderboard" not in dom or stats.board_rows == 0:
        problems.append("no leaderboard table rows in the rendered DOM")
    for col in ("model", "split", "EER %"):
        if col not in stats.headers:
            problems.append(f"leaderboard has no {col!r} column (headers: {stats.headers})")
    if n_runs is not None and stats.board_rows != n_runs:
        problems.append(f"leaderboard has {stats.board_rows} rows, expected {n_runs}")
    if stats.sections != stats.board_rows:
        problems.append(f"{stats.sections} run sections for {stats.board_rows} leaderboard rows")
    if not stats.images:
        problems.append("no images in the rendered DOM")
    bad = [s[:40] for s in stats.images if not s.startswith("data:image/png;base64,")]
    if bad:
        problems.append(f"{len(bad)} images are not embedded PNG data URIs: {bad[:2]}")
    decoded = stats.body_attrs.get("data-images-decoded")
    expected = f"{len(stats.images)}/{len(stats.images)}"
    if decoded != expected:
        problems.append(f"browser decoded {decoded} images, expected {expected}")
    if stats.external:
        problems.append(f"external references: {stats.external[:3]}")
    if re.search(r"<(link|iframe|object|embed)\b", dom):
        problems.append("page has link/iframe/object/embed elements")
    if "legend" not in dom or "higher score = more bona fide" not in dom:
        problems.append("legend on score direction missing")
    return problems


def make_demo_report(workdir: Path) -> tuple[Path, int]:
    """Run ``dfaudio demo`` into ``workdir`` and write its report; returns (report, n_runs)."""
    subprocess.run(
        [sys.executable, "-m", "dfaudio", "demo", "--out", str(workdir / "demo"), "--force"],
        check=True,
        capture_output=True,
    )
    report = workdir / "report.html"
    runs = str(workdir / "demo" / "runs")
    subprocess.run(
        [sys.executable, "-m", "dfaudio", "compare", runs, "--html", str(report), "--force"],
        check=True,
        capture_output=True,
    )
    return report, len(list((workdir / "demo" / "runs").glob("*/metrics.json")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", nargs="?", type=Path, help="report HTML (default: build from demo)")
    ap.add_argument("--runs", type=int, default=None, help="expected number of runs")
    ap.add_argument("--screenshot", type=Path, default=None, help="PNG path for a screenshot")
    ap.add_argument("--workdir", type=Path, default=None, help="folder for the demo runs")
    args = ap.parse_args(argv)
    exe = chromium()
    if exe is None:
        print("error: chromium not found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    report, n_runs = args.report, args.runs
    if report is None:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dfaudio-report-check-"))
        report, n_runs = make_demo_report(workdir)
    dom = dump_dom(report, exe=exe)
    problems = check_dom(dom, n_runs=n_runs)
    shot = screenshot(report, args.screenshot or report.with_suffix(".png"), exe=exe)
    stats = _DomStats()
    stats.feed(dom)
    print(
        f"{report}: {report.stat().st_size / 1e6:.2f} MB; rendered DOM has "
        f"{stats.board_rows} leaderboard rows, {stats.sections} run sections, "
        f"{len(stats.images)} images (decoded {stats.body_attrs.get('data-images-decoded')}); "
        f"screenshot {shot}"
    )
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    print("OK" if not problems else f"{len(problems)} problems")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
