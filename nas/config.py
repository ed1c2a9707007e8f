"""Hydra config sections -> plain typed values, at the edge of every entry point."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from nas.data import ProxyData, RawDataset, load_dataset, prepare
from search_spaces.flops import count_flops, genotype_params
from search_spaces.genotype import Genotype

log = logging.getLogger(__name__)


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

    def __post_init__(self) -> None:
        if isinstance(self.resolution, bool) or not isinstance(self.resolution, int) or self.resolution < 32:
            raise ValueError(f"proxy resolution must be an integer >= 32, got {self.resolution!r}")
        for name in ("train_size", "val_size", "test_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"proxy.{name} must be an integer >= 1 or null, got {value!r}")


def fields_of(cls: type, section: Mapping[str, Any]) -> Any:
    """An instance of dataclass ``cls`` from the keys of ``section`` that it has."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in section.items() if k in names})


def data_sizes(section: Mapping[str, Any]) -> DataSizes:
    return fields_of(DataSizes, section)


def target(section: Mapping[str, Any]) -> Target:
    return Target(**dict(section))


def raw_dataset(dataset: Mapping[str, Any]) -> RawDataset:
    """The dataset a ``dataset`` config section names, as loaded from disk."""
    return load_dataset(dataset["name"], dataset.get("root"), bool(dataset.get("download")), dataset.get("cache_dir"))


def fit_sizes(sizes: DataSizes, n_train: int) -> DataSizes:
    """``sizes`` shrunk to a training split of ``n_train`` images, when they ask for more.

    The default proxy is sized for Fashion-MNIST (60,000 training images); on the small built-in
    datasets (``mnist5k``: 4,000, ``digits``: 1,437) validation takes a fifth and training the rest.
    """
    wanted = sizes.val_size + (sizes.train_size or 0)
    if wanted <= n_train and sizes.val_size < n_train:
        return sizes
    val = sizes.val_size if sizes.val_size <= n_train // 2 else max(1, n_train // 5)
    train = n_train - val if sizes.train_size is None else min(sizes.train_size, n_train - val)
    log.warning(
        "the dataset has %d training images: proxy.train_size %s -> %d, proxy.val_size %d -> %d",
        n_train,
        sizes.train_size,
        train,
        sizes.val_size,
        val,
    )
    return dataclasses.replace(sizes, train_size=train, val_size=val)


def proxy_data(raw: RawDataset, sizes: DataSizes, device: torch.device, resolution: int | None = None) -> ProxyData:
    """Splits of ``raw`` on ``device``, at ``sizes.resolution`` unless another is given."""
    sizes = fit_sizes(sizes, len(raw.train_labels))
    res = sizes.resolution if resolution is None else resolution
    return prepare(raw, res, sizes.train_size, sizes.val_size, sizes.test_size, device, sizes.split_seed)


def set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(int(threads))


def worker_device(device: str, worker: int) -> str:
    """Worker ``i`` of several takes GPU ``i mod count`` when CUDA is there; CPU otherwise."""
    if device == "auto" and torch.cuda.is_available():
        return f"cuda:{worker % torch.cuda.device_count()}"
    return device


def worker_threads(threads: int | None, workers: int) -> int | None:
    """Split the machine's cores among local workers (two full-width workers thrash 2 cores)."""
    if threads is not None or workers <= 1:
        return threads
    return max(1, (os.cpu_count() or 1) // workers)
