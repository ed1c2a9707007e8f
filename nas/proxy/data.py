"""The proxy task's data: train / validation / test splits as device-resident tensors.

A dataset (``nas.proxy.datasets``) is split once (validation carved from the training set,
stratified, with a fixed seed), then normalised and resized to the proxy resolution a single
time and kept on the training device, so the proxy trainer never touches a ``DataLoader``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from nas.proxy.datasets import RawDataset
from nas.proxy.raw import stratified_split

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataSizes:
    """How much of a dataset the proxy uses, and at which resolution."""

    resolution: int | None = 32  # None: the dataset's own image size, at least 32
    train_size: int | None = 12000
    val_size: int = 10000
    test_size: int | None = 2000
    split_seed: int = 0

    def __post_init__(self) -> None:
        if self.resolution is not None and (
            isinstance(self.resolution, bool) or not isinstance(self.resolution, int) or self.resolution < 32
        ):
            raise ValueError(
                f"proxy resolution must be an integer >= 32 or null (the data's own), got {self.resolution!r}"
            )
        for name in ("train_size", "val_size", "test_size"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"proxy.{name} must be an integer >= 1 or null, got {value!r}")

    def _fits(self, n_train: int) -> bool:
        return self.val_size + (self.train_size or 0) <= n_train and self.val_size < n_train

    def val_images(self, n_train: int) -> int:
        """The validation images of a training split of ``n_train`` images (what :meth:`fit` keeps)."""
        if self._fits(n_train) or self.val_size <= n_train // 2:
            return self.val_size
        return max(1, n_train // 5)

    def fit(self, n_train: int) -> DataSizes:
        """These sizes shrunk to a training split of ``n_train`` images, when they ask for more.

        The default proxy is sized for Fashion-MNIST (60,000 training images); on the small built-in
        datasets (``mnist5k``: 4,000, ``digits``: 1,437) validation takes a fifth and training the rest.
        """
        if self._fits(n_train):
            return self
        val = self.val_images(n_train)
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
    """One split on the training device: float images already normalised, or uint8 ones normalised per batch."""

    images: torch.Tensor  # (N, C, R, R): float32 normalised, or uint8 when float copies would not fit
    labels: torch.Tensor  # int64, (N,)
    mean: torch.Tensor | None = None  # (1, C, 1, 1) in 0..1 units, for uint8 images
    std: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def batch(self, index: torch.Tensor | slice) -> torch.Tensor:
        """The float, normalised images at ``index`` (a slice, or a tensor of indices)."""
        x = self.images[index] if isinstance(index, slice) else self.images.index_select(0, index)
        if x.dtype != torch.uint8:
            return x
        return x.float().div_(255.0).sub_(self.mean).div_(self.std)

    @property
    def device(self) -> torch.device:
        return self.images.device


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
    mean: tuple[float, ...] = ()  # per channel, of x / 255: what a deployed model must apply too
    std: tuple[float, ...] = ()


def split_indices(
    labels: np.ndarray, train_size: int | None, val_size: int, seed: int = 0, class_names: Sequence[str] = ()
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
    check_per_class(labels, train_size, val_size, class_names)
    index = np.arange(n)
    rest, val = stratified_split(index, labels, test_size=val_size, seed=seed)
    if train_size < len(rest):
        rest, _ = stratified_split(rest, labels[rest], train_size=train_size, seed=seed)
    return np.sort(rest), np.sort(val)


def check_per_class(labels: np.ndarray, train_size: int, val_size: int, class_names: Sequence[str] = ()) -> None:
    """A stratified carve-out puts every class in both parts: say plainly when the data is too small for that."""
    classes, counts = np.unique(labels, return_counts=True)
    k = len(classes)
    fewest = int(counts.argmin())
    if counts[fewest] < 2:
        name = class_names[classes[fewest]] if len(class_names) > classes[fewest] else str(classes[fewest])
        raise ValueError(
            f"class {name!r} has {counts[fewest]} training image(s): the stratified validation carve-out "
            "needs at least 2 images per class (one for training, one for validation)"
        )
    if val_size < k or train_size < k:
        raise ValueError(
            f"proxy.val_size {val_size} and proxy.train_size {train_size} must each be at least the number "
            f"of classes ({k}) for a stratified split: every class needs an image in each"
        )


def prepare(
    raw: RawDataset,
    resolution: int,
    train_size: int | None,
    val_size: int,
    test_size: int | None = None,
    device: str | torch.device = "cpu",
    split_seed: int = 0,
    float_budget: int | None = None,
) -> ProxyData:
    """Split, normalise with the training split's statistics, resize once, move to ``device``.

    The splits are kept as float32 when they fit in ``float_budget`` bytes (default
    :func:`float_budget`), else as uint8 at the proxy resolution, normalised batch by batch.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 32:
        raise ValueError(f"proxy resolution must be an integer >= 32, got {resolution!r}")
    train_idx, val_idx = split_indices(
        raw.train_labels, train_size, val_size, split_seed, getattr(raw, "class_names", ())
    )
    test_idx = np.arange(len(raw.test_labels))
    if test_size is not None and test_size < len(test_idx):
        test_idx, _ = stratified_split(test_idx, raw.test_labels, train_size=test_size, seed=split_seed)
    device = torch.device(device)
    n_images = len(train_idx) + len(val_idx) + len(test_idx)
    # The float32 splits, and the float copy of the training images their statistics are taken from.
    needed = max(n_images * resolution**2, len(train_idx) * int(np.prod(raw.train_images.shape[2:]))) * raw.in_chans * 4
    as_uint8 = needed > (float_budget_for(device) if float_budget is None else float_budget)
    if as_uint8:
        log.warning(
            "float32 copies of the splits would take %.1f GiB on %s (more than a quarter of its memory): keeping uint8 images and normalising each batch",
            needed / 2**30,
            device,
        )
        mean, std = channel_stats(raw.train_images, train_idx)
    else:  # the float path computes exactly as it always has, so recorded results stay reproducible
        train_images = torch.from_numpy(np.ascontiguousarray(raw.train_images[train_idx])).float()
        mean = train_images.mean(dim=(0, 2, 3)) / 255.0
        std = train_images.std(dim=(0, 2, 3)).clamp_min(1e-3) / 255.0
        del train_images
    split = functools.partial(_to_split, resolution=resolution, mean=mean, std=std, device=device, as_uint8=as_uint8)
    return ProxyData(
        raw.name,
        split(raw.train_images, raw.train_labels, train_idx),
        split(raw.train_images, raw.train_labels, val_idx),
        split(raw.test_images, raw.test_labels, test_idx),
        raw.num_classes,
        raw.in_chans,
        resolution,
        tuple(float(v) for v in mean),
        tuple(float(v) for v in std),
    )


FLOAT_SHARE = 0.25
"""Float32 splits may take this share of the device's memory (RAM on CPU); beyond it they stay uint8."""


def float_budget_for(device: torch.device) -> int:
    """Bytes the float32 splits may take on ``device``: a quarter of its memory (GPU, or the machine's RAM)."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory * FLOAT_SHARE)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): assume 8 GiB
        total = 8 * 2**30
    return int(total * FLOAT_SHARE)


def channel_stats(images: np.ndarray, index: np.ndarray, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (0..1 units) of uint8 ``images[index]``, a chunk at a time.

    Integer sums (squares fit uint16), so no float copy of the images is ever made.
    """
    total = np.zeros(images.shape[1], dtype=np.int64)
    squares = np.zeros(images.shape[1], dtype=np.int64)
    for start in range(0, len(index), chunk):
        x = np.asarray(images[index[start : start + chunk]], dtype=np.uint16)
        total += x.sum(axis=(0, 2, 3), dtype=np.int64)
        squares += np.square(x).sum(axis=(0, 2, 3), dtype=np.int64)
    count = len(index) * images.shape[2] * images.shape[3]
    mean = total / count
    var = np.maximum(squares / count - mean**2, 0.0) * count / max(1, count - 1)
    std = np.maximum(np.sqrt(var), 1e-3)  # a constant channel must not divide by zero
    return torch.tensor(mean / 255.0, dtype=torch.float32), torch.tensor(std / 255.0, dtype=torch.float32)


def _to_split(
    images: np.ndarray,
    labels: np.ndarray,
    index: np.ndarray,
    resolution: int,
    mean: torch.Tensor,
    std: torch.Tensor,
    device: torch.device,
    as_uint8: bool,
    chunk: int = 4096,
) -> Split:
    """``images[index]`` on ``device``: normalised then resized (float32), or resized a chunk at a time (uint8)."""
    shape = (1, -1, 1, 1)
    mean, std = mean.to(device).view(shape), std.to(device).view(shape)
    y = torch.from_numpy(np.ascontiguousarray(labels[index])).to(device)
    dtype = torch.uint8 if as_uint8 else torch.float32
    out = torch.empty((len(index), images.shape[1], resolution, resolution), dtype=dtype, device=device)
    for start in range(0, len(index), chunk):  # per-image work: chunks give the same numbers, in less memory
        x = torch.from_numpy(np.ascontiguousarray(images[index[start : start + chunk]])).to(device).float()
        if as_uint8:
            out[start : start + len(x)] = _resized(x, resolution).round_().clamp_(0, 255).to(torch.uint8)
        else:
            out[start : start + len(x)] = _resized((x.div_(255.0) - mean) / std, resolution)
    return Split(out, y, mean, std) if as_uint8 else Split(out, y)


def _resized(x: torch.Tensor, resolution: int) -> torch.Tensor:
    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return x
    return F.interpolate(x, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)


class ProxyDataCache:
    """Proxy data of one dataset at any resolution, prepared once per resolution.

    Scaled candidates share a handful of resolutions; the sizes are fitted to the dataset once.
    """

    def __init__(self, raw: RawDataset, sizes: DataSizes, device: str | torch.device = "cpu") -> None:
        self.raw, self.device = raw, device
        if sizes.resolution is None:  # the data's own size (at least the 32 px every genotype needs)
            sizes = dataclasses.replace(sizes, resolution=max(32, *raw.train_images.shape[2:]))
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
