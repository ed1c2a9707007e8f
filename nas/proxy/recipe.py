"""The proxy's training recipe: its settings, optimizer groups, the one-cycle schedule, on-device augmentation."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nas.proxy.data import DataSizes

SIZE_FIELDS = tuple(f.name for f in dataclasses.fields(DataSizes))


@dataclass(frozen=True)
class ProxyConfig:
    """The ``proxy`` settings: how much of the data a candidate sees, and how it is trained on it."""

    resolution: int | None = 32  # images are resized once to this side (>= 32); None: the data's own
    train_size: int | None = 12000  # stratified subset of the training split (None: all but validation)
    val_size: int = 10000  # carved from the training split (stratified, fixed split_seed)
    test_size: int | None = 2000  # subset of the official test split; never used by a search
    split_seed: int = 0
    epochs: int = 2
    batch_size: int = 128
    optimizer: str = "sgd"  # sgd (Nesterov momentum) or adamw
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-5
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.25
    width: float = 0.5
    depth: float = 1.0
    dropout: float | None = 0.0  # None: the genotype's own (the reference's, for final training)
    drop_connect: float | None = 0.0
    augment: bool = False
    channels_last: bool | None = None  # None: CUDA yes, CPU the measured default
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False
    eval_batch_size: int = 512
    bn_recalibration: int = 2048  # images whose batch statistics replace BN running stats before eval
    zero_init_residual: bool = True  # start residual blocks as identities (last BN scale 0)
    schedule: str = "one_cycle"  # one_cycle (short runs) or cosine (linear warm-up, then cosine to zero)
    ema_decay: float = 0.0  # > 0: evaluate and keep an exponential moving average of the weights

    def __post_init__(self) -> None:
        self.sizes  # noqa: B018  (checks the data sizes)
        for name in ("epochs", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"proxy.{name} must be an integer >= 1, got {value!r}")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"proxy.optimizer must be sgd or adamw, got {self.optimizer!r}")
        if not self.lr > 0:
            raise ValueError(f"proxy.lr must be > 0, got {self.lr!r}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"proxy.warmup_fraction must be in [0, 1), got {self.warmup_fraction!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"proxy.schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"proxy.ema_decay must be in [0, 1) (0: no averaging), got {self.ema_decay!r}")

    @property
    def sizes(self) -> DataSizes:
        """How much of the dataset the proxy uses, and at which resolution."""
        return DataSizes(**{name: getattr(self, name) for name in SIZE_FIELDS})

    @property
    def memory_format(self) -> torch.memory_format:
        """channels_last unless switched off: measured 2.5-3x faster on CPU, and the CUDA default."""
        return torch.contiguous_format if self.channels_last is False else torch.channels_last

    def identity(self) -> dict[str, Any]:
        """The training recipe, as a study's identity and a checkpoint record it (the sizes apart)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in SIZE_FIELDS}


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


def cosine(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """Linear warm-up to the peak, then a half cosine down to zero: the schedule of long runs."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


SCHEDULES: dict[str, Callable[[int, float], Callable[[int], float]]] = {"one_cycle": one_cycle, "cosine": cosine}


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random translation by up to 2 pixels (reflect padding) and horizontal flips, on device."""
    n, _, h, w = x.shape
    pad = 2
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    dx, dy = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=generator))
    shifted = padded[:, :, dy : dy + h, dx : dx + w]
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], shifted.flip(3), shifted)
