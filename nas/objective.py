"""The search's reward: ``ACC(m) * (FLOPS(m) / T) ** w`` (MnasNet, with FLOPs as in EfficientNet).

``w = alpha`` when ``FLOPS(m) <= T`` else ``beta``.  Soft constraint: ``alpha = beta = w``
(default ``w = -0.07``); hard constraint: ``alpha = 0, beta = -1``.  Multi-objective mode
optimises (accuracy up, FLOPs down) for a Pareto front instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MODES = ("soft", "hard", "multi")


@dataclass(frozen=True)
class Reward:
    """The scalar reward of a (accuracy, FLOPs) pair; also carries the mode for the study."""

    mode: str = "soft"
    target_flops: float = 400e6
    w: float = -0.07

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"objective.mode {self.mode!r} is not one of {', '.join(MODES)}")
        if not (
            isinstance(self.target_flops, (int, float)) and math.isfinite(self.target_flops) and self.target_flops > 0
        ):
            raise ValueError(f"objective.target_flops (T) must be > 0, got {self.target_flops!r}")
        if not (isinstance(self.w, (int, float)) and math.isfinite(self.w) and self.w <= 0):
            raise ValueError(f"objective.w must be <= 0 (a FLOPs penalty), got {self.w!r}")

    @property
    def exponents(self) -> tuple[float, float]:
        """(alpha, beta): the exponent below / above the target."""
        return (0.0, -1.0) if self.mode == "hard" else (self.w, self.w)

    def __call__(self, accuracy: float, flops: float) -> float:
        alpha, beta = self.exponents
        exponent = alpha if flops <= self.target_flops else beta
        return accuracy * (flops / self.target_flops) ** exponent

    @property
    def multi_objective(self) -> bool:
        return self.mode == "multi"

    @property
    def directions(self) -> list[str]:
        return ["maximize", "minimize"] if self.multi_objective else ["maximize"]

    def describe(self) -> str:
        alpha, beta = self.exponents
        if self.multi_objective:
            return "multi-objective: maximise accuracy, minimise FLOPs"
        return f"ACC * (FLOPS / {self.target_flops:.4g}) ** w, w = {alpha} if FLOPS <= T else {beta}"
