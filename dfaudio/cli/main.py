"""The ``dfaudio`` command-line entry point.

Subcommands are loaded lazily: ``dfaudio --help`` imports only click, so it starts in a
fraction of a second and never imports torch, librosa or xgboost. Each subcommand lives in
its own module
``dfaudio.cli.<name>`` that exports a click command called ``cli``.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from dfaudio import __version__

__all__ = [
    "COMMANDS",
    "LazyGroup",
    "cli",
    "main",
]

#: name -> (module, one-line help shown by ``dfaudio --help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "tabulate": ("dfaudio.cli.tabulate", "Audio folders or corpora -> per-second feature table."),
    "fit-sklearn": ("dfaudio.cli.fit_sklearn", "Train and cross-validate scikit-learn / XGBoost."),
    "fit-deep": ("dfaudio.cli.fit_deep", "Train torch models on time-frequency tensors."),
    "evaluate": (
        "dfaudio.cli.evaluate",
        "EER, t-DCF, minDCF/actDCF, Cllr (per attack) of a score file.",
    ),
    "predict": ("dfaudio.cli.predict", "Score new audio with a trained run."),
    "compare": ("dfaudio.cli.compare", "One leaderboard over every run."),
    "demo": ("dfaudio.cli.demo", "Bundled audio -> table -> models -> leaderboard."),
    "audit": ("dfaudio.cli.audit", "Shortcut audit: can silence, level or codec alone separate?"),
    "crosseval": ("dfaudio.cli.crosseval", "Train x test EER matrix over several corpora."),
    "synth": ("dfaudio.cli.synth", "Bona fide audio -> spoofed copies (copy synthesis) + list."),
    "calibrate": ("dfaudio.cli.calibrate", "Refit a run's score -> LLR map on a labelled sample."),
    "fuse": ("dfaudio.cli.fuse", "Logistic-regression fusion of several runs' scores."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when invoked (or asked for help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if _module_exists(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _module_exists(COMMANDS[cmd_name][0]):
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        command: click.Command = module.cli
        command.name = cmd_name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _module_exists(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="dfaudio")
def cli() -> None:
    """dfaudio: detect deepfake speech with honest, reproducible baselines.

    \b
    Typical session:
      dfaudio demo                                   # bundled audio, end to end
      dfaudio tabulate data/ -o table.csv            # audio -> per-second features
      dfaudio fit-sklearn --data table.csv --model all --cv 5
      dfaudio fit-deep --model simple-cnn --feature mel --data data/
      dfaudio compare                                # leaderboard of runs/
      dfaudio evaluate scores.txt --asv-scores asv.txt

    Scores follow the ASVspoof convention (higher = more bona fide); EER is always computed from
    continuous scores.
    """


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="dfaudio")


if __name__ == "__main__":  # pragma: no cover
    main()
