"""Compound scaling: depth, width and resolution multipliers from (alpha, beta, gamma) and phi."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from search_spaces.genotype import Genotype
from search_spaces.rounding import apply_multipliers, check_multiplier

PAPER_COEFFICIENTS = (1.2, 1.1, 1.15)
"""EfficientNet's grid-search result at phi = 1: alpha (depth), beta (width), gamma (resolution)."""


class Multipliers(NamedTuple):
    depth: float
    width: float
    resolution: float


def flops_constraint(alpha: float, beta: float, gamma: float) -> float:
    """``alpha * beta**2 * gamma**2``: how much one step of phi multiplies FLOPs (ideally 2)."""
    return alpha * beta**2 * gamma**2


def check_phi(phi: Any) -> float:
    """``phi`` as a compound coefficient: a finite number > 0 (the one place phi is checked)."""
    if isinstance(phi, bool) or not isinstance(phi, (int, float)) or not math.isfinite(phi) or phi <= 0:
        raise ValueError(f"phi must be a number > 0, got {phi!r}")
    return float(phi)


def parse_phi(value: Any) -> float:
    """A phi from the command line: a number or its text."""
    if isinstance(value, str):
        try:
            return check_phi(float(value))
        except ValueError:
            raise ValueError(f"phi must be a number > 0, got {value!r}") from None
    return check_phi(value)


def parse_phis(value: str | Sequence[Any]) -> list[float]:
    """A non-empty list of phis, from a sequence or the text ``1,2,3`` (brackets allowed)."""
    items = list(value) if isinstance(value, (list, tuple)) else str(value).strip("[]").split(",")
    items = [v for v in items if str(v).strip()]
    if not items:
        raise ValueError(f"phis must be a non-empty list of numbers > 0, got {value!r}")
    try:
        return [parse_phi(v) for v in items]
    except ValueError:
        raise ValueError(f"phis must be a non-empty list of numbers > 0, got {value!r}") from None


def compound_multipliers(alpha: float, beta: float, gamma: float, phi: float) -> Multipliers:
    """``d = alpha**phi``, ``w = beta**phi``, ``r = gamma**phi``."""
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        check_multiplier(name, value)
    phi = check_phi(phi)
    return Multipliers(alpha**phi, beta**phi, gamma**phi)


def scaled_resolution(resolution: int, multiplier: float) -> int:
    return round(resolution * check_multiplier("resolution", multiplier))


def scale(genotype: Genotype, depth: float, width: float, resolution: float) -> Genotype:
    """The genotype with layers rounded up by ``depth``, channels rounded by ``width``, and
    its resolution multiplied by ``resolution`` (rounded to the nearest pixel)."""
    scaled = apply_multipliers(genotype, width=width, depth=depth)
    return replace(scaled, resolution=scaled_resolution(genotype.resolution, resolution))
