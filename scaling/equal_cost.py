"""Each scaling method at equal real cost: its multipliers moved along its own direction until the
scaled network's real FLOPs are within a tolerance of ``2**phi`` times the baseline's.

A method is a direction ``t -> (d, w, r)`` whose nominal FLOPs grow as ``2**t``: depth only
(``d = 2**t``), width only (``w = 2**(t/2)``), resolution only (``r = 2**(t/2)``) and compound
(``alpha**t, beta**t, gamma**t``).  Rounding of layers, channels and input size moves the real cost
away from the nominal one, and a triple chosen for its real cost at one phi need not hold it at the
next (compound at ``2**t`` only when ``alpha * beta**2 * gamma**2 = 2``).  Comparing methods at
unequal cost rewards the larger network, so :func:`equal_cost_multipliers` keeps a method's nominal
step where it is within tolerance and otherwise finds the step whose real FLOPs are nearest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from scaling.compound import Multipliers, compound_multipliers, scale
from scaling.grid_points import holds_cost
from search_spaces.cost import Target
from search_spaces.flops import estimate_flops
from search_spaces.genotype import Genotype

METHODS = ("depth", "width", "resolution", "compound")
Direction = Callable[[float], Multipliers]
STEP_RESOLUTION = 1e-4  # in t: below one pixel's, channel's or layer's rounding at any phi (the count is analytic)
MAX_STEP = 64.0  # no method needs a step this far past phi to double its FLOPs


def check_methods(methods: Sequence[str]) -> tuple[str, ...]:
    """``methods`` as a tuple, each one of :data:`METHODS`."""
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if not methods:
        raise ValueError(f"compare needs at least one method; allowed: {', '.join(METHODS)}")
    return tuple(methods)


def method_direction(method: str, coefficients: tuple[float, float, float]) -> Direction:
    """The method's multipliers at step ``t`` (nominally ``2**t`` times the FLOPs)."""
    if method == "depth":
        return lambda t: Multipliers(2.0**t, 1.0, 1.0)
    if method == "width":
        return lambda t: Multipliers(1.0, 2.0 ** (t / 2), 1.0)
    if method == "resolution":
        return lambda t: Multipliers(1.0, 1.0, 2.0 ** (t / 2))
    if method == "compound":
        if min(coefficients) < 1:  # each step must scale up, or cost need not grow with t
            raise ValueError(f"compound coefficients must each be >= 1, got {tuple(coefficients)}")
        return lambda t: compound_multipliers(*coefficients, t)
    raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")


def flops_ratio(baseline: Genotype, multipliers: tuple[float, float, float], target: Target) -> float:
    """The scaled network's real FLOPs at the target input over the baseline's.

    Counted analytically (:func:`~search_spaces.flops.estimate_flops`, equal to fvcore's count), so
    a bisection costs milliseconds instead of a trace per step.
    """
    d, w, r = multipliers

    def flops(genotype: Genotype, multiplier: float) -> int:
        at = {"in_chans": target.in_chans, "num_classes": target.num_classes}
        return estimate_flops(genotype, target.scaled_resolution(multiplier), **at).total

    return flops(scale(baseline, depth=d, width=w, resolution=r), r) / flops(baseline, 1.0)


def equal_cost_multipliers(
    baseline: Genotype, direction: Direction, phi: float, target: Target, tolerance: float
) -> Multipliers:
    """``direction(phi)`` when its real FLOPs are within ``tolerance`` of ``2**phi`` times the
    baseline's; otherwise ``direction(t)`` at the step ``t`` whose real FLOPs are nearest that.

    Real FLOPs never fall as ``t`` grows (layers round up, channels and pixels to the nearest), so
    a bisection brackets the budget between two adjacent roundings and keeps the nearer one; where
    rounding jumps over the whole tolerance, the nearest is still returned and its ratio says so.
    """
    goal = 2.0**phi

    def miss(t: float) -> float:
        return abs(math.log(flops_ratio(baseline, direction(t), target) / goal))

    if holds_cost(flops_ratio(baseline, direction(phi), target), goal, tolerance):
        return direction(phi)
    low, high = 0.0, phi
    while flops_ratio(baseline, direction(high), target) < goal:
        low, high = high, high * 2
        if high > phi + MAX_STEP:
            raise ValueError(f"{direction(phi)} cannot reach {goal:g}x the baseline's FLOPs: its cost does not grow")
    while high - low > STEP_RESOLUTION:
        middle = (low + high) / 2
        if flops_ratio(baseline, direction(middle), target) < goal:
            low = middle
        else:
            high = middle
    # t = 0 is the baseline itself (and no compound step): never a member, however near its cost
    return direction(min((high, low) if low > 0 else (high,), key=miss))


def moved(
    key: str,
    phi: float,
    nominal: tuple[float, float, float],
    fitted: tuple[float, float, float],
    baseline: Genotype,
    target: Target,
    tolerance: float,
    setting: str = "compare.equal_cost",
) -> str:
    """The line saying a run was moved off its nominal multipliers (by ``setting``), and what each costs."""

    def text(m: tuple[float, float, float]) -> str:
        return f"({', '.join(f'{v:.4g}' for v in m)}), {flops_ratio(baseline, m, target):.2f}x"

    line = f"  {key}: {text(nominal)} the baseline's FLOPs after rounding; moved to {text(fitted)} ({setting})"
    goal = 2.0**phi
    if not holds_cost(flops_ratio(baseline, fitted, target), goal, tolerance):
        line += f"; still outside {goal:g}x +- {tolerance:.0%}: rounding allows no nearer network"
    return line
