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
