"""dataset=folder's cache: decoded once, reused while the folder is unchanged, never left half-written."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nas.proxy.folder as folder
import nas.proxy.images as images
from nas.proxy.datasets import load_dataset

CLASSES = ("ankle_boot", "bag", "coat")  # as the image_folder fixture writes them


def test_the_second_load_reads_the_cache_and_a_changed_folder_is_decoded_again(
    tmp_path, count_decodes, image_folder, png
):
    image_folder(tmp_path / "d", n_per_class=6)
    first = load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert count_decodes["decode"] == 18
    assert isinstance(first.train_images, np.memmap)  # memory-mapped, not read into memory
    second = load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert count_decodes == {"decode": 18, "probe": 18}  # nothing decoded, not even a header read
    for a, b in zip(_arrays(first), _arrays(second), strict=True):
        assert np.array_equal(a, b)
    assert second.fingerprint == first.fingerprint
    touched = tmp_path / "d" / CLASSES[0] / "000.png"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert count_decodes["decode"] == 36
    png(tmp_path / "d" / CLASSES[2] / "new.png", np.zeros((10, 12), np.uint8))
    added = load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert count_decodes["decode"] == 36 + 19 and len(added.train_labels) + len(added.test_labels) == 19
    assert len([p for p in (tmp_path / "cache").iterdir()]) == 3  # one entry per folder state


def _arrays(raw):
    return raw.train_images, raw.train_labels, raw.test_images, raw.test_labels


def test_an_interrupted_decode_leaves_no_cache_behind(tmp_path, monkeypatch, image_folder):
    image_folder(tmp_path / "d", n_per_class=6)
    real, calls = images.decode_image, []

    def interrupted(*args):
        calls.append(args)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(images, "decode_image", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert nothing_cached(tmp_path / "cache")  # neither an entry nor a partial one
    monkeypatch.setattr(images, "decode_image", real)
    raw = load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert len(raw.train_labels) + len(raw.test_labels) == 18


def test_decoding_on_several_processes_gives_the_same_arrays(tmp_path, monkeypatch, image_folder):
    image_folder(tmp_path / "d", n_per_class=40, mode="RGB")
    serial = load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "serial")
    monkeypatch.setattr(images, "POOL_MIN_IMAGES", 0)
    monkeypatch.setattr(images, "CHUNK", 16)
    pooled = folder.load_folder(tmp_path / "d", tmp_path / "pooled", workers=2)
    for a, b in zip(_arrays(serial), _arrays(pooled), strict=True):
        assert np.array_equal(a, b)


def nothing_cached(cache):
    return not cache.exists() or list(cache.iterdir()) == []
