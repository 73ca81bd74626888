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
    """``real/`` (5 LJSpeech clips) and ``fake/`` (their 5 WaveFake copies), copied (links out of
    the input folder would add a warning line to the CLI output)."""
    import shutil

    src = shared_data / "wavefake-test-samples"
    if not src.is_dir():
        pytest.skip("wavefake-test-samples not found")
    root = tmp_path_factory.mktemp("wavefake")
    for sub, cls in (("LJSpeech", "real"), ("generated", "fake")):
        (root / cls).mkdir()
        for f in sorted((src / sub).glob("*.wav")):
            shutil.copy(f, root / cls / f.name)
    return root


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


def _base_args(data: Path, runs: Path, cache: Path) -> list[str]:
    return [
        "fit-deep",
        "--data",
        str(data),
        "--runs-dir",
        str(runs),
        "--cache-dir",
        str(cache),
        "--max-duration-s",
        "1",
        "--device",
        "cpu",
        "--quiet",
        "--json",
    ]


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
        "print(all(m in r.output for m in ('lstm', 'conv1d-lstm', 'lcnn', 'simple-cnn')));"
        "print(any(m in sys.modules for m in ('torch', 'timm', 'librosa')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "True", "True", "True", "False"]


def test_deep_config_is_torch_free() -> None:
    """The CLI builds DeepConfig without torch; the package resolves its names lazily."""
    code = (
        "import sys, dfaudio.deep as d, dfaudio.deep.config as c;"
        "cfg = c.DeepConfig(model='conv1d-lstm');"
        "print(cfg.feature, cfg.feature_params['n_mfcc'], 'torch' in sys.modules,"
        "      'Trainer' in dir(d))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["mfcc", "40", "False", "True"]


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
    assert r.exit_code == 2 and r.output.startswith("error: --feature-param {'n_mel': 3} do not")


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
        model="simple-cnn",
        feature="mfcc",
        data=[str(lst)],
        max_duration_s=1.0,
        epochs=1,
        batch_size=4,
        cache_dir=str(cache_dir),
        device="cpu",
    )
    res = fit_torch(cfg, runs_dir=tmp_path / "runs", progress=False)
    m = _check_run(res.run_dir, model="simple-cnn", feature="mfcc")
    assert m["split_type"] == "given" and m["eval_name"] == "eval"
    assert m["n_files"] == {"train": 4, "dev": 2, "test": 4} and m["input_shape"] == [1, 20, 32]
    assert m["warnings"] == []  # one file per group: nothing shared between roles
    # the same list with one speaker per class: the given split shares speakers, and says so
    pd.DataFrame(rows).assign(
        group=lambda d: d["label"].map({"bonafide": "LJ", "spoof": "gen"})
    ).to_csv(lst, index=False)
    notes: list[str] = []
    res = fit_torch(cfg, runs_dir=tmp_path / "runs", progress=False, log=notes.append)
    warnings = json.loads((res.run_dir / "metrics.json").read_text())["warnings"]
    # (real/fake name pairs may merge the two groups into one: 1 or 2 shared groups)
    assert len(warnings) == 3 and "group(s)" in warnings[0] and "train and test" in warnings[0]
    assert [f"note: {w}" for w in warnings] == [n for n in notes if "group(s)" in n]


@pytest.mark.slow
def test_timm_model_end_to_end(wavefake: Path, tmp_path: Path, cache_dir) -> None:
    args = [
        *_base_args(wavefake, tmp_path / "runs", cache_dir),
        "--model",
        "timm:resnet18",
        "--feature-param",
        "n_mels=32",
        "--epochs",
        "1",
        "--batch-size",
        "4",
    ]
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
        model="simple-ann",
        feature="mel",
        data=[str(wavefake)],
        max_duration_s=1.0,
        epochs=3,
        patience=10,
        batch_size=4,
        cache_dir=str(cache_dir),
        device="cpu",
        seed=7,
    )
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


# --------------------------------------------------------------------------- regression guards
#
# Synthetic, perfectly separable audio (bona fide: harmonic tones; spoof: white noise) so that a
# tiny model learns the task in a few steps. Each test below fails when one specific step of the
# chain is broken: the score sign, the best-dev-epoch selection, the normaliser at predict time,
# freezing.

SR = 16000


@pytest.fixture(scope="module")
def separable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``real/`` (12 tones) and ``fake/`` (12 noises), 0.3 to 1.1 s at 16 kHz."""
    from tests.conftest import write_wav

    root = tmp_path_factory.mktemp("separable")
    rng = np.random.default_rng(0)
    for i in range(12):
        n = int(SR * (0.3 + 0.8 * i / 11))  # some shorter than the 0.5 s window, some longer
        t = np.arange(n) / SR
        f0 = 150.0 + 25.0 * i
        voiced = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3))
        write_wav(root / "real" / f"r{i:02d}.wav", (0.2 * voiced).astype(np.float32), SR)
        noise = 0.1 * rng.standard_normal(n)
        write_wav(root / "fake" / f"f{i:02d}.wav", noise.astype(np.float32), SR)
    return root


def _cfg(data: Path, **kw):  # type: ignore[no-untyped-def]
    from dfaudio.deep.config import DeepConfig

    base = dict(
        model="simple-ann",
        feature="mel",
        feature_params={"n_mels": 16},
        data=[str(data)],
        max_duration_s=0.5,
        epochs=3,
        patience=10,
        batch_size=4,
        cache_dir=None,
        device="cpu",
        seed=3,
        test_size=0.25,
        dev_size=0.25,
    )
    base.update(kw)
    return DeepConfig(**base)


def _predictor(run_dir: Path):  # type: ignore[no-untyped-def]
    from dfaudio.scoring import load_predictor

    return load_predictor(run_dir)


def _first_window_scores(pred, files) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([pred.score_file(f, per_window=True).windows[0]["score"] for f in files])


@pytest.fixture(scope="module")
def separable_run(separable: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from dfaudio.training.fit_torch import fit_torch

    return fit_torch(
        _cfg(separable, epochs=4), runs_dir=tmp_path_factory.mktemp("runs"), progress=False
    )


def test_scores_are_bona_fide_high_in_the_run_and_in_predict(separable_run, separable) -> None:
    """A sign flip anywhere (training labels, scores.csv, predict) breaks one of these."""
    scores = pd.read_csv(separable_run.run_dir / "scores.csv")
    bona = scores.loc[scores["label"] == "bonafide", "score"]
    spoof = scores.loc[scores["label"] == "spoof", "score"]
    assert bona.min() > spoof.max(), scores[["file", "label", "score"]]
    assert separable_run.metrics["eer"] == 0.0
    # predict on *training* files (not in scores.csv): bona fide still ranked higher
    split = pd.read_csv(separable_run.run_dir / "split.csv")
    train = split[split["role"] == "train"]
    pred = _predictor(separable_run.run_dir)
    got = {row.path: pred.score_file(row.path) for row in train.itertuples()}
    real = [got[p].score for p in train.loc[train["label"] == "bonafide", "path"]]
    fake = [got[p].score for p in train.loc[train["label"] == "spoof", "path"]]
    assert min(real) > max(fake)


def test_predict_reproduces_the_runs_scores_csv(separable_run) -> None:
    """predict on the run's own test files gives the scores in scores.csv (same tensor: offset 0,
    same normaliser, same weights). Dropping the normaliser at predict time breaks this."""
    scores = pd.read_csv(separable_run.run_dir / "scores.csv")
    pred = _predictor(separable_run.run_dir)
    again = _first_window_scores(pred, scores["file"])
    np.testing.assert_allclose(again, scores["score"], rtol=1e-4, atol=1e-4)
    spec = json.loads((separable_run.run_dir / "model.json").read_text())
    assert spec["normalizer"]["mode"] == "global"
    assert np.ptp(spec["normalizer"]["mean"]) > 1.0  # a normaliser that matters


@pytest.mark.slow
def test_the_best_dev_epoch_is_kept_not_the_last(separable, tmp_path, monkeypatch) -> None:
    """Dev EERs scripted to 0.1, 0.3, 0.4: epoch 1 must be kept (weights and test scores)."""
    import dfaudio.deep.trainer as trainer_mod
    from dfaudio.deep.trainer import evaluate as real_evaluate
    from dfaudio.training.fit_torch import fit_torch

    script = iter([0.1, 0.3, 0.4])

    def scripted(*args, **kwargs):  # type: ignore[no-untyped-def]
        res = real_evaluate(*args, **kwargs)
        res.eer = next(script)
        return res

    monkeypatch.setattr(trainer_mod, "evaluate", scripted)
    three = fit_torch(_cfg(separable, epochs=3), runs_dir=tmp_path / "a", progress=False)
    monkeypatch.undo()
    one = fit_torch(_cfg(separable, epochs=1), runs_dir=tmp_path / "b", progress=False)
    assert three.metrics["best_epoch"] == 1 and three.metrics["epochs_run"] == 3
    assert [h["dev_eer"] for h in three.metrics["history"]] == [0.1, 0.3, 0.4]
    from safetensors.torch import load_file

    w3, w1 = (
        load_file(three.run_dir / "model.safetensors"),
        load_file(one.run_dir / "model.safetensors"),
    )
    for k in w1:
        torch.testing.assert_close(w3[k], w1[k], rtol=1e-5, atol=1e-6)
    s3 = pd.read_csv(three.run_dir / "scores.csv")["score"]
    s1 = pd.read_csv(one.run_dir / "scores.csv")["score"]
    np.testing.assert_allclose(s3, s1, rtol=1e-4, atol=1e-5)


def test_select_best_rules() -> None:
    from dfaudio.deep.trainer import select_best

    best = {"epoch": 2, "dev_eer": 0.2, "dev_loss": 0.5}
    assert select_best({"dev_eer": 0.9, "dev_loss": 9.0}, {"epoch": 0, "dev_eer": np.inf})
    assert select_best({"dev_eer": 0.1, "dev_loss": 9.0}, best)  # lower EER wins
    assert not select_best({"dev_eer": 0.3, "dev_loss": 0.1}, best)  # loss does not beat EER
    assert select_best({"dev_eer": 0.2, "dev_loss": 0.4}, best)  # tie -> lower loss
    assert not select_best({"dev_eer": 0.2, "dev_loss": 0.5}, best)
    assert not select_best({"dev_eer": float("nan"), "dev_loss": 0.1}, best)


def test_freeze_keeps_the_first_tensors_fixed_through_fit_torch(separable, tmp_path) -> None:
    """--freeze on a small network (it used to be silently ignored): the frozen tensors of the
    saved best weights equal the initial ones, the others moved."""
    from safetensors.torch import load_file

    from dfaudio.models.torch_zoo import build_model
    from dfaudio.training.fit_torch import fit_torch

    cfg = _cfg(separable, model="simple-cnn", epochs=1, freeze=4)  # both conv layers
    res = fit_torch(cfg, runs_dir=tmp_path, progress=False)
    torch.manual_seed(cfg.seed)
    init = build_model("simple-cnn", cfg.timefreq().shape)
    trained = load_file(res.run_dir / "model.safetensors")
    names = [n for n, _ in init.named_parameters()]
    for i, (name, p0) in enumerate(init.named_parameters()):
        if i < 4:
            torch.testing.assert_close(trained[name], p0.detach(), rtol=0, atol=0)
        else:
            assert not torch.equal(trained[name], p0.detach()), name
    n_frozen = sum(p.numel() for p in list(init.parameters())[:4])
    assert res.metrics["n_trainable_params"] == res.metrics["n_params"] - n_frozen
    assert names[:4] == [
        "features.0.weight",
        "features.0.bias",
        "features.3.weight",
        "features.3.bias",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "conv1d-lstm"])
def test_sequence_models_train_resume_and_predict(model: str, separable, tmp_path) -> None:
    """The seed's sequence models through the same loop, run format and predict: default
    features (MFCC; 40 for conv1d-lstm), interrupt after epoch 1, resume, score files."""
    from dfaudio.training.fit_torch import TrainingInterrupted, fit_torch, resume_torch

    cfg = _cfg(separable, model=model, feature=None, feature_params={}, epochs=2)
    assert cfg.feature == "mfcc"

    def stop(epoch: int, record: dict) -> None:
        raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        fit_torch(cfg, runs_dir=tmp_path, progress=False, on_epoch_end=stop)
    (run_dir,) = tmp_path.iterdir()
    res = resume_torch(run_dir, progress=False)
    m = _check_run(res.run_dir, model=model, feature="mfcc")
    assert [h["epoch"] for h in m["history"]] == [1, 2]
    assert m["input_shape"] == [1, 40 if model == "conv1d-lstm" else 20, 16]
    pred = _predictor(res.run_dir)
    scores = pd.read_csv(res.run_dir / "scores.csv")
    np.testing.assert_allclose(
        _first_window_scores(pred, scores["file"]), scores["score"], rtol=1e-4, atol=1e-4
    )


def test_freeze_everything_is_refused(separable, tmp_path) -> None:
    args = [
        "fit-deep",
        "--data",
        str(separable),
        "--runs-dir",
        str(tmp_path),
        "--no-cache",
        "--model",
        "simple-ann",
        "--max-duration-s",
        "0.5",
        "--freeze",
        "8",
        "-q",
    ]
    r = CliRunner().invoke(main_cli, args)
    assert r.exit_code == 2
    assert "error: --freeze 8 would freeze all 8 parameter tensors of simple-ann" in r.output
    assert not list(tmp_path.iterdir())  # nothing written


def test_stream_scores_a_clip_shorter_than_the_window_like_file_mode(separable_run, separable):
    """predict --stream used to refuse a clip shorter than the model's window that file mode
    repeat-pads; both now give the same single score."""
    from dfaudio.io.audio import load

    short = separable / "real" / "r00.wav"  # 0.3 s, the window is 0.5 s
    pred = _predictor(separable_run.run_dir)
    file_score = pred.score_file(short)
    assert file_score.n_windows == 1 and "repeat-padded" in " ".join(file_score.notes)
    y, sr = load(short, sr=None)
    chunks = list(pred.stream((y[i : i + 1000] for i in range(0, len(y), 1000)), sr=sr))
    assert len(chunks) == 1 and pred.stream_tail_s == 0.0
    assert chunks[0].score == pytest.approx(file_score.score, rel=1e-5, abs=1e-5)
    assert chunks[0].verdict == file_score.verdict
    # a long stream still scores whole windows only (the tail is not padded)
    long = separable / "real" / "r11.wav"  # 1.1 s -> 2 windows + 0.1 s tail
    y, sr = load(long, sr=None)
    assert len(list(pred.stream([y], sr=sr))) == 2 and pred.stream_tail_s == pytest.approx(0.1)
    r = CliRunner().invoke(
        main_cli, ["predict", str(separable_run.run_dir), str(short), "--stream"]
    )
    assert r.exit_code == 0, r.output
    assert "stream ended before" not in r.output
