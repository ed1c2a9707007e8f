"""The proxy's training recipe: optimizer groups, the one-cycle schedule, on-device augmentation."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from nas.proxy.trainer import ProxyConfig


def make_optimizer(model: nn.Module, config: ProxyConfig) -> torch.optim.Optimizer:
    # No weight decay on BatchNorm and biases: it only slows short runs down.
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=(config.momentum, 0.999))
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)


def one_cycle(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """Linear warm-up to the peak, then linear decay to zero: the schedule of fast short runs."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random translation by up to 2 pixels (reflect padding) and horizontal flips, on device."""
    n, _, h, w = x.shape
    pad = 2
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    dx, dy = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=generator))
    shifted = padded[:, :, dy : dy + h, dx : dx + w]
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], shifted.flip(3), shifted)
