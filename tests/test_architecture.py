"""The import graph of dfaudio: no cycles, and imports flow one way (DESIGN.md section 2).

Every ``import`` in every module counts, including those inside functions (lazy imports are how a
circle hides: ``predict`` -> ``fit_sklearn`` -> ``predict`` ran only at call time). Layers, lowest
first; a module may import its own layer or lower ones, never a higher one::

    cli -> report, scoring, training, generalization -> runs, deep, tabular, synth
        -> models, metrics, evaluation, features, datasets, tables, plots -> io
        -> labels, registry, exceptions

plus two rules within a layer: training and scoring never import each other (both depend only
downward), and nothing but the command line imports the report.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "dfaudio"

#: Top-level part of a module name -> layer (higher may import lower, never the reverse).
LAYERS: dict[str, int] = {
    "dfaudio": 0,  # the package itself: a lazy facade (strings only) over the layers below
    "dfaudio.exceptions": 0,
    "dfaudio.labels": 0,
    "dfaudio.registry": 0,
    "dfaudio.schema": 0,
    "dfaudio.io": 1,
    "dfaudio.models": 2,
    "dfaudio.metrics": 2,
    "dfaudio.evaluation": 2,
    "dfaudio.features": 2,
    "dfaudio.datasets": 2,
    "dfaudio.tables": 2,
    "dfaudio.plots": 2,
    "dfaudio.runs": 3,
    "dfaudio.deep": 3,
    "dfaudio.tabular": 3,
    "dfaudio.timefreq": 3,
    "dfaudio.synth": 3,
    "dfaudio.explain": 3,  # importances / SHAP of a run's model: features + io below it
    "dfaudio.training": 4,
    "dfaudio.scoring": 4,
    "dfaudio.report": 4,
    "dfaudio.generalization": 4,  # cross-corpus matrix and shortcut audit: orchestrates training
    "dfaudio.cli": 5,
    "dfaudio.__main__": 5,
}

#: (importer prefix, imported prefix) pairs that are forbidden even within a layer.
FORBIDDEN = (
    ("dfaudio.training", "dfaudio.scoring"),
    ("dfaudio.scoring", "dfaudio.training"),
)


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_pkg = MODULES[importer].name == "__init__.py"
    base = importer.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(name: str) -> Iterator[tuple[str, int]]:
    """dfaudio modules imported anywhere in module ``name`` (with line numbers)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "dfaudio":
                    yield _known(alias.name), node.lineno
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(name, node)
            if mod.split(".")[0] != "dfaudio":
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                yield (sub if sub in MODULES else _known(mod)), node.lineno


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (never imported at run time)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if _is_type_checking(node):
            assert isinstance(node, ast.If)
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _known(mod: str) -> str:
    while mod not in MODULES and "." in mod:
        mod = mod.rsplit(".", 1)[0]
    return mod


def _under(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


def layer(mod: str) -> int | None:
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if mod == prefix or (prefix != "dfaudio" and mod.startswith(prefix + ".")):
            return LAYERS[prefix]
    return None


GRAPH = {m: sorted({t for t, _ in imports_of(m) if t != m}) for m in MODULES}


def test_every_module_has_a_layer() -> None:
    missing = sorted(m for m in MODULES if layer(m) is None)
    assert not missing, f"give these modules a layer in tests/test_architecture.py: {missing}"


def test_no_upward_imports() -> None:
    bad = []
    for m in MODULES:
        for target, line in imports_of(m):
            lm, lt = layer(m), layer(target)
            if lm is not None and lt is not None and lt > lm:
                bad.append(f"{MODULES[m].relative_to(PKG.parent)}:{line} {m} imports {target}")
            for a, b in FORBIDDEN:
                if _under(m, a) and _under(target, b):
                    bad.append(f"{MODULES[m].relative_to(PKG.parent)}:{line} {m} imports {target}")
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_only_the_cli_imports_cli_and_report() -> None:
    bad = [
        f"{m} imports {t}"
        for m in MODULES
        for t, _ in imports_of(m)
        if (t.startswith("dfaudio.cli") or t == "dfaudio.report")
        and not (m.startswith("dfaudio.cli") or m in ("dfaudio.__main__", "dfaudio.report"))
    ]
    assert not bad, bad


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_cycle_finder_finds_a_planted_circle() -> None:
    """The check itself: the old predict <-> fit_sklearn circle is found."""
    planted = {
        **GRAPH,
        "dfaudio.training.fit_sklearn": [
            *GRAPH["dfaudio.training.fit_sklearn"],
            "dfaudio.scoring.sklearn",
        ],
    }
    planted["dfaudio.scoring.sklearn"] = [
        *planted["dfaudio.scoring.sklearn"],
        "dfaudio.training.fit_sklearn",
    ]
    assert any("dfaudio.training.fit_sklearn" in c for c in cycles(planted))


@pytest.mark.parametrize(
    ("importer", "source", "expected"),
    [
        ("dfaudio.runs.writer", "from dfaudio.runs.store import now", "dfaudio.runs.store"),
        ("dfaudio.runs.writer", "from dfaudio import evaluation", "dfaudio.evaluation"),
        ("dfaudio.runs", "from .record import FitResult", "dfaudio.runs.record"),
        ("dfaudio.runs.writer", "from . import store", "dfaudio.runs.store"),
        ("dfaudio.cli.main", "from dfaudio import __version__", "dfaudio"),
    ],
)
def test_import_resolution(importer: str, source: str, expected: str, monkeypatch) -> None:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.ImportFrom)
    mod = _resolve(importer, node)
    sub = f"{mod}.{node.names[0].name}"
    assert (sub if sub in MODULES else _known(mod)) == expected


_SIGMOID = re.compile(r"1(\.0)?\s*/\s*\(\s*1(\.0)?\s*\+\s*(np\.|math\.)?exp\(")
_LOOKUP = re.compile(r"LABEL_IDS\s*\[|map\(\s*LABEL_IDS\s*\)|LABEL_IDS\.get\(")


def _own_sigmoid_or_encoder(source: str) -> list[str]:
    """Code lines (docstrings and comments dropped) that compute a logistic or encode labels."""
    tree = ast.parse(source)
    for node in ast.walk(tree):  # docstrings may describe the formula; code may not
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [
                b
                for b in body
                if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))
            ]
            node.body = kept or [ast.Pass()]
    return [
        line.strip()
        for line in ast.unparse(tree).splitlines()
        if _SIGMOID.search(line) or _LOOKUP.search(line)
    ]


def test_one_sigmoid_and_one_label_encoder() -> None:
    """``labels.score_to_p_fake`` is the only logistic and ``labels.encode_labels`` the only label
    encoder: no other module computes ``1 / (1 + exp(..))`` or looks labels up in ``LABEL_IDS``."""
    planted = (
        "def f(x, y):\n    '1 / (1 + exp(x))'\n"
        "    return 1.0 / (1.0 + np.exp(-x)), y.map(LABEL_IDS)\n"
    )
    assert len(_own_sigmoid_or_encoder(planted)) == 1  # the code line, not the docstring
    bad = [
        f"{name}: {hit}"
        for name, path in MODULES.items()
        if name != "dfaudio.labels"
        for hit in _own_sigmoid_or_encoder(path.read_text(encoding="utf-8"))
    ]
    assert not bad, "use dfaudio.labels.score_to_p_fake / encode_labels:\n" + "\n".join(bad)
