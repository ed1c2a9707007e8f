"""CIFAR-10 and CIFAR-100 from tiny tarballs laid out like the official python versions."""

from __future__ import annotations

import io
import pickle
import tarfile

import numpy as np
import pytest

from nas.proxy.datasets import DatasetSpec, load_cifar10, load_cifar100, load_dataset


def _add(tar: tarfile.TarFile, name: str, content: dict) -> None:
    blob = pickle.dumps(content)
    info = tarfile.TarInfo(name)
    info.size = len(blob)
    tar.addfile(info, io.BytesIO(blob))


def tiny_cifar100(path, n_train=30, n_test=10):
    """``cifar-100-python.tar.gz`` with members train, test and meta; labels and pixels are easy to check."""
    with tarfile.open(path, "w:gz") as tar:
        for name, n in (("train", n_train), ("test", n_test)):
            fine = np.arange(n) % 100
            data = np.repeat(fine[:, None], 3072, axis=1).astype(np.uint8)  # every pixel = its fine label
            _add(
                tar, f"cifar-100-python/{name}", {b"data": data, b"fine_labels": list(fine), b"coarse_labels": [0] * n}
            )
        names = [f"class{i:03d}".encode() for i in range(100)]
        _add(tar, "cifar-100-python/meta", {b"fine_label_names": names, b"coarse_label_names": [b"all"] * 20})


def tiny_cifar10(path, per_batch=4):
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate([f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]):
            labels = (np.arange(per_batch) + i) % 10
            data = np.repeat(labels[:, None] * 20, 3072, axis=1).astype(np.uint8)
            _add(tar, f"cifar-10-batches-py/{name}", {b"data": data, b"labels": list(labels)})
        names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
        _add(tar, "cifar-10-batches-py/batches.meta", {b"label_names": names, b"num_vis": 3072})


def test_cifar100_has_the_fine_labels_and_their_names(tmp_path):
    tiny_cifar100(tmp_path / "cifar-100-python.tar.gz")
    for root in (tmp_path, tmp_path / "cifar-100-python.tar.gz"):
        raw = load_dataset("cifar100", root, cache_dir=tmp_path / "cache")
        assert raw.name == "cifar100" and raw.num_classes == 100
        assert raw.train_images.shape == (30, 3, 32, 32) and raw.test_images.shape == (10, 3, 32, 32)
        assert raw.train_labels.tolist() == list(range(30)) and raw.test_labels.tolist() == list(range(10))
        assert (raw.train_images == raw.train_labels[:, None, None, None]).all()
        assert raw.class_names[:2] == ("class000", "class001") and len(raw.class_names) == 100


def test_cifar10_class_names_come_from_batches_meta(tmp_path):
    tiny_cifar10(tmp_path / "cifar-10-python.tar.gz")
    raw = load_cifar10(tmp_path, cache_dir=tmp_path / "cache")
    assert raw.train_images.shape == (20, 3, 32, 32) and raw.test_images.shape == (4, 3, 32, 32)
    assert raw.class_names[0] == "airplane" and raw.class_names[9] == "truck"
    assert raw.test_labels.tolist() == [5, 6, 7, 8]
    assert (raw.test_images == (raw.test_labels * 20)[:, None, None, None]).all()


def test_cifar100_found_in_the_cache_directory(tmp_path):
    tiny_cifar100(tmp_path / "cifar-100-python.tar.gz")
    raw = load_cifar100(cache_dir=tmp_path)
    assert raw.num_classes == 100 and len(raw.train_labels) == 30


def test_missing_cifar100_says_how_to_provide_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CIFAR-100 tarball not found at .*cifar-100-python\.tar\.gz"):
        load_cifar100(tmp_path, cache_dir=tmp_path / "cache")


def test_a_cifar10_tarball_given_as_cifar100_is_refused(tmp_path):
    tiny_cifar10(tmp_path / "cifar-100-python.tar.gz")
    with pytest.raises(ValueError, match="holds no train / test members: not the CIFAR-100 python tarball"):
        load_cifar100(tmp_path, cache_dir=tmp_path / "cache")


def test_the_registry_and_spec_know_the_new_sources():
    with pytest.raises(ValueError, match="known: fashion_mnist, mnist5k, digits, cifar10, cifar100, folder, npz"):
        load_dataset("imagenet")
    assert DatasetSpec().identity(load_dataset("digits"))["source"] is None
    assert load_dataset("digits").class_names == tuple("0123456789")
