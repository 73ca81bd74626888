"""Does a detector generalize? Shortcut audits, held-out protocols and cross-corpus matrices.

* :mod:`.audit` - per-file nuisance facts (duration, silence, level, sample rate, codec ...) and
  grouped-CV baselines on them: a fact that separates the classes alone is a shortcut.
* :mod:`.crosseval` - the train x test matrix over several corpora.

Nothing heavy is imported here.
"""

__all__ = []
