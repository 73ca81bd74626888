"""Repository-level checks: CI runs the README's test command; the code is ruff-clean."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO_ROOT


def readme_test_command() -> str:
    """The command in README.md's fenced block that follows the 'Run the tests' heading."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"Run the tests.*?```(?:bash|sh)?\n(.*?)```", text, re.S)
    assert m, "README.md has no fenced command under a 'Run the tests' heading"
    lines = [ln for ln in m.group(1).splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[-1].strip()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_lines = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.startswith("#")]
    assert readme_test_command() in ci_lines


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ruff through this interpreter (``python -m ruff``): a test environment without ruff
    fails here instead of skipping (the ``test`` extra installs it)."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_clean() -> None:
    proc = _ruff("check", "dfaudio", "tests", "experiments")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_clean() -> None:
    proc = _ruff("format", "--check", "dfaudio", "tests", "experiments")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_python_m_dfaudio_help_is_light() -> None:
    """``dfaudio --help`` must not import torch, librosa or xgboost."""
    code = (
        "import sys\n"
        "from dfaudio.cli.main import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'librosa', 'xgboost', 'timm', 'sklearn') "
        "if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY=\n" in out or out.rstrip().endswith("HEAVY="), out
