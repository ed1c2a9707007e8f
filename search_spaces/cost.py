"""What a candidate costs at the target input: parameters and FLOPs (latency later).

The search's reward and the scaling ratios refer to one input, the *target* (``T = 400M`` is
B0's FLOPs at 224 px and 1000 classes), whatever resolution and classes the proxy trains at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from search_spaces.flops import count_flops, genotype_params
from search_spaces.genotype import Genotype


class Cost(NamedTuple):
    params: int
    flops: int


@dataclass(frozen=True)
class Target:
    """The input at which a candidate's cost is counted."""

    resolution: int = 224
    num_classes: int = 1000
    in_chans: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.resolution, bool) or not isinstance(self.resolution, int) or self.resolution < 32:
            raise ValueError(f"target.resolution must be an integer >= 32, got {self.resolution!r}")
        for name in ("num_classes", "in_chans"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"target.{name} must be an integer >= 1, got {value!r}")

    def scaled_resolution(self, multiplier: float = 1.0) -> int:
        return round(self.resolution * multiplier)

    def cost(self, genotype: Genotype, resolution_multiplier: float = 1.0) -> Cost:
        """(params, FLOPs) of ``genotype`` at this input, its resolution optionally scaled."""
        resolution = self.scaled_resolution(resolution_multiplier)
        flops = count_flops(genotype, resolution, self.in_chans, self.num_classes).total
        return Cost(genotype_params(genotype, self.num_classes, self.in_chans), flops)
