"""The loaded form every data source produces (``RawDataset``), and the stratified test hold-out they share."""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_CACHE = Path.home() / ".cache" / "effnas"
TEST_FRACTION = 0.2  # held out as the test split when a source has no fixed one
SPLIT_SEED = 0


@dataclass(frozen=True)
class RawDataset:
    """A dataset as loaded from disk: uint8 images (N, C, H, W) and int64 labels.

    The image arrays may be read-only memory maps (an image folder's cache): index them, never write.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    num_classes: int
    class_names: tuple[str, ...] = ()  # () means unnamed; else one name per class index
    # The fingerprint when the loader already knows it (a folder's cache stores it), so gigabytes of
    # memory-mapped images are not hashed again on every load; None: hash the arrays.
    stored_fingerprint: str | None = None
    origin: str | None = None  # where a built-in dataset was read from (a folder, an archive, a package)

    def __post_init__(self) -> None:
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(f"{self.name}: {len(self.class_names)} class names for {self.num_classes} classes")

    @property
    def in_chans(self) -> int:
        return int(self.train_images.shape[1])

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of every image and label: the same files give the same fingerprint."""
        return self.stored_fingerprint or hash_arrays(
            self.train_images, self.train_labels, self.test_images, self.test_labels
        )


def hash_arrays(*arrays: np.ndarray) -> str:
    """The 16-hex-digit fingerprint of these arrays (shape, dtype and bytes), as ``RawDataset`` computes it."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str((array.shape, array.dtype.str)).encode())
        # In slices, so a memory-mapped array is never copied whole into memory.
        for start in range(0, max(len(array), 1), 4096):
            digest.update(np.ascontiguousarray(array[start : start + 4096]).data)
    return digest.hexdigest()[:16]


def hold_out_test(
    labels: np.ndarray, where: str, class_names: tuple[str, ...] = (), fraction: float = TEST_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train / test index sets: a stratified ``fraction`` held out as the test split, fixed seed.

    Every class needs ``ceil(1 / fraction)`` images (5 for 20%) so that each split holds each class.
    """
    needed = math.ceil(1 / fraction)
    counts = np.bincount(labels, minlength=len(class_names) or 0)
    short = [(c, n) for c, n in enumerate(counts) if n < needed]
    if short:
        c, n = short[0]
        name = repr(class_names[c]) if class_names else str(c)
        raise ValueError(
            f"{where}: class {name} has {n} image(s), and {len(short)} class(es) have fewer than {needed}: "
            f"holding out a stratified {fraction:.0%} test split needs at least {needed} images per class "
            "(add images, or give fixed train and test splits)"
        )
    train, test = stratified_split(np.arange(len(labels)), labels, test_size=fraction, seed=SPLIT_SEED)
    return np.sort(train), np.sort(test)


def stratified_split(
    index: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    train_size: int | None = None,
    test_size: float | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``index`` split in two with every class in proportion (scikit-learn's ``train_test_split``)."""
    from sklearn.model_selection import train_test_split  # here: a command starts 1.5 s sooner without it

    first, second = train_test_split(
        index, train_size=train_size, test_size=test_size, stratify=labels, random_state=seed
    )
    return first, second
