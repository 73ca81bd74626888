"""Score -> log-likelihood-ratio maps, learned on held-out labelled scores.

A detector's score says *which way* (higher = more bona fide) but not *how much*. A calibration
map turns it into a natural-log likelihood ratio ``llr = log p(x | bona fide) / p(x | spoof)``,
which together with a stated prior gives a probability and a Bayes threshold::

    posterior log-odds(bona fide) = llr + log((1 - p_spoof) / p_spoof)
    p_fake = 1 / (1 + exp(posterior log-odds))
    decide bona fide  <=>  llr >= log(c_fa p_spoof / (c_miss (1 - p_spoof)))

Two maps, both monotone non-decreasing, both plain JSON (``to_dict`` / :func:`from_dict`; nothing
read back is executed):

- ``logistic``: ``llr = a * score + b``, fitted by prior-weighted logistic regression
  (BOSARIS-style: the two classes are weighted to the training prior, 0.5 by default, and the
  prior log-odds are removed, so the output is an LLR rather than a posterior), with a weak L2
  pull (1/n) of the slope so that a few separable trials do not give unbounded LLRs. Two
  parameters: robust on a few hundred trials.
- ``pav``: the pool-adjacent-violators (isotonic) map, the optimum monotone map on its training
  scores; stored as the breakpoints of its blocks, linearly interpolated between them and clipped
  to ``+-log(n)`` (a sample of n trials cannot support a larger LLR). Needs more data.

Fit a map only on scores that the numbers you report were *not* computed from (dev or
out-of-fold scores); otherwise actDCF and Cllr flatter the detector.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dfaudio.exceptions import DataError, ParameterError
from dfaudio.labels import score_to_p_fake
from dfaudio.metrics._common import as_scores, positive_prior, require_both, split_by_label
from dfaudio.metrics.dcf import C_FA, C_MISS, P_SPOOF, bayes_threshold

__all__ = [
    "CALIBRATION_METHODS",
    "Calibration",
    "LinearFusion",
    "LogisticCalibration",
    "PavCalibration",
    "fit_calibration",
    "fit_fusion",
    "from_dict",
    "llr_to_p_fake",
    "reliability_table",
]

#: Known calibration methods (``--calibration`` choices).
CALIBRATION_METHODS = ("logistic", "pav")


def llr_to_p_fake(llr: Any, *, p_spoof: float = P_SPOOF) -> np.ndarray:
    """Posterior probability of spoof from a bona fide LLR and a spoof prior.

    Parameters
    ----------
    llr : array-like
        Natural-log likelihood ratios, bona fide over spoof.
    p_spoof : float
        Prior probability of spoof in the population scored, in (0, 1).

    Returns
    -------
    p_fake : np.ndarray
    """
    p = positive_prior(p_spoof, "p_spoof")
    log_odds_bona = np.asarray(llr, dtype=np.float64) + math.log((1 - p) / p)
    return score_to_p_fake(log_odds_bona)


@dataclass
class Calibration:
    """Base class: a fitted monotone score -> LLR map with its provenance."""

    n_bonafide: int = 0
    n_spoof: int = 0
    fitted_on: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    method = "none"

    def transform(self, scores: Any) -> np.ndarray:  # pragma: no cover - abstract
        """Scores -> LLRs."""
        raise NotImplementedError

    def decide(
        self,
        scores: Any,
        *,
        p_spoof: float = P_SPOOF,
        c_miss: float = C_MISS,
        c_fa: float = C_FA,
    ) -> dict[str, Any]:
        """LLR, ``p_fake`` and the Bayes decision for each score.

        Returns
        -------
        dict
            ``llr`` and ``p_fake`` arrays, ``is_bonafide`` (bool array: ``llr >= threshold``),
            ``threshold`` (Bayes threshold on the LLR) and the cost model used.
        """
        llr = self.transform(scores)
        thr = bayes_threshold(p_spoof=p_spoof, c_miss=c_miss, c_fa=c_fa)
        return {
            "llr": llr,
            "p_fake": llr_to_p_fake(llr, p_spoof=p_spoof),
            "is_bonafide": llr >= thr,
            "threshold": thr,
            "p_spoof": p_spoof,
            "c_miss": c_miss,
            "c_fa": c_fa,
        }

    def _base_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "n_bonafide": int(self.n_bonafide),
            "n_spoof": int(self.n_spoof),
            "fitted_on": self.fitted_on,
            "meta": dict(self.meta),
        }


@dataclass
class LogisticCalibration(Calibration):
    """``llr = slope * score + offset``."""

    slope: float = 1.0
    offset: float = 0.0
    train_p_spoof: float = 0.5

    method = "logistic"

    def transform(self, scores: Any) -> np.ndarray:
        """Scores -> LLRs."""
        return self.slope * as_scores(scores) + self.offset

    def inverse(self, llr: float) -> float:
        """The score whose LLR is ``llr`` (for a threshold on raw scores)."""
        if not self.slope > 0:
            raise DataError(
                f"the logistic calibration has slope {self.slope:.4g} <= 0 (scores run the wrong "
                "way); it cannot set a threshold"
            )
        return (float(llr) - self.offset) / self.slope

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            **self._base_dict(),
            "slope": float(self.slope),
            "offset": float(self.offset),
            "train_p_spoof": float(self.train_p_spoof),
        }


@dataclass
class PavCalibration(Calibration):
    """Isotonic map stored as breakpoints ``(score, llr)``, interpolated linearly."""

    scores: list[float] = field(default_factory=list)
    llrs: list[float] = field(default_factory=list)

    method = "pav"

    def transform(self, scores: Any) -> np.ndarray:
        """Scores -> LLRs (flat beyond the outermost breakpoints)."""
        return np.interp(as_scores(scores), self.scores, self.llrs)

    def inverse(self, llr: float) -> float:
        """The lowest score whose LLR reaches ``llr`` (clipped to the breakpoints)."""
        ys = np.asarray(self.llrs)
        xs = np.asarray(self.scores)
        i = int(np.searchsorted(ys, float(llr), side="left"))
        if i == 0:
            return float(xs[0])
        if i >= ys.size:
            return float(xs[-1])
        y0, y1, x0, x1 = ys[i - 1], ys[i], xs[i - 1], xs[i]
        return float(x1 if y1 == y0 else x0 + (float(llr) - y0) * (x1 - x0) / (y1 - y0))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            **self._base_dict(),
            "scores": [float(x) for x in self.scores],
            "llrs": [float(x) for x in self.llrs],
        }


def _newton_logistic(Z: np.ndarray, y: np.ndarray, w: np.ndarray, prior_logit: float) -> np.ndarray:
    """Newton steps of the prior-weighted logistic regression ``P(y = 1) = sigmoid(Z theta + c)``.

    ``Z`` holds standardised columns and a last column of ones (the free offset). A weak L2 pull
    of the standardised weights towards 0, 1/n of the (unit-sum) data weight: negligible on
    thousands of trials, but a few perfectly separated trials no longer give an unbounded slope
    (LLRs of +-60 from 10 files).
    """
    theta = np.zeros(Z.shape[1])
    ridge = 1.0 / Z.shape[0]
    for _ in range(100):
        q = score_to_p_fake(-(Z @ theta + prior_logit))  # P(y = 1) = sigmoid(eta)
        pull = np.full(Z.shape[1], ridge)
        pull[-1] = 1e-12  # the weights only; the offset is free
        grad = Z.T @ (w * (q - y)) + pull * theta
        hess = (Z * (w * q * (1 - q))[:, None]).T @ Z + np.diag(pull)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta


def _fit_logistic(bona: np.ndarray, spoof: np.ndarray, train_p_spoof: float) -> tuple[float, float]:
    """Minimise the prior-weighted cross-entropy of ``a s + b + logit(prior)`` (Newton steps)."""
    p = positive_prior(train_p_spoof, "train_p_spoof")
    s = np.concatenate((bona, spoof))
    y = np.concatenate((np.ones(bona.size), np.zeros(spoof.size)))  # 1 = bona fide
    w = np.concatenate(
        (np.full(bona.size, (1 - p) / bona.size), np.full(spoof.size, p / spoof.size))
    )
    prior_logit = math.log((1 - p) / p)
    # standardise for a well-conditioned problem, then map back
    mu, sd = float(s.mean()), float(s.std()) or 1.0
    z = (s - mu) / sd
    X = np.column_stack((z, np.ones_like(z)))
    theta = _newton_logistic(X, y, w, prior_logit)
    a = theta[0] / sd
    b = theta[1] - theta[0] * mu / sd
    return float(a), float(b)


def _fit_pav(bona: np.ndarray, spoof: np.ndarray) -> tuple[list[float], list[float]]:
    from dfaudio.metrics.cllr import pav_llr

    _, _, distinct, llr = pav_llr(bona, spoof)
    bound = math.log(bona.size + spoof.size)
    llr = np.clip(llr, -bound, bound)
    # keep the first and last score of every constant block: interpolation is flat inside
    change = np.flatnonzero(np.diff(llr) != 0)
    keep = np.unique(np.concatenate(([0, distinct.size - 1], change, change + 1)))
    return distinct[keep].tolist(), llr[keep].tolist()


def fit_calibration(
    labels: Any,
    scores: Any,
    *,
    method: str = "logistic",
    bonafide_value: Any = None,
    train_p_spoof: float = 0.5,
    fitted_on: str = "",
) -> Calibration:
    """Learn a score -> LLR map from labelled held-out scores.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
        ``"bonafide"`` / ``"spoof"`` (or numbers with ``bonafide_value``).
    scores : array-like [shape=(n,)]
        Higher = more bona fide.
    method : {"logistic", "pav"}
    bonafide_value : optional
        See :func:`dfaudio.metrics.label_ids`.
    train_p_spoof : float
        Prior at which the logistic map is trained (0.5: minimises Cllr).
    fitted_on : str
        Where the scores came from (recorded in the map).

    Returns
    -------
    Calibration
        :class:`LogisticCalibration` or :class:`PavCalibration`.
    """
    if method not in CALIBRATION_METHODS:
        raise ParameterError(
            f"unknown calibration method {method!r}; use one of {', '.join(CALIBRATION_METHODS)}"
        )
    bona, spoof = split_by_label(labels, scores, bonafide_value=bonafide_value)
    require_both(bona.size, spoof.size, "calibration")
    common = {"n_bonafide": int(bona.size), "n_spoof": int(spoof.size), "fitted_on": fitted_on}
    if method == "logistic":
        a, b = _fit_logistic(bona, spoof, train_p_spoof)
        return LogisticCalibration(**common, slope=a, offset=b, train_p_spoof=train_p_spoof)
    xs, ys = _fit_pav(bona, spoof)
    return PavCalibration(**common, scores=xs, llrs=ys)


def from_dict(data: Mapping[str, Any], *, source: str | None = None) -> Calibration:
    """Rebuild a map written by ``to_dict`` (checked field by field; nothing is executed).

    Raises
    ------
    DataError
        Unknown method, missing or non-finite fields.
    """
    if not isinstance(data, Mapping):
        raise DataError("calibration must be a JSON object", source)
    method = data.get("method")
    common = {
        "n_bonafide": int(data.get("n_bonafide", 0)),
        "n_spoof": int(data.get("n_spoof", 0)),
        "fitted_on": str(data.get("fitted_on", "")),
        "meta": dict(data.get("meta") or {}),
    }
    try:
        if method == "logistic":
            slope, offset = float(data["slope"]), float(data["offset"])
            if not (math.isfinite(slope) and math.isfinite(offset)):
                raise DataError("calibration slope/offset must be finite", source)
            return LogisticCalibration(
                **common,
                slope=slope,
                offset=offset,
                train_p_spoof=float(data.get("train_p_spoof", 0.5)),
            )
        if method == "pav":
            xs = np.asarray(data["scores"], dtype=np.float64)
            ys = np.asarray(data["llrs"], dtype=np.float64)
            if xs.ndim != 1 or xs.shape != ys.shape or xs.size == 0:
                raise DataError("PAV calibration needs equal-length scores and llrs", source)
            if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
                raise DataError("PAV calibration breakpoints must be finite", source)
            if (np.diff(xs) < 0).any() or (np.diff(ys) < 0).any():
                raise DataError("PAV calibration breakpoints must be non-decreasing", source)
            return PavCalibration(**common, scores=xs.tolist(), llrs=ys.tolist())
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"malformed {method} calibration: {exc}", source) from None
    raise DataError(
        f"unknown calibration method {method!r} (expected {', '.join(CALIBRATION_METHODS)})",
        source,
    )


def reliability_table(
    labels: Any, llr: Any, *, n_bins: int = 10, bonafide_value: Any = None
) -> dict[str, Any]:
    """Predicted ``p_fake`` against the observed spoof rate, in equal-count bins.

    The LLRs are turned into ``p_fake`` with the spoof proportion of this very set as the prior,
    so well calibrated LLRs put every bin on the diagonal whatever the class balance.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
    llr : array-like [shape=(n,)]
        Scores read as natural-log LLRs (bona fide over spoof).
    n_bins : int
        Number of bins (equal counts, by predicted ``p_fake``).

    Returns
    -------
    dict
        ``p_spoof`` (the set's spoof proportion), ``bins`` (list of ``{"p_fake", "spoof_rate",
        "n"}``: mean prediction, observed rate, count) and ``ece`` (count-weighted mean absolute
        gap between the two).
    """
    if n_bins < 1:
        raise ParameterError(f"n_bins must be >= 1, got {n_bins}")
    bona, spoof = split_by_label(labels, llr, bonafide_value=bonafide_value)
    require_both(bona.size, spoof.size, "a reliability diagram")
    p = spoof.size / (bona.size + spoof.size)
    pred = llr_to_p_fake(np.concatenate((bona, spoof)), p_spoof=p)
    truth = np.concatenate((np.zeros(bona.size), np.ones(spoof.size)))
    order = np.argsort(pred, kind="stable")
    bins = []
    ece = 0.0
    for part in np.array_split(order, min(n_bins, pred.size)):
        if part.size == 0:
            continue
        mean_pred, rate = float(pred[part].mean()), float(truth[part].mean())
        bins.append({"p_fake": mean_pred, "spoof_rate": rate, "n": int(part.size)})
        ece += part.size * abs(mean_pred - rate)
    return {"p_spoof": p, "bins": bins, "ece": ece / pred.size}


@dataclass
class LinearFusion:
    """``llr = weights . scores + offset``: a logistic-regression fusion of several systems."""

    weights: list[float] = field(default_factory=list)
    offset: float = 0.0
    names: list[str] = field(default_factory=list)
    n_bonafide: int = 0
    n_spoof: int = 0
    train_p_spoof: float = 0.5

    method = "linear-fusion"

    def transform(self, scores: Any) -> np.ndarray:
        """``scores [shape=(n, n_systems)]`` -> fused LLRs ``[shape=(n,)]``."""
        m = np.asarray(scores, dtype=np.float64)
        if m.ndim != 2 or m.shape[1] != len(self.weights):
            raise DataError(
                f"fusion of {len(self.weights)} systems needs a (n, {len(self.weights)}) score "
                f"matrix, got shape {m.shape}"
            )
        return m @ np.asarray(self.weights) + self.offset

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "method": self.method,
            "weights": [float(w) for w in self.weights],
            "offset": float(self.offset),
            "names": list(self.names),
            "n_bonafide": int(self.n_bonafide),
            "n_spoof": int(self.n_spoof),
            "train_p_spoof": float(self.train_p_spoof),
        }


def _fit_linear(
    X: np.ndarray, is_bona: np.ndarray, train_p_spoof: float
) -> tuple[np.ndarray, float]:
    """Prior-weighted logistic regression of ``is_bona`` on the columns of ``X`` (Newton)."""
    p = positive_prior(train_p_spoof, "train_p_spoof")
    n_b, n_s = int(is_bona.sum()), int((~is_bona).sum())
    w = np.where(is_bona, (1 - p) / n_b, p / n_s)
    y = is_bona.astype(np.float64)
    prior_logit = math.log((1 - p) / p)
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    Z = np.column_stack(((X - mu) / sd, np.ones(X.shape[0])))
    theta = _newton_logistic(Z, y, w, prior_logit)
    weights = theta[:-1] / sd
    offset = float(theta[-1] - (theta[:-1] * mu / sd).sum())
    return weights, offset


def fit_fusion(
    labels: Any,
    scores: Any,
    *,
    names: list[str] | None = None,
    bonafide_value: Any = None,
    train_p_spoof: float = 0.5,
) -> LinearFusion:
    """Learn a logistic-regression fusion (an LLR) of several systems' scores on dev trials.

    Parameters
    ----------
    labels : array-like [shape=(n,)]
    scores : array-like [shape=(n, n_systems)]
        Each column one system's scores of the same trials (higher = more bona fide).
    names : list of str, optional
        The systems' names (recorded).
    train_p_spoof : float
        Training prior (0.5 minimises Cllr).

    Returns
    -------
    LinearFusion
    """
    from dfaudio.metrics._common import label_ids

    ids = label_ids(labels, bonafide_value=bonafide_value)
    X = np.asarray(scores, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != ids.size:
        raise DataError(f"fusion needs a ({ids.size}, n_systems) score matrix, got {X.shape}")
    if not np.isfinite(X).all():
        raise DataError("fusion scores contain non-finite values")
    require_both(int((ids == 0).sum()), int((ids == 1).sum()), "fusion")
    weights, offset = _fit_linear(X, ids == 0, train_p_spoof)
    return LinearFusion(
        weights=weights.tolist(),
        offset=offset,
        names=list(names or [f"system {i + 1}" for i in range(X.shape[1])]),
        n_bonafide=int((ids == 0).sum()),
        n_spoof=int((ids == 1).sum()),
        train_p_spoof=train_p_spoof,
    )
