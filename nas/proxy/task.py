"""The proxy task as one value (what data, how it is trained, the target cost is counted at, the seed), and one run of it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from nas.proxy.data import ProxyDataCache
from nas.proxy.datasets import DatasetSpec, RawDataset
from nas.proxy.device import use_device
from nas.proxy.recipe import ProxyConfig
from nas.proxy.trainer import ProxyResult, train_proxy
from search_spaces.cost import Target
from search_spaces.genotype import Genotype


@dataclass(frozen=True)
class TaskConfig:
    """The settings every command that trains candidates shares: ``dataset``, ``proxy``, ``target``, ``seed``."""

    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    target: Target = field(default_factory=Target)
    seed: int = 0

    def identity(self, raw: RawDataset) -> dict[str, Any]:
        """The proxy task's part of a study's identity (``raw``: the dataset as loaded, for its fingerprint)."""
        return {
            "target": self.target.input(),
            "dataset": self.dataset.identity(raw),
            "proxy": self.proxy.identity(),
            "data_sizes": dataclasses.asdict(self.proxy.sizes),
            "seed": self.seed,
        }


def train_genotype(
    genotype: Genotype, task: TaskConfig | None = None, device: str = "auto", threads: int | None = None
) -> ProxyResult:
    """Train one genotype on the proxy task and score it on the test split too; what ``nas.train`` runs."""
    task = task or TaskConfig()
    on = use_device(device, threads)
    data = ProxyDataCache(task.dataset.load(task.proxy.sizes.resolution), task.proxy.sizes, on).at()
    return train_proxy(genotype, data, task.proxy, task.seed, evaluate_test=True)
