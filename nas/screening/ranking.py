"""Rankings of scored candidates: by one score, by a score negated, or by the vote of several.

A ranking is by one score, by a score negated (``-snip``: the lowest first, for a score that
ranks this space backwards), or by ``vote``: the mean of the candidates' ranks under each score of
:data:`~nas.screening.scores.VOTE`.  Higher is better everywhere; a score that is NaN or infinite ranks last.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nas.screening.scores import SCORES, VOTE

RANKINGS = (*SCORES, "vote", *(f"-{name}" for name in SCORES))


def check_score_names(names: Iterable[str], setting: str, allowed: Sequence[str] = SCORES) -> list[str]:
    """``names`` as a list, or a ``ValueError`` naming the unknown one and what is allowed."""
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in allowed:
            raise ValueError(f"unknown {setting} {name!r}; allowed: {', '.join(allowed)}")
    if not names:
        raise ValueError(f"{setting} is empty; allowed: {', '.join(allowed)}")
    return names


def members(ranking: str) -> tuple[str, ...]:
    """The scores a ranking needs: ``vote``'s members, or the score itself (``-name``: ``name``)."""
    return VOTE if ranking == "vote" else (ranking.removeprefix("-"),)


def ranking_values(table: Mapping[str, Sequence[float]], ranking: str) -> np.ndarray:
    """The value to sort by (higher is better): the score (negated for ``-name``), or ``vote``'s mean rank."""
    if ranking != "vote":
        sign = -1.0 if ranking.startswith("-") else 1.0
        return _finite(sign * np.asarray(table[ranking.removeprefix("-")], dtype=float))
    return np.mean([_rankdata(_finite(table[name])) for name in VOTE], axis=0)


def ranks(values: Sequence[float]) -> np.ndarray:
    """1 for the best (highest) value; ties share the better rank."""
    return _rankdata(-_finite(values), method="min").astype(int)


def _finite(values: Sequence[float]) -> np.ndarray:
    out = np.asarray(values, dtype=float)
    return np.where(np.isfinite(out), out, -np.inf)


def best_of(table: Mapping[str, Sequence[float]], ranking: str) -> int:
    """The index of the best candidate in ``table`` under ``ranking`` (the first of ties)."""
    return int(np.argmax(ranking_values(table, ranking)))


def pool_frame(rows: Sequence[Mapping[str, Any]], names: Sequence[str], ranking: str) -> pd.DataFrame:
    """``blocks``, the scores ``names``, then ``rank`` under ``ranking`` (1 = best); rows in their order."""
    needed = list(dict.fromkeys([*names, *members(ranking)]))
    frame = pd.DataFrame(list(rows), columns=["blocks", *needed])
    frame["rank"] = ranks(ranking_values(frame, ranking)) if len(frame) else []
    return frame[["blocks", *names, "rank"]]


def _rankdata(values: np.ndarray, method: str = "average") -> np.ndarray:
    from scipy.stats import rankdata  # here: scipy.stats takes a command's start up by almost a second

    return rankdata(values, method=method)
