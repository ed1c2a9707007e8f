"""The reference implementations' rounding rules for width and depth multipliers."""

from __future__ import annotations

import math
from dataclasses import replace

from search_spaces.genotype import Genotype

DIVISOR = 8


def round_filters(channels: int, width: float, divisor: int = DIVISOR) -> int:
    """``channels * width`` to the nearest multiple of ``divisor``, never below ``divisor`` or 90%."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    """``ceil(repeats * depth)`` in floating point, as the references do (so 25 * 2.2 gives 56)."""
    return math.ceil(depth * repeats)


def check_multiplier(name: str, value: float) -> float:
    """A width/depth/resolution multiplier must be a positive number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} multiplier must be a positive number, got {value!r}")
    return float(value)


def apply_multipliers(genotype: Genotype, width: float = 1.0, depth: float = 1.0) -> Genotype:
    """Round every channel count (stem, stages, head) by ``width`` and every stage's layers by ``depth``."""
    width = check_multiplier("width", width)
    depth = check_multiplier("depth", depth)
    blocks = tuple(
        replace(b, out_channels=round_filters(b.out_channels, width), repeats=round_repeats(b.repeats, depth))
        for b in genotype.blocks
    )
    return replace(
        genotype,
        blocks=blocks,
        stem=round_filters(genotype.stem, width),
        head=round_filters(genotype.head, width),
    )
