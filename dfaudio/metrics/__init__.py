"""Metric functions of dfaudio: detection costs, Cllr, SASV metrics, calibration and paired tests.

Every function takes plain arrays (bona fide scores, spoof scores; higher = more bona fide) and
returns plain numbers or dicts, so they can be used without the rest of dfaudio. Orchestration over
score tables (summaries, per-attack tables, bootstrap intervals) lives in :mod:`dfaudio.evaluation`.

Modules
-------
dcf          minDCF, actDCF, Bayes threshold (ASVspoof 5 track 1)
cllr         Cllr and minCllr (PAV), in bits
sasv         a-DCF and t-EER (ASVspoof 5 track 2)
calibration  score -> LLR maps (logistic regression, PAV) as small JSON-serialisable objects
paired       is system A better than B: paired bootstrap of differences, McNemar's test
"""

from __future__ import annotations

from dfaudio.metrics._common import label_ids
from dfaudio.metrics.cllr import cllr, min_cllr, pav_llr
from dfaudio.metrics.dcf import C_FA, C_MISS, P_SPOOF, act_dcf, bayes_threshold, dcf_curve, min_dcf
from dfaudio.metrics.sasv import ADCF_COSTS, a_dcf, split_sasv, t_eer

__all__ = [
    "ADCF_COSTS",
    "C_FA",
    "C_MISS",
    "P_SPOOF",
    "a_dcf",
    "act_dcf",
    "bayes_threshold",
    "cllr",
    "dcf_curve",
    "label_ids",
    "min_cllr",
    "min_dcf",
    "pav_llr",
    "split_sasv",
    "t_eer",
]
