"""Hostile and careless inputs (issue 13): no code runs from a run folder, no user work is lost,
no silently wrong number, and every bad input is one ``error:`` line, never a traceback.

The groups follow docs/reliability.md, which lists every case and its outcome:

1. code execution: crafted skops files (an extra ``builtins.exec``/``eval`` node with the checksum
   recomputed, a plain pickle renamed ``model.skops``) whose payload would create a marker file;
2. lost or silently wrong work: ``demo --force``, tampered model files, NaN scores, EER on hard
   decisions, non-finite thresholds, symlinks in folder layouts;
3. one-line errors: full or read-only disks, broken model and run files, bad usage values;
4. unclear or nonsense-accepting inputs.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from dfaudio.exceptions import DataError

# ------------------------------------------------------------------------------ helpers


def _tiny_xy(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 26))
    y = np.r_[np.zeros(n // 2), np.ones(n - n // 2)].astype(int)
    X[y == 1] += 0.8  # separable enough for every model to fit something
    return X, y


class _Payload:
    """Pickled, this creates ``marker`` on load: the proof that a file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.marker, "w"))


def _inject_skops_call(path: Path, func: str, code: str) -> None:
    """Add one attribute built as ``builtins.<func>(code)`` to the top estimator of a skops file.

    This is the attack of issue 13: a ``ConstructorFromReduceNode`` of type ``builtins.exec``
    calls ``exec(code)`` while the file is loaded.
    """
    with zipfile.ZipFile(path) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    schema = json.loads(files["schema.json"])
    attrs = schema["content"]  # the estimator's attribute dict (a DictNode)
    attrs["content"]["evil"] = {
        "__class__": func,
        "__module__": "builtins",
        "__loader__": "ConstructorFromReduceNode",
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": [
                {
                    "__class__": "str",
                    "__module__": "builtins",
                    "__loader__": "JsonNode",
                    "content": json.dumps(code),
                    "is_json": True,
                }
            ],
        },
    }
    keys = attrs["key_types"]["content"]
    keys.append(dict(keys[0]))  # one more key type (str) for the added key
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def _rehash(run_dir: Path) -> None:
    """Recompute the sha256 in model.json, as whoever edits the folder can."""
    from dfaudio.models.persist import sha256

    info = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
    info["sha256"] = sha256(run_dir / info["file"])
    (run_dir / "model.json").write_text(json.dumps(info), encoding="utf-8")


@pytest.fixture
def logreg_run(tmp_path: Path) -> Path:
    """A minimal sklearn run folder (config, metrics, model) holding a fitted logreg."""
    from dfaudio.models.persist import save_sklearn
    from dfaudio.models.sklearn_zoo import make_model
    from dfaudio.schema import DEEP_VOICE_FEATURES

    run = tmp_path / "run"
    run.mkdir()
    X, y = _tiny_xy()
    save_sklearn(make_model("logreg").fit(X, y), run, extra={"model": "logreg"})
    config = {"kind": "sklearn", "model": "logreg", "feature_columns": DEEP_VOICE_FEATURES}
    (run / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({"eer_threshold": 0.0}), encoding="utf-8")
    return run


def _demo_wav() -> str:
    from dfaudio.cli.demo import demo_data_dir

    return str(Path(demo_data_dir()) / "real" / "LJ001-0001.wav")


def _invoke(args: list[str]) -> Any:
    from dfaudio.cli.main import cli

    return CliRunner().invoke(cli, args)


def _one_error_line(result: Any) -> str:
    """The CLI failed with exit 2 and exactly one ``error:`` line, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


# ============================================================ 1. code execution


@pytest.mark.parametrize("func", ["exec", "eval"])
def test_skops_with_injected_call_is_refused_by_name(
    logreg_run: Path, tmp_path: Path, func: str
) -> None:
    from dfaudio.models.persist import load_sklearn

    marker = tmp_path / "PWNED"
    code = f"open({str(marker)!r}, 'w')"
    _inject_skops_call(logreg_run / "model.skops", func, code)
    _rehash(logreg_run)  # the checksum matches: it must not grant trust
    with pytest.raises(DataError, match=rf"refusing to load type builtins\.{func} ") as err:
        load_sklearn(logreg_run)
    assert "--trust" in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists()
    # the same through the CLI: one line, exit 2, payload not run
    line = _one_error_line(_invoke(["predict", str(logreg_run), _demo_wav()]))
    assert f"builtins.{func}" in line and "not written by dfaudio" in line
    assert not marker.exists()


def test_crafted_skops_payload_is_live(logreg_run: Path, tmp_path: Path) -> None:
    """Control: the crafted file really runs its payload once the user passes trust=True.

    Without this, the refusal test above could pass on a file that never ran anything.
    """
    from dfaudio.models.persist import load_sklearn

    marker = tmp_path / "PWNED"
    _inject_skops_call(logreg_run / "model.skops", "exec", f"open({str(marker)!r}, 'w')")
    load_sklearn(logreg_run, trust=True)
    assert marker.exists()


def test_allowed_type_under_another_node_kind_is_refused(logreg_run: Path) -> None:
    """A type dfaudio writes, but built another way (str as a reduce call), is refused too."""
    from dfaudio.models.persist import load_sklearn

    _inject_skops_call(logreg_run / "model.skops", "str", "harmless")
    _rehash(logreg_run)
    with pytest.raises(DataError, match=r"builtins\.str as ConstructorFromReduceNode"):
        load_sklearn(logreg_run)


@pytest.mark.parametrize("trust", [False, True])
def test_pickle_renamed_model_skops_never_runs(
    logreg_run: Path, tmp_path: Path, trust: bool
) -> None:
    from dfaudio.models.persist import load_sklearn

    marker = tmp_path / "PWNED"
    (logreg_run / "model.skops").write_bytes(pickle.dumps(_Payload(marker)))
    _rehash(logreg_run)
    with pytest.raises(DataError, match=r"not a skops file \(not a zip archive"):
        load_sklearn(logreg_run, trust=trust)
    assert not marker.exists()
    cmd = ["predict", str(logreg_run), _demo_wav()] + (["--trust"] if trust else [])
    assert "model.skops: not a skops file" in _one_error_line(_invoke(cmd))
    assert not marker.exists()


def test_model_name_outside_the_zoo_is_refused(logreg_run: Path) -> None:
    from dfaudio.models.persist import load_sklearn

    info = json.loads((logreg_run / "model.json").read_text(encoding="utf-8"))
    info["model"] = "my-own-model"
    (logreg_run / "model.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(DataError, match="names model 'my-own-model'"):
        load_sklearn(logreg_run)
    assert load_sklearn(logreg_run, trust=True) is not None


def _sklearn_zoo() -> list[str]:
    from dfaudio.models.persist import SKOPS_ALLOWED
    from dfaudio.models.sklearn_zoo import model_names

    slow = {"hist-gb", "gradient-boosting"}  # a few seconds each on 2 busy cores
    names = [n for n in model_names() if n != "xgboost"]
    names += sorted(set(SKOPS_ALLOWED) - set(model_names()))
    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in names]


@pytest.mark.parametrize("name", _sklearn_zoo())
def test_skops_allow_list_matches_every_zoo_model(tmp_path: Path, name: str) -> None:
    """Every zoo model fitted on tiny data writes only pairs of its allow-list, and loads.

    When this fails after adding a zoo model or upgrading scikit-learn, the message prints the
    pairs to add to ``dfaudio.models.persist.SKOPS_ALLOWED`` (after checking they are safe).
    """
    from dfaudio.models.persist import SKOPS_ALLOWED, load_sklearn, save_sklearn, skops_types
    from dfaudio.models.sklearn_zoo import make_model, model_names

    assert name in model_names(), f"SKOPS_ALLOWED names {name!r}, which is not in the zoo"
    X, y = _tiny_xy()
    est = make_model(name).fit(X, y)
    path = save_sklearn(est, tmp_path, extra={"model": name})
    missing = sorted(skops_types(path) - SKOPS_ALLOWED.get(name, frozenset()))
    assert not missing, f"add to SKOPS_ALLOWED[{name!r}]: {missing}"
    back = load_sklearn(tmp_path)
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


# ============================================================ 2. lost or silently wrong work
# ---- demo --force replaces only what demo wrote


def _fake_earlier_demo(out: Path) -> None:
    """What an earlier demo leaves: table.csv, runs/<run>, and the marker listing them."""
    from dfaudio.cli.demo import DEMO_MARKER
    from dfaudio.models.persist import sha256

    (out / "runs" / "20260101-000000-lda-demo").mkdir(parents=True)
    (out / "runs" / "20260101-000000-lda-demo" / "metrics.json").write_text("{}")
    (out / "table.csv").write_text("a,b\n1,2\n")
    written = {"table.csv": sha256(out / "table.csv"), "runs/20260101-000000-lda-demo": None}
    (out / DEMO_MARKER).write_text(json.dumps({"written": written}))


@pytest.mark.parametrize(
    ("user_file", "named"),
    [
        ("runs/my-own-run/metrics.json", "runs/my-own-run"),
        ("notes.txt", "notes.txt"),
        ("table.csv", "table.csv (changed since demo wrote it)"),
    ],
)
def test_demo_force_never_deletes_user_files(tmp_path: Path, user_file: str, named: str) -> None:
    out = tmp_path / "demo"
    _fake_earlier_demo(out)
    (out / user_file).parent.mkdir(parents=True, exist_ok=True)
    (out / user_file).write_text("mine")
    before = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    line = _one_error_line(_invoke(["demo", "--out", str(out), "--force"]))
    assert "replaces only what dfaudio demo wrote" in line and named in line
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == before
    assert (out / user_file).read_text() == "mine"


def test_demo_force_without_marker_refuses(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    (out / "runs" / "precious").mkdir(parents=True)
    (out / "table.csv").write_text("my table")
    line = _one_error_line(_invoke(["demo", "--out", str(out), "--force"]))
    assert "table.csv" in line and "runs/precious" in line
    assert (out / "table.csv").read_text() == "my table" and (out / "runs" / "precious").is_dir()


def test_hostile_demo_marker_cannot_point_outside(tmp_path: Path) -> None:
    from dfaudio.cli.demo import DEMO_MARKER, clear_earlier_demo
    from dfaudio.exceptions import ParameterError

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    out = tmp_path / "demo"
    out.mkdir()
    (out / "link").symlink_to(victim)
    marker = {"written": {"../victim.txt": None, "/etc/passwd": None, "link": None}}
    (out / DEMO_MARKER).write_text(json.dumps(marker))
    clear_earlier_demo(out, force=True)  # 'link' is demo's: the link goes, not its target
    assert victim.read_text() == "keep" and not (out / "link").exists()
    (out / "other").symlink_to(victim)
    with pytest.raises(ParameterError, match="not deleting other"):
        clear_earlier_demo(out, force=True)
    assert victim.read_text() == "keep"


@pytest.mark.slow
def test_demo_force_replaces_its_own_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dfaudio.cli.demo as demo

    monkeypatch.setattr(demo, "DEMO_MODELS", ("lda",))  # one fast model is enough here
    out = tmp_path / "demo"
    first = _invoke(["demo", "--out", str(out)])
    assert first.exit_code == 0, first.output
    marker = json.loads((out / demo.DEMO_MARKER).read_text())["written"]
    (run1,) = [k for k in marker if k.startswith("runs/")]
    assert (out / run1 / "metrics.json").is_file() and marker["table.csv"]
    second = _invoke(["demo", "--out", str(out), "--force"])
    assert second.exit_code == 0, second.output
    marker2 = json.loads((out / demo.DEMO_MARKER).read_text())["written"]
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert [k for k in marker2 if k.startswith("runs/")] == [f"runs/{r}" for r in runs]
    assert len(runs) == 1  # the first run was replaced, not kept beside the new one


# ---- symbolic links in folder layouts


@pytest.fixture
def linked_tree(tmp_path: Path) -> Path:
    """real/{a,b}.wav, fake/c.wav and every kind of hostile link beside them."""
    from tests.conftest import tone, write_wav

    root = tmp_path / "data"
    for rel in ("real/a.wav", "real/b.wav", "fake/c.wav"):
        write_wav(root / rel, tone(440.0, duration_s=0.3), 16000)
    write_wav(tmp_path / "outside" / "d.wav", tone(220.0, duration_s=0.3), 16000)
    (root / "fake" / "up").symlink_to("..")  # the case: bona fide files again, as spoof
    (root / "real" / "root").symlink_to("/")  # must not walk the file system
    (root / "fake" / "alias").symlink_to("../real")
    (root / "real" / "copy.wav").symlink_to("../fake/c.wav")  # one file, two classes
    (root / "real" / "dangling.wav").symlink_to("nowhere.wav")
    (root / "real" / "loop1").symlink_to("loop2")
    (root / "real" / "loop2").symlink_to("loop1")
    (root / "real" / "ext").symlink_to(tmp_path / "outside")  # a corpus kept elsewhere
    return root


def test_symlinks_neither_duplicate_nor_escape(linked_tree: Path) -> None:
    import warnings

    from dfaudio.datasets.folders import from_folders
    from dfaudio.exceptions import DfaudioWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = from_folders(linked_tree)
    rel = dict(zip((str(Path(p).relative_to(linked_tree)) for p in df.path), df.label, strict=True))
    assert rel == {
        "real/a.wav": "bonafide",
        "real/b.wav": "bonafide",
        "fake/c.wav": "spoof",
        "real/ext/d.wav": "bonafide",  # followed out of the folder, with a warning
    }
    text = "\n".join(str(w.message) for w in caught if issubclass(w.category, DfaudioWarning))
    assert "fake/up" in text and "holds the input folder" in text
    assert "real/root -> /" in text
    assert "fake/alias" in text and "inside the input folder" in text
    assert "real/copy.wav (same file as" in text and "bonafide here, spoof there" in text
    assert "dangling.wav: dangling link" in text
    assert "loop1: symbolic link loop" in text
    assert "real/ext" in text and "followed a link out of the input folder" in text


def test_symlink_warnings_reach_the_cli(linked_tree: Path, tmp_path: Path) -> None:
    res = _invoke(["tabulate", str(linked_tree), "-o", str(tmp_path / "t.csv"), "-q"])
    assert res.exit_code == 0, res.output
    warns = [ln for ln in res.output.splitlines() if ln.startswith("warning:")]
    assert any("dangling link" in w for w in warns) and any("real/root -> /" in w for w in warns)
    import pandas as pd

    assert sorted(pd.read_csv(tmp_path / "t.csv")["label"].value_counts().to_dict().items()) == [
        ("bonafide", 3),
        ("spoof", 1),
    ]


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        ("([", "is not a valid regular expression"),
        ("LJ", "has no capture group"),
        ("(zzz)", "matches none of the 3 file names"),
    ],
)
def test_bad_group_regex_is_one_line(tmp_path: Path, regex: str, expected: str) -> None:
    from tests.conftest import tone, write_wav

    for rel in ("real/a.wav", "real/b.wav", "fake/c.wav"):
        write_wav(tmp_path / "d" / rel, tone(440.0, duration_s=0.3), 16000)
    out = tmp_path / "t.csv"
    res = _invoke(["tabulate", str(tmp_path / "d"), "-o", str(out), "--group-regex", regex])
    assert expected in _one_error_line(res)
    assert not out.exists()


# ---- non-finite scores and thresholds


def test_nan_weights_never_give_a_verdict(tmp_path: Path) -> None:
    from dfaudio.models.persist import save_sklearn
    from dfaudio.models.sklearn_zoo import make_model
    from dfaudio.schema import DEEP_VOICE_FEATURES

    run = tmp_path / "run"
    run.mkdir()
    X, y = _tiny_xy()
    est = make_model("logreg").fit(X, y)
    est[-1].coef_[:] = np.nan  # what a diverged training leaves behind
    save_sklearn(est, run, extra={"model": "logreg"})  # checksum of the NaN model: it loads
    config = {"kind": "sklearn", "model": "logreg", "feature_columns": DEEP_VOICE_FEATURES}
    (run / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({"eer_threshold": 0.0}), encoding="utf-8")
    wav = Path(_demo_wav())
    res = _invoke(["predict", str(run), str(wav), str(wav.parent / "LJ001-0002.wav")])
    assert res.exit_code == 2, res.output
    warns = [ln for ln in res.output.splitlines() if ln.startswith("warning:")]
    assert len(warns) == 2 and all("non-finite score" in w for w in warns)
    assert "bonafide" not in res.output and "spoof " not in res.output
    assert "no file could be scored (2 failed)" in res.output


class _HalfNaNBackend:
    """Scores NaN for files whose name holds 'bad', 1.0 otherwise."""

    kind = "sklearn"
    window_s = 1.0
    sr = None
    rate_reason = "test"

    def score_file(self, path: str, *, sr: int | None = None) -> Any:
        from dfaudio.scoring.backends import WindowScores

        s = np.nan if "bad" in Path(path).name else 1.0
        return WindowScores(np.array([s, 1.0]), np.array([0.0, 1.0]), 2.0, [])


def test_nan_score_fails_that_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dfaudio.scoring as scoring
    from dfaudio.scoring.predictor import Predictor
    from tests.conftest import tone, write_wav

    good = write_wav(tmp_path / "real" / "good.wav", tone(440.0, duration_s=2.0), 16000)
    bad = write_wav(tmp_path / "real" / "bad.wav", tone(440.0, duration_s=2.0), 16000)
    pred = Predictor(
        _HalfNaNBackend(), run_dir=tmp_path, model="m", threshold=0.0, threshold_source="test"
    )
    monkeypatch.setattr(scoring, "load_predictor", lambda *a, **k: pred)
    out = tmp_path / "scores.txt"
    res = _invoke(["predict", str(tmp_path), str(good), str(bad), "--scores-out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"warning: {bad}: non-finite score" in res.output
    assert "1 scored, 1 failed" in res.output
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and lines[0].endswith("good.wav - bonafide 1.000000")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_threshold_is_refused(logreg_run: Path, value: str) -> None:
    line = _one_error_line(_invoke(["predict", str(logreg_run), _demo_wav(), "--threshold", value]))
    assert "threshold" in line and "finite" in line
    scores = logreg_run / "scores.txt"
    scores.write_text("a - bonafide 0.5\nb - spoof -0.5\nc - bonafide 0.7\nd - spoof 0.1\n")
    line = _one_error_line(_invoke(["evaluate", str(scores), "--threshold", value]))
    assert "--threshold" in line and "finite" in line


def test_non_numeric_run_threshold_names_the_file(logreg_run: Path) -> None:
    (logreg_run / "metrics.json").write_text(json.dumps({"eer_threshold": "low"}))
    line = _one_error_line(_invoke(["predict", str(logreg_run), _demo_wav()]))
    assert "metrics.json: eer_threshold 'low' is not a finite number" in line


# ---- evaluate: hard decisions, standard input, pipes, devices


_HARD = "a - bonafide 1\nb - spoof 0\nc - bonafide 0\nd - spoof 0\ne - bonafide 1\n"
_SOFT = "a - bonafide 0.9\nb - spoof 0.1\nc - bonafide 0.4\nd - spoof 0.2\ne - bonafide 1\n"


@pytest.mark.parametrize(("text", "n"), [(_HARD, 2), (_HARD.replace(" 0\n", " 1\n"), 1)])
def test_eer_of_hard_decisions_warns_loudly(tmp_path: Path, text: str, n: int) -> None:
    path = tmp_path / "decisions.txt"
    path.write_text(text)
    res = CliRunner().invoke(_cli(), ["evaluate", str(path)])
    assert res.exit_code == 0, res.output
    (warn,) = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert f"only {n} distinct value" in warn and "hard decisions" in warn
    res_json = CliRunner().invoke(_cli(), ["evaluate", str(path), "--json"])
    assert any("hard decisions" in w for w in json.loads(res_json.stdout)["warnings"])
    soft = tmp_path / "soft.txt"
    soft.write_text(_SOFT)
    assert "warning" not in CliRunner().invoke(_cli(), ["evaluate", str(soft)]).stderr


def _cli() -> Any:
    from dfaudio.cli.main import cli

    return cli


def test_evaluate_reads_standard_input() -> None:
    res = CliRunner().invoke(_cli(), ["evaluate", "-", "--json"], input=_SOFT)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n_bonafide"] == 3
    bad = CliRunner().invoke(_cli(), ["evaluate", "-"], input="x y\n")
    line = _one_error_line(bad)
    assert line.startswith("error: <stdin>: line 1") and "/tmp" not in line


def test_evaluate_reads_a_pipe_and_names_devices(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "scores.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text(_SOFT))
    writer.start()
    res = _invoke(["evaluate", str(fifo), "--json"])
    writer.join(timeout=10)
    assert res.exit_code == 0, res.output
    line = _one_error_line(_invoke(["evaluate", "/dev/null"]))
    assert "/dev/null: no data (a character device gave 0 bytes)" in line


def test_evaluate_plot_at_an_existing_file_is_refused_first(tmp_path: Path) -> None:
    scores = tmp_path / "s.txt"
    scores.write_text(_HARD)
    line = _one_error_line(_invoke(["evaluate", str(scores), "--plot", str(scores)]))
    assert "--plot" in line and "takes a folder" in line
    assert scores.read_text() == _HARD


# ============================================================ 3. broken model and run files


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished one-epoch simple-ann run on 8 tiny synthetic clips."""
    from dfaudio.deep.config import DeepConfig
    from dfaudio.training.fit_torch import fit_torch
    from tests.conftest import write_wav

    root = tmp_path_factory.mktemp("torchdata")
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000
    for i in range(4):
        write_wav(root / "real" / f"r{i}.wav", 0.3 * np.sin(2 * np.pi * (200 + 40 * i) * t), 16000)
        write_wav(root / "fake" / f"f{i}.wav", 0.1 * rng.standard_normal(t.size), 16000)
    cfg = DeepConfig(
        model="simple-ann",
        feature="mel",
        feature_params={"n_mels": 16},
        data=[str(root)],
        max_duration_s=0.5,
        epochs=1,
        batch_size=4,
        cache_dir=None,
        device="cpu",
        seed=0,
        test_size=0.25,
        dev_size=0.25,
    )
    res = fit_torch(cfg, runs_dir=tmp_path_factory.mktemp("runs"), progress=False)
    assert res.run_dir is not None
    return Path(res.run_dir)


@pytest.fixture
def torch_copy(torch_run: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(torch_run, tmp_path / "run"))


def _flip_bytes(path: Path, at: float = 0.9) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i : i + 8] = bytes(b ^ 0xFF for b in data[i : i + 8])
    path.write_bytes(bytes(data))


def test_torch_run_records_and_checks_its_weights_checksum(torch_copy: Path) -> None:
    from dfaudio.models.persist import sha256

    info = json.loads((torch_copy / "model.json").read_text())
    assert info["sha256"] == sha256(torch_copy / "model.safetensors")
    assert _invoke(["predict", str(torch_copy), _demo_wav()]).exit_code == 0
    _flip_bytes(torch_copy / "model.safetensors")
    line = _one_error_line(_invoke(["predict", str(torch_copy), _demo_wav()]))
    assert "model.safetensors: model file does not match the checksum" in line
    assert "re-fit the model, or pass --trust" in line


def _sk_run(tmp_path: Path, name: str) -> Path:
    """A minimal run folder holding zoo model ``name`` fitted on tiny data."""
    from dfaudio.models.persist import save_sklearn
    from dfaudio.models.sklearn_zoo import make_model
    from dfaudio.schema import DEEP_VOICE_FEATURES

    run = tmp_path / f"run-{name}"
    run.mkdir()
    X, y = _tiny_xy()
    save_sklearn(make_model(name).fit(X, y), run, extra={"model": name})
    config = {"kind": "sklearn", "model": name, "feature_columns": DEEP_VOICE_FEATURES}
    (run / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps({"eer_threshold": 0.0}), encoding="utf-8")
    return run


def _edit_json(path: Path, fn: Any) -> None:
    path.write_text(json.dumps(fn(json.loads(path.read_text(encoding="utf-8")))))


def _drop(key: str) -> Any:
    return lambda d: {k: v for k, v in d.items() if k != key}


_MODEL_FILE = {"logreg": "model.skops", "xgboost": "model.ubj", "torch": "model.safetensors"}

#: (id, run, change, --trust?, what the one error line says)
BROKEN_RUNS = [
    ("skops-flipped", "logreg", lambda r: _flip_bytes(r / "model.skops"), False, "checksum"),
    (
        "skops-flipped-trusted",
        "logreg",
        lambda r: _flip_bytes(r / "model.skops", 0.5),
        True,
        "model.skops:",
    ),
    ("skops-empty", "logreg", lambda r: (r / "model.skops").write_bytes(b""), False, "checksum"),
    (
        "skops-empty-trusted",
        "logreg",
        lambda r: (r / "model.skops").write_bytes(b""),
        True,
        "not a skops file",
    ),
    ("ubj-flipped", "xgboost", lambda r: _flip_bytes(r / "model.ubj"), False, "checksum"),
    (
        "ubj-empty-trusted",
        "xgboost",
        lambda r: (r / "model.ubj").write_bytes(b""),
        True,
        "XGBoost cannot read this model file",
    ),
    (
        "model-json-list",
        "logreg",
        lambda r: (r / "model.json").write_text("[1, 2]"),
        False,
        "model.json: expected a JSON object, found list",
    ),
    (
        "model-json-no-format",
        "logreg",
        lambda r: _edit_json(r / "model.json", _drop("format")),
        False,
        "unknown model format None",
    ),
    (
        "model-json-no-sha256",
        "xgboost",
        lambda r: _edit_json(r / "model.json", _drop("sha256")),
        False,
        "records no sha256",
    ),
    (
        "model-json-file-elsewhere",
        "logreg",
        lambda r: _edit_json(r / "model.json", lambda d: {**d, "file": "../../etc/passwd"}),
        True,
        "is not the model.skops dfaudio writes",
    ),
    (
        "config-short-columns",
        "logreg",
        lambda r: _edit_json(
            r / "config.json", lambda d: {**d, "feature_columns": d["feature_columns"][:20]}
        ),
        False,
        "config.json: feature_columns lists 20 columns but the model was fitted on 26",
    ),
    (
        "config-list",
        "logreg",
        lambda r: (r / "config.json").write_text("[]"),
        False,
        "config.json: expected a JSON object",
    ),
    (
        "metrics-not-json",
        "xgboost",
        lambda r: (r / "metrics.json").write_text("{oops"),
        False,
        "metrics.json: invalid JSON",
    ),
    (
        "threshold-not-numeric",
        "logreg",
        lambda r: _edit_json(r / "metrics.json", lambda d: {**d, "eer_threshold": "low"}),
        False,
        "eer_threshold 'low' is not a finite number",
    ),
    (
        "torch-empty-trusted",
        "torch",
        lambda r: (r / "model.safetensors").write_bytes(b""),
        True,
        "model.safetensors: cannot load the weights",
    ),
    (
        "torch-pickle-trusted",
        "torch",
        lambda r: (r / "model.safetensors").write_bytes(pickle.dumps(_Payload(r / "PWNED"))),
        True,
        "model.safetensors: cannot load the weights",
    ),
    (
        "torch-other-architecture",
        "torch",
        lambda r: _edit_json(r / "model.json", lambda d: {**d, "model": "simple-cnn"}),
        False,
        "model.safetensors: cannot load the weights into the recorded model",
    ),
    (
        "torch-no-timefreq",
        "torch",
        lambda r: _edit_json(r / "model.json", _drop("timefreq")),
        False,
        "model.json is incomplete",
    ),
]


@pytest.mark.parametrize(
    ("kind", "change", "trust", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in BROKEN_RUNS],
)
def test_broken_run_files_are_one_line(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kind: str,
    change: Any,
    trust: bool,
    expected: str,
) -> None:
    if kind == "torch":
        run = request.getfixturevalue("torch_copy")
    else:
        run = _sk_run(tmp_path, kind)
    change(run)
    line = _one_error_line(
        _invoke(["predict", str(run), _demo_wav()] + (["--trust"] if trust else []))
    )
    assert expected in line
    assert not (run / "PWNED").exists()
    if expected == "checksum":
        assert f"{_MODEL_FILE[kind]}: model file does not match the checksum" in line
        assert "re-fit the model, or pass --trust" in line


def test_nan_torch_weights_fail_each_file(torch_copy: Path) -> None:
    from safetensors.torch import load_file, save_file

    from dfaudio.models.persist import sha256

    path = torch_copy / "model.safetensors"
    weights = load_file(str(path))
    save_file({k: v * float("nan") for k, v in weights.items()}, str(path))
    _edit_json(torch_copy / "model.json", lambda d: {**d, "sha256": sha256(path)})
    res = _invoke(["predict", str(torch_copy), _demo_wav()])
    assert res.exit_code == 2 and "non-finite score" in res.output
    assert "bonafide" not in res.output.replace("bona fide", "")


def _unfinished(run: Path) -> Path:
    (run / "metrics.json").unlink()
    return run


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (lambda p: p.write_bytes(b"PK\x03\x04truncated"), "checkpoint.pt: cannot be read"),
        (lambda p: __import__("torch").save({"weights": 1}, p), "not a dfaudio checkpoint"),
        (lambda p: p.write_bytes(pickle.dumps(_Payload(p.parent / "PWNED"))), "cannot be read"),
    ],
    ids=["truncated", "foreign", "pickle"],
)
def test_resume_from_a_broken_checkpoint_is_one_line(
    torch_copy: Path, payload: Any, expected: str
) -> None:
    run = _unfinished(torch_copy)
    payload(run / "checkpoint.pt")
    line = _one_error_line(_invoke(["fit-deep", "--resume", str(run), "-q"]))
    assert expected in line
    assert not (run / "PWNED").exists()


def test_resume_with_a_checkpoint_of_another_model_is_one_line(torch_copy: Path) -> None:
    import torch

    run = _unfinished(torch_copy)
    ckpt = {k: {} for k in ("optimizer", "scaler", "best", "rng")}
    ckpt.update(model={"other.weight": torch.zeros(3, 3)}, epoch=1, history=[], bad_epochs=0)
    torch.save(ckpt, run / "checkpoint.pt")
    line = _one_error_line(_invoke(["fit-deep", "--resume", str(run), "-q"]))
    assert "checkpoint.pt: does not fit this run" in line


# ---- compare: bad metrics.json, hostile names, NaN metrics, wrong arguments


def _metrics_run(runs: Path, name: str, **fields: Any) -> Path:
    run = runs / name
    run.mkdir(parents=True)
    m = {
        "model": "logreg",
        "kind": "sklearn",
        "features": "deep-voice",
        "data": "demo",
        "split_type": "grouped",
        "metrics_schema": 2,
        "eer": 0.1,
        "accuracy": 0.9,
        "roc_auc": 0.95,
        "n_bonafide": 40,
        "n_spoof": 40,
        "n_rows": 80,
    }
    m.update(fields)
    (run / "metrics.json").write_text(json.dumps(m), encoding="utf-8")
    return run


def test_compare_skips_unusable_metrics_and_escapes_names(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _metrics_run(runs, "good")
    _metrics_run(runs, "listy", eer=[0.1, 0.2])
    (_metrics_run(runs, "latin1") / "metrics.json").write_bytes(b'{"model": "caf\xe9"}')
    _metrics_run(runs, "hostile", model="a|b\nc\x1b[31mred")
    (runs / "nan" / "metrics.json").parent.mkdir()
    (runs / "nan" / "metrics.json").write_text(
        json.dumps({"model": "nanny", "data": "demo", "n_bonafide": 40, "n_spoof": 40}).replace(
            "}", ', "eer": NaN, "accuracy": Infinity}'
        )  # json.loads reads both
    )
    res = CliRunner().invoke(_cli(), ["compare", str(runs), "--format", "markdown"])
    assert res.exit_code == 0, res.output
    skipped = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: skipped")]
    assert len(skipped) == 2
    assert any("listy" in s and "unusable values" in s for s in skipped)
    assert any("latin1" in s and "not UTF-8" in s for s in skipped)
    import re

    table = res.stdout.splitlines()
    pipes = [len(re.findall(r"(?<!\\)\|", row)) for row in table]  # unescaped cell borders
    assert len(set(pipes)) == 1, table  # no row broken by a | or a newline in a name
    assert "\x1b" not in res.stdout and "a\\|b\\nc\\x1b[31mred" in res.stdout
    (nan_row,) = [r for r in table if "nanny" in r]
    assert "| nan |" in nan_row and "inf" not in nan_row
    term = CliRunner().invoke(_cli(), ["compare", str(runs)])
    assert "\x1b" not in term.stdout and "a|b\\nc\\x1b[31mred" in term.stdout


def test_compare_argument_mistakes_are_one_line(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _metrics_run(runs, "good")
    line = _one_error_line(_invoke(["compare", str(runs / "good" / "metrics.json")]))
    assert "not a folder" in line
    line = _one_error_line(_invoke(["compare", str(runs), "--data", "nope"]))
    assert "no run on data 'nope' (the runs here are on: demo)" in line
    html = tmp_path / "r.html"
    html.write_text("mine")
    line = _one_error_line(_invoke(["compare", str(runs), "--html", str(html)]))
    assert "already exists" in line and html.read_text() == "mine"


# ---- full disks, read-only folders, outputs in the way


@pytest.fixture
def tiny_table(tmp_path: Path) -> Path:
    """A valid feature table: 10 recordings x 4 windows of random features."""
    import pandas as pd

    from dfaudio.schema import DEEP_VOICE_FEATURES

    rng = np.random.default_rng(1)
    n = 40
    df = pd.DataFrame(
        rng.standard_normal((n, len(DEEP_VOICE_FEATURES))), columns=DEEP_VOICE_FEATURES
    )
    df["label"] = ["bonafide" if i % 10 < 5 else "spoof" for i in range(n)]
    df["file"] = [f"rec{i % 10}.wav" for i in range(n)]
    df["group"] = [f"rec{i % 10}" for i in range(n)]
    df["start_s"] = [float(i // 10) for i in range(n)]
    path = tmp_path / "table.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture
def tiny_audio(tmp_path: Path) -> Path:
    from tests.conftest import tone, write_wav

    root = tmp_path / "audio"
    for rel in ("real/a.wav", "real/b.wav", "fake/c.wav"):
        write_wav(root / rel, tone(440.0, duration_s=1.2), 16000)
    return root


def _outputs(tmp: Path, table: Path, audio: Path, run: Path) -> dict[str, tuple[list[str], str]]:
    """command -> (arguments writing under tmp/out, the function doing the work)."""
    scores = tmp / "s.txt"
    scores.write_text(_SOFT)
    runs = tmp / "runs"
    _metrics_run(runs, "r")
    out = tmp / "out"
    return {
        "tabulate": (
            ["tabulate", str(audio), "-o", str(out / "t.csv")],
            "dfaudio.tabular.tabulate",
        ),
        "fit-sklearn": (
            ["fit-sklearn", "--data", str(table), "--model", "lda", "--runs-dir", str(out)],
            "dfaudio.training.fit_sklearn.fit_sklearn",
        ),
        "fit-deep": (
            ["fit-deep", "--model", "simple-ann", "--data", str(audio), "--runs-dir", str(out)],
            "dfaudio.training.fit_torch.fit_torch",
        ),
        "fit-deep --cache-dir": (
            [
                "fit-deep",
                "--model",
                "simple-ann",
                "--data",
                str(audio),
                "--cache-dir",
                str(out),
                "--runs-dir",
                str(tmp / "elsewhere"),
            ],
            "dfaudio.training.fit_torch.fit_torch",
        ),
        "predict --scores-out": (
            ["predict", str(run), _demo_wav(), "--scores-out", str(out / "s.txt")],
            "dfaudio.scoring.load_predictor",
        ),
        "evaluate --plot": (
            ["evaluate", str(scores), "--plot", str(out / "plots")],
            "dfaudio.evaluation.evaluate_scores",
        ),
        "compare --html": (
            ["compare", str(runs), "--html", str(out / "r.html")],
            "dfaudio.runs.leaderboard.collect",
        ),
        "demo": (["demo", "--out", str(out / "demo")], "dfaudio.tabular.tabulate"),
    }


_COMMANDS = [
    "tabulate",
    "fit-sklearn",
    "fit-deep",
    "fit-deep --cache-dir",
    "predict --scores-out",
    "evaluate --plot",
    "compare --html",
    "demo",
]


@pytest.mark.parametrize("command", _COMMANDS)
def test_read_only_output_fails_before_the_work(
    command: str,
    tmp_path: Path,
    tiny_table: Path,
    tiny_audio: Path,
    logreg_run: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import errno
    import tempfile

    args, work = _outputs(tmp_path, tiny_table, tiny_audio, logreg_run)[command]

    def read_only(*a: Any, **k: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    def no_work(*a: Any, **k: Any) -> Any:
        raise AssertionError(f"{work} ran although the output cannot be written")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    module, name = work.rsplit(".", 1)
    monkeypatch.setattr(__import__(module, fromlist=[name]), name, no_work)
    line = _one_error_line(_invoke(args))
    assert "read-only file system" in line.lower()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


@pytest.mark.parametrize("command", ["tabulate", "predict --scores-out", "evaluate --plot"])
def test_disk_full_is_one_line_and_leaves_nothing(
    command: str,
    tmp_path: Path,
    tiny_table: Path,
    tiny_audio: Path,
    logreg_run: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import errno
    import os

    args, _ = _outputs(tmp_path, tiny_table, tiny_audio, logreg_run)[command]

    def full(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", full)
    line = _one_error_line(_invoke(args))
    assert "no space left on device" in line
    leftovers = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert leftovers == []  # no half-written output, no temporary .part file


def test_output_under_a_regular_file_or_onto_a_device(tmp_path: Path, tiny_audio: Path) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    line = _one_error_line(_invoke(["tabulate", str(tiny_audio), "-o", str(blocker / "t.csv")]))
    assert f"{blocker} is a file" in line
    line = _one_error_line(
        _invoke(["predict", str(tiny_audio), str(tiny_audio), "--scores-out", "/dev/null"])
    )
    assert "/dev/null: is a character device (not a regular file)" in line


def test_existing_scores_out_is_refused_before_scoring(
    logreg_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dfaudio.scoring as scoring

    out = tmp_path / "scores.txt"
    out.write_text("mine")
    monkeypatch.setattr(scoring, "load_predictor", lambda *a, **k: pytest.fail("scored first"))
    line = _one_error_line(
        _invoke(["predict", str(logreg_run), _demo_wav(), "--scores-out", str(out)])
    )
    assert "already exists" in line and out.read_text() == "mine"


# ============================================================ 3/4. usage values


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["-j", "0"], "--jobs must be at least 1 (parallel processes) or -1 (all cores); got"),
        (["-j", "-5"], "--jobs must be at least 1 (parallel processes) or -1 (all cores); got"),
        (["--seed", "-1"], "--seed must be between 0 and 4294967295"),
        (["--seed", str(2**32)], "--seed must be between 0 and 4294967295"),
        (["--sr", "1"], "--sr must be between 1000 Hz and 384000 Hz, got 1 Hz"),
        (["--sr", "100"], "--sr must be between 1000 Hz and 384000 Hz, got 100 Hz"),
        (["--scheduler", "notaurl"], "--scheduler 'notaurl': expected a Dask scheduler address"),
    ],
)
def test_tabulate_usage_values(
    tiny_audio: Path, tmp_path: Path, extra: list, expected: str
) -> None:
    out = tmp_path / "t.csv"
    line = _one_error_line(_invoke(["tabulate", str(tiny_audio), "-o", str(out), *extra]))
    assert expected in line and not out.exists()


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_tabulate_window_must_be_finite_and_positive(
    tiny_audio: Path, tmp_path: Path, value: str
) -> None:
    res = _invoke(["tabulate", str(tiny_audio), "-o", str(tmp_path / "t.csv"), "--window", value])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "must be a positive, finite number of seconds" in res.output


def test_many_jobs_are_capped_at_the_work_and_said(tiny_audio: Path, tmp_path: Path) -> None:
    import os

    res = _invoke(["tabulate", str(tiny_audio), "-o", str(tmp_path / "t.csv"), "-j", "1000", "-q"])
    assert res.exit_code == 0, res.output
    cap = min(3, os.cpu_count() or 1)
    assert f"note: --jobs 1000 capped at {cap} (3 files, " in res.output


def _table_variant(tiny_table: Path, tmp_path: Path, change: str) -> Path:
    import pandas as pd

    df = pd.read_csv(tiny_table)
    if change == "one-group":
        df["group"] = "g"
    elif change == "huge":
        df.loc[3, "mfcc1"], df.loc[5, "mfcc2"] = 1e308, -1e308
    out = tmp_path / f"{change}.csv"
    df.to_csv(out, index=False)
    if change == "duplicate":
        head, rest = tiny_table.read_text().split("\n", 1)
        out.write_text(head.replace("mfcc2", "mfcc1", 1) + "\n" + rest)
    return out


@pytest.mark.parametrize(
    ("change", "extra", "expected"),
    [
        ("none", ["-j", "0"], "--jobs must be at least 1"),
        ("none", ["--seed", "-3"], "--seed must be between 0 and 4294967295"),
        ("none", ["--test-size", "0.01"], "use --test-size 0.1 or larger"),
        ("one-group", ["--cv", "10"], "only 1 group (recording/speaker): grouped folds need"),
        ("duplicate", [], "the header names a column more than once: 'mfcc1' (2 times)"),
        ("huge", [], "2 row(s) with values beyond +-1e+150 (first: line 5, column 'mfcc1'"),
    ],
)
def test_fit_sklearn_usage_values(
    tiny_table: Path, tmp_path: Path, change: str, extra: list, expected: str
) -> None:
    table = tiny_table if change == "none" else _table_variant(tiny_table, tmp_path, change)
    args = ["fit-sklearn", "--data", str(table), "--model", "lda", "--runs-dir", str(tmp_path)]
    line = _one_error_line(_invoke([*args, *extra]))
    assert expected in line
    assert "mfcc1.1" not in line and "np.int64" not in line


@pytest.mark.parametrize("param", ["n_mels=0", "n_mels=-3"])
def test_fit_deep_feature_param_counts(tiny_audio: Path, tmp_path: Path, param: str) -> None:
    args = ["fit-deep", "--model", "simple-ann", "--feature", "mel", "--data", str(tiny_audio)]
    args += ["--feature-param", param, "--runs-dir", str(tmp_path / "runs"), "--no-cache", "-q"]
    line = _one_error_line(_invoke(args))
    assert f"{param}: must be at least 1" in line


def test_special_files_are_named_as_such(logreg_run: Path, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "audio.fifo"
    os.mkfifo(fifo)
    res = _invoke(["predict", str(logreg_run), str(fifo), "/dev/null"])
    assert res.exit_code == 2
    assert f"warning: {fifo}: unreadable: is a FIFO (named pipe) (not an audio file)" in res.output
    assert "warning: /dev/null: unreadable: is a character device (not an audio file)" in res.output
    assert "0 bytes" not in res.output and "not found" not in res.output


def test_messages_show_plain_values(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("file,label,score\na,bonafide,nan\nb,spoof,0.5\nc,bonafide,0.3\n")
    line = _one_error_line(_invoke(["evaluate", str(path)]))
    assert "line 2: missing score nan" in line and "np." not in line
    from dfaudio.labels import encode_labels

    with pytest.raises(DataError) as err:
        encode_labels(np.array([0, 1, 2]), allow_ids=True)
    assert "label id 2 is not 0" in str(err.value)
