"""Spoofed training data from bona fide audio (``dfaudio synth``).

* :mod:`.attacks`: copy-synthesis attacks, each a plain function
  ``(y, sr, *, rng, params) -> y_spoof``, registered by name in :data:`.attacks.ATTACKS`.
* :mod:`.writer`: the spoofed-corpus writer (one copy per source file and attack, plus a CSV list
  that ``tabulate``, ``fit-sklearn`` and ``fit-deep`` read).

Importing this package imports neither librosa, pyworld nor torch.
"""

__all__ = []
