"""Scoring a trained proxy model: top-1 accuracy, and BatchNorm statistics re-estimated first."""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn

from nas.proxy.data import Split
from nas.proxy.stopping import check_stop

FIXED_SEED = 0
"""Which images recalibrate BatchNorm (and score supernet subnets): fixed, so every model sees the same ones."""


def fixed_part(split: Split, n: int) -> Split:
    """``n`` images of ``split`` in a fixed seeded random order (all of them, as they are, when it has no more).

    Random, not the first ``n``: a folder dataset's training split is ordered by class, and its
    first images would be one class.
    """
    if n >= len(split):
        return split
    idx = torch.randperm(len(split), generator=torch.Generator().manual_seed(FIXED_SEED))[:n]
    idx = idx.to(split.labels.device)
    return Split(split.images.index_select(0, idx), split.labels.index_select(0, idx), split.mean, split.std)


def evaluate(
    model: nn.Module,
    split: Split,
    batch_size: int,
    memory_format: torch.memory_format = torch.contiguous_format,
    autocast: Any = None,
) -> float:
    """Top-1 accuracy on a split (eval mode, no gradients)."""
    return accuracy_of(image_outcomes(model, split, batch_size, memory_format, autocast))


def accuracy_of(outcomes: torch.Tensor) -> float:
    """The share of images classified right (0 for no images)."""
    return outcomes.sum().item() / max(1, len(outcomes))


@torch.no_grad()
def image_outcomes(
    model: nn.Module,
    split: Split,
    batch_size: int,
    memory_format: torch.memory_format = torch.contiguous_format,
    autocast: Any = None,
) -> torch.Tensor:
    """Whether each image of a split is classified right (eval mode, no gradients), on the split's device."""
    model.eval()
    outcomes = torch.zeros(len(split), dtype=torch.bool, device=split.labels.device)
    with autocast or contextlib.nullcontext():
        for start in range(0, len(split), batch_size):
            check_stop()
            x = split.batch(slice(start, start + batch_size)).contiguous(memory_format=memory_format)
            outcomes[start : start + len(x)] = model(x).argmax(1) == split.labels[start : start + batch_size]
    return outcomes


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module,
    split: Split,
    n_images: int,
    batch_size: int,
    memory_format: torch.memory_format = torch.contiguous_format,
    autocast: Any = None,
) -> None:
    """Recompute BatchNorm running statistics with the final weights (a cumulative average).

    Short runs at high learning rates leave running statistics that lag far behind the
    weights: measured here, a B0 proxy scored 10% in eval mode and 43% with its batch
    statistics.  Re-estimating them on ``n_images`` training images (:func:`fixed_part`, so
    every class is in them) closes that gap.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if n_images <= 0 or not norms:
        return
    split = fixed_part(split, n_images)
    model.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the recalibration batches
        m.train()
    with autocast or contextlib.nullcontext():
        for start in range(0, len(split), batch_size):
            check_stop()
            model(split.batch(slice(start, start + batch_size)).contiguous(memory_format=memory_format))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    model.eval()
