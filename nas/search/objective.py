"""The search's reward: ``ACC(m) * (COST(m) / T) ** w`` (MnasNet; the cost FLOPs as in EfficientNet, or latency).

``w = alpha`` when ``COST(m) <= T`` else ``beta``.  Soft constraint: ``alpha = beta = w``
(default ``w = -0.07``); hard constraint: ``alpha = 0, beta = -1``.  Multi-objective mode
optimises (accuracy up, cost down) for a Pareto front instead.  The cost is FLOPs at the target
input (``T = target_flops``) or the latency in milliseconds on the target device
(``T = target_latency_ms``; None: the reference's own latency, as 400M is B0's FLOPs), measured
per candidate or predicted by a lookup table (``latency``, ``latency_table``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MODES = ("soft", "hard", "multi")
COSTS = ("flops", "latency")
SOURCES = ("measured", "predicted")
UNITS = {"flops": "FLOPS", "latency": "LAT"}


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@dataclass(frozen=True)
class Reward:
    """The ``objective`` settings: the reward of an (accuracy, cost) pair, and where a latency cost comes from."""

    mode: str = "soft"  # soft, hard (MnasNet's two constraints) or multi (a Pareto front)
    target_flops: float = 400e6  # T when the cost is FLOPs
    w: float = -0.07
    cost: str = "flops"  # flops, or latency (on target.device)
    target_latency_ms: float | None = None  # T when the cost is latency; None: the reference's own latency
    latency: str = "measured"  # measured (each candidate timed once per device), or predicted (a lookup table)
    latency_table: str | None = None  # predicted: the table file (None: the default one under runs/latency/)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"objective.mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.cost not in COSTS:
            raise ValueError(f"objective.cost {self.cost!r} is not one of {', '.join(COSTS)}")
        if not _positive(self.target_flops):
            raise ValueError(f"objective.target_flops (T) must be > 0, got {self.target_flops!r}")
        if self.target_latency_ms is not None and not _positive(self.target_latency_ms):
            raise ValueError(
                f"objective.target_latency_ms (T) must be > 0 ms, or null for the reference's latency; "
                f"got {self.target_latency_ms!r}"
            )
        if not (isinstance(self.w, (int, float)) and math.isfinite(self.w) and self.w <= 0):
            raise ValueError(f"objective.w must be <= 0 (a cost penalty), got {self.w!r}")
        if self.latency not in SOURCES:
            raise ValueError(f"objective.latency {self.latency!r} is not one of {', '.join(SOURCES)}")

    @property
    def on_latency(self) -> bool:
        return self.cost == "latency"

    @property
    def target(self) -> float:
        """T in the cost's unit; ``ValueError`` while a latency target is still to be measured."""
        if not self.on_latency:
            return self.target_flops
        if self.target_latency_ms is None:
            raise ValueError("objective.target_latency_ms is not known yet (the reference's latency)")
        return self.target_latency_ms

    def identity(self) -> dict[str, Any]:
        """The reward as a study's identity holds it (a latency target only where the cost is latency)."""
        target_latency = self.target_latency_ms if self.on_latency else None
        return {"mode": self.mode, "target_flops": self.target_flops, "w": self.w, "cost": self.cost,
                "target_latency_ms": target_latency}  # fmt: skip

    @property
    def exponents(self) -> tuple[float, float]:
        """(alpha, beta): the exponent below / above the target."""
        return (0.0, -1.0) if self.mode == "hard" else (self.w, self.w)

    def __call__(self, accuracy: float, cost: float) -> float:
        """The reward of ``accuracy`` at ``cost`` (FLOPs, or milliseconds when the cost is latency)."""
        if not cost > 0:  # a power of zero or a negative cost is infinite or complex, never a reward
            raise ValueError(f"a reward needs a cost ({UNITS[self.cost]}) > 0, got {cost!r}")
        alpha, beta = self.exponents
        target = self.target
        exponent = alpha if cost <= target else beta
        return accuracy * (cost / target) ** exponent

    @property
    def multi_objective(self) -> bool:
        return self.mode == "multi"

    @property
    def directions(self) -> list[str]:
        return ["maximize", "minimize"] if self.multi_objective else ["maximize"]

    def describe(self) -> str:
        alpha, beta = self.exponents
        unit = UNITS[self.cost]
        if self.multi_objective:
            return f"multi-objective: maximise accuracy, minimise {'latency' if self.on_latency else 'FLOPs'}"
        if self.on_latency:
            known = "the reference's" if self.target_latency_ms is None else f"{self.target_latency_ms:.4g} ms"
            return f"ACC * (LAT / T) ** w, T = {known}, w = {alpha} if LAT <= T else {beta}"
        return f"ACC * ({unit} / {self.target_flops:.4g}) ** w, w = {alpha} if {unit} <= T else {beta}"
