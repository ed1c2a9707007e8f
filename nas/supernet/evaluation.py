"""Scoring subnets with the supernet's weights: BatchNorm recalibrated, then a fixed part of validation.

A subnet's BatchNorm statistics are those of the last subnet the supernet ran, so every subnet gets
its own: re-estimated on a fixed set of training images (the same for every subnet), then it is
scored on a fixed part of the validation split, in batches, without gradients.  Scores are cached
per genotype; the supernet's weights never change here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nas.proxy.data import ProxyData
from nas.proxy.evaluation import fixed_part, recalibrate_batchnorm
from nas.proxy.recipe import ProxyConfig
from nas.proxy.stopping import check_stop
from nas.supernet.network import Supernet
from nas.supernet.settings import SupernetSettings
from search_spaces.genotype import Genotype


@dataclass(frozen=True)
class SubnetScore:
    """A subnet's accuracy and mean cross-entropy on the scoring images, with the supernet's weights."""

    accuracy: float
    loss: float

    def value(self, score: str) -> float:
        """The ranking value, higher is better: accuracy, or the negated loss."""
        return self.accuracy if score == "accuracy" else -self.loss


class Subnet(nn.Module):
    """One member of the supernet as a plain module (``subnet(x)``), sharing the supernet's weights."""

    def __init__(self, net: Supernet, genotype: Genotype) -> None:
        super().__init__()
        self.net, self.genotype = net, genotype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.genotype)


class SubnetScorer:
    """Scores members of ``net``'s space on ``data`` (cached per genotype); counts the seconds it spends."""

    def __init__(self, net: Supernet, data: ProxyData, settings: SupernetSettings, proxy: ProxyConfig) -> None:
        self.net, self.settings = net, settings
        self.batch_size, self.memory_format = proxy.eval_batch_size, proxy.memory_format
        self.calibration = fixed_part(data.train, settings.recalibration)
        self.val = fixed_part(data.val, settings.eval_images)
        self.cache: dict[Genotype, SubnetScore] = {}
        self.seconds = 0.0

    @property
    def evaluated(self) -> int:
        return len(self.cache)

    def __call__(self, genotype: Genotype) -> SubnetScore:
        cached = self.cache.get(genotype)
        if cached is None:
            start = time.perf_counter()
            cached = self.cache[genotype] = self._score(genotype)
            self.seconds += time.perf_counter() - start
        return cached

    def value(self, genotype: Genotype) -> float:
        """The ranking value of ``genotype`` by ``settings.score`` (higher is better)."""
        return self(genotype).value(self.settings.score)

    @property
    def per_minute(self) -> float | None:
        """Members scored per minute so far (None before the first)."""
        return round(60 * self.evaluated / self.seconds, 1) if self.seconds > 0 else None

    @torch.no_grad()
    def _score(self, genotype: Genotype) -> SubnetScore:
        self.net.scaled(genotype)  # a genotype outside the space is refused before any work
        subnet = Subnet(self.net, genotype)
        size = min(self.batch_size, len(self.calibration))
        recalibrate_batchnorm(subnet, self.calibration, len(self.calibration), size, self.memory_format)
        subnet.eval()
        correct, loss = 0, 0.0
        for start in range(0, len(self.val), self.batch_size):
            check_stop()
            x = self.val.batch(slice(start, start + self.batch_size)).contiguous(memory_format=self.memory_format)
            y = self.val.labels[start : start + self.batch_size]
            logits = subnet(x)
            correct += int((logits.argmax(1) == y).sum())
            loss += float(F.cross_entropy(logits, y, reduction="sum"))
        n = max(1, len(self.val))
        return SubnetScore(correct / n, loss / n if math.isfinite(loss) else math.inf)
