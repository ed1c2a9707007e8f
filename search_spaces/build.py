"""One function from a genotype to an ``nn.Module``."""

from __future__ import annotations

import math

import torch
from torch import nn

from search_spaces.blocks import BatchNormArgs, Block, ConvBNAct
from search_spaces.genotype import Genotype, layers
from search_spaces.rounding import apply_multipliers


class ConvNet(nn.Module):
    """Stem -> stages of blocks -> 1x1 head conv -> global pool -> dropout -> classifier."""

    def __init__(
        self,
        genotype: Genotype,
        num_classes: int,
        in_chans: int,
        dropout: float,
        drop_connect: float,
        bn_momentum: float,
    ) -> None:
        super().__init__()
        self.genotype = genotype
        act = genotype.activation
        norm = BatchNormArgs(genotype.bn_eps, bn_momentum)
        self.stem = ConvBNAct(in_chans, genotype.stem, 3, 2, activation=act, norm=norm)
        plan = layers(genotype)
        stages: list[list[nn.Module]] = [[] for _ in genotype.blocks]
        for position, layer in enumerate(plan):
            # Stochastic depth grows linearly with the block index, as in the references.
            rate = drop_connect * position / len(plan)
            stages[layer.stage].append(Block(layer.spec, layer.in_channels, layer.stride, act, rate, norm))
        self.stages = nn.Sequential(*(nn.Sequential(*s) for s in stages))
        last = genotype.blocks[-1].out_channels
        self.head = ConvBNAct(last, genotype.head, 1, activation=act, norm=norm)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(genotype.head, num_classes)
        _init_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.forward_features(x)).flatten(1)
        return self.classifier(self.dropout(x))


def build(
    genotype: Genotype,
    width: float = 1.0,
    depth: float = 1.0,
    num_classes: int = 1000,
    in_chans: int = 3,
    dropout: float | None = None,
    drop_connect: float | None = None,
    bn_momentum: float = 0.1,
    zero_init_residual: bool = False,
) -> ConvNet:
    """Build ``genotype`` with channels rounded by ``width`` and layers by ``depth``.

    ``dropout`` and ``drop_connect`` default to the genotype's own rates.  ``zero_init_residual``
    zeroes the last BatchNorm scale of every block with a shortcut, so each starts as an identity
    (it cut the proxy's seed-to-seed spread threefold).
    """
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be an integer >= 1, got {num_classes!r}")
    if not isinstance(in_chans, int) or in_chans < 1:
        raise ValueError(f"in_chans must be an integer >= 1, got {in_chans!r}")
    scaled = apply_multipliers(genotype, width, depth)
    model = ConvNet(
        scaled,
        num_classes=num_classes,
        in_chans=in_chans,
        dropout=genotype.dropout if dropout is None else dropout,
        drop_connect=genotype.drop_connect if drop_connect is None else drop_connect,
        bn_momentum=bn_momentum,
    )
    if zero_init_residual:
        _zero_init_residual_branches(model)
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def _zero_init_residual_branches(model: nn.Module) -> None:
    for block in model.modules():
        if isinstance(block, Block) and block.shortcut is not None:
            norms = [m for m in block.body.modules() if isinstance(m, nn.BatchNorm2d)]
            if norms:
                norms[-1].weight.zero_()


def _init_weights(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.out_features)
            nn.init.uniform_(module.weight, -bound, bound)
            nn.init.zeros_(module.bias)
