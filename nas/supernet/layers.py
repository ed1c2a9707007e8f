"""Weight-sharing layers: a conv-BN and a squeeze-excite whose active part is sliced per subnet.

A subnet uses the first channels of every weight (filters as the first channels of the widest
choice, an MBConv3's expansion as the first half of an MBConv6's) and the central ``k x k`` of a
kernel (kernel 3 taken from kernel 5, as in Once-for-All).  Each piece can also copy its active
slice into the matching module of a network built by ``search_spaces.build``, which then computes
exactly what the supernet computes for that subnet.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from search_spaces.blocks import BatchNormArgs, ConvBNAct, SqueezeExcite, make_activation


class Slice(NamedTuple):
    """One piece's active part: input channels, output channels (SE: its reduced width), kernel, stride."""

    cin: int
    cout: int
    kernel: int = 1
    stride: int = 1


def batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """``bn`` on the first ``x.shape[1]`` channels, its running statistics updated in place as ``bn`` would."""
    c = x.shape[1]
    factor = 0.0
    if bn.training:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    return F.batch_norm(
        x,
        bn.running_mean[:c],
        bn.running_var[:c],
        bn.weight[:c],
        bn.bias[:c],
        bn.training,
        factor,
        bn.eps,
    )


def folded(bn: nn.BatchNorm2d, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of a conv that computes ``weight``'s conv followed by ``bn`` in eval mode.

    Not ``torch.nn.utils.fusion.fuse_conv_bn_weights``: it returns new leaf Parameters, which would
    cut the gradient to the shared weights whenever an eval-mode forward runs with autograd on.
    """
    c = weight.shape[0]
    scale = bn.weight[:c] * torch.rsqrt(bn.running_var[:c] + bn.eps)
    return weight * scale.view(-1, 1, 1, 1), bn.bias[:c] - bn.running_mean[:c] * scale


class SharedConvBN(nn.Module):
    """Conv (no bias, 'same' padding) -> BatchNorm -> optional activation, at its widest and largest kernel."""

    def __init__(
        self,
        max_in: int,
        max_out: int,
        max_kernel: int,
        norm: BatchNormArgs,
        activation: str | None = None,
        depthwise: bool = False,
    ) -> None:
        super().__init__()
        self.max_kernel, self.depthwise = max_kernel, depthwise
        self.weight = nn.Parameter(torch.empty(max_out, 1 if depthwise else max_in, max_kernel, max_kernel))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        self.bn = nn.BatchNorm2d(max_out, eps=norm.eps, momentum=norm.momentum)
        self.act = make_activation(activation) if activation is not None else None

    def weight_for(self, part: Slice) -> torch.Tensor:
        crop = (self.max_kernel - part.kernel) // 2
        cin = 1 if self.depthwise else part.cin
        return self.weight[: part.cout, :cin, crop : crop + part.kernel, crop : crop + part.kernel]

    def forward(self, x: torch.Tensor, part: Slice) -> torch.Tensor:
        groups = part.cin if self.depthwise else 1
        weight = self.weight_for(part)
        if self.bn.training:
            y = F.conv2d(x, weight, None, part.stride, part.kernel // 2, 1, groups)
            y = batch_norm(self.bn, y)
        else:  # BatchNorm folded into the conv: scoring thousands of subnets skips a pass over every activation
            y = F.conv2d(x, *folded(self.bn, weight), part.stride, part.kernel // 2, 1, groups)
        return self.act(y) if self.act is not None else y

    @torch.no_grad()
    def copy_into(self, target: ConvBNAct, part: Slice) -> None:
        """Write this piece's active slice into ``target``, a ``ConvBNAct`` of exactly that shape."""
        conv, bn = target[0], target[1]
        conv.weight.copy_(self.weight_for(part))
        c = part.cout
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(bn, name).copy_(getattr(self.bn, name)[:c])
        bn.num_batches_tracked.copy_(self.bn.num_batches_tracked)


class SharedSqueezeExcite(nn.Module):
    """Squeeze-excite at its widest: ``part.cin`` channels gated through ``part.cout`` reduced ones."""

    def __init__(self, max_channels: int, max_reduced: int, activation: str) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(max_channels, max_reduced, 1)
        self.expand = nn.Conv2d(max_reduced, max_channels, 1)
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor, part: Slice) -> torch.Tensor:
        c, r = part.cin, part.cout
        s = F.conv2d(x.mean((2, 3), keepdim=True), self.reduce.weight[:r, :c], self.reduce.bias[:r])
        s = F.conv2d(self.act(s), self.expand.weight[:c, :r], self.expand.bias[:c])
        return x * torch.sigmoid(s)

    @torch.no_grad()
    def copy_into(self, target: SqueezeExcite, part: Slice) -> None:
        c, r = part.cin, part.cout
        target.reduce.weight.copy_(self.reduce.weight[:r, :c])
        target.reduce.bias.copy_(self.reduce.bias[:r])
        target.expand.weight.copy_(self.expand.weight[:c, :r])
        target.expand.bias.copy_(self.expand.bias[:c])


Piece = SharedConvBN | SharedSqueezeExcite
