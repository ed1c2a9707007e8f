"""The target a candidate is built for: the input its cost is counted at, the device its latency is measured on.

The search's reward and the scaling ratios refer to one input, the *target* (``T = 400M`` is
B0's FLOPs at 224 px and 1000 classes), whatever resolution and classes the proxy trains at.
Latency is measured there too: ``batch_size`` images on ``device`` with ``threads`` CPU threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from search_spaces.device import check_device, device_name
from search_spaces.flops import count_flops, genotype_params
from search_spaces.genotype import Genotype


class Cost(NamedTuple):
    params: int
    flops: int


def _positive_int(value: Any, least: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


@dataclass(frozen=True)
class Target:
    """The ``target`` settings: the input at which a candidate's cost is counted, and where its latency is timed."""

    resolution: int = 224
    num_classes: int = 1000
    in_chans: int = 3
    device: str = "cpu"  # cpu, cuda, cuda:N: the device the network will run on (not the one it trains on)
    threads: int = 1  # CPU threads while timing
    batch_size: int = 1  # images per timed batch
    min_run_time: float = 0.5  # seconds of timed runs per measurement, after `warmup` untimed runs
    warmup: int = 3

    def __post_init__(self) -> None:
        if not _positive_int(self.resolution, 32):
            raise ValueError(f"target.resolution must be an integer >= 32, got {self.resolution!r}")
        for name in ("num_classes", "in_chans", "threads", "batch_size"):
            if not _positive_int(getattr(self, name)):
                raise ValueError(f"target.{name} must be an integer >= 1, got {getattr(self, name)!r}")
        check_device(self.device)
        number = isinstance(self.min_run_time, (int, float)) and not isinstance(self.min_run_time, bool)
        if not (number and self.min_run_time > 0):
            raise ValueError(f"target.min_run_time must be a number of seconds > 0, got {self.min_run_time!r}")
        if not _positive_int(self.warmup, 0):
            raise ValueError(f"target.warmup must be an integer >= 0, got {self.warmup!r}")

    def input(self) -> dict[str, int]:
        """The input a cost is counted at (resolution, classes, channels): what FLOPs and params depend on."""
        return {"resolution": self.resolution, "num_classes": self.num_classes, "in_chans": self.in_chans}

    def latency_identity(self) -> dict[str, Any]:
        """What makes two latency measurements comparable: the device's own name, threads, batch, torch."""
        return {
            "device": device_name(self.device),
            "threads": self.threads,
            "batch_size": self.batch_size,
            "torch": torch.__version__,
        }

    def scaled_resolution(self, multiplier: float = 1.0) -> int:
        return round(self.resolution * multiplier)

    def cost(self, genotype: Genotype, resolution_multiplier: float = 1.0) -> Cost:
        """(params, FLOPs) of ``genotype`` at this input, its resolution optionally scaled."""
        resolution = self.scaled_resolution(resolution_multiplier)
        flops = count_flops(genotype, resolution, self.in_chans, self.num_classes).total
        return Cost(genotype_params(genotype, self.num_classes, self.in_chans), flops)
