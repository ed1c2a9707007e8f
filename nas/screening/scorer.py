"""Scoring genotypes without training them: each on one seeded minibatch of the proxy's data.

:class:`Scorer` builds each genotype at the proxy's width (and memory format) for the proxy data's classes and
channels (a fresh, seeded initialisation per score: scores change the model), scores it on one
fixed minibatch of the proxy's training images, and times every score, model construction
included.  ``params`` and ``flops`` are the cost at the target input (FLOPs by the analytic count
that equals fvcore's, as tracing each candidate would take longer than every other score together).
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping

import torch

from nas.proxy.data import ProxyData
from nas.proxy.recipe import ProxyConfig
from nas.screening.scores import MODEL_SCORES
from search_spaces.build import build
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.flops import estimate_flops, genotype_params
from search_spaces.genotype import Genotype

log = logging.getLogger(__name__)


class Scorer:
    """Zero-cost scores of genotypes on one seeded minibatch of ``data``'s training split."""

    def __init__(
        self, data: ProxyData, proxy: ProxyConfig, target: Target, batch_size: int = 64, seed: int = 0
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
            raise ValueError(f"the scoring batch size must be an integer >= 2, got {batch_size!r}")
        generator = torch.Generator().manual_seed(seed)
        index = torch.randperm(len(data.train), generator=generator)[:batch_size].to(data.train.device)
        self.memory_format = proxy.memory_format  # as the trainer's: 4x faster for a forward and backward pass here
        self.inputs = data.train.batch(index).contiguous(memory_format=self.memory_format)
        self.targets = data.train.labels.index_select(0, index)
        self.data, self.width, self.depth, self.target, self.seed = data, proxy.width, proxy.depth, target, seed
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self._known: dict[tuple[Genotype, str], float] = {}  # a proposal chosen, then trained, is scored once

    def score(self, genotype: Genotype, name: str) -> float:
        """One score of ``genotype``; NaN when its model cannot be built or scored (said on the console)."""
        if (genotype, name) in self._known:
            return self._known[genotype, name]
        start = time.perf_counter()
        try:
            value = self._score(genotype, name)
        except (RuntimeError, ValueError) as err:
            log.warning("%s of %s: %s; scored NaN", name, format_blocks(genotype), err)
            value = math.nan
        self.seconds[name] += time.perf_counter() - start
        self.counts[name] += 1
        self._known[genotype, name] = value
        return value

    def _score(self, genotype: Genotype, name: str) -> float:
        if name == "params":
            return float(genotype_params(genotype, self.target.num_classes, self.target.in_chans))
        if name == "flops":
            counted_at = {"in_chans": self.target.in_chans, "num_classes": self.target.num_classes}
            return float(estimate_flops(genotype, self.target.resolution, **counted_at).total)
        cuda = [self.inputs.device] if self.inputs.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):  # the same initialisation every time; the caller's stream untouched
            torch.manual_seed(self.seed)
            model = build(
                genotype,
                width=self.width,
                depth=self.depth,
                num_classes=self.data.num_classes,
                in_chans=self.data.in_chans,
                dropout=0.0,
                drop_connect=0.0,
            ).to(self.inputs.device, memory_format=self.memory_format)
            return MODEL_SCORES[name](model, self.inputs, self.targets)

    def scores(self, genotype: Genotype, names: Iterable[str]) -> dict[str, float]:
        return {name: self.score(genotype, name) for name in names}

    def per_minute(self) -> dict[str, float]:
        """Candidates per minute for each score measured so far, model construction included."""
        return {n: 60 * self.counts[n] / s for n, s in self.seconds.items() if s > 0}


def per_minute_of(rates: Mapping[str, float], names: Iterable[str]) -> float:
    """Candidates per minute when each candidate gets every score in ``names``."""
    return 1.0 / sum(1.0 / rates[n] for n in names)
