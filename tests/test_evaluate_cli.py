"""``dfaudio evaluate``: help, human and JSON output, t-DCF, per-attack, plots, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dfaudio.cli.evaluate import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def score_file(tmp_path: Path) -> Path:
    """4-column UTT ATTACK KEY SCORE file: 30 bona fide, 2 attacks x 30 spoof."""
    rng = np.random.default_rng(0)
    lines = [f"b{i} - bonafide {v:.6f}" for i, v in enumerate(rng.normal(2, 1, 30))]
    lines += [f"s{i} A01 spoof {v:.6f}" for i, v in enumerate(rng.normal(0, 1, 30))]
    lines += [f"t{i} A02 spoof {v:.6f}" for i, v in enumerate(rng.normal(-3, 1, 30))]
    path = tmp_path / "cm.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def asv_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    lines = [f"bonafide target {v:.5f}" for v in rng.normal(5, 1, 50)]
    lines += [f"bonafide nontarget {v:.5f}" for v in rng.normal(0, 1, 80)]
    lines += [f"spoof spoof {v:.5f}" for v in rng.normal(4, 1.5, 60)]
    path = tmp_path / "asv.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_help_has_examples(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and "--asv-scores" in result.output
    assert "--tdcf [revised|legacy]" in result.output


def test_human_output(runner, score_file):
    result = runner.invoke(cli, [str(score_file)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "EER" in out and " %" in out and "bona fide" in out and "30" in out and "60" in out
    assert "min t-DCF" not in out and "A01" not in out


def test_json_output_fractions_and_keys(runner, score_file):
    from dfaudio.evaluation import eer, read_scores

    result = runner.invoke(cli, [str(score_file), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    df = read_scores(score_file)
    assert data["eer"] == pytest.approx(eer(df["key"], df["score"])[0])
    assert 0 <= data["eer"] < 0.5  # a fraction, not percent
    assert (data["n_bonafide"], data["n_spoof"]) == (30, 60)
    assert {"eer_threshold", "roc_auc", "accuracy", "confusion_matrix"} <= set(data)
    assert set(data["per_attack"]) == {"A01", "A02"}
    assert "min_tdcf" not in data and "eer_ci" not in data


def test_asv_scores_per_attack_and_bootstrap(runner, score_file, asv_file):
    args = [str(score_file), "--asv-scores", str(asv_file), "--per-attack", "--tdcf", "legacy"]
    human = runner.invoke(cli, args)
    assert human.exit_code == 0, human.output
    assert "min t-DCF" in human.output and "(legacy)" in human.output
    assert "A01" in human.output and "A02" in human.output and "pooled" in human.output
    result = runner.invoke(cli, [*args, "--json", "--bootstrap", "50"])
    data = json.loads(result.output)
    assert data["min_tdcf"]["formulation"] == "legacy"
    assert 0 <= data["min_tdcf"]["value"] <= 1
    assert {"eer", "min_tdcf", "n_spoof"} <= set(data["per_attack"]["A01"])
    assert data["eer_ci"]["low"] <= data["eer"] <= data["eer_ci"]["high"]
    assert data["eer_ci"]["n_boot"] == 50


def test_plots_and_no_clobber(runner, score_file, tmp_path):
    plots = tmp_path / "plots"
    result = runner.invoke(cli, [str(score_file), "--plot", str(plots)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in plots.iterdir())
    assert names == ["confusion.png", "det.png", "reliability.png", "roc.png", "score_hist.png"]
    again = runner.invoke(cli, [str(score_file), "--plot", str(plots)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert runner.invoke(cli, [str(score_file), "--plot", str(plots), "--force"]).exit_code == 0


def test_run_dir_with_dfaudio_csv(runner, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rows = ["file,window,group,label,score,p_fake,fold"]
    rng = np.random.default_rng(3)
    for f in range(20):
        label = "bonafide" if f % 2 else "spoof"
        for w in range(3):
            s = rng.normal(1.5 if f % 2 else -1.5, 1)
            rows.append(f"f{f}.wav,{w},g{f},{label},{s:.4f},{1 / (1 + np.exp(s)):.4f},{f % 2}")
    (run / "scores.csv").write_text("\n".join(rows) + "\n")
    result = runner.invoke(cli, [str(run), "--json", "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["threshold_source"] == "0 log-odds = p_fake 0.5"
    assert data["eer_ci"]["groups"] == "group"
    assert "per_attack" not in data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("u1 0.5\n", "expected 3, 4 or 6"),
        ("u1 spoof 1\nu2 bonafide x\n", "line 2: non-numeric score"),
        ("u1 spoof 1\nu2 spoof 2\n", "both classes"),
    ],
)
def test_errors_are_one_line_exit_2(runner, tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    result = runner.invoke(cli, [str(path)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and message in result.output
    assert result.output.count("\n") == 1


def test_missing_files_exit_2(runner, tmp_path, score_file):
    result = runner.invoke(cli, [str(tmp_path / "none.txt")])
    assert result.exit_code == 2 and "not found" in result.output
    result = runner.invoke(cli, [str(score_file), "--asv-scores", str(tmp_path / "none.txt")])
    assert result.exit_code == 2 and "ASV score file not found" in result.output


def test_golden_b02_json(runner, shared_data):
    root = shared_data / "asvspoof2019-la"
    args = [
        str(root / "B02_LA_primary_eval.txt"),
        "--asv-scores",
        str(root / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt"),
        "--tdcf",
        "legacy",
        "--json",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["eer"] == pytest.approx(0.080898, abs=5e-7)
    assert data["min_tdcf"]["value"] == pytest.approx(0.2111, abs=1e-4)
    assert data["min_tdcf"]["asv_eer"] == pytest.approx(0.024578, abs=5e-7)
    assert data["per_attack"]["A19"]["eer"] * 100 == pytest.approx(13.94, abs=0.005)


def test_registered_in_main_group():
    from dfaudio.cli.main import cli as root

    result = CliRunner().invoke(root, ["evaluate", "--help"])
    assert result.exit_code == 0 and "SCOREFILE" in result.output


def test_per_condition_for_pa_style_files(tmp_path) -> None:
    """ASVspoof PA score files carry the acoustic environment in column 3: EER per condition."""
    from click.testing import CliRunner

    from dfaudio.cli.evaluate import cli

    lines = [
        "PA_0079 PA_E_1 aaa - bonafide 2.0",
        "PA_0079 PA_E_2 aaa AA spoof -1.0",
        "PA_0079 PA_E_3 aaa AB spoof 3.0",
        "PA_0080 PA_E_4 bbb - bonafide 1.0",
        "PA_0080 PA_E_5 bbb BA spoof 0.0",
    ]
    path = tmp_path / "pa.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, [str(path), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    cond = out["per_condition"]
    assert set(cond) == {"aaa", "bbb"}
    assert cond["bbb"]["eer"] == 0.0 and cond["bbb"]["n_spoof"] == 1
    assert cond["aaa"]["n_bonafide"] == 1 and cond["aaa"]["n_spoof"] == 2
    # official rule on {bona 2.0} vs {spoof -1.0, 3.0}: closest point FRR 0 / FAR 0.5 -> 0.25
    assert cond["aaa"]["eer"] == pytest.approx(0.25)
    human = CliRunner().invoke(cli, [str(path), "--per-attack"])
    assert "condition" in human.output and "bbb" in human.output
