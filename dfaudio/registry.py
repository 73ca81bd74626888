"""Name -> callable maps (in the style of lhotse and timm).

A :class:`Registry` maps public names (used on the command line and in run configs) to plain
callables. Entries can be *lazy*: given as ``"module.path:attribute"`` strings, they are imported
only when first looked up, so that listing the names (e.g. for ``click.Choice``)
never imports torch.

Examples
--------
>>> reg = Registry("toy")
>>> @reg.register("double")
... def double(x):
...     return 2 * x
>>> reg.get("double")(3)
6
>>> reg.names()
['double']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from dfaudio.exceptions import ParameterError

__all__ = ["Registry"]

F = TypeVar("F", bound=Callable[..., Any])


class Registry:
    """A mapping from names to callables (or lazy ``"module:attr"`` references).

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages ("model", "feature" ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, obj: Any = None, *, help: str = "") -> Any:
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted.

        Raises
        ------
        ParameterError
            If ``name`` is already registered.
        """
        if obj is None:

            def decorator(fn: F) -> F:
                self.register(name, fn, help=help)
                return fn

            return decorator
        if name in self._entries:
            raise ParameterError(f"duplicate {self.kind} name {name!r}")
        self._entries[name] = obj
        self._help[name] = help or (getattr(obj, "__doc__", None) or "").strip().split("\n")[0]
        return obj

    def get(self, name: str) -> Any:
        """Return the callable registered as ``name``, importing it if it is lazy."""
        try:
            entry = self._entries[name]
        except KeyError:
            known = ", ".join(self.names())
            raise ParameterError(f"unknown {self.kind} {name!r}; choose one of: {known}") from None
        if isinstance(entry, str) and ":" in entry:
            module, attr = entry.split(":", 1)
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry

    def help(self, name: str) -> str:
        """One-line description of ``name``."""
        return self._help.get(name, "")

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
