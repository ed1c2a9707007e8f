"""The proxy task's data: train / validation / test splits as device-resident tensors.

A dataset (``nas.proxy.datasets``) is split once (validation carved from the training set,
stratified, with a fixed seed), then normalised and resized to the proxy resolution a single
time and kept on the training device, so the proxy trainer never touches a ``DataLoader``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split

from nas.proxy.datasets import RawDataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataSizes:
    """How much of a dataset the proxy uses, and at which resolution."""

    resolution: int = 32
    train_size: int | None = 12000
    val_size: int = 10000
    test_size: int | None = 2000
    split_seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.resolution, bool) or not isinstance(self.resolution, int) or self.resolution < 32:
            raise ValueError(f"proxy resolution must be an integer >= 32, got {self.resolution!r}")
        for name in ("train_size", "val_size", "test_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"proxy.{name} must be an integer >= 1 or null, got {value!r}")

    def fit(self, n_train: int) -> DataSizes:
        """These sizes shrunk to a training split of ``n_train`` images, when they ask for more.

        The default proxy is sized for Fashion-MNIST (60,000 training images); on the small built-in
        datasets (``mnist5k``: 4,000, ``digits``: 1,437) validation takes a fifth and training the rest.
        """
        wanted = self.val_size + (self.train_size or 0)
        if wanted <= n_train and self.val_size < n_train:
            return self
        val = self.val_size if self.val_size <= n_train // 2 else max(1, n_train // 5)
        train = n_train - val if self.train_size is None else min(self.train_size, n_train - val)
        log.warning(
            "the dataset has %d training images: proxy.train_size %s -> %d, proxy.val_size %d -> %d",
            n_train,
            self.train_size,
            train,
            self.val_size,
            val,
        )
        return dataclasses.replace(self, train_size=train, val_size=val)


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # float, normalised, (N, C, R, R), on the training device
    labels: torch.Tensor  # int64, (N,), on the training device

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class ProxyData:
    """Train / validation / test splits at one resolution, resident on one device."""

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    in_chans: int
    resolution: int


def split_indices(
    labels: np.ndarray, train_size: int | None, val_size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train / validation index sets carved from the training set with a fixed seed."""
    n = len(labels)
    if val_size < 1 or val_size >= n:
        raise ValueError(f"val_size must be in [1, {n - 1}] for this dataset, got {val_size}")
    available = n - val_size
    train_size = available if train_size is None else int(train_size)
    if train_size < 1 or train_size > available:
        raise ValueError(
            f"train_size must be in [1, {available}] (training set {n} minus val_size {val_size}), got {train_size}"
        )
    index = np.arange(n)
    rest, val = train_test_split(index, test_size=val_size, stratify=labels, random_state=seed)
    if train_size < len(rest):
        rest, _ = train_test_split(rest, train_size=train_size, stratify=labels[rest], random_state=seed)
    return np.sort(rest), np.sort(val)


def prepare(
    raw: RawDataset,
    resolution: int,
    train_size: int | None,
    val_size: int,
    test_size: int | None = None,
    device: str | torch.device = "cpu",
    split_seed: int = 0,
) -> ProxyData:
    """Split, normalise with the training split's statistics, resize once, move to ``device``."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 32:
        raise ValueError(f"proxy resolution must be an integer >= 32, got {resolution!r}")
    train_idx, val_idx = split_indices(raw.train_labels, train_size, val_size, split_seed)
    test_idx = np.arange(len(raw.test_labels))
    if test_size is not None and test_size < len(test_idx):
        test_idx, _ = train_test_split(
            test_idx, train_size=test_size, stratify=raw.test_labels, random_state=split_seed
        )
    train_images = torch.from_numpy(np.ascontiguousarray(raw.train_images[train_idx]))
    mean = train_images.float().mean(dim=(0, 2, 3)) / 255.0
    std = train_images.float().std(dim=(0, 2, 3)).clamp_min(1e-3) / 255.0

    def to_split(images: np.ndarray, labels: np.ndarray) -> Split:
        x = torch.from_numpy(np.ascontiguousarray(images)).to(device).float().div_(255.0)
        x = (x - mean.to(device)[None, :, None, None]) / std.to(device)[None, :, None, None]
        if x.shape[-1] != resolution or x.shape[-2] != resolution:
            x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
        return Split(x.contiguous(), torch.from_numpy(np.ascontiguousarray(labels)).to(device))

    return ProxyData(
        name=raw.name,
        train=to_split(raw.train_images[train_idx], raw.train_labels[train_idx]),
        val=to_split(raw.train_images[val_idx], raw.train_labels[val_idx]),
        test=to_split(raw.test_images[test_idx], raw.test_labels[test_idx]),
        num_classes=raw.num_classes,
        in_chans=raw.in_chans,
        resolution=resolution,
    )


class ProxyDataCache:
    """Proxy data of one dataset at any resolution, prepared once per resolution.

    Scaled candidates share a handful of resolutions; the sizes are fitted to the dataset once.
    """

    def __init__(self, raw: RawDataset, sizes: DataSizes, device: str | torch.device = "cpu") -> None:
        self.raw, self.device = raw, device
        self.sizes = sizes.fit(len(raw.train_labels))
        self._data: dict[int, ProxyData] = {}

    def at(self, resolution: int | None = None) -> ProxyData:
        """The splits at ``resolution`` (default: the proxy's own)."""
        res = self.sizes.resolution if resolution is None else resolution
        if res not in self._data:
            s = self.sizes
            self._data[res] = prepare(self.raw, res, s.train_size, s.val_size, s.test_size, self.device, s.split_seed)
        return self._data[res]

    def scaled_resolution(self, multiplier: float) -> int:
        return round(self.sizes.resolution * multiplier)
