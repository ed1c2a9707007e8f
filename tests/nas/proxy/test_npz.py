"""dataset=npz: arrays in one .npz file, in any of the usual layouts, give the same dataset."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from nas.proxy.datasets import FASHION_MNIST_DIR, DatasetSpec, load_dataset, load_fashion_mnist

needs_fashion = pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist is not installed",
)


@pytest.fixture(scope="module")
def fashion():
    """300 training and 100 test Fashion-MNIST images as (N, 28, 28) uint8, with their labels."""
    raw = load_fashion_mnist()
    return raw.train_images[:300, 0], raw.train_labels[:300], raw.test_images[:100, 0], raw.test_labels[:100]


LAYOUTS = {
    "NHW uint8": lambda x: x,
    "NHWC uint8": lambda x: x[..., None],
    "NCHW uint8": lambda x: x[:, None],
    "NHWC float 0..1": lambda x: (x[..., None] / 255.0).astype(np.float32),
    "NCHW float 0..255": lambda x: x[:, None].astype(np.float64),
    "NHW int64": lambda x: x.astype(np.int64),
}


@needs_fashion
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_gives_the_idx_arrays_byte_for_byte(fashion, tmp_path, layout):
    x_train, y_train, x_test, y_test = fashion
    convert = LAYOUTS[layout]
    np.savez(tmp_path / "f.npz", x_train=convert(x_train), y_train=y_train, x_test=convert(x_test), y_test=y_test)
    raw = load_dataset("npz", path=tmp_path / "f.npz")
    assert raw.train_images.dtype == np.uint8 and raw.train_images.shape == (300, 1, 28, 28)
    assert np.array_equal(raw.train_images[:, 0], x_train) and np.array_equal(raw.test_images[:, 0], x_test)
    assert np.array_equal(raw.train_labels, y_train) and np.array_equal(raw.test_labels, y_test)
    assert raw.train_labels.dtype == np.int64 and raw.num_classes == 10 and raw.name == "npz"


@needs_fashion
def test_x_y_alone_hold_out_a_stratified_test_split(fashion, tmp_path):
    x, y = fashion[0], fashion[1]
    np.savez(tmp_path / "f.npz", x=x, y=y)
    raw = load_dataset("npz", path=tmp_path / "f.npz")
    assert len(raw.train_labels) + len(raw.test_labels) == 300
    pairs = [(im.tobytes(), int(c)) for im, c in zip(raw.train_images, raw.train_labels, strict=True)]
    pairs += [(im.tobytes(), int(c)) for im, c in zip(raw.test_images, raw.test_labels, strict=True)]
    assert sorted(pairs) == sorted((im[None].tobytes(), int(c)) for im, c in zip(x, y, strict=True))
    assert abs(len(raw.test_labels) - 60) <= 1 and set(raw.test_labels.tolist()) == set(range(10))


def test_colour_string_labels_and_class_names(tmp_path, caplog):
    rng = np.random.default_rng(0)
    x = rng.random((40, 8, 8, 3))  # floats in [0, 1), channels last
    y = np.array(["dog", "cat"] * 20)
    np.savez(tmp_path / "a.npz", x=x, y=y)
    with caplog.at_level(logging.INFO, logger="nas.proxy.npz"):
        raw = load_dataset("npz", path=tmp_path / "a.npz")
    assert "float images scaled by 255 (floats in [0, 1]) and rounded to uint8" in caplog.text
    assert raw.class_names == ("cat", "dog") and raw.in_chans == 3 and raw.train_images.shape[1:] == (3, 8, 8)
    everything = {im.tobytes() for im in np.concatenate([raw.train_images, raw.test_images])}
    assert everything == {np.rint(im * 255).astype(np.uint8).transpose(2, 0, 1).tobytes() for im in x}
    np.savez(tmp_path / "b.npz", x=x, y=y, class_names=np.array(["dog", "cat"]))
    named = load_dataset("npz", path=tmp_path / "b.npz")
    assert named.class_names == ("dog", "cat")
    assert {named.class_names[c] for c in named.train_labels} == {"dog", "cat"}
    np.savez(tmp_path / "c.npz", x=x, y=np.repeat([3, 7], 20))
    renumbered = load_dataset("npz", path=tmp_path / "c.npz")
    assert renumbered.class_names == ("3", "7") and set(renumbered.train_labels.tolist()) == {0, 1}


def _shapes(tmp_path, **arrays):
    np.savez(tmp_path / "bad.npz", **arrays)
    return tmp_path / "bad.npz"


IMAGES = np.zeros((10, 8, 8), np.uint8)
LABELS = np.arange(10) % 2


@pytest.mark.parametrize(
    ("arrays", "fragment"),
    [
        ({"images": IMAGES, "labels": LABELS}, "(holds images (10, 8, 8) uint8, labels (10,) int64): needs x_train,"),
        (
            {"x": np.zeros((10, 3, 8, 3), np.uint8), "y": LABELS},
            "(holds x (10, 3, 8, 3) uint8, y (10,) int64): cannot tell the channel axis of x: axes 1 and 3 both",
        ),
        ({"x": np.zeros((10, 8, 8, 5), np.uint8), "y": LABELS}, "x must be images (N, H, W), (N, H, W, C) or (N, C, H"),
        ({"x": IMAGES, "y": LABELS[:9]}, "(holds x (10, 8, 8) uint8, y (9,) int64): y must hold one label per image"),
        ({"x": IMAGES, "y": np.zeros(10, int)}, "the labels hold 1 class(es): a classifier needs at least 2"),
        ({"x": IMAGES - 1.0, "y": LABELS}, "image values are in [-1, -1]: allowed are 0..255, or floats in 0..1"),
        ({"x": IMAGES, "y": LABELS - 1}, "integer labels must be >= 0, got -1"),
        ({"x": IMAGES, "y": LABELS, "class_names": np.array(["a"])}, "label 1 but only 1 class_names"),
        (
            {"x_train": IMAGES, "y_train": LABELS, "x_test": np.zeros((4, 9, 9), np.uint8), "y_test": LABELS[:4]},
            "the training and test images differ in shape",
        ),
        (
            {"x": IMAGES[:8], "y": LABELS[:8]},
            "class '0' has 4 image(s), and 2 class(es) have fewer than 5: holding out a stratified 20% test split",
        ),
    ],
)
def test_bad_arrays_are_one_line_errors_naming_keys_and_shapes(tmp_path, arrays, fragment):
    file = _shapes(tmp_path, **arrays)
    with pytest.raises(ValueError) as info:
        load_dataset("npz", path=file)
    assert "\n" not in str(info.value) and fragment in str(info.value), str(info.value)
    assert str(file) in str(info.value)


def test_a_missing_or_unreadable_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"dataset.path .*nothing.npz is not a file: give an .npz file"):
        load_dataset("npz", path=tmp_path / "nothing.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"junk.npz is not a readable .npz archive"):
        load_dataset("npz", path=tmp_path / "junk.npz")
    np.save(tmp_path / "one.npy", IMAGES)
    with pytest.raises(ValueError, match=r"one.npy is one .npy array, not an .npz archive"):
        load_dataset("npz", path=tmp_path / "one.npy")
    np.savez(tmp_path / "objects.npz", x=IMAGES, y=np.array([1, "a"] * 5, dtype=object))
    with pytest.raises(ValueError, match="holds Python objects"):
        load_dataset("npz", path=tmp_path / "objects.npz")
    with pytest.raises(ValueError, match="dataset=npz needs dataset.path=FILE"):
        load_dataset("npz")


def test_the_identity_names_the_resolved_file(tmp_path, monkeypatch):
    np.savez(tmp_path / "a.npz", x=IMAGES, y=np.arange(10) % 2)
    monkeypatch.chdir(tmp_path)
    spec = DatasetSpec("npz", path="a.npz")
    raw = spec.load()
    assert spec.identity(raw) == {"name": "npz", "source": str(tmp_path / "a.npz"), "fingerprint": raw.fingerprint}
