"""``dfaudio fit-deep`` end to end on real audio (LJSpeech vs WaveFake), resume after Ctrl-C.

Clips are 1 s (``--max-duration-s 1``) so that every model trains in seconds on 2 CPU cores; the
feature cache is shared by the module's tests, so the audio is decoded once per configuration.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from click.testing import CliRunner  # noqa: E402

from dfaudio.cli.main import cli as main_cli  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(2)

RUN_FILES = {
    "config.json",
    "metrics.json",
    "scores.csv",
    "model.safetensors",
    "model.json",
    "environment.json",
    "split.csv",
}


@pytest.fixture(scope="module")
def wavefake(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``real/`` (5 LJSpeech clips) and ``fake/`` (their 5 WaveFake copies) as symlinks."""
    src = shared_data / "wavefake-test-samples"
    if not src.is_dir():
        pytest.skip("wavefake-test-samples not found")
    root = tmp_path_factory.mktemp("wavefake")
    for sub, cls in (("LJSpeech", "real"), ("generated", "fake")):
        (root / cls).mkdir()
        for f in sorted((src / sub).glob("*.wav")):
            (root / cls / f.name).symlink_to(f)
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


def _base_args(data: Path, runs: Path, cache: Path) -> list[str]:
    return [
        "fit-deep", "--data", str(data), "--runs-dir", str(runs), "--cache-dir", str(cache),
        "--max-duration-s", "1", "--device", "cpu", "--quiet", "--json",
    ]  # fmt: skip


def _check_run(run_dir: Path, *, model: str, feature: str) -> dict:
    names = {p.name for p in run_dir.iterdir()}
    assert RUN_FILES <= names, names
    assert "checkpoint.pt" not in names  # removed once the run has finished
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["kind"] == "torch" and metrics["model"] == model
    assert metrics["features"] == feature
    assert 0.0 <= metrics["eer"] <= 1.0 and 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["score_direction"].startswith("higher score = more bona fide")
    assert metrics["epochs_run"] == len(metrics["history"]) >= 1
    scores = pd.read_csv(run_dir / "scores.csv")
    assert list(scores.columns[:7]) == [
        "file",
        "window",
        "group",
        "label",
        "score",
        "p_fake",
        "fold",
    ]
    assert len(scores) == metrics["n_test_rows"] and set(scores["label"]) == {"bonafide", "spoof"}
    # score = -logit and p_fake = sigmoid(logit)
    np.testing.assert_allclose(scores["p_fake"], 1 / (1 + np.exp(scores["score"])), atol=1e-5)
    split = pd.read_csv(run_dir / "split.csv")
    test_files = set(split.loc[split["role"] == "test", "path"])
    assert set(scores["file"]) == test_files
    config = json.loads((run_dir / "config.json").read_text())
    assert config["kind"] == "torch" and config["timefreq"]["shape"] == metrics["input_shape"]
    return metrics


def test_help_is_light_and_lists_models() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from dfaudio.cli.main import cli;"
        "r = CliRunner().invoke(cli, ['fit-deep', '--help']); print(r.exit_code);"
        "print('--resume' in r.output, 'timm:<name>' in r.output);"
        "print(any(m in sys.modules for m in ('torch', 'timm', 'librosa')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "True", "True", "False"]


def test_cli_model_names_match_registry() -> None:
    from dfaudio.cli.fit_deep import MODEL_NAMES
    from dfaudio.models.torch_zoo import MODELS

    assert list(MODEL_NAMES) == MODELS.names()


def test_bad_options_are_one_line_errors(wavefake: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(main_cli, ["fit-deep", "--model", "resnet9", "--data", str(wavefake)])
    assert r.exit_code == 2 and "timm:<name>" in r.output
    r = runner.invoke(main_cli, ["fit-deep", "--data", str(wavefake)])
    assert r.exit_code == 2 and "--model is required" in r.output
    args = _base_args(wavefake, tmp_path / "runs", tmp_path / "c")
    r = runner.invoke(main_cli, [*args, "--model", "simple-ann", "--feature-param", "n_mel=3"])
    assert r.exit_code == 2 and r.output.startswith("error: bad parameters for feature 'mel'")


def test_simple_ann_cli_end_to_end_and_predict(wavefake: Path, tmp_path: Path, cache_dir) -> None:
    runs = tmp_path / "runs"
    args = [*_base_args(wavefake, runs, cache_dir), "--model", "simple-ann", "--epochs", "2"]
    r = CliRunner().invoke(main_cli, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    run_dir = Path(out["run_dir"])
    metrics = _check_run(run_dir, model="simple-ann", feature="mel")
    assert metrics["input_shape"] == [1, 64, 32]  # 1 s at 16 kHz, hop 512
    assert metrics["split_type"] == "grouped" and metrics["n_files"]["test"] >= 2
    assert (run_dir / "plots").is_dir()

    from dfaudio.scoring import load_predictor

    pred = load_predictor(run_dir)
    res = pred.score_file(str(wavefake / "real" / "LJ001-0001.wav"))
    assert res.n_windows >= 2  # a 1.9 s clip -> whole 1 s windows
    assert 0.0 <= res.p_fake <= 1.0 and res.verdict in ("bonafide", "spoof")


def test_simple_cnn_on_mfcc_with_given_split(wavefake: Path, tmp_path: Path, cache_dir) -> None:
    """A CSV list with its own train/dev/eval split: roles are taken as given."""
    from dfaudio.training.fit_torch import DeepConfig, fit_torch

    rows = []
    for i in range(1, 6):
        split = {1: "train", 2: "train", 3: "dev", 4: "eval", 5: "eval"}[i]
        for cls, name in (("bonafide", f"LJ001-000{i}.wav"), ("spoof", f"LJ001-000{i}_gen.wav")):
            folder = "real" if cls == "bonafide" else "fake"
            rows.append({"path": str(wavefake / folder / name), "label": cls, "split": split})
    lst = tmp_path / "list.csv"
    pd.DataFrame(rows).to_csv(lst, index=False)
    cfg = DeepConfig(
        model="simple-cnn", feature="mfcc", data=[str(lst)], max_duration_s=1.0, epochs=1,
        batch_size=4, cache_dir=str(cache_dir), device="cpu",
    )  # fmt: skip
    res = fit_torch(cfg, runs_dir=tmp_path / "runs", progress=False)
    m = _check_run(res.run_dir, model="simple-cnn", feature="mfcc")
    assert m["split_type"] == "given" and m["eval_name"] == "eval"
    assert m["n_files"] == {"train": 4, "dev": 2, "test": 4} and m["input_shape"] == [1, 20, 32]
    assert m["warnings"] == []  # one file per group: nothing shared between roles
    # the same list with one speaker per class: the given split shares speakers, and says so
    pd.DataFrame(rows).assign(group=lambda d: d["label"].map({"bonafide": "LJ", "spoof": "gen"})
                              ).to_csv(lst, index=False)  # fmt: skip
    notes: list[str] = []
    res = fit_torch(cfg, runs_dir=tmp_path / "runs", progress=False, log=notes.append)
    warnings = json.loads((res.run_dir / "metrics.json").read_text())["warnings"]
    # (real/fake name pairs may merge the two groups into one: 1 or 2 shared groups)
    assert len(warnings) == 3 and "group(s)" in warnings[0] and "train and test" in warnings[0]
    assert [f"note: {w}" for w in warnings] == [n for n in notes if "group(s)" in n]


@pytest.mark.slow
def test_timm_model_end_to_end(wavefake: Path, tmp_path: Path, cache_dir) -> None:
    args = [
        *_base_args(wavefake, tmp_path / "runs", cache_dir), "--model", "timm:resnet18",
        "--feature-param", "n_mels=32", "--epochs", "1", "--batch-size", "4",
    ]  # fmt: skip
    r = CliRunner().invoke(main_cli, args)
    assert r.exit_code == 0, r.output
    m = _check_run(Path(json.loads(r.output)["run_dir"]), model="timm:resnet18", feature="mel")
    assert m["input_shape"] == [1, 32, 32] and m["n_params"] > 11e6


@pytest.mark.slow
def test_interrupt_then_resume_matches_an_uninterrupted_run(
    wavefake: Path, tmp_path: Path, cache_dir
) -> None:
    from dfaudio.training.fit_torch import (
        DeepConfig,
        TrainingInterrupted,
        fit_torch,
        resume_torch,
    )

    cfg = DeepConfig(
        model="simple-ann", feature="mel", data=[str(wavefake)], max_duration_s=1.0, epochs=3,
        patience=10, batch_size=4, cache_dir=str(cache_dir), device="cpu", seed=7,
    )  # fmt: skip
    full = fit_torch(cfg, runs_dir=tmp_path / "a", progress=False)

    def stop_after_first(epoch: int, record: dict) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="Resume with: dfaudio fit-deep --resume"):
        fit_torch(cfg, runs_dir=tmp_path / "b", progress=False, on_epoch_end=stop_after_first)
    (run_dir,) = (tmp_path / "b").iterdir()
    assert (run_dir / "checkpoint.pt").is_file() and not (run_dir / "metrics.json").exists()
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and len(ckpt["history"]) == 1
    assert {"model", "optimizer", "rng", "history", "best"} <= set(ckpt)

    seen: list[int] = []
    res = resume_torch(run_dir, progress=False, on_epoch_end=lambda e, _r: seen.append(e))
    assert seen == [2, 3]  # finished epochs are not redone
    assert [h["epoch"] for h in res.metrics["history"]] == [1, 2, 3]
    assert res.metrics["history"][0]["train_loss"] == ckpt["history"][0]["train_loss"]
    for a, b in zip(full.metrics["history"], res.metrics["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    sa = pd.read_csv(full.run_dir / "scores.csv")["score"]
    sb = pd.read_csv(res.run_dir / "scores.csv")["score"]
    np.testing.assert_allclose(sa, sb, rtol=1e-4, atol=1e-5)

    # A finished run cannot be resumed; the CLI says so in one line.
    r = CliRunner().invoke(main_cli, ["fit-deep", "--resume", str(run_dir)])
    assert r.exit_code == 2 and "has finished" in r.output


def test_cli_ctrl_c_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, wavefake) -> None:
    import dfaudio.training.fit_torch as ft

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ft.TrainingInterrupted(tmp_path / "run", 2)

    monkeypatch.setattr(ft, "fit_torch", interrupted)
    r = CliRunner().invoke(
        main_cli, ["fit-deep", "--model", "simple-ann", "--data", str(wavefake), "-q"]
    )
    assert r.exit_code == 130
    assert "after 2 finished epoch(s)" in r.output and f"--resume {tmp_path / 'run'}" in r.output


def test_grouped_test_hold_out_honours_a_large_test_size() -> None:
    # --test-size 0.75 used to become a 1/2 hold-out (round(1 / 0.75) = 1 -> 2 folds)
    from dfaudio.training.fit_torch import DeepConfig, assign_roles

    manifest = pd.DataFrame(
        {
            "path": [f"f{i}.wav" for i in range(40)],
            "label": ["bonafide", "spoof"] * 20,
            "group": [f"g{i // 2}" for i in range(40)],  # 20 groups, one file of each class
        }
    )
    manifest["group"] = manifest["group"] + manifest["label"].str[0]
    cfg = DeepConfig(model="simple-ann", feature="mel", data=["x"], test_size=0.75, dev_size=0.5)
    roles, split_type, _, _ = assign_roles(manifest, cfg)
    assert split_type == "grouped"
    assert (roles == "test").sum() == 30 and (roles == "dev").sum() == 5
