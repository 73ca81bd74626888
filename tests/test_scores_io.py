"""Score files without traps (issue 9, section 5): each case is one a new user runs into."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dfaudio.evaluation import compute_eer, eer
from dfaudio.exceptions import DataError
from dfaudio.io.scores import parse_key_map, read_asv_scores, read_scores


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _aasist_style_csv(path: Path, rng: np.random.Generator) -> Path:
    """Numeric labels with 1 = bona fide (AASIST's convention), scores higher = bona fide."""
    n = 400
    label = np.repeat([1, 0], n // 2)
    score = np.where(label == 1, 1.0, -1.0) + rng.normal(0, 1.0, n)
    lines = ["utt,label,score"] + [
        f"u{i},{lab},{s:.6f}" for i, (lab, s) in enumerate(zip(label, score, strict=True))
    ]
    return _write(path, "\n".join(lines) + "\n")


def test_numeric_labels_are_never_guessed(tmp_path, rng):
    path = _aasist_style_csv(tmp_path / "aasist.csv", rng)
    with pytest.raises(
        DataError, match=r"line 2: numeric label '1' is ambiguous.*--bonafide-value"
    ):
        read_scores(path)
    right = read_scores(path, bonafide_value=1)
    wrong = read_scores(path, bonafide_value=0)  # what reading 0 as bona fide did silently
    eer_right = eer(right["key"], right["score"])[0]
    eer_wrong = eer(wrong["key"], wrong["score"])[0]
    assert eer_right < 0.25 and eer_wrong > 0.75
    assert eer_right + eer_wrong == pytest.approx(1.0, abs=0.02)
    with pytest.raises(DataError, match="no label equals --bonafide-value '2'"):
        read_scores(path, bonafide_value=2)


def test_python_functions_refuse_ambiguous_numeric_labels():
    with pytest.raises(DataError, match="bonafide_value"):
        eer([0, 0, 1, 1], [0.9, 0.8, 0.1, 0.2])
    assert eer([0, 0, 1, 1], [0.9, 0.8, 0.1, 0.2], bonafide_value=0)[0] == 0.0
    assert eer([0, 0, 1, 1], [0.9, 0.8, 0.1, 0.2], bonafide_value=1)[0] == 1.0


def test_repeated_utterance_ids_are_errors_naming_the_lines(tmp_path):
    other_key = _write(tmp_path / "a.txt", "u1 spoof 0.1\nu2 bonafide 2\n# note\nu1 bonafide 0.5\n")
    with pytest.raises(DataError, match=r"utt 'u1' is scored with different keys .*lines 1, 4"):
        read_scores(other_key)
    repeat = _write(tmp_path / "b.txt", "u1 spoof 0.1\nu2 bonafide 2\nu1 spoof 0.1\n")
    with pytest.raises(DataError, match=r"utt 'u1' is scored twice \(lines 1, 3\)"):
        read_scores(repeat)
    # windows of one file in a dfaudio scores.csv are distinct trials
    windows = _write(
        tmp_path / "scores.csv",
        "file,window,label,score\na.wav,0,bonafide,1\na.wav,1,bonafide,2\nb.wav,0,spoof,-1\n",
    )
    assert len(read_scores(windows)) == 3
    twice = _write(
        tmp_path / "twice.csv", "file,window,label,score\na.wav,0,bonafide,1\na.wav,0,bonafide,2\n"
    )
    with pytest.raises(DataError, match=r"lines 2, 3"):
        read_scores(twice)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("u1 spoof 1\nu2 bonafide nan\n", "line 2: non-finite score 'nan'"),
        ("u1 spoof 1\nu2 bonafide -inf\n", "line 2: non-finite score '-inf'"),
        ("u1 spoof 1\nu2 bonafide abc\n", "line 2: non-numeric score 'abc'"),
        ("# header comment\n\nu1 spoof 1\nu2 bonafide NaN\n", "line 4: non-finite score"),
        ("label,score\nspoof,1\nbonafide,\n", "line 3: missing score"),
        ("label,score\nspoof,1\nbonafide,inf\n", "line 3: non-finite score"),
    ],
)
def test_bad_scores_are_named_with_their_line(tmp_path, text, message):
    path = _write(tmp_path / "bad.txt", text)
    with pytest.raises(DataError, match=message) as info:
        read_scores(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_comment_lines_are_skipped_like_the_organisers_loader(tmp_path):
    path = _write(
        tmp_path / "c.txt",
        "# system X, eval\nLA_1 LA_E_1 - A07 spoof -1.5  # a trailing note\n\n"
        "# another\nLA_2 LA_E_2 - - bonafide 2.5\n",
    )
    df = read_scores(path)
    assert df["utt"].tolist() == ["LA_E_1", "LA_E_2"] and df["score"].tolist() == [-1.5, 2.5]
    asv = read_asv_scores(_write(tmp_path / "asv.txt", "# ASV\nbonafide target 1\nA07 spoof 0\n"))
    assert asv["key"].tolist() == ["target", "spoof"]


def test_foreign_csv_with_label_and_score_columns(tmp_path):
    path = _write(tmp_path / "f.csv", "asv,cm,lab\n0.1,2.0,good\n0.2,-1.0,bad\n0.3,1.5,good\n")
    with pytest.raises(DataError, match=r"needs a 'label' column.*--label-col"):
        read_scores(path, score_col="cm")
    with pytest.raises(DataError, match="--score-col 'cmx' is not a column"):
        read_scores(path, label_col="lab", score_col="cmx")
    with pytest.raises(DataError, match="unknown label column 'lab' 'good'"):
        read_scores(path, label_col="lab", score_col="cm")
    df = read_scores(path, label_col="lab", score_col="cm", key_map=["good=bonafide", "bad=spoof"])
    assert df["key"].tolist() == ["bonafide", "spoof", "bonafide"]
    assert df.attrs["layout"] == "csv" and df.attrs["score_kind"] == "raw"
    with pytest.raises(DataError, match="line 3: label column 'lab' 'bad' is not in --key-map"):
        read_scores(path, label_col="lab", score_col="cm", key_map=["good=bonafide"])
    with pytest.raises(DataError, match="--key-map target must be"):
        parse_key_map(["x=maybe"])


def test_sasv_dev_scores_of_the_asvspoof5_repository(shared_data):
    path = shared_data / "asvspoof2019-la-sasv-scores" / "dev_scores_label.csv"
    km = ["1.0=target", "2.0=nontarget", "0.0=spoof"]
    df = read_scores(path, label_col="sasv_label", score_col="cm_score", key_map=km)
    assert (df["key"] == "bonafide").sum() == 1484 + 5768 and (df["key"] == "spoof").sum() == 22296
    assert df["sasv_key"].value_counts().to_dict() == {
        "spoof": 22296,
        "nontarget": 5768,
        "target": 1484,
    }
    bona = df.loc[df["key"] == "bonafide", "score"]
    spoof = df.loc[df["key"] == "spoof", "score"]
    assert compute_eer(bona, spoof)[0] == pytest.approx(0.006197, abs=5e-6)  # SOURCES.md 0.6197 %
    # numeric keys match numerically too ('1' maps '1.0'), and three values refuse one bona fide
    assert (
        len(
            read_scores(
                path,
                label_col="sasv_label",
                score_col="cm_score",
                key_map=["1=target", "2=nontarget", "0=spoof"],
            )
        )
        == 29548
    )
    with pytest.raises(DataError, match="takes 3 values"):
        read_scores(path, label_col="sasv_label", score_col="cm_score", bonafide_value=1)


# --------------------------------------------------------------------------------------------
# through the command line
# --------------------------------------------------------------------------------------------


def _run(args: list[str]):
    from click.testing import CliRunner

    from dfaudio.cli.main import cli

    return CliRunner().invoke(cli, args)


def test_evaluate_cli_refuses_numeric_labels_then_reads_them_with_the_flag(tmp_path, rng):
    path = _aasist_style_csv(tmp_path / "aasist.csv", rng)
    bad = _run(["evaluate", str(path)])
    assert bad.exit_code == 2
    assert bad.output.startswith("error: ") and "--bonafide-value" in bad.output
    assert bad.output.count("\n") == 1 and "Traceback" not in bad.output
    ok = _run(["evaluate", str(path), "--bonafide-value", "1", "--json"])
    assert ok.exit_code == 0, ok.output
    import json

    data = json.loads(ok.output)
    assert data["eer"] < 0.25
    for key in ("min_dcf", "act_dcf", "cllr", "min_cllr", "calibration_loss", "cost_model"):
        assert key in data
    assert data["calibration_loss"]["dcf"] == pytest.approx(data["act_dcf"] - data["min_dcf"])


def test_evaluate_cli_on_the_sasv_dev_csv(shared_data):
    import json

    path = shared_data / "asvspoof2019-la-sasv-scores" / "dev_scores_label.csv"
    args = ["evaluate", str(path), "--label-col", "sasv_label", "--score-col", "cm_score"]
    args += ["--key-map", "1.0=target", "--key-map", "2.0=nontarget", "--key-map", "0.0=spoof"]
    out = _run([*args, "--asv-col", "asv_score", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["eer"] == pytest.approx(0.006197, abs=5e-6)
    # golden values of experiments/asvspoof5_reference.py
    assert data["sasv"]["a_dcf_asv"] == pytest.approx(0.333636857, abs=1e-6)
    assert data["sasv"]["a_dcf_cm"] == pytest.approx(0.156125155, abs=1e-6)
    assert data["sasv"]["t_eer"] == pytest.approx(0.019896988, abs=1e-6)
    text = _run(args)
    assert text.exit_code == 0 and "calibration loss" in text.output


@pytest.mark.slow
def test_evaluate_cli_b02_asvspoof5_rows_and_reliability_plot(shared_data, tmp_path):
    path = shared_data / "asvspoof2019-la" / "B02_LA_primary_eval.txt"
    out = _run(["evaluate", str(path), "--per-attack", "--plot", str(tmp_path / "p")])
    assert out.exit_code == 0, out.output
    assert "minDCF            0.1974" in out.output
    assert "actDCF            0.6622" in out.output
    assert "Cllr              0.6444 bits  (minCllr 0.2775)" in out.output
    assert "calibration loss  actDCF - minDCF 0.4648" in out.output
    assert "A10         4,914    18.97   0.5050" in out.output
    assert (tmp_path / "p" / "reliability.png").stat().st_size > 5000
    again = _run(["evaluate", str(path), "--plot", str(tmp_path / "p")])
    assert again.exit_code == 2 and "exists" in again.output


@pytest.mark.parametrize("command", ["calibrate", "fuse", "evaluate", "compare"])
def test_new_commands_have_help(command):
    out = _run([command, "--help"])
    assert out.exit_code == 0 and "Usage:" in out.output
    if command == "compare":
        assert "--paired" in out.output
    if command == "evaluate":
        assert "--bonafide-value" in out.output and "--calibration" in out.output
