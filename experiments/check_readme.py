"""Run every command in README.md, in order, on a fresh clone of this checkout.

The README promises that every command in it runs as written on a fresh clone. This script checks
that promise: it clones the repository (committed state, ``HEAD``) into a temporary folder, puts a
link to ``../shared`` beside it as CI sees it, extracts the commands from README.md and runs them
one after another in the clone with the current environment's ``dfaudio`` on ``PATH`` and the
clone first on ``PYTHONPATH`` (so an editable install of the working tree is not what runs).

Commands are taken from

- `````bash`` blocks: every line that is not a comment (``\\`` continuations joined), and
- `````text`` / `````console`` blocks: every line that starts with ``$ `` (the shown prompt).
  Where the output shown under such a command starts with ``error:``, the README demonstrates a
  refusal: the command must exit with status 2 (a one-line error), not 0.

`````sh`` blocks are templates for the reader's own data (capitalised placeholders such as
``MY_AUDIO/``); they are listed, not run.

``pip install`` lines are not run (the environment running this script is already installed; the
install commands themselves are exercised by ``.ci/run``). Commands under ``python experiments/``
that take many minutes are skipped with ``--skip-slow``; each is named in the output. A command
that only assigns a shell variable (``RUN=$(ls -d ...)``) is carried into every later command.

After the run the script lists what the walk-through left in the clone outside ``.gitignore``d
paths: the README must not leave untracked files in a user's checkout.

Usage::

    python experiments/check_readme.py            # everything (about 10 minutes on 2 cores)
    python experiments/check_readme.py --skip-slow

Exit status 0 when every command ran with exit status 0 and nothing untracked was left.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Commands that reproduce long experiments; ``--skip-slow`` skips them (named in the output).
SLOW = (
    re.compile(r"python experiments/(deep_voice_cv|bench_\w+|synth_benchmark|generalization\w*)"),
)


def readme_commands(text: str) -> list[tuple[str, str]]:
    """Commands of README ``text`` in order of appearance, with what is expected of each.

    Parameters
    ----------
    text : str
        The README's Markdown.

    Returns
    -------
    list of (str, str)
        ``(command, expect)`` with continuation lines joined; ``expect`` is ``"ok"`` (exit 0),
        ``"error"`` (the README shows its one-line error: exit 2) or ``"template"`` (not run).

    Examples
    --------
    >>> readme_commands("```bash\\n# c\\ndfaudio demo \\\\\\n  --out x\\n```\\n")
    [('dfaudio demo --out x', 'ok')]
    >>> readme_commands("```text\\n$ dfaudio compare runs\\noutput line\\n```\\n")
    [('dfaudio compare runs', 'ok')]
    >>> readme_commands("```text\\n$ dfaudio predict x\\nerror: x: not found\\n```\\n")
    [('dfaudio predict x', 'error')]
    >>> readme_commands("```sh\\ndfaudio tabulate MY_AUDIO/ -o t.csv\\n```\\n")
    [('dfaudio tabulate MY_AUDIO/ -o t.csv', 'template')]
    """
    commands: list[tuple[str, str]] = []
    lang: str | None = None
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        fence = re.match(r"^```(\w*)", line)
        if fence:
            lang = None if lang is not None else (fence.group(1) or "")
            pending = ""
            continue
        if lang is None:
            continue
        if lang in ("text", "console") and commands and commands[-1][1] == "ok?":
            # the first output line under a shown command: an 'error:' line means a refusal
            commands[-1] = (commands[-1][0], "error" if line.startswith("error:") else "ok")
        if pending:
            line = pending + " " + line.strip()
            pending = ""
        elif lang in ("bash", "sh"):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            line = line.strip()
        elif lang in ("text", "console"):
            if not line.startswith("$ "):
                continue
            line = line[2:].strip()
        else:
            continue
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        expect = {"bash": "ok", "sh": "template"}.get(lang, "ok?")
        commands.append((re.sub(r"\s+#\s.*$", "", line), expect))
    return [(c, "ok" if e == "ok?" else e) for c, e in commands]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-slow", action="store_true", help="skip long experiment scripts")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per command")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args(argv)

    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    tmp = Path(tempfile.mkdtemp(prefix="dfaudio-readme-"))
    clone = tmp / "dfaudio"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    shared = ROOT.parent / "shared"
    if shared.exists():
        (tmp / "shared").symlink_to(shared)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # the clone's own code, not the checkout this environment may have installed in editable mode
    env["PYTHONPATH"] = str(clone) + os.pathsep + env.get("PYTHONPATH", "")
    failed: list[str] = []
    prelude = ""  # shell assignments (``RUN=$(...)``) carried into the later commands
    print(f"clone: {clone}\n{len(commands)} commands\n")
    for cmd, expect in commands:
        if expect == "template":
            print(f"template        {cmd}")
            continue
        if cmd.startswith("pip install"):
            print(f"SKIP (install)  {cmd}")
            continue
        if args.skip_slow and any(p.search(cmd) for p in SLOW):
            print(f"SKIP (slow)     {cmd}")
            continue
        t0 = time.perf_counter()
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-c", prelude + cmd],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=args.timeout,
            stdin=subprocess.DEVNULL,
        )
        took = time.perf_counter() - t0
        good = proc.returncode == 2 if expect == "error" else proc.returncode == 0
        status = (
            ("ok" if expect == "ok" else "ok (refused)") if good else f"FAIL rc={proc.returncode}"
        )
        print(f"{status:<15} {cmd}  ({took:.1f} s)")
        if good and re.match(r"^[A-Za-z_]\w*=", cmd):
            prelude += cmd + "\n"
        if not good:
            failed.append(cmd)
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            for line in tail:
                print(f"                  | {line}")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    left = [x for x in status if x.startswith("??")]
    changed = [x for x in status if x.strip() and not x.startswith("??")]
    print()
    print(f"{len(failed)} of {len(commands)} commands failed")
    print(f"untracked files left in the clone (outside .gitignore): {len(left)}")
    for x in left[:20]:
        print(f"  {x}")
    print(f"tracked files the README regenerates (its figures): {len(changed)}")
    for x in changed[:20]:
        print(f"  {x}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed or left else 0


if __name__ == "__main__":
    sys.exit(main())
