"""The layers every genotype is built from: conv-BN-act, squeeze-excite, and the three block ops."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from search_spaces.genotype import BN_EPS, BlockSpec


class BatchNormArgs(NamedTuple):
    """Every BatchNorm's settings in one model: epsilon from the genotype, momentum from the trainer."""

    eps: float = BN_EPS
    momentum: float = 0.1


DEFAULT_NORM = BatchNormArgs()

_ACTIVATIONS: dict[str, type[nn.Module]] = {"silu": nn.SiLU, "relu": nn.ReLU, "relu6": nn.ReLU6}


def make_activation(name: str) -> nn.Module:
    return _ACTIVATIONS[name](inplace=True)


class ConvBNAct(nn.Sequential):
    """Conv (no bias, 'same' padding for odd kernels) -> BatchNorm -> optional activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        activation: str | None = None,
        norm: BatchNormArgs = DEFAULT_NORM,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_channels, eps=norm.eps, momentum=norm.momentum),
        ]
        if activation is not None:
            layers.append(make_activation(activation))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Channel gating: global mean, reduce, activation, expand, sigmoid."""

    def __init__(self, channels: int, reduced: int, activation: str) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = make_activation(activation)
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(x.mean((2, 3), keepdim=True)))))


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch per sample while training."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"rate={self.rate:.4f}"


class PoolShortcut(nn.Sequential):
    """The 'pooling' skip op: 3x3 average pooling at the block's stride, 1x1 projection if needed."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, norm: BatchNormArgs) -> None:
        layers: list[nn.Module] = [nn.AvgPool2d(3, stride, 1, count_include_pad=False)]
        if in_channels != out_channels:
            layers.append(ConvBNAct(in_channels, out_channels, 1, norm=norm))
        super().__init__(*layers)


def se_channels(in_channels: int, se_ratio: float) -> int:
    """SE width, sized from the block's *input* channels as in EfficientNet and MnasNet."""
    return max(1, int(in_channels * se_ratio))


class Block(nn.Module):
    """One layer of a stage: the op's body plus its skip op (identity only when shapes match)."""

    def __init__(
        self,
        spec: BlockSpec,
        in_channels: int,
        stride: int,
        activation: str,
        drop_path: float = 0.0,
        norm: BatchNormArgs = DEFAULT_NORM,
    ) -> None:
        super().__init__()
        out_channels = spec.out_channels
        self.body = _BODIES[spec.op](spec, in_channels, stride, activation, norm)
        self.shortcut: nn.Module | None = None
        if spec.skip == "pool":
            self.shortcut = PoolShortcut(in_channels, out_channels, stride, norm)
        elif spec.skip == "id" and stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        self.drop_path = DropPath(drop_path) if self.shortcut is not None and drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut is None:
            return out
        return self.drop_path(out) + self.shortcut(x)


def _conv_body(spec: BlockSpec, cin: int, stride: int, act: str, norm: BatchNormArgs) -> nn.Sequential:
    layers: list[nn.Module] = [ConvBNAct(cin, spec.out_channels, spec.kernel, stride, activation=act, norm=norm)]
    if spec.se_ratio > 0:
        layers.append(SqueezeExcite(spec.out_channels, se_channels(cin, spec.se_ratio), act))
    return nn.Sequential(*layers)


def _depthwise_separable_body(spec: BlockSpec, cin: int, stride: int, act: str, norm: BatchNormArgs) -> nn.Sequential:
    layers: list[nn.Module] = [ConvBNAct(cin, cin, spec.kernel, stride, groups=cin, activation=act, norm=norm)]
    if spec.se_ratio > 0:
        layers.append(SqueezeExcite(cin, se_channels(cin, spec.se_ratio), act))
    layers.append(ConvBNAct(cin, spec.out_channels, 1, norm=norm))
    return nn.Sequential(*layers)


def _mbconv_body(spec: BlockSpec, cin: int, stride: int, act: str, norm: BatchNormArgs) -> nn.Sequential:
    mid = cin * spec.expand
    layers: list[nn.Module] = []
    if spec.expand != 1:
        layers.append(ConvBNAct(cin, mid, 1, activation=act, norm=norm))
    layers.append(ConvBNAct(mid, mid, spec.kernel, stride, groups=mid, activation=act, norm=norm))
    if spec.se_ratio > 0:
        layers.append(SqueezeExcite(mid, se_channels(cin, spec.se_ratio), act))
    layers.append(ConvBNAct(mid, spec.out_channels, 1, norm=norm))
    return nn.Sequential(*layers)


_BODIES = {"cn": _conv_body, "ds": _depthwise_separable_body, "ir": _mbconv_body}
