"""Saving and loading fitted classical models in formats that do not execute code on load.

* XGBoost models are saved in XGBoost's own binary JSON format (``model.ubj``).
* scikit-learn pipelines are saved with skops (``model.skops``), whose loader instantiates only
  types it is told to trust. :func:`load_sklearn` trusts the types of a file whose SHA-256 matches
  the one dfaudio recorded when it wrote the file (``model.json``); for any other file the caller
  must pass ``trust=True`` explicitly (``dfaudio predict --trust``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from dfaudio.exceptions import DataError
from dfaudio.io.files import atomic_path, write_json

MODEL_INFO = "model.json"


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_xgboost(est: Any) -> bool:
    return type(est).__module__.startswith("xgboost")


def save_sklearn(est: Any, run_dir: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
    """Save a fitted estimator into ``run_dir``; returns the model file path.

    Also writes ``model.json`` with the format, file name and SHA-256 (and ``extra``).
    """
    d = Path(run_dir)
    if _is_xgboost(est):
        path, fmt = d / "model.ubj", "xgboost"
        with atomic_path(path, force=True) as tmp:
            est.save_model(str(tmp.with_suffix(".ubj")))
            tmp.with_suffix(".ubj").replace(tmp)
    else:
        import skops.io as sio

        path, fmt = d / "model.skops", "skops"
        with atomic_path(path, force=True) as tmp:
            sio.dump(est, tmp)
    info = {"format": fmt, "file": path.name, "sha256": sha256(path), "writer": "dfaudio"}
    info.update(extra or {})
    write_json(d / MODEL_INFO, info, force=True)
    return path


def load_sklearn(run_dir: str | Path, *, trust: bool = False) -> Any:
    """Load the model saved by :func:`save_sklearn`.

    Raises
    ------
    DataError
        Missing files, a checksum mismatch without ``trust``, or untrusted types.
    """
    d = Path(run_dir)
    info_path = d / MODEL_INFO
    if not info_path.is_file():
        raise DataError("no model.json: not a dfaudio classical run", d)
    info = json.loads(info_path.read_text(encoding="utf-8"))
    path = d / info["file"]
    if not path.is_file():
        raise DataError(f"model file {info['file']} is missing", d)
    if info["format"] == "xgboost":
        from xgboost import XGBClassifier

        est = XGBClassifier()
        est.load_model(str(path))
        return est
    import skops.io as sio

    if sha256(path) != info.get("sha256") and not trust:
        raise DataError(
            "model file does not match the checksum dfaudio recorded; inspect it and pass "
            "--trust to load it anyway",
            path,
        )
    untrusted = sio.get_untrusted_types(file=path)
    allowed = ("sklearn.", "numpy.", "xgboost.", "builtins.", "scipy.", "collections.")
    suspicious = [t for t in untrusted if not t.startswith(allowed)]
    if suspicious and not trust:
        raise DataError(
            f"model file holds types outside scikit-learn/numpy: {', '.join(suspicious[:3])}; "
            "pass --trust to load it",
            path,
        )
    return sio.load(path, trusted=untrusted)
