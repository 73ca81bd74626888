"""Feature tables as CSV or Parquet: the format follows the file name, both round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dfaudio.cli.main import cli
from dfaudio.exceptions import DataError, ParameterError
from dfaudio.io.tables import check_table_path, read_frame, table_format, write_frame
from dfaudio.schema import DEEP_VOICE_FEATURES, PROVENANCE
from dfaudio.tables import read_table
from dfaudio.tabular import write_table
from tests.conftest import tone, write_wav


def provenance_table(n_files: int = 6, windows: int = 4, *, seed: int = 0) -> pd.DataFrame:
    """A dfaudio-schema table with every kind of column a tabulate table holds."""
    rng = np.random.default_rng(seed)
    n = n_files * windows
    f = np.repeat(np.arange(n_files), windows)
    label = np.where(f % 2 == 1, "spoof", "bonafide")
    # full-precision float64 (CSV at %.9g would round these; Parquet must not)
    X = rng.normal(size=(n, 26)) * np.pi + 3.0 * (f % 2 == 1)[:, None]
    df = pd.DataFrame(X, columns=list(DEEP_VOICE_FEATURES))
    df["label"] = label
    df["file"] = [f"spk{i}/utt_{i:03d}.wav" for i in f]
    df["window"] = np.tile(np.arange(windows), n_files).astype(np.int64)
    df["start_s"] = df["window"] * 1.0
    df["duration_s"] = 1.0
    df["group"] = [f"00{i}" for i in f]  # numeric-looking strings stay strings in Parquet
    df["split"] = np.where(f < n_files // 2, "train", "eval")
    df["sr"] = np.int64(16000)
    return df


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("t.csv", "csv"), ("T.CSV", "csv"), ("t.parquet", "parquet"), ("t.pq", "parquet")],
)
def test_format_follows_the_file_name(name: str, fmt: str) -> None:
    assert table_format(name) == fmt


@pytest.mark.parametrize("name", ["t.tsv", "t.xlsx", "table"])
def test_unknown_suffix_is_refused_before_any_work(tmp_path: Path, name: str) -> None:
    with pytest.raises(ParameterError, match=r"must end in \.csv or \.parquet") as err:
        check_table_path(tmp_path / name)
    assert "\n" not in str(err.value) and name in str(err.value)
    with pytest.raises(ParameterError):
        write_frame(provenance_table(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_parquet_round_trip_is_exact_in_values_and_dtypes(tmp_path: Path) -> None:
    df = provenance_table()
    path = write_table(df, tmp_path / "t.parquet")
    assert path.read_bytes()[:4] == b"PAR1"
    back = read_frame(path)
    assert list(back.columns) == list(df.columns)
    assert back.dtypes.to_dict() == df.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert back["group"].iloc[0] == "000"  # not the integer 0
    # no temporary file left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


def test_read_table_gives_the_same_table_from_csv_and_parquet(tmp_path: Path) -> None:
    df = provenance_table()
    a = read_table(write_table(df, tmp_path / "t.csv"))
    b = read_table(write_table(df, tmp_path / "t.parquet"))
    # Parquet keeps every bit; CSV keeps 9 significant digits
    np.testing.assert_array_equal(b.X, df[list(DEEP_VOICE_FEATURES)].to_numpy())
    assert not np.array_equal(a.X, b.X)
    np.testing.assert_allclose(a.X, b.X, rtol=1e-8)
    np.testing.assert_array_equal(a.y, b.y)
    assert (
        list(a.meta.columns) == list(b.meta.columns) == [c for c in PROVENANCE if c in df.columns]
    )
    assert list(a.groups) == list(b.groups)
    assert a.window_s == b.window_s == 1.0


def test_parquet_write_is_atomic_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    out.write_bytes(b"precious")
    with pytest.raises(ParameterError, match="already exists"):
        write_table(provenance_table(), out)
    assert out.read_bytes() == b"precious"
    write_table(provenance_table(), out, force=True)
    assert len(read_frame(out)) == 24
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


def test_unreadable_tables_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_text("label,rms\nspoof,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read Parquet") as err:
        read_table(bad)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_table(empty)
    # Parquet bytes under a .csv name: say so instead of a CSV parse error
    disguised = tmp_path / "t.csv"
    write_frame(provenance_table(), tmp_path / "real.parquet")
    disguised.write_bytes((tmp_path / "real.parquet").read_bytes())
    with pytest.raises(DataError, match=r"name it \.parquet"):
        read_table(disguised)
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "nope.parquet")


@pytest.mark.slow
def test_tabulate_writes_parquet_and_fit_sklearn_reads_it(tmp_path: Path) -> None:
    for i in range(3):
        real = tone(200.0 + 50 * i, sr=8000, duration_s=3.0)
        fake = np.random.default_rng(i).normal(0, 0.1, 24000).astype(np.float32)
        write_wav(tmp_path / "d" / "real" / f"r{i}.wav", real, 8000)
        write_wav(tmp_path / "d" / "fake" / f"f{i}.wav", fake, 8000)
    runner = CliRunner()
    for name in ("t.parquet", "t.csv"):
        res = runner.invoke(
            cli, ["tabulate", str(tmp_path / "d"), "-o", str(tmp_path / name), "-q"]
        )
        assert res.exit_code == 0, res.output
    pq, csv = read_frame(tmp_path / "t.parquet"), read_frame(tmp_path / "t.csv")
    assert list(pq.columns) == list(csv.columns)
    assert {"file", "window", "group", "label"} <= set(pq.columns)
    assert len(pq) == len(csv) == 18
    feats = list(DEEP_VOICE_FEATURES)
    np.testing.assert_allclose(pq[feats].to_numpy(), csv[feats].to_numpy(), rtol=1e-8, atol=1e-12)
    runs = tmp_path / "runs"
    args = ["--model", "lda", "--cv", "3", "--runs-dir", str(runs), "--json"]
    res = runner.invoke(cli, ["fit-sklearn", "--data", str(tmp_path / "t.parquet"), *args])
    assert res.exit_code == 0, res.output
    # a bad suffix is refused before any audio is read
    res = runner.invoke(cli, ["tabulate", str(tmp_path / "d"), "-o", str(tmp_path / "t.tsv")])
    assert res.exit_code == 2
    assert "must end in .csv or .parquet" in res.stderr
    assert not (tmp_path / "t.tsv").exists()
