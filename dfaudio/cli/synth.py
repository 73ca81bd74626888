"""``dfaudio synth``: bona fide audio -> spoofed copies (copy synthesis) and a CSV list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dfaudio.cli.common import (
    LAYOUTS,
    check_parallel,
    dataset_options,
    echo_json,
    handle_errors,
    parallel_options,
    parse_label_map_option,
)

__all__ = [
    "SYNTH_LAYOUTS",
    "cli",
    "format_summary",
    "parse_params",
    "read_sources",
]

#: ``--layout`` choices: the dataset layouts plus ``plain`` (every audio file is bona fide).
SYNTH_LAYOUTS = (*LAYOUTS, "plain")


@click.command(
    "synth",
    epilog="""\b
Examples:
  dfaudio synth speech/ -o spoofed/ --attack all --jobs 2
  dfaudio synth fsdd/recordings -o fsdd-synth/ --attack world,lpc \\
      --speaker-regex '^\\d+_([a-z]+)_'
  dfaudio synth list.csv -o out/ --attack world --param world.f0_jitter_semitones=1
  dfaudio synth speech/ -o out/ --attack neural:hifigan.pt --trust
  dfaudio tabulate out/list.csv -o table.csv       # the list reads like any CSV list
""",
)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the copies and list.csv.",
)
@click.option(
    "--attack",
    "attack_spec",
    required=True,
    metavar="NAME[,NAME...]",
    help="world, griffin-lim, lpc, pvoc, neural:PATH; all: the 4 built-in.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="ATTACK.KEY=VALUE",
    help="Attack parameter, e.g. world.warp=1.1 or griffin-lim.n_iter=60.",
)
@dataset_options(
    layouts=SYNTH_LAYOUTS,
    layout_help="Input layout; plain: every audio file below the folder is bona fide (auto "
    "falls back to it for folders without class sub-folders).",
    group_help="Group = first capture group of REGEX on the file name (e.g. '^(p\\d+_\\d+)' "
    "keeps two microphones of one utterance together).",
)
@click.option(
    "--speaker-regex",
    default=None,
    metavar="REGEX",
    help="Speaker = first capture group of REGEX on the file name (when the input does not say).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every attack.")
@click.option(
    "--trust", is_flag=True, help="Allow loading a TorchScript vocoder (runs code from the file)."
)
@parallel_options
@click.option(
    "--force", is_flag=True, help="Replace outputs an earlier synth run wrote (never other files)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no per-file warnings.")
@handle_errors
def cli(
    inputs: tuple[str, ...],
    out_dir: str,
    attack_spec: str,
    params: tuple[str, ...],
    layout: str,
    protocols: tuple[str, ...],
    label_map: tuple[str, ...],
    group_regex: str | None,
    speaker_regex: str | None,
    seed: int,
    trust: bool,
    jobs: int,
    backend: str,
    scheduler: str | None,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Make spoofed copies of bona fide audio by copy synthesis, plus a CSV list.

    Every bona fide file of INPUTS (any layout dfaudio reads, or a plain folder of audio) gets one
    copy per attack in OUT/ATTACK/..., in the source's format and bit depth, at its sample rate,
    length and RMS level. OUT/list.csv (path,label,group,attack,speaker) lists the originals by
    reference and the copies; a copy shares its source's group. Unreadable files are reported and
    skipped.
    """
    from dfaudio.datasets import describe
    from dfaudio.exceptions import DataError, ParameterError
    from dfaudio.features import enable_numba_cache
    from dfaudio.synth.attacks import load_vocoder, parse_attacks
    from dfaudio.synth.writer import synthesize

    check_parallel(jobs, scheduler)
    enable_numba_cache()
    try:
        attacks = parse_attacks(attack_spec)
        per_attack = parse_params(params, [label for label, _, _ in attacks])
    except ParameterError as exc:
        raise ParameterError(f"--attack/--param: {exc}") from None
    for label, name, p in attacks:
        p.update(per_attack.get(label, {}) or per_attack.get(name, {}))
        if name == "neural":
            if not Path(p["path"]).is_file():
                raise ParameterError(f"{p['path']}: neural vocoder file not found")
            if not trust:
                raise ParameterError(
                    f"{p['path']}: loading a TorchScript vocoder runs code from that file; "
                    "pass --trust if you trust it"
                )
            p["trust"] = True
            load_vocoder(p["path"], trust=True)  # a bad file fails here, before any work
        elif name == "world":
            from dfaudio.synth.attacks import _import_pyworld

            _import_pyworld()
    manifest = read_sources(
        list(inputs),
        layout=layout,
        label_map=parse_label_map_option(label_map),
        protocols=list(protocols) or None,
        group_regex=group_regex,
        speaker_regex=speaker_regex,
    )
    out = Path(out_dir)
    for item in inputs:
        if Path(item).is_dir() and _inside(out, Path(item)):
            raise ParameterError(
                f"{out}: the output folder lies inside the input {item}; its copies would be read "
                "as bona fide next time (choose a folder outside the inputs)"
            )
    if not quiet and not as_json:
        click.echo(f"found {describe(manifest)}", err=True)

    def warn(path: str, reason: str, detail: str) -> None:
        if not quiet:
            click.echo(f"warning: {path}: {reason}: {detail}; skipped", err=True)

    try:
        result = synthesize(
            manifest,
            out,
            attacks,
            seed=seed,
            jobs=jobs,
            backend=backend,
            scheduler=scheduler,
            force=force,
            progress=not quiet and not as_json,
            on_failure=warn,
        )
    except ParameterError as exc:
        msg = str(exc).replace("force=True", "--force").replace("with force", "with --force")
        raise ParameterError(msg) from None
    s = result.summary
    if s["list"] is None:
        raise DataError("no file could be used; no list written (see the warnings above)")
    if as_json:
        echo_json(s)
        return
    click.echo(format_summary(s))


def parse_params(items: tuple[str, ...], labels: list[str]) -> dict[str, dict[str, Any]]:
    """``("world.warp=1.1", ...)`` -> ``{"world": {"warp": 1.1}}`` (numbers parsed)."""
    from dfaudio.exceptions import ParameterError

    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        attack, dot, name = key.partition(".")
        if not eq or not dot or not name:
            raise ParameterError(f"parameter {item!r} is not ATTACK.KEY=VALUE")
        if attack not in labels and attack not in {lab.split("-")[0] for lab in labels}:
            raise ParameterError(f"parameter {item!r} names attack {attack!r}, not in --attack")
        out.setdefault(attack, {})[name] = _number(value)
    return out


def _number(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def read_sources(
    inputs: list[str],
    *,
    layout: str,
    label_map: Any,
    protocols: list[str] | None,
    group_regex: str | None = None,
    speaker_regex: str | None = None,
) -> Any:
    """Manifest of the inputs; plain folders (no class sub-folders) are all bona fide."""
    import re

    import pandas as pd

    from dfaudio.datasets import load_manifest
    from dfaudio.datasets.folders import audio_files, group_of
    from dfaudio.datasets.manifest import make_manifest
    from dfaudio.exceptions import DataError, ParameterError

    for name, rx in (("--group-regex", group_regex), ("--speaker-regex", speaker_regex)):
        try:
            re.compile(rx or "")
        except re.error as exc:
            raise ParameterError(f"{name}: {exc}") from None
    parts = []
    for item in inputs:
        p = Path(item)
        if layout != "plain" and not (layout == "auto" and is_plain_folder(p, label_map)):
            found = load_manifest(
                [item],
                layout=layout,
                label_map=label_map,
                protocols=protocols,
                group_regex=group_regex,
            )
            parts.append(found)
            continue
        if not p.is_dir():
            raise DataError("--layout plain needs a folder", p)
        files = audio_files(p)
        rows = [
            {
                "path": str(f),
                "label": "bonafide",
                "group": group_of(
                    f.stem,
                    default=f.relative_to(p).with_suffix("").as_posix(),
                    group_regex=group_regex,
                ),
            }
            for f in files
        ]
        parts.append(make_manifest(rows, source=str(p)))
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if speaker_regex:
        rx = re.compile(speaker_regex)
        matches = [rx.search(Path(f).stem) for f in df["path"]]
        spk = [(m.group(1) if m.groups() else m.group(0)) if m else "" for m in matches]
        if "speaker" in df.columns:
            df["speaker"] = [s or old for s, old in zip(spk, df["speaker"], strict=True)]
        else:
            df["speaker"] = spk
    dup = df["path"].duplicated()
    if dup.any():
        raise DataError(f"file listed twice: {df.loc[dup, 'path'].iloc[0]}")
    return df


def is_plain_folder(path: Path, label_map: Any) -> bool:
    """A folder that no dataset layout claims and whose sub-folders are not classes.

    Such a folder (speech only, e.g. ``speaker/*.flac`` or files directly inside) is read as all
    bona fide; a folder with any class sub-folder (real/, fake/ ...) is not.
    """
    from dfaudio.datasets import detect_layout
    from dfaudio.exceptions import DataError
    from dfaudio.labels import canonical_label

    if not path.is_dir() or detect_layout(path) != "folders":
        return False
    for sub in path.iterdir():
        if sub.is_dir() and not sub.name.startswith("."):
            try:
                canonical_label(sub.name, label_map=label_map)
            except DataError:
                continue
            return False
    return True


def format_summary(s: dict) -> str:
    """Human summary of a synth run."""
    lines = [
        f"wrote {s['list']}",
        f"  sources    {s['sources_ok']} of {s['sources']} bona fide files used, "
        f"{s['sources_failed']} failed ({s['audio_s']:.1f} s of audio)",
        f"  copies     {s['copies']} ({', '.join(s['attacks'])}); seed {s['seed']}",
    ]
    if s["spoof_inputs_ignored"]:
        lines.append(f"  ignored    {s['spoof_inputs_ignored']} spoof input files")
    for note in s["format_notes"]:
        lines.append(f"  format     {note}")
    if s["failures_by_reason"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(s["failures_by_reason"].items()))
        lines.append(f"  failures   {reasons}")
    return "\n".join(lines)
