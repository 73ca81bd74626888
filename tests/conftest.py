"""Shared fixtures: the real public data in ``../shared/data`` and small synthetic signals.

Helpers here are shared by every test module; module-specific fixtures live in their own test file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DFAUDIO_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real public data (``../shared/data``); skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator."""
    return np.random.default_rng(0)


def tone(
    freq_hz: float, *, sr: int = 16000, duration_s: float = 1.0, amp: float = 0.5
) -> np.ndarray:
    """A pure sine tone (float32)."""
    t = np.arange(int(round(sr * duration_s))) / sr
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def write_wav(path: Path, y: np.ndarray, sr: int) -> Path:
    """Write ``y`` as 16-bit PCM WAV (creating parent folders)."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, sr, subtype="PCM_16")
    return path
