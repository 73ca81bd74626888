"""Library errors name Python parameters; the command line shows its own flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dfaudio.cli.common import flag_names
from dfaudio.cli.main import cli as main_cli
from dfaudio.exceptions import ParameterError
from dfaudio.io.files import check_writable
from dfaudio.training.splits import plan_splits


def test_library_errors_name_parameters(tmp_path: Path) -> None:
    y = np.array([0, 1] * 6)
    with pytest.raises(ParameterError, match=r"^give either cv or test_size, not both$"):
        plan_splits(y, cv=3, test_size=0.2)
    with pytest.raises(ParameterError, match=r"^cv must be at least 2"):
        plan_splits(y, cv=1)
    with pytest.raises(ParameterError, match=r"use cv=3 or fewer"):
        plan_splits(y, groups=np.repeat(["a", "b", "c"], 4), cv=5)
    (tmp_path / "t.csv").write_text("x")
    with pytest.raises(ParameterError, match="pass force=True to overwrite"):
        check_writable(tmp_path / "t.csv")


@pytest.mark.parametrize(
    ("message", "command", "expected"),
    [
        ("test_size must be in (0, 1), got 2", None, "--test-size must be in (0, 1), got 2"),
        ("fewer folds (cv)", None, "fewer folds (--cv)"),
        ("split_by='window': windows of one recording", None, "--split-by window: windows"),
        ("window_s must be positive", "tabulate", "--window must be positive"),
        ("raw_dtype must be int16", "predict", "--stream-dtype must be int16"),
        # ordinary words and longer names are left alone
        (
            "the cv folds of csv files; forced; seeds",
            None,
            "the cv folds of csv files; forced; seeds",
        ),
        ("n_boot must be >= 1", "evaluate", "--bootstrap must be >= 1"),
    ],
)
def test_flag_names(message: str, command: str | None, expected: str) -> None:
    assert flag_names(message, command=command).startswith(expected)


def test_cli_shows_flags(tmp_path: Path) -> None:
    """fit-sklearn on a table that has too few groups names --cv with the number to use."""
    from dfaudio.cli.demo import demo_data_dir
    from dfaudio.datasets import load_manifest
    from dfaudio.tabular import tabulate, write_table

    manifest = load_manifest([demo_data_dir()], group_regex=r"^(LJ\d+-\d+)")
    write_table(tabulate(manifest.iloc[[0, 1, 5, 6]], progress=False).table, tmp_path / "t.csv")
    res = CliRunner().invoke(
        main_cli,
        [
            "fit-sklearn",
            "--data",
            str(tmp_path / "t.csv"),
            "--model",
            "lda",
            "--cv",
            "5",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
    )
    assert res.exit_code == 2
    assert "use --cv 2 or fewer" in res.stderr and "cv=" not in res.stderr
    res = CliRunner().invoke(
        main_cli, ["tabulate", str(demo_data_dir()), "-o", str(tmp_path / "t.csv")]
    )
    assert res.exit_code == 2 and "pass --force to overwrite" in res.stderr
