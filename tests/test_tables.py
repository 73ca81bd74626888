"""Feature tables: the real DEEP-VOICE CSV, dfaudio tables with provenance, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dfaudio.cli.main import cli
from dfaudio.exceptions import DataError
from dfaudio.schema import DEEP_VOICE_FEATURES
from dfaudio.tables import read_table, validate_table


def make_table(n_files: int = 6, windows: int = 3, *, seed: int = 0) -> pd.DataFrame:
    """A small dfaudio-schema table: spoof rows shifted in every feature."""
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_files):
        label = "spoof" if f % 2 else "bonafide"
        for w in range(windows):
            x = rng.normal(size=26) + (3.0 if label == "spoof" else 0.0)
            rows.append([*x, label, f"f{f}.wav", w, float(w), 1.0, f"g{f}"])
    cols = [*DEEP_VOICE_FEATURES, "label", "file", "window", "start_s", "duration_s", "group"]
    return pd.DataFrame(rows, columns=cols)


def test_real_deep_voice_table(shared_data: Path) -> None:
    t = read_table(shared_data / "deep-voice" / "DATASET-balanced.csv")
    assert t.X.shape == (11778, 26)
    assert t.X.dtype == np.float64
    assert np.bincount(t.y).tolist() == [5889, 5889]
    assert t.y[0] == 1  # the file starts with FAKE rows: spoof = 1
    assert t.features == list(DEEP_VOICE_FEATURES)
    assert not t.has_provenance and t.groups is None
    assert t.meta.shape == (11778, 0)
    assert t.X[0, 0] == pytest.approx(0.338055)


def test_dfaudio_table_with_provenance(tmp_path: Path) -> None:
    df = make_table()
    df["split"] = ["train"] * 9 + ["eval"] * 9
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    t = read_table(path)
    assert t.has_provenance
    assert list(t.meta.columns) == ["file", "window", "start_s", "duration_s", "group", "split"]
    assert list(t.groups[:4]) == ["g0", "g0", "g0", "g1"]
    assert t.y.tolist()[:6] == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(t.X, df[list(DEEP_VOICE_FEATURES)].to_numpy())
    assert t.source == str(path)


def test_file_column_is_the_group_when_no_group() -> None:
    t = validate_table(make_table().drop(columns=["group"]))
    assert list(t.groups[:4]) == ["f0.wav", "f0.wav", "f0.wav", "f1.wav"]


def test_column_order_and_whitespace_do_not_matter() -> None:
    df = make_table()
    df = df[list(reversed(df.columns))]
    df.columns = [f" {c} " for c in df.columns]
    t = validate_table(df)
    assert t.X.shape == (18, 26)
    np.testing.assert_allclose(t.X[:, 0], make_table()["chroma_stft"])


def _bad_tables() -> dict[str, tuple[pd.DataFrame | str, str]]:
    df = make_table()
    nonnum = df.copy()
    nonnum["rms"] = nonnum["rms"].astype(object)
    nonnum.loc[4, "rms"] = "abc"
    nan = df.copy()
    nan.loc[5, "mfcc2"] = np.nan
    inf = df.copy()
    inf.loc[2, "mfcc20"] = np.inf
    extra = df.copy()
    extra["speaker_age"] = 40
    unknown = df.copy()
    unknown.loc[0, "label"] = "maybe"
    empty_label = df.copy()
    empty_label.loc[3, "label"] = None
    return {
        "missing column": (df.drop(columns=["mfcc7"]), "missing feature column(s): mfcc7"),
        "extra column": (extra, "unexpected column(s): speaker_age"),
        "non-numeric": (nonnum, "column 'rms' is not numeric (line 6: 'abc')"),
        "NaN": (nan, "1 row(s) with NaN or infinite values (first: line 7, column 'mfcc2')"),
        "inf": (inf, "line 4, column 'mfcc20'"),
        "single class": (df[df["label"] == "spoof"], "only one class (spoof)"),
        "unknown label": (unknown, "unknown label 'maybe'"),
        "empty label": (empty_label, "empty label at line 5"),
        "no label column": (df.drop(columns=["label"]), "no label column"),
        "empty file": ("", "table is empty"),
        "header only": (",".join(df.columns) + "\n", "table has no rows"),
    }


BAD = _bad_tables()


@pytest.mark.parametrize("case", list(BAD))
def test_bad_table_one_line_error(tmp_path: Path, case: str) -> None:
    content, expected = BAD[case]
    path = tmp_path / "bad.csv"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        content.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        read_table(path)
    msg = str(err.value)
    assert expected in msg
    assert msg.startswith(str(path))
    assert "\n" not in msg


def test_missing_table(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="table not found"):
        read_table(tmp_path / "nope.csv")


@pytest.mark.parametrize("case", ["missing column", "non-numeric", "NaN", "single class"])
def test_fit_sklearn_bad_table_exits_2_with_one_error_line(tmp_path: Path, case: str) -> None:
    content, expected = BAD[case]
    path = tmp_path / "bad.csv"
    content.to_csv(path, index=False)
    runs = str(tmp_path / "runs")
    res = CliRunner().invoke(
        cli, ["fit-sklearn", "--data", str(path), "--model", "logreg", "--runs-dir", runs]
    )
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in res.output
    assert not (tmp_path / "runs").exists()  # nothing written
