"""Per-attack results of a run: held-out attacks (``--split-by attack``) and seen/unseen attacks.

:func:`held_out_extra` is called by the fitters with a run's held-out scores; what it returns goes
into ``metrics.json``:

``held_out_attacks`` (leave-one-attack-out runs)
    attack -> ``{eer, n_bonafide, n_spoof}``: each attack scored by models that never saw it,
    against the bona fide rows of the same folds; with ``held_out_eer_mean``,
    ``held_out_eer_worst`` and ``held_out_worst`` (the attack) for the leaderboard.
``per_attack`` (any run whose held-out spoofs carry attack ids, e.g. the given ASVspoof
train A01-A06 -> eval A07-A19 split)
    attack -> ``{eer, n_spoof, seen_in_training}``: all held-out bona fide vs that attack's
    spoofs; ``unseen_attacks`` lists the attacks no training row had.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dfaudio.labels import BONAFIDE, SPOOF

__all__ = ["format_attack_table", "held_out_extra"]

_NO_ATTACK = {"", "-", "nan", "None"}


def _eer(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from dfaudio.evaluation import compute_eer

    bona, spoof = scores[labels == BONAFIDE], scores[labels == SPOOF]
    if not bona.size or not spoof.size:
        return None
    return float(compute_eer(bona, spoof)[0])


def held_out_extra(plan: Any, scores_df: pd.DataFrame, meta: pd.DataFrame) -> dict[str, Any]:
    """Per-attack metrics of a run (see the module docstring); ``{}`` when nothing applies.

    Parameters
    ----------
    plan : SplitPlan
        The run's folds (``fold_names`` set for leave-one-attack-out).
    scores_df : pd.DataFrame
        Held-out scores with ``label``, ``score``, ``fold`` (and ``attack``); a ``held_out``
        column (the fold's held-out attack) is added in place for leave-one-attack-out runs.
    meta : pd.DataFrame
        The table's provenance (row-aligned with the fold indices), for the training attacks.
    """
    out: dict[str, Any] = {}
    labels = scores_df["label"].astype(str).to_numpy()
    scores = scores_df["score"].to_numpy(dtype=float)
    if getattr(plan, "fold_names", None):
        names = np.asarray(plan.fold_names, dtype=object)
        scores_df["held_out"] = names[scores_df["fold"].to_numpy(dtype=int)]
        per: dict[str, dict[str, Any]] = {}
        for name in sorted(set(plan.fold_names)):
            m = scores_df["held_out"].to_numpy() == name
            per[name] = {
                "eer": _eer(labels[m], scores[m]),
                "n_bonafide": int((labels[m] == BONAFIDE).sum()),
                "n_spoof": int((labels[m] == SPOOF).sum()),
            }
        vals = {k: v["eer"] for k, v in per.items() if v["eer"] is not None}
        out["held_out_attacks"] = per
        if vals:
            worst = max(vals, key=lambda k: vals[k])
            out["held_out_eer_mean"] = float(np.mean(list(vals.values())))
            out["held_out_eer_worst"] = vals[worst]
            out["held_out_worst"] = worst
        out["protocol"] = "attack"
        return out
    if getattr(plan, "protocol", ""):
        out["protocol"] = plan.protocol
    if "attack" not in scores_df.columns or "attack" not in meta.columns:
        return out
    att = scores_df["attack"].astype(str).to_numpy()
    spoof_attacks = sorted(set(att[labels == SPOOF]) - _NO_ATTACK)
    if not spoof_attacks or not (labels == BONAFIDE).any():
        return out
    meta_att = meta["attack"].astype(str).to_numpy()
    trained: set[str] = set()
    for tr, _ in plan.folds:
        trained |= set(meta_att[tr])
    bona = labels == BONAFIDE
    table: dict[str, dict[str, Any]] = {}
    for name in spoof_attacks:
        m = bona | (att == name)
        table[name] = {
            "eer": _eer(labels[m], scores[m]),
            "n_spoof": int(((labels == SPOOF) & (att == name)).sum()),
            "seen_in_training": name in trained,
        }
    unseen = [k for k, v in table.items() if not v["seen_in_training"]]
    if len(table) < 2 and not unseen:
        return out  # one attack, seen in training: the headline EER says it all
    out["per_attack"] = table
    out["unseen_attacks"] = unseen
    return out


def format_attack_table(metrics: dict[str, Any]) -> str:
    """Terminal lines for ``held_out_attacks`` / ``per_attack`` ("" when neither)."""
    lines: list[str] = []
    names = list(metrics.get("held_out_attacks") or metrics.get("per_attack") or [])
    w = max([15, *(len(k) for k in names)])
    if "held_out_attacks" in metrics:
        lines.append(f"{'held-out attack':<{w}}   EER %   bona  spoof")
        for k, v in metrics["held_out_attacks"].items():
            e = "" if v["eer"] is None else f"{100 * v['eer']:6.2f}"
            lines.append(f"{k:<{w}} {e:>7}  {v['n_bonafide']:>5}  {v['n_spoof']:>5}")
        if "held_out_eer_mean" in metrics:
            lines.append(
                f"mean {100 * metrics['held_out_eer_mean']:.2f} %, worst "
                f"{100 * metrics['held_out_eer_worst']:.2f} % ({metrics['held_out_worst']})"
            )
    elif "per_attack" in metrics:
        lines.append(f"{'attack':<{w}}   EER %  spoof  in training?")
        for k, v in metrics["per_attack"].items():
            e = "" if v["eer"] is None else f"{100 * v['eer']:6.2f}"
            seen = "seen" if v["seen_in_training"] else "UNSEEN"
            lines.append(f"{k:<{w}} {e:>7}  {v['n_spoof']:>5}  {seen}")
    return "\n".join(lines)
