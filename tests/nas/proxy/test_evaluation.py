from __future__ import annotations

import torch
from torch import nn

from nas.proxy.data import Split
from nas.proxy.evaluation import fixed_part, recalibrate_batchnorm


def sorted_by_class(n: int = 400) -> Split:
    """Two classes stored one after the other, as a folder's training split is: class 0 dark, class 1 bright."""
    labels = torch.arange(n) * 2 // n
    images = labels.float().mul(10.0).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
    return Split(images, labels)


def test_recalibration_reads_every_class_of_a_split_sorted_by_class():
    norm = nn.BatchNorm2d(1)
    recalibrate_batchnorm(nn.Sequential(norm), sorted_by_class(), n_images=100, batch_size=32)
    # the first 100 images are all class 0 (mean 0): a random part of both classes has mean ~5
    assert 3.5 < float(norm.running_mean) < 6.5
    assert float(norm.running_var) > 10
    assert not norm.training


def test_fixed_part_is_the_same_images_every_time_and_the_whole_split_when_small():
    split = sorted_by_class()
    first, again = fixed_part(split, 50), fixed_part(split, 50)
    assert torch.equal(first.labels, again.labels) and torch.equal(first.images, again.images)
    assert 0 < int(first.labels.sum()) < 50  # both classes
    assert fixed_part(split, len(split)) is split
