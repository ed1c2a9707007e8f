"""How far apart two proxy accuracies must be before they differ: the sampling noise of the validation split.

An accuracy measured on ``n`` validation images is a binomial proportion; its 95% interval
(Wilson's) is what a summary quotes beside it.  Two networks scored on the same ``n`` images
differ only when the gap between them is beyond 1.96 standard errors of the difference, taken as
independent (the shared images make that conservative).  Where each image's outcome is kept
(``val_outcomes``, packed by :func:`pack_outcomes`), the gap is judged image by image instead
(:func:`paired_margin`, McNemar's comparison): images both networks get right or both get wrong
say nothing about which is better, so the margin shrinks to what the images they disagree on
allow.  A reward ``acc * factor`` carries its accuracy's noise times the (exactly known) cost factor.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import binomtest
from scipy.stats import t as student_t

Z95 = 1.959963984540054
SEPARATION = 0.03
"""The gap (in accuracy) a validation split should be able to separate; smaller splits get a warning."""


def accuracy_interval(accuracy: float, n: int) -> tuple[float, float]:
    """The 95% Wilson interval of an accuracy measured on ``n`` images."""
    correct = min(n, max(0, round(accuracy * n)))
    interval = binomtest(correct, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(interval.low), float(interval.high)


def interval_text(accuracy: float, n: int | None) -> str:
    """`` [low, high] on N validation images`` (empty when ``n`` is unknown): how a summary quotes an accuracy."""
    if not n:
        return ""
    low, high = accuracy_interval(accuracy, n)
    return f" [{low:.3f}, {high:.3f}] on {n:,} validation images"


def mean_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """The 95% t-interval of the mean of repeated measurements (e.g. one network over seeds); None below two."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return None
    mean, half = float(array.mean()), 0.0
    if np.ptp(array) > 0:
        half = float(student_t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / math.sqrt(len(array)))
    return mean - half, mean + half


def gap_margin(a: float, b: float, n: int, scale_a: float = 1.0, scale_b: float = 1.0) -> float:
    """The gap two accuracies on ``n`` images each (times their scales) must exceed to differ at 95%."""
    return Z95 * math.sqrt((scale_a**2 * a * (1 - a) + scale_b**2 * b * (1 - b)) / n)


def pack_outcomes(correct: np.ndarray) -> str:
    """``N:base64`` of one bit per validation image (1: classified right): how a trial keeps its outcomes."""
    bits = np.asarray(correct, dtype=bool).ravel()
    return f"{len(bits)}:" + base64.b64encode(np.packbits(bits).tobytes()).decode("ascii")


def unpack_outcomes(text: str) -> np.ndarray:
    """The boolean per-image outcomes :func:`pack_outcomes` wrote."""
    count, _, packed = text.partition(":")
    return np.unpackbits(np.frombuffer(base64.b64decode(packed), dtype=np.uint8), count=int(count)).astype(bool)


def paired_margin(
    lower: Sequence[np.ndarray], upper: Sequence[np.ndarray], scale_lower: float = 1.0, scale_upper: float = 1.0
) -> float:
    """The gap ``mean(upper) - mean(lower)`` (each times its scale) must exceed to differ at 95%, image by image.

    Each pair (``lower[i]``, ``upper[i]``) is two networks' outcomes on the same images (e.g. one
    seed of each); each image's difference is averaged over the pairs, and the margin is 1.96
    standard errors of the mean of those differences over the images, plus a continuity correction
    (McNemar's: one disputed image), without which a handful of disputed images would count.
    A scale is a reward's exactly known cost factor (``reward = accuracy * factor``).
    """
    if not lower or len(lower) != len(upper) or len({len(o) for o in (*lower, *upper)}) != 1:
        raise ValueError("paired outcomes must be pairs of outcomes on the same images")
    pairs = zip(lower, upper, strict=True)
    difference = np.mean([scale_upper * u.astype(float) - scale_lower * v.astype(float) for v, u in pairs], axis=0)
    if len(difference) < 2:
        return math.inf
    correction = max(scale_lower, scale_upper) / len(difference)
    return Z95 * float(difference.std(ddof=1)) / math.sqrt(len(difference)) + correction


def pair_margin(
    a: float, b: float, n: int | None, outcomes_a: np.ndarray | None = None, outcomes_b: np.ndarray | None = None
) -> float:
    """The gap between two accuracies that beats noise: paired when both outcomes are kept, else unpaired."""
    if outcomes_a is not None and outcomes_b is not None:
        return paired_margin([outcomes_a], [outcomes_b])
    return gap_margin(a, b, n) if n else 0.0


def verdict(value: float, other: float, margin: float) -> str:
    """``beats``, ``ties within noise with`` or ``does not beat``: ``value`` against ``other`` and the margin."""
    if value - other > margin:
        return "beats"
    if other - value > margin:
        return "does not beat"
    return "ties within noise with"


def small_split_warning(n: int, accuracy: float = 0.8, gap: float = SEPARATION) -> str | None:
    """One line when ``n`` validation images cannot separate networks ``gap`` apart (None when they can)."""
    margin = gap_margin(accuracy, accuracy, n)
    if margin <= gap:
        return None
    return (
        f"{n:,} validation images cannot separate networks {gap:.0%} apart (two accuracies near "
        f"{accuracy:.0%} must differ by {margin:.3f}); raise proxy.val_size, or read these rankings as ties"
    )


def small_split_note(n: int | None) -> str | None:
    """``Note: ….`` when ``n`` validation images are too few (None otherwise): the one way every summary says it."""
    warning = small_split_warning(n) if n else None
    return f"Note: {warning}." if warning else None
