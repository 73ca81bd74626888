"""The public Python API: ``import dfaudio`` stays light, its lazy names resolve, the docstring
examples of the public modules run, and the README's "From Python" example runs as written."""

from __future__ import annotations

import doctest
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import dfaudio

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "xgboost", "librosa", "timm", "transformers", "opensmile", "sklearn", "numba")

#: Modules whose docstring examples are part of the documentation (run as doctests here).
DOCTEST_MODULES = (
    "dfaudio",
    "dfaudio.labels",
    "dfaudio.registry",
    "dfaudio.io.audio",
    "dfaudio.io.files",
    "dfaudio.io.stream",
    "dfaudio.models.scores",
    "dfaudio.runs.record",
    "dfaudio.runs.store",
    "dfaudio.scoring.inputs",
    "dfaudio.scoring.predictor",
)


def test_import_dfaudio_stays_light() -> None:
    code = (
        "import json, sys, dfaudio; dfaudio.__all__; dir(dfaudio); "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_lazy_names_resolve_to_their_modules() -> None:
    for name in dfaudio.__all__:
        obj = getattr(dfaudio, name)
        assert obj is not None, name
    assert dfaudio.load_predictor is importlib.import_module("dfaudio.scoring").load_predictor
    assert dfaudio.fit_sklearn.__module__ == "dfaudio.training.fit_sklearn"
    assert set(dfaudio.__all__) <= set(dir(dfaudio))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        dfaudio.nope  # noqa: B018


def test_every_public_module_declares_all() -> None:
    missing = []
    for path in sorted((REPO / "dfaudio").rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        if any(p.startswith("_") and p != "__init__" for p in rel.parts) or rel.name == "__main__":
            continue
        if "__all__" not in path.read_text(encoding="utf-8"):
            missing.append(str(rel))
    assert not missing, f"modules without __all__: {missing}"


def test_py_typed_is_shipped() -> None:
    assert (REPO / "dfaudio" / "py.typed").is_file()
    cfg = (REPO / "setup.cfg").read_text(encoding="utf-8")
    package_data = cfg.split("[options.package_data]", 1)[1].split("[", 1)[0]
    assert "py.typed" in package_data


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module: str) -> None:
    mod = importlib.import_module(module)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(mod, optionflags=flags, verbose=False)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0


def readme_python() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```pycon\n(.*?)```", section, flags=re.S)
    assert blocks, "README 'From Python' has no pycon block"
    return "\n".join(blocks)


@pytest.mark.slow
def test_readme_from_python_runs_as_written(tmp_path: Path, monkeypatch) -> None:
    """The README example, outputs included, is a doctest (run from an empty folder: it
    writes nothing)."""
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(readme_python(), {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
    assert runner.tries >= 8
    assert list(tmp_path.iterdir()) == []
