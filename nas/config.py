"""Hydra config sections -> plain typed values, at the edge of every entry point."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from nas.data import ProxyData, load_dataset, prepare
from search_spaces.flops import count_flops, genotype_params
from search_spaces.genotype import Genotype


@dataclass(frozen=True)
class Target:
    """The input at which a candidate's cost is counted (T = 400M refers to 224 px, 1000 classes)."""

    resolution: int = 224
    num_classes: int = 1000
    in_chans: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.resolution, bool) or not isinstance(self.resolution, int) or self.resolution < 32:
            raise ValueError(f"target.resolution must be an integer >= 32, got {self.resolution!r}")
        if self.num_classes < 1 or self.in_chans < 1:
            raise ValueError("target.num_classes and target.in_chans must be >= 1")

    def cost(self, genotype: Genotype, resolution_multiplier: float = 1.0) -> tuple[int, int]:
        """(params, FLOPs) of ``genotype`` at this target input (resolution optionally scaled)."""
        resolution = round(self.resolution * resolution_multiplier)
        flops = count_flops(genotype, resolution, self.in_chans, self.num_classes).total
        return genotype_params(genotype, self.num_classes, self.in_chans), flops


@dataclass(frozen=True)
class DataSizes:
    resolution: int
    train_size: int | None
    val_size: int
    test_size: int | None
    split_seed: int = 0


def fields_of(cls: type, section: Mapping[str, Any]) -> Any:
    """An instance of dataclass ``cls`` from the keys of ``section`` that it has."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in section.items() if k in names})


def data_sizes(section: Mapping[str, Any]) -> DataSizes:
    return fields_of(DataSizes, section)


def target(section: Mapping[str, Any]) -> Target:
    return Target(**dict(section))


def proxy_data(dataset: Mapping[str, Any], sizes: DataSizes, device: torch.device) -> ProxyData:
    """Load the configured dataset and prepare its splits on ``device``."""
    raw = load_dataset(dataset["name"], dataset.get("root"), bool(dataset.get("download")), dataset.get("cache_dir"))
    return prepare(raw, sizes.resolution, sizes.train_size, sizes.val_size, sizes.test_size, device, sizes.split_seed)


def set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(int(threads))
