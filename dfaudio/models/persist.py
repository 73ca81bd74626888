"""Saving and loading fitted models in formats that do not execute code on load.

* XGBoost models are saved in XGBoost's own binary JSON format (``model.ubj``).
* scikit-learn pipelines are saved with skops (``model.skops``).
* torch weights are safetensors (``model.safetensors``, written by :mod:`dfaudio.deep`).

Every model file has its SHA-256 recorded in ``model.json`` when dfaudio writes it, and
:func:`verify_model_file` checks it before any format is read: a file that changed since (bit rot,
a half-copied folder, a hand edit) is refused with a one-line error.

A checksum kept beside the file protects nothing against whoever can edit the folder, so it never
grants trust by itself. A skops file is loaded only when every ``(type, node kind)`` pair in it is
one that dfaudio itself writes for that zoo model (:data:`SKOPS_ALLOWED`, checked by
``tests/test_hostile.py`` against every zoo model fitted on tiny data); anything else
(``builtins.exec``, ``os.system``, an unknown estimator) is refused by name. ``trust=True``
(``--trust``) lifts both checks, for files you made yourself.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dfaudio.exceptions import DataError
from dfaudio.io.files import atomic_path, write_json

__all__ = [
    "MODEL_FILES",
    "MODEL_INFO",
    "SKOPS_ALLOWED",
    "load_sklearn",
    "read_model_info",
    "save_model_file",
    "save_sklearn",
    "sha256",
    "skops_types",
    "verify_model_file",
]

MODEL_INFO = "model.json"

#: The model file name dfaudio writes for each ``format`` recorded in ``model.json``.
MODEL_FILES: dict[str, str] = {
    "xgboost": "model.ubj",
    "skops": "model.skops",
    "safetensors": "model.safetensors",
}

# ---------------------------------------------------------------------------- skops allow-list
# (type, skops node kind) pairs. The containers and numeric arrays every estimator's state uses:
_BASE: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins.dict", "DictNode"),
        ("builtins.list", "ListNode"),
        ("builtins.tuple", "TupleNode"),
        ("builtins.str", "JsonNode"),  # every JSON primitive (int, float, bool, None, str)
        ("builtins.str", "TypeNode"),
        ("numpy.ndarray", "NdArrayNode"),
        *((f"numpy.{t}", "NdArrayNode") for t in ("float64", "float32", "int64", "int32")),
        *((f"numpy.{t}", "NdArrayNode") for t in ("uint64", "uint32", "uint8", "bool_")),
    }
)


def _allow(*objects: str, with_: tuple[frozenset[tuple[str, str]], ...] = ()) -> frozenset:
    """``_BASE``, the given estimator classes (``ObjectNode``) and the other pair sets."""
    return _BASE.union(*with_, ((name, "ObjectNode") for name in objects))


_PIPE = frozenset(
    (n, "ObjectNode")
    for n in ("sklearn.pipeline.Pipeline", "sklearn.preprocessing._data.StandardScaler")
)
_TREE = frozenset({("sklearn.tree._tree.Tree", "TreeNode")})
_LOSS = frozenset(
    {
        ("sklearn._loss.link.Interval", "ObjectNode"),
        ("sklearn._loss.link.LogitLink", "ObjectNode"),
        ("sklearn._loss.loss.HalfBinomialLoss", "ObjectNode"),
        ("sklearn._loss._loss.CyHalfBinomialLoss", "LossNode"),
    }
)
_RANDOM_STATE = frozenset({("numpy.random.mtrand.RandomState", "RandomStateNode")})
_GENERATOR = frozenset({("numpy.random._generator.Generator", "RandomGeneratorNode")})
_HGB = "sklearn.ensemble._hist_gradient_boosting"

#: For each scikit-learn zoo model: every ``(type, skops node kind)`` pair that its fitted
#: ``model.skops`` holds. Built from the files dfaudio writes (:func:`skops_types` of each zoo
#: model fitted on tiny data); ``tests/test_hostile.py`` refits the whole zoo and fails when a
#: model writes a pair missing here (a new zoo model, or a library upgrade that moved a class).
SKOPS_ALLOWED: dict[str, frozenset[tuple[str, str]]] = {
    "logreg": _allow("sklearn.linear_model._logistic.LogisticRegression", with_=(_PIPE,)),
    "linear-svm": _allow("sklearn.svm._classes.LinearSVC", with_=(_PIPE,)),
    "rbf-svm": _allow("sklearn.svm._classes.SVC", with_=(_PIPE,)),
    "knn": _allow("sklearn.neighbors._classification.KNeighborsClassifier", with_=(_PIPE,)),
    "lda": _allow("sklearn.discriminant_analysis.LinearDiscriminantAnalysis"),
    "gnb": _allow("sklearn.naive_bayes.GaussianNB"),
    "tree": _allow("sklearn.tree._classes.DecisionTreeClassifier", with_=(_TREE,)),
    "random-forest": _allow(
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        with_=(_TREE,),
    ),
    "extra-trees": _allow(
        "sklearn.ensemble._forest.ExtraTreesClassifier",
        "sklearn.tree._classes.ExtraTreeClassifier",
        with_=(_TREE,),
    ),
    "hist-gb": _allow(
        f"{_HGB}.gradient_boosting.HistGradientBoostingClassifier",
        f"{_HGB}.binning._BinMapper",
        f"{_HGB}.predictor.TreePredictor",
        "sklearn.preprocessing._label.LabelEncoder",
        with_=(_LOSS, _GENERATOR),
    ),
    "gradient-boosting": _allow(
        "sklearn.ensemble._gb.GradientBoostingClassifier",
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.dummy.DummyClassifier",
        with_=(_TREE, _LOSS, _RANDOM_STATE),
    ),
    "adaboost": _allow(
        "sklearn.ensemble._weight_boosting.AdaBoostClassifier",
        "sklearn.tree._classes.DecisionTreeClassifier",
        with_=(_TREE,),
    ),
    "mlp": _allow(
        "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.preprocessing._label.LabelBinarizer",
        with_=(_PIPE, _RANDOM_STATE),
    ),
}


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_xgboost(est: Any) -> bool:
    return type(est).__module__.startswith("xgboost")


def save_model_file(est: Any, run_dir: str | Path) -> tuple[Path, str]:
    """Write a fitted estimator's model file into ``run_dir``; returns its path and format.

    XGBoost models go to ``model.ubj`` (format ``"xgboost"``), anything else to ``model.skops``
    (``"skops"``). ``model.json`` is written by the run writer
    (:meth:`dfaudio.runs.RunWriter.model_info`) or by :func:`save_sklearn`.
    """
    d = Path(run_dir)
    if _is_xgboost(est):
        path, fmt = d / MODEL_FILES["xgboost"], "xgboost"
        with atomic_path(path, force=True) as tmp:
            est.save_model(str(tmp.with_suffix(".ubj")))
            tmp.with_suffix(".ubj").replace(tmp)
    else:
        import skops.io as sio

        path, fmt = d / MODEL_FILES["skops"], "skops"
        with atomic_path(path, force=True) as tmp:
            sio.dump(est, tmp)
    return path, fmt


def save_sklearn(est: Any, run_dir: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
    """Save a fitted estimator and a minimal ``model.json`` into a folder; returns the model file.

    ``model.json`` holds the format, file name and SHA-256 (and ``extra``): the keys of
    :class:`dfaudio.runs.ModelInfo`, which run directories use.
    """
    path, fmt = save_model_file(est, run_dir)
    info = {"format": fmt, "file": path.name, "sha256": sha256(path), "writer": "dfaudio"}
    info.update(extra or {})
    write_json(Path(run_dir) / MODEL_INFO, info, force=True)
    return path


# ---------------------------------------------------------------------------- checks


def read_model_info(run_dir: str | Path) -> dict[str, Any]:
    """``model.json`` of a run, checked: a JSON object with a known ``format`` and ``file``.

    Raises
    ------
    DataError
        Missing, unreadable or malformed ``model.json`` (one line naming the file).
    """
    info_path = Path(run_dir) / MODEL_INFO
    if not info_path.is_file():
        raise DataError("no model.json: not a dfaudio model run", Path(run_dir))
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"not valid JSON ({_one_line(exc)}); re-fit the model", info_path) from None
    if not isinstance(info, dict):
        raise DataError(
            f"expected a JSON object, found {type(info).__name__}; re-fit the model", info_path
        )
    fmt = info.get("format")
    if fmt not in MODEL_FILES:
        known = ", ".join(MODEL_FILES)
        raise DataError(f"unknown model format {fmt!r} (dfaudio writes {known})", info_path)
    if info.get("file") != MODEL_FILES[fmt]:
        raise DataError(
            f"model file {info.get('file')!r} is not the {MODEL_FILES[fmt]} dfaudio writes for "
            f"format {fmt!r}",
            info_path,
        )
    return info


def verify_model_file(run_dir: str | Path, info: Mapping[str, Any], *, trust: bool = False) -> Path:
    """Path of the model file named by ``info``, after checking the SHA-256 recorded there.

    Parameters
    ----------
    run_dir : str or Path
    info : mapping
        ``model.json`` as returned by :func:`read_model_info`.
    trust : bool
        Accept a file whose checksum differs from (or is missing in) ``model.json``.

    Raises
    ------
    DataError
        The file is missing, or it does not match the recorded checksum and ``trust`` is false.
    """
    path = Path(run_dir) / str(info["file"])
    if not path.is_file():
        raise DataError(f"model file {info['file']} is missing", Path(run_dir))
    recorded = info.get("sha256")
    if trust:
        return path
    if not isinstance(recorded, str) or not recorded:
        raise DataError(
            "model.json records no sha256 for this file, so dfaudio cannot tell it is the one it "
            "wrote; re-fit the model, or pass --trust if you made this file",
            path,
        )
    if sha256(path) != recorded:
        raise DataError(
            "model file does not match the checksum (sha256) dfaudio recorded in model.json "
            "(changed or damaged since it was written); re-fit the model, or pass --trust if "
            "you changed it on purpose",
            path,
        )
    return path


def skops_types(path: str | Path) -> set[tuple[str, str]]:
    """Every ``(module.type, node kind)`` pair in a skops file, read without loading anything.

    Reads ``schema.json`` from the zip archive as plain JSON: no type is imported and no object
    is built.

    Raises
    ------
    DataError
        Not a zip archive, no ``schema.json``, or a schema that is not JSON.
    """
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as zf:
            schema = json.loads(zf.read("schema.json"))
    except zipfile.BadZipFile:
        raise DataError(
            "not a skops file (not a zip archive; a pickle is never loaded); re-fit the model", p
        ) from None
    except KeyError:
        raise DataError("not a skops file (no schema.json inside); re-fit the model", p) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"damaged skops file ({_one_line(exc)}); re-fit the model", p) from None
    return set(_schema_nodes(schema))


def _schema_nodes(obj: Any) -> Iterator[tuple[str, str]]:
    """Walk a skops schema: every dict with ``__class__``/``__module__`` is a node."""
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            if "__class__" in o or "__module__" in o or "__loader__" in o:
                yield (f"{o.get('__module__')}.{o.get('__class__')}", str(o.get("__loader__")))
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)


def _check_skops_types(path: Path, model: Any) -> list[str]:
    """Refuse a skops file holding a pair outside the model's allow-list; returns its types."""
    found = skops_types(path)
    if model is None:
        allowed = frozenset().union(*SKOPS_ALLOWED.values())
    elif model in SKOPS_ALLOWED:
        allowed = SKOPS_ALLOWED[model]
    else:
        raise DataError(
            f"model.json names model {model!r}, which dfaudio does not save with skops; "
            "pass --trust only if you made this file",
            path,
        )
    bad = sorted(found - allowed)
    if bad:
        allowed_types = {t for t, _ in allowed}
        names = [t if t not in allowed_types else f"{t} as {kind}" for t, kind in bad]
        more = f" (and {len(names) - 3} more)" if len(names) > 3 else ""
        raise DataError(
            f"refusing to load type {', '.join(names[:3])}{more} (not written by dfaudio"
            + (f" for model {model!r}" if model is not None else "")
            + "); pass --trust only if you made this file",
            path,
        )
    return sorted({t for t, _ in found})


def load_sklearn(run_dir: str | Path, *, trust: bool = False) -> Any:
    """Load the model saved by :func:`save_sklearn`.

    The file must match the SHA-256 in ``model.json`` and, for skops, hold only the types dfaudio
    writes for the recorded zoo model (:data:`SKOPS_ALLOWED`). ``trust=True`` skips both checks
    (skops still never unpickles; XGBoost files hold no code).

    Raises
    ------
    DataError
        Missing or malformed files, a checksum mismatch or a type outside the allow-list without
        ``trust``, or a file the library cannot read.
    """
    d = Path(run_dir)
    info = read_model_info(d)
    if info["format"] == "safetensors":
        raise DataError("model.json describes torch weights, not a classical model", d / MODEL_INFO)
    path = verify_model_file(d, info, trust=trust)
    if info["format"] == "xgboost":
        from xgboost import XGBClassifier

        est = XGBClassifier()
        try:
            est.load_model(str(path))
        except Exception as exc:  # XGBoostError, or anything the parser throws at junk
            raise DataError(
                f"XGBoost cannot read this model file ({_one_line(exc)}); re-fit the model", path
            ) from None
        return est
    import skops.io as sio

    if trust:
        types = sorted({t for t, _ in skops_types(path)})
    else:
        types = _check_skops_types(path, info.get("model"))
    try:
        return sio.load(path, trusted=types)
    except Exception as exc:  # a damaged archive or a schema skops cannot build
        raise DataError(
            f"skops cannot load this model file ({_one_line(exc)}); re-fit the model", path
        ) from None


def _one_line(exc: BaseException) -> str:
    """An exception as one short line (type name when it has no message)."""
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:200]
