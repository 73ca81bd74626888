"""Feature functions (plain functions first, registries on top).

* :mod:`.summary`: the DEEP-VOICE per-second row (26 values per block), fast and naive paths.
* :mod:`.mel`, :mod:`.cepstral`, :mod:`.chroma`: time-frequency features for the deep models,
  registered by name in :mod:`.registry`.

Importing this package imports neither librosa nor numba. The fast DEEP-VOICE path
(:func:`.summary.deep_voice_features`) needs neither either, so it pays no JIT compilation.

librosa compiles about a dozen numba functions when its modules are first imported (measured with
``experiments/bench_startup.py``): in ``util.utils`` localmax, localmin, peak_pick, cabs2 and
phasor_angles (on the first ``stft``), in ``core.audio`` the zero-crossing stencil and in
``core.pitch`` the parabolic interpolation (``piptrack``, used by ``chroma_stft``'s tuning). All use
``cache=True``; :func:`enable_numba_cache` makes that cache land in a writable user folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["enable_numba_cache"]


def enable_numba_cache(cache_dir: str | Path | None = None) -> Path | None:
    """Point numba's on-disk cache at a writable folder before librosa is imported.

    librosa's jitted helpers are compiled with ``cache=True``; numba stores the compiled code in
    ``NUMBA_CACHE_DIR`` when set. Setting it to ``~/.cache/dfaudio/numba`` (or ``cache_dir``)
    means only the first process on a machine pays the compilation, even when site-packages is
    read-only. Does nothing if the user already set ``NUMBA_CACHE_DIR``.

    Returns
    -------
    Path or None
        The cache folder in use, or ``None`` when it could not be created.
    """
    if "NUMBA_CACHE_DIR" in os.environ:
        return Path(os.environ["NUMBA_CACHE_DIR"])
    base = Path(cache_dir).expanduser() if cache_dir else _user_cache() / "numba"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(base, os.W_OK | os.X_OK):
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(base)
    return base


def _user_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dfaudio"
