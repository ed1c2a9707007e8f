"""How ``report.md`` quotes proxy accuracies: with their 95% interval, compared only beyond sampling noise.

The rule (Wilson intervals, the gap two accuracies must exceed, the small-split note) lives in
``nas.proxy.noise``; this module only words it for the report's tables and sentences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nas.proxy.noise import accuracy_interval, pair_margin, small_split_note, verdict
from nas.studies.run import StudyRun
from scaling.compound import PAPER_COEFFICIENTS
from scaling.grid_summary import against_words

VERDICTS = ("beats", "ties within noise with", "does not beat")  # the order a sentence lists them in


def n_val_of(run: StudyRun) -> int | None:
    """The validation images a stage's accuracies were measured on (None in a summary from before it was kept)."""
    return (run.summary.get("dataset") or {}).get("n_val")


def accuracy_text(accuracy: float, n_val: int | None) -> str:
    """``0.8600 [0.853, 0.867]`` (bare when ``n_val`` is unknown)."""
    if not n_val:
        return f"{accuracy:.4f}"
    low, high = accuracy_interval(accuracy, n_val)
    return f"{accuracy:.4f} [{low:.3f}, {high:.3f}]"


def with_interval(value: Any, n_val: int | None) -> Any:
    """A table cell: an accuracy with its interval; anything else (missing, a note) as it was."""
    if not isinstance(value, float) or math.isnan(value) or not n_val:
        return value
    return accuracy_text(value, n_val)


def interval_words(n_val: int | None) -> str:
    return f" with its 95% interval on {n_val:,} validation images" if n_val else ""


def compared(
    accuracy: float,
    other: float,
    n_val: int | None,
    outcomes: np.ndarray | None = None,
    other_outcomes: np.ndarray | None = None,
) -> str:
    """``beats``, ``ties within noise with`` or ``does not beat``: one accuracy against another on ``n_val`` images.

    Image by image where both per-image outcomes are given, else by both accuracies' sampling noise.
    """
    return verdict(accuracy, other, pair_margin(accuracy, other, n_val, outcomes, other_outcomes))


def split_note(stages: Mapping[str, StudyRun]) -> list[str]:
    """The small-split note, once for the whole report: for the smallest validation split any stage used."""
    sizes = [n for n in map(n_val_of, stages.values()) if n]
    note = small_split_note(min(sizes)) if sizes else None
    return [note, ""] if note else []


def against_paper(
    best: Mapping[str, Any], paper_acc: Any, n_val: int | None, judged: Mapping[str, Any] | None = None
) -> str:
    """The grid's best against the paper's point (when that was trained in full); a gap within noise is a tie.

    ``judged``: the grid's own verdict over the seeds both were trained at (``paper_point.against_chosen``);
    without it (an older grid) the best's accuracy is set against the paper's one-seed accuracy.
    """
    if not isinstance(paper_acc, float):
        return ""
    if tuple(round(best[k], 4) for k in ("alpha", "beta", "gamma")) == PAPER_COEFFICIENTS:
        return " The paper's point is this grid's best."
    if judged:
        return f" This grid's best {against_words(judged)}."
    gap = best["val_acc"] - paper_acc
    return f" This grid's best {compared(best['val_acc'], paper_acc, n_val)} it ({gap:+.4f} proxy accuracy)."


def best_at_phi(
    phi: float,
    row: pd.Series,
    baseline: float | None,
    n_val: int | None,
    outcomes: Mapping[str, np.ndarray] | None = None,
) -> str:
    """``- phi = 1: compound scores highest, 0.8600 [...]; it beats depth; ties within noise with width.``

    ``outcomes``: per-image outcomes by method (and ``the baseline``), where kept, for paired verdicts.
    """
    top, best = str(row.idxmax()), float(row.max())
    others = {str(m): float(a) for m, a in row.items() if m != top}
    if baseline is not None and not math.isnan(baseline):
        others["the baseline"] = baseline
    kept = outcomes or {}
    said: dict[str, list[str]] = {}
    for name, accuracy in others.items():
        said.setdefault(compared(best, accuracy, n_val, kept.get(top), kept.get(name)), []).append(name)
    words = "; ".join(f"{v} {listed(said[v])}" for v in VERDICTS if v in said)
    return f"- phi = {phi:g}: {top} scores highest, {accuracy_text(best, n_val)}" + (f"; it {words}." if words else ".")


def listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
