"""The search's default task as the ranking benchmarks use it (the bank, zero-cost, the searches)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from nas.cli.references import resolve_model
from nas.cli.schema import composed
from nas.proxy.data import DataSizes, ProxyData, ProxyDataCache
from nas.proxy.datasets import DatasetSpec
from nas.proxy.device import use_device
from nas.proxy.recipe import ProxyConfig
from nas.search.objective import Reward
from nas.search.settings import SearchSettings
from search_spaces.cost import Target
from search_spaces.mnasnet import MnasNetSpace, mnasnet_space


@dataclass
class Task:
    """The search's default task and settings, as ``nas.search`` composes them (plus ``overrides``)."""

    cfg: Any
    proxy: ProxyConfig
    target: Target
    reward: Reward
    space: MnasNetSpace
    search: SearchSettings
    cache: ProxyDataCache
    dataset: DatasetSpec
    sizes: DataSizes
    device: torch.device

    @property
    def data(self) -> ProxyData:
        return self.cache.at()

    def key(self) -> str:
        """What a cached accuracy depends on besides the candidate and the seed."""
        identity = {"proxy": self.proxy.identity(), "sizes": dataclasses.asdict(self.cache.sizes)}
        identity["dataset"] = self.cfg.dataset.name
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


def load_task(overrides: Sequence[str] = ()) -> Task:
    cfg = composed("search", overrides)
    device = use_device(cfg.device, cfg.threads)
    return Task(
        cfg=cfg,
        proxy=cfg.proxy,
        target=cfg.target,
        reward=cfg.objective,
        space=mnasnet_space(resolve_model(cfg.space.reference, cfg.study.storage)),
        search=cfg.search,
        cache=ProxyDataCache(cfg.dataset.load(cfg.proxy.sizes.resolution), cfg.proxy.sizes, device),
        dataset=cfg.dataset,
        sizes=cfg.proxy.sizes,
        device=device,
    )
