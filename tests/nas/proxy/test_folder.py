"""dataset=folder: image folders decoded once into a cache, checked against Fashion-MNIST's own arrays."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nas.proxy.datasets import FASHION_MNIST_DIR, DatasetSpec, load_dataset, load_fashion_mnist
from nas.proxy.raw import hash_arrays

needs_fashion = pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist is not installed",
)
CLASSES = ("ankle_boot", "bag", "coat")  # sorted: folder order is class index order


@pytest.fixture(scope="module")
def fashion():
    """30 training and 10 test images of each of 10 Fashion-MNIST classes: (images, labels, original index)."""
    raw = load_fashion_mnist()
    picked = {}
    for split, labels, n in (("train", raw.train_labels, 30), ("test", raw.test_labels, 10)):
        index = np.sort(np.concatenate([np.flatnonzero(labels == c)[:n] for c in range(10)]))
        picked[split] = (getattr(raw, f"{split}_images")[index], labels[index], index)
    return raw.class_names, picked


@needs_fashion
def test_fixed_splits_equal_the_idx_arrays_byte_for_byte(fashion, tmp_path, png):
    names, picked = fashion
    for split, (x, y, index) in picked.items():
        for image, label, i in zip(x, y, index, strict=True):
            png(tmp_path / "data" / split / names[label].replace("/", "-") / f"{i:05d}.png", image[0])
    raw = load_dataset("folder", tmp_path / "data", cache_dir=tmp_path / "cache")
    folders = sorted(n.replace("/", "-") for n in names)
    assert raw.class_names == tuple(folders) and raw.num_classes == 10 and raw.name == "folder"
    for split, (x, y, _) in picked.items():
        # the folder's order: class folders sorted by name, then files by name (= original index)
        order = np.lexsort((np.arange(len(y)), [folders.index(names[label].replace("/", "-")) for label in y]))
        got_x, got_y = getattr(raw, f"{split}_images"), getattr(raw, f"{split}_labels")
        assert got_x.dtype == np.uint8 and got_x.shape == (len(y), 1, 28, 28)
        assert np.array_equal(got_x, x[order])
        assert [raw.class_names[c] for c in got_y] == [names[label].replace("/", "-") for label in y[order]]
    assert raw.fingerprint == hash_arrays(
        *(np.array(a) for a in (raw.train_images, raw.train_labels, raw.test_images, raw.test_labels))
    )


@needs_fashion
def test_a_flat_folder_holds_out_a_stratified_test_split_with_every_image_once(fashion, tmp_path, png):
    _, picked = fashion
    x, y, index = picked["train"]
    for image, label, i in zip(x, y, index, strict=True):
        png(tmp_path / "flat" / f"class{label}" / f"{i:05d}.png", image[0])
    raw = load_dataset("folder", tmp_path / "flat", cache_dir=tmp_path / "cache")
    assert raw.class_names == tuple(f"class{c}" for c in range(10))
    assert len(raw.train_labels) == 240 and len(raw.test_labels) == 60
    assert np.bincount(raw.test_labels).tolist() == [6] * 10  # stratified: 20% of every class
    expected = {x[i].tobytes(): int(y[i]) for i in range(len(y))}
    got = [(im.tobytes(), int(c)) for split in ("train", "test") for im, c in zip(*_split(raw, split), strict=True)]
    assert len(got) == len(expected) == len(set(b for b, _ in got))  # every image exactly once
    assert dict(got) == expected
    again = load_dataset("folder", tmp_path / "flat", cache_dir=tmp_path / "other-cache")
    assert np.array_equal(again.test_images, raw.test_images)  # the hold-out is fixed


def _split(raw, split):
    return getattr(raw, f"{split}_images"), getattr(raw, f"{split}_labels")


@pytest.mark.parametrize(("fmt", "lossless"), [("PNG", True), ("BMP", True), ("WEBP", True), ("JPEG", False)])
def test_colour_formats_read_as_rgb(tmp_path, fmt, lossless):
    rng = np.random.default_rng(1)
    smooth = np.stack(np.meshgrid(np.arange(16) * 16, np.arange(16) * 8, indexing="xy"), -1)
    arrays = {}
    for c in CLASSES:
        for i in range(5):
            array = np.dstack([smooth[..., 0], smooth[..., 1], np.full((16, 16), 40 * i)]).astype(np.uint8)
            array = np.clip(array.astype(int) + rng.integers(0, 3, array.shape), 0, 255).astype(np.uint8)
            (tmp_path / "rgb" / c).mkdir(parents=True, exist_ok=True)
            suffix = {"JPEG": ".JPG", "WEBP": ".webp"}.get(fmt, f".{fmt.lower()}")  # any case of the suffix
            extra = {"lossless": True} if fmt == "WEBP" else {"quality": 95} if fmt == "JPEG" else {}
            Image.fromarray(array).save(tmp_path / "rgb" / c / f"{i}{suffix}", fmt, **extra)
            arrays[(c, i)] = array.transpose(2, 0, 1)
    raw = load_dataset("folder", tmp_path / "rgb", cache_dir=tmp_path / "cache")
    assert raw.in_chans == 3 and raw.train_images.shape[1:] == (3, 16, 16)
    everything = np.concatenate([raw.train_images, raw.test_images]).astype(int)
    expected = np.stack(list(arrays.values())).astype(int)
    # each decoded image matches one written image (exactly when lossless)
    for image in everything:
        best = np.abs(expected - image).mean(axis=(1, 2, 3)).min()
        assert best == 0 if lossless else best < 3


def test_a_mixed_folder_becomes_rgb_with_grey_images_replicated(tmp_path, image_folder, png):
    grey = image_folder(tmp_path / "mixed", n_per_class=5, size=(10, 10))
    colour = np.random.default_rng(2).integers(0, 256, (10, 10, 3), dtype=np.uint8)
    png(tmp_path / "mixed" / CLASSES[0] / "zzz.png", colour)
    raw = load_dataset("folder", tmp_path / "mixed", cache_dir=tmp_path / "cache")
    assert raw.in_chans == 3
    everything = np.concatenate([raw.train_images, raw.test_images])
    assert len(everything) == 16
    as_bytes = {im.tobytes() for im in everything}
    assert colour.transpose(2, 0, 1).tobytes() in as_bytes
    for array in grey.values():
        assert np.repeat(array[None], 3, axis=0).tobytes() in as_bytes


def test_resize_and_centre_crop_of_a_non_square_image_match_pillow(tmp_path, png):
    rng = np.random.default_rng(3)
    sources = {}
    for c in CLASSES:
        for i in range(5):
            array = rng.integers(0, 256, (80, 48, 3), dtype=np.uint8)  # 48 wide, 80 high
            png(tmp_path / "tall" / c / f"{i}.png", array)
            sources[(c, i)] = array
    raw = load_dataset("folder", tmp_path / "tall", cache_dir=tmp_path / "cache", cache_resolution=32)
    assert raw.train_images.shape[1:] == (3, 32, 32)
    expected = set()
    for array in sources.values():
        img = Image.fromarray(array).resize((32, round(80 * 32 / 48)), Image.Resampling.BILINEAR)  # 32 x 53
        top = (img.size[1] - 32) // 2
        expected.add(np.asarray(img.crop((0, top, 32, top + 32))).transpose(2, 0, 1).tobytes())
    assert {im.tobytes() for im in np.concatenate([raw.train_images, raw.test_images])} == expected
    default = load_dataset("folder", tmp_path / "tall", cache_dir=tmp_path / "cache")
    assert default.train_images.shape[1:] == (3, 48, 48)  # null: the smallest shorter side, under 64


def test_16_bit_grey_is_scaled_not_clipped(tmp_path, image_folder):
    image_folder(tmp_path / "deep", n_per_class=5)
    Image.fromarray(np.full((10, 12), 65535, np.uint16)).save(tmp_path / "deep" / CLASSES[1] / "white.png")
    raw = load_dataset("folder", tmp_path / "deep", cache_dir=tmp_path / "cache")
    assert raw.in_chans == 1
    everything = np.concatenate([raw.train_images, raw.test_images])
    assert any((im == 255).all() for im in everything)


def test_the_default_cache_keeps_the_side_a_command_needs_up_to_the_images_own(tmp_path, image_folder):
    image_folder(tmp_path / "big", n_per_class=5, size=(100, 120), mode="RGB")
    spec = DatasetSpec("folder", str(tmp_path / "big"), cache_dir=str(tmp_path / "cache"))
    assert spec.load().train_images.shape[-1] == 64  # nothing said: 64
    assert spec.load(need=40).train_images.shape[-1] == 64  # commands needing less share the 64 px cache
    assert spec.load(need=90).train_images.shape[-1] == 90  # a scaled point's side: stored, not enlarged
    assert spec.load(need=500).train_images.shape[-1] == 100  # never more than the images have
    assert len(list((tmp_path / "cache").iterdir())) == 3
