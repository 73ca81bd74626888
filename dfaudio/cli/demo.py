"""``dfaudio demo``: the main job on bundled data, end to end, in about a minute."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import click

from dfaudio.cli.common import handle_errors

__all__ = [
    "DEMO_GROUP_REGEX",
    "DEMO_MARKER",
    "DEMO_MODELS",
    "clear_earlier_demo",
    "cli",
    "demo_data_dir",
    "read_demo_marker",
]

#: The models the demo trains (fast on 2 cores, diverse families).
DEMO_MODELS = ("logreg", "lda", "rbf-svm", "random-forest", "xgboost")
#: A real clip and its vocoded copy share the LJ Speech utterance id.
DEMO_GROUP_REGEX = r"^(LJ\d+-\d+)"
#: The file in ``--out`` listing what demo wrote there: ``--force`` replaces only those.
DEMO_MARKER = ".dfaudio-demo.json"


def demo_data_dir() -> str:
    """Folder of the bundled demo audio (``real/`` and ``fake/``): :func:`dfaudio.demo_data_dir`."""
    from dfaudio import demo_data_dir as data_dir

    return str(data_dir())


def read_demo_marker(out: Path) -> dict[str, str | None]:
    """What an earlier demo wrote in ``out``: relative path -> sha256 (``None``: not hashed).

    A missing or malformed marker owns nothing; entries that are absolute or climb out of
    ``out`` (``..``) are ignored, so a hostile marker cannot point demo at other files.
    """
    import json

    try:
        written = json.loads((out / DEMO_MARKER).read_text(encoding="utf-8"))["written"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(written, dict):
        return {}
    return {
        k: v if isinstance(v, str) else None
        for k, v in written.items()
        if isinstance(k, str) and _inside(k)
    }


def _inside(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def _write_marker(out: Path, written: dict[str, str | None]) -> None:
    from dfaudio.io.files import write_json

    doc = {"writer": "dfaudio demo", "written": dict(sorted(written.items()))}
    write_json(out / DEMO_MARKER, doc, force=True)


def _entries(out: Path) -> list[str]:
    """What ``out`` holds: its top-level entries, and each entry of ``out/runs`` on its own."""
    found = []
    for p in sorted(out.iterdir()):
        if p.name == DEMO_MARKER:
            continue
        if p.name == "runs" and p.is_dir() and not p.is_symlink():
            found.extend(f"runs/{q.name}" for q in sorted(p.iterdir()))
        else:
            found.append(p.name)
    return found


def clear_earlier_demo(out: Path, *, force: bool) -> dict[str, str | None]:
    """Make ``out`` ready for a demo; returns the marker entries kept (none).

    An empty or missing ``out`` is fine. Otherwise ``force`` is needed, and every entry of ``out``
    must be one an earlier demo listed in its marker (``table.csv`` unchanged since): then those
    are deleted. Anything else (your own runs under ``out/runs``, a ``table.csv`` demo did not
    write, other files) is never deleted: the call refuses and names them.

    Raises
    ------
    ParameterError
        ``out`` is not empty and ``force`` is false, or it holds entries demo did not write.
    """
    import shutil

    from dfaudio.exceptions import ParameterError
    from dfaudio.models.persist import sha256

    if not out.exists():
        return {}
    if not out.is_dir():
        raise ParameterError(f"{out}: not a folder; choose another --out")
    entries = _entries(out)
    if not entries and not (out / DEMO_MARKER).exists():
        return {}
    if not force:
        raise ParameterError(
            f"{out}: already exists and is not empty; pass --force to replace an earlier demo "
            "there, or choose another --out"
        )
    owned = read_demo_marker(out)
    foreign = []
    for rel in entries:
        p = out / rel
        if rel not in owned:
            foreign.append(rel)
        elif owned[rel] is not None and (not p.is_file() or sha256(p) != owned[rel]):
            foreign.append(f"{rel} (changed since demo wrote it)")
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise ParameterError(
            f"{out}: --force replaces only what dfaudio demo wrote there; not deleting "
            f"{', '.join(foreign[:3])}{more} (move them, or choose another --out)"
        )
    for rel in entries:
        p = out / rel
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    return {}


@click.command(
    "demo",
    epilog="""\b
Examples:
  dfaudio demo                    # writes ./dfaudio-demo/
  dfaudio demo --out /tmp/d --force
""",
)
@click.option(
    "--out",
    "out_dir",
    default="dfaudio-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the table and runs.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace an earlier demo in --out (only what it wrote; other files are kept).",
)
@click.option("-j", "--jobs", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@handle_errors
def cli(out_dir: str, force: bool, jobs: int, seed: int) -> None:
    """Bundled real + WaveFake audio -> feature table -> 5 models, grouped CV -> leaderboard.

    The audio is 5 LJ Speech utterances (public domain) and their WaveFake vocoder copies
    (CC BY-SA 4.0); see dfaudio/data/demo/ATTRIBUTION.md. Each real clip and its fake copy form
    one group, so no utterance is on both sides of a fold.
    """
    import time

    from dfaudio.cli.common import check_jobs, check_seed
    from dfaudio.cli.tabulate import format_summary
    from dfaudio.datasets import describe, load_manifest
    from dfaudio.features import enable_numba_cache
    from dfaudio.io.files import check_folder_writable
    from dfaudio.models.persist import sha256
    from dfaudio.runs.leaderboard import collect, render
    from dfaudio.tables import validate_table
    from dfaudio.tabular import tabulate, write_table
    from dfaudio.training.fit_sklearn import fit_sklearn
    from dfaudio.training.splits import plan_splits

    t0 = time.perf_counter()
    check_seed(seed)
    out = Path(out_dir)
    table_path, runs_dir = out / "table.csv", out / "runs"
    written = clear_earlier_demo(out, force=force)
    check_folder_writable(out)  # a read-only place fails before any folder is made
    out.mkdir(parents=True, exist_ok=True)
    written["table.csv"] = None  # listed before it is written: an interrupted demo still owns it
    _write_marker(out, written)  # also proves --out is writable before any work
    enable_numba_cache()

    data = demo_data_dir()
    manifest = load_manifest([data], layout="folders", group_regex=DEMO_GROUP_REGEX)
    jobs = check_jobs(jobs, n_work=len(manifest), what="files")
    click.echo(f"[1/3] tabulate  bundled demo audio: {describe(manifest)}")
    result = tabulate(manifest, jobs=jobs, progress=False)
    for path, reason, detail in result.failures:
        click.echo(f"warning: {path}: {reason}: {detail}", err=True)
    table = result.table
    write_table(table, table_path, force=True)
    written["table.csv"] = sha256(table_path)
    _write_marker(out, written)
    result.summary.update(output=str(table_path), schema="dfaudio", short_policy="whole")
    click.echo(format_summary(result.summary))

    ft = validate_table(table, source=str(table_path))
    n_groups = len(set(ft.groups))
    cv = min(5, n_groups)
    plan = plan_splits(ft.y, groups=ft.groups, cv=cv, seed=seed)
    click.echo(f"[2/3] fit       {len(DEMO_MODELS)} models, {plan.description} [{plan.split_type}]")
    for name in DEMO_MODELS:
        before = set(runs_dir.iterdir()) if runs_dir.is_dir() else set()
        try:
            res = fit_sklearn(
                ft,
                model=name,
                cv=cv,
                seed=seed,
                runs_dir=runs_dir,
                jobs=1,
                plan=plan,
                data_name="demo",
            )
        finally:  # the run folder is demo's even when the fit was interrupted
            made = (set(runs_dir.iterdir()) if runs_dir.is_dir() else set()) - before
            written.update({f"runs/{p.name}": None for p in made})
            _write_marker(out, written)
        m = res.metrics
        click.echo(
            f"  {name:<14} acc {100 * m['accuracy']:6.2f}%  EER {100 * m['eer']:6.2f}%  "
            f"AUC {m['roc_auc']:.3f}"
        )
    click.echo("[3/3] compare   (dfaudio compare " + str(runs_dir) + ")")
    click.echo(render(collect(runs_dir), "table"))
    click.echo(
        f"\ntable: {table_path}\nruns:  {runs_dir}/\n"
        f"done in {time.perf_counter() - t0:.0f} s. Next: dfaudio compare {runs_dir} "
        "--format markdown"
    )
