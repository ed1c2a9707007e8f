"""What the data-source tests share: small image folders written on the fly, and a decode counter."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import nas.proxy.images as images

CLASSES = ("ankle_boot", "bag", "coat")  # sorted: folder order is class index order


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def class_tree(root, n_per_class=6, size=(12, 10), mode="L", seed=0):
    """``root/<class>/iii.png`` for the classes ankle_boot, bag, coat; returns {relative path: array}."""
    rng = np.random.default_rng(seed)
    written = {}
    for c in CLASSES:
        for i in range(n_per_class):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            array = rng.integers(0, 256, shape, dtype=np.uint8)
            write_png(root / c / f"{i:03d}.png", array)
            written[f"{c}/{i:03d}.png"] = array
    return written


@pytest.fixture
def image_folder():
    """``image_folder(root, n_per_class=6, size=(12, 10), mode="L")``: random PNGs in three class folders."""
    return class_tree


@pytest.fixture
def png():
    """``png(path, array)``: one image file, its folders created."""
    return write_png


@pytest.fixture
def count_decodes(monkeypatch):
    """Count the images decoded (and headers read) by the folder loader."""
    calls = {"decode": 0, "probe": 0}
    real_decode, real_probe = images.decode_image, images.probe

    def decode(*args):
        calls["decode"] += 1
        return real_decode(*args)

    def probe(*args):
        calls["probe"] += 1
        return real_probe(*args)

    monkeypatch.setattr(images, "decode_image", decode)
    monkeypatch.setattr(images, "probe", probe)
    return calls
