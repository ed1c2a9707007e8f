"""The compound-scaling grid: its settings, and the (alpha, beta, gamma) points near ``alpha * beta**2 * gamma**2 = 2``.

Two rules say whether a point is feasible (``grid.rule``): the paper's constraint,
``|alpha * beta**2 * gamma**2 - 2| <= grid.tolerance``, and the real cost, the scaled network's
FLOPs (or latency) within ``grid.cost_tolerance`` of ``2**phi`` times the baseline's.  Rounding of
layers, channels and input size moves the real cost away from the constraint's, so under the
cost rule (the default) the grid costs every point within ``grid.band`` of 2 and trains the ones
whose real cost holds the budget.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from scaling.compound import flops_constraint

PRUNERS = ("successive_halving", "none")
RULES = ("cost", "constraint", "both")
COSTS = ("flops", "latency")
Point = tuple[float, float, float]


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_tolerance(value: Any, name: str) -> float:
    """``value`` when it is a cost tolerance (a number > 0); a one-line error naming ``name`` otherwise."""
    if not is_number(value) or value <= 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
    return float(value)


def holds_cost(ratio: float, expected: float, tolerance: float) -> bool:
    """Whether a real cost ratio lies within ``tolerance`` (a fraction) of ``expected`` (``2**phi``)."""
    return abs(ratio / expected - 1) <= tolerance + 1e-12


@dataclass(frozen=True)
class GridSettings:
    alpha_max: float = 1.3
    beta_max: float = 1.2
    gamma_max: float = 1.2
    step: float = 0.05
    tolerance: float = 0.1  # the constraint rule: |alpha*beta^2*gamma^2 - 2| <= tolerance
    rule: str = "cost"  # cost, constraint or both: what makes a point feasible
    band: float = 0.3  # the cost rule costs the points with |alpha*beta^2*gamma^2 - 2| <= band
    cost: str = "flops"  # flops (at the target input) or latency (measured on target.device)
    cost_tolerance: float = 0.1  # the cost rule: |cost ratio / 2**phi - 1| <= cost_tolerance
    top: int = 4  # how many of the first pass's best points are trained again with more seeds
    max_seeds: int = 3  # seeds per point at most (1: the first pass decides alone)
    pruner: str = "successive_halving"
    max_failures: int = 5

    def __post_init__(self) -> None:
        if not is_number(self.step) or self.step <= 0:
            raise ValueError(f"grid.step must be a number > 0, got {self.step!r}")
        for name in ("alpha_max", "beta_max", "gamma_max"):
            value = getattr(self, name)
            if not is_number(value) or value < 1:
                raise ValueError(f"grid.{name} must be a number >= 1, got {value!r}")
        if not is_number(self.tolerance) or self.tolerance < 0:
            raise ValueError(f"grid.tolerance must be a number >= 0, got {self.tolerance!r}")
        if not is_number(self.band) or self.band < 0:
            raise ValueError(f"grid.band must be a number >= 0, got {self.band!r}")
        for name, allowed in (("rule", RULES), ("cost", COSTS), ("pruner", PRUNERS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown grid.{name} {getattr(self, name)!r}; allowed: {', '.join(allowed)}")
        check_tolerance(self.cost_tolerance, "grid.cost_tolerance")
        for name in ("top", "max_seeds", "max_failures"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"grid.{name} must be an integer >= 1, got {value!r}")

    @property
    def by_cost(self) -> bool:
        return self.rule != "constraint"

    @property
    def by_constraint(self) -> bool:
        return self.rule != "cost"

    @property
    def enumerated(self) -> float:
        """How far from 2 a point's alpha*beta^2*gamma^2 may lie to be on the grid at all."""
        return self.tolerance if self.by_constraint else self.band

    def identity(self) -> dict[str, Any]:
        """The settings that decide which points exist and how they are judged (None: switched off)."""
        kept = {k: v for k, v in dataclasses.asdict(self).items() if k != "max_failures"}
        if not self.by_cost:
            kept.update(cost=None, cost_tolerance=None)
        if self.rule != "cost":
            kept.update(band=None)
        else:
            kept.update(tolerance=None)  # the constraint's tolerance decides nothing under the cost rule
        if self.max_seeds == 1:
            kept.update(top=None)
        return kept


def axis(maximum: float, step: float) -> list[float]:
    """``1, 1 + step, ...`` up to ``maximum`` inclusive, free of float drift."""
    count = math.floor((maximum - 1) / step + 1e-9) + 1
    return [round(1 + i * step, 10) for i in range(count)]


def feasible_grid(settings: GridSettings) -> list[Point]:
    """Every (alpha, beta, gamma) on the grid's axes within ``settings.enumerated`` of 2 (see the module)."""
    points = [
        (a, b, g)
        for a in axis(settings.alpha_max, settings.step)
        for b in axis(settings.beta_max, settings.step)
        for g in axis(settings.gamma_max, settings.step)
        if abs(flops_constraint(a, b, g) - 2) <= settings.enumerated + 1e-12
    ]
    if not points:
        raise ValueError(no_feasible_point_message(settings))
    return points


def no_feasible_point_message(settings: GridSettings) -> str:
    """Say that no point is feasible, and which settings would give some."""
    a, b, g = (axis(m, settings.step) for m in (settings.alpha_max, settings.beta_max, settings.gamma_max))
    best = min(((x, y, z) for x in a for y in b for z in g), key=lambda p: abs(flops_constraint(*p) - 2))
    gap, name = abs(flops_constraint(*best) - 2), "tolerance" if settings.by_constraint else "band"
    hint = f"grid.{name}>={math.ceil(gap * 1000) / 1000:g} would include {best}"
    if flops_constraint(a[-1], b[-1], g[-1]) < 2 - settings.enumerated:
        hint += " (or raise grid.alpha_max/beta_max/gamma_max: their product reaches only "
        hint += f"{flops_constraint(a[-1], b[-1], g[-1]):.3f})"
    return (
        f"no feasible grid point: no alpha*beta^2*gamma^2 within {settings.enumerated} of 2 "
        f"(step {settings.step}, maxima {settings.alpha_max}/{settings.beta_max}/{settings.gamma_max}); {hint}"
    )


def point_key(point: Point) -> str:
    return ",".join(f"{v:g}" for v in point)


def parse_point(key: str) -> Point:
    a, b, g = (float(v) for v in key.split(","))
    return a, b, g
