"""The compound-scaling grid: feasible (alpha, beta, gamma) points, ``alpha * beta**2 * gamma**2 ~ 2``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from scaling.compound import flops_constraint

PRUNERS = ("successive_halving", "none")
Point = tuple[float, float, float]


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class GridSettings:
    alpha_max: float = 1.3
    beta_max: float = 1.2
    gamma_max: float = 1.2
    step: float = 0.05
    tolerance: float = 0.1
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
        if self.pruner not in PRUNERS:
            raise ValueError(f"unknown grid.pruner {self.pruner!r}; allowed: {', '.join(PRUNERS)}")
        if isinstance(self.max_failures, bool) or not isinstance(self.max_failures, int) or self.max_failures < 1:
            raise ValueError(f"grid.max_failures must be an integer >= 1, got {self.max_failures!r}")

    def identity(self) -> dict[str, Any]:
        """The settings that decide which points exist and how they are judged."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "max_failures"}


def axis(maximum: float, step: float) -> list[float]:
    """``1, 1 + step, ...`` up to ``maximum`` inclusive, free of float drift."""
    count = math.floor((maximum - 1) / step + 1e-9) + 1
    return [round(1 + i * step, 10) for i in range(count)]


def feasible_grid(settings: GridSettings) -> list[Point]:
    """Every (alpha, beta, gamma) on the grid with ``|alpha * beta**2 * gamma**2 - 2| <= tolerance``."""
    points = [
        (a, b, g)
        for a in axis(settings.alpha_max, settings.step)
        for b in axis(settings.beta_max, settings.step)
        for g in axis(settings.gamma_max, settings.step)
        if abs(flops_constraint(a, b, g) - 2) <= settings.tolerance + 1e-12
    ]
    if not points:
        raise ValueError(no_feasible_point_message(settings))
    return points


def no_feasible_point_message(settings: GridSettings) -> str:
    """Say that no point is feasible, and which settings would give some."""
    a, b, g = (axis(m, settings.step) for m in (settings.alpha_max, settings.beta_max, settings.gamma_max))
    best = min(((x, y, z) for x in a for y in b for z in g), key=lambda p: abs(flops_constraint(*p) - 2))
    gap = abs(flops_constraint(*best) - 2)
    hint = f"grid.tolerance>={math.ceil(gap * 1000) / 1000:g} would include {best}"
    if flops_constraint(a[-1], b[-1], g[-1]) < 2 - settings.tolerance:
        hint += " (or raise grid.alpha_max/beta_max/gamma_max: their product reaches only "
        hint += f"{flops_constraint(a[-1], b[-1], g[-1]):.3f})"
    return (
        f"no feasible grid point: no alpha*beta^2*gamma^2 within {settings.tolerance} of 2 "
        f"(step {settings.step}, maxima {settings.alpha_max}/{settings.beta_max}/{settings.gamma_max}); {hint}"
    )


def point_key(point: Point) -> str:
    return ",".join(f"{v:g}" for v in point)


def parse_point(key: str) -> Point:
    a, b, g = (float(v) for v in key.split(","))
    return a, b, g
