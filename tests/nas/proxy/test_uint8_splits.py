"""Splits kept as uint8 when float copies would not fit: the same batches, the same training."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import torch

from nas.proxy.data import Split, channel_stats, float_budget_for, prepare, split_indices
from nas.proxy.datasets import load_dataset
from nas.proxy.recipe import ProxyConfig
from nas.proxy.trainer import train_proxy
from search_spaces.references import reference

SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_uint8_batches_match_the_float_splits(digits):
    as_float = prepare(digits, 32, 600, 200, 100)
    as_uint8 = prepare(digits, 32, 600, 200, 100, float_budget=0)
    assert as_float.train.images.dtype == torch.float32 and as_uint8.train.images.dtype == torch.uint8
    assert as_uint8.train.images.shape == (600, 1, 32, 32)
    index = torch.tensor([0, 5, 599])
    # rounding to uint8 after resizing costs at most half a grey level
    tolerance = 0.5 / 255.0 / as_uint8.train.std.min().item() + 1e-5
    for split in ("train", "val", "test"):
        exact, rounded = getattr(as_float, split), getattr(as_uint8, split)
        assert torch.equal(exact.labels, rounded.labels)
        diff = (exact.batch(slice(0, 50)) - rounded.batch(slice(0, 50))).abs().max().item()
        assert diff <= tolerance, (split, diff)
    assert torch.equal(as_float.train.batch(index), as_float.train.images[index])


def test_uint8_training_is_float_training_on_the_rounded_images(digits):
    """Normalising per batch changes nothing but the 8-bit rounding: the same run, bit for bit."""
    config = ProxyConfig(epochs=1, batch_size=64, width=0.25, bn_recalibration=128)
    as_uint8 = prepare(digits, 32, 600, 200, 100, float_budget=0)
    rounded = {s: Split(getattr(as_uint8, s).batch(slice(None)), getattr(as_uint8, s).labels) for s in SPLITS}
    as_float = dataclasses.replace(as_uint8, **rounded)
    runs = [train_proxy(reference("mobilenet_v2"), data, config, seed=0) for data in (as_uint8, as_float)]
    assert all(r.ok for r in runs)
    assert (runs[0].val_acc, runs[0].train_loss) == (runs[1].val_acc, runs[1].train_loss)


def test_channel_stats_match_numpy_a_chunk_at_a_time():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (300, 3, 8, 8), dtype=np.uint8)
    index = np.arange(0, 300, 2)
    mean, std = channel_stats(images, index, chunk=7)
    x = images[index].astype(np.float64) / 255.0
    assert np.allclose(mean.numpy(), x.mean(axis=(0, 2, 3)), atol=1e-6)
    assert np.allclose(std.numpy(), x.std(axis=(0, 2, 3), ddof=1), atol=1e-6)


def test_the_float_budget_is_a_quarter_of_memory(monkeypatch):
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert float_budget_for(torch.device("cpu")) == ram // 4
    monkeypatch.delattr(os, "sysconf")  # no sysconf (Windows): 8 GiB assumed
    assert float_budget_for(torch.device("cpu")) == 2 * 2**30


def test_too_few_images_per_class_says_how_many_are_needed():
    labels = np.array([0] * 10 + [1] * 10 + [2])
    with pytest.raises(ValueError, match=r"class 'cat' has 1 training image\(s\).*at least 2 images per class"):
        split_indices(labels, None, 5, class_names=("a", "b", "cat"))
    with pytest.raises(ValueError, match=r"proxy.val_size 2 .* at least the number of classes \(3\)"):
        split_indices(np.repeat(np.arange(3), 10), None, 2)
