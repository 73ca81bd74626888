"""Bona fide scores of a fitted scikit-learn / XGBoost classifier (spoof = class 1).

Shared by training (held-out scores of every fold) and scoring (new audio), so both turn a
classifier's output into a score the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dfaudio.labels import p_fake_to_score, score_to_p_fake

__all__ = ["model_scores"]


def model_scores(est: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Bona fide scores and ``p_fake`` of a fitted binary classifier (spoof = class 1).

    Parameters
    ----------
    est : estimator
        Fitted; ``predict_proba`` is used when it exists, else ``decision_function``.
    X : np.ndarray [shape=(n, n_features)]

    Returns
    -------
    score : np.ndarray [shape=(n,)]
        Higher = more bona fide (log-odds for probabilistic models, minus the decision function
        otherwise).
    p_fake : np.ndarray [shape=(n,)]
    calibrated : bool
        False when ``p_fake`` is a logistic squashing of a decision function (SVMs).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> est = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> score, p_fake, calibrated = model_scores(est, X)
    >>> bool(score[0] > 0 > score[-1]), calibrated
    (True, True)
    """
    if hasattr(est, "predict_proba"):  # False for SVC(probability=False): it raises
        proba = est.predict_proba(X)
        classes = list(getattr(est, "classes_", [0, 1]))
        p_fake = proba[:, classes.index(1)]
        return p_fake_to_score(p_fake), p_fake, True
    score = -np.asarray(est.decision_function(X), dtype=np.float64)
    return score, score_to_p_fake(score), False
