"""The supernet: one network holding every member of a MnasNet space, at the proxy's width and depth.

Per block slot and layer position there are weights for each conv op family (regular,
depthwise-separable, MBConv), each at the slot's widest filters, largest kernel and largest
expansion, plus the pooling skip's projection.  A subnet (a genotype of the space) runs the first
``repeats`` layer positions of each slot with the slices its choices ask for.  :meth:`Supernet.extract`
builds the same subnet with ``search_spaces.build`` and copies those slices into it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nas.supernet.layers import Piece, SharedConvBN, SharedSqueezeExcite, Slice
from search_spaces.blocks import BatchNormArgs, Block, PoolShortcut, se_channels
from search_spaces.build import ConvNet, build
from search_spaces.codec import format_blocks
from search_spaces.genotype import BlockSpec, Genotype
from search_spaces.mnasnet import CONV_OPS, BlockChoices, MnasNetSpace
from search_spaces.rounding import apply_multipliers, round_filters, round_repeats


class SharedLayer(nn.Module):
    """One layer position of a slot: every op family's weights, and the pooling skip's projection."""

    def __init__(self, max_in: int, max_out: int, choices: BlockChoices, activation: str, norm: BatchNormArgs) -> None:
        super().__init__()
        kernel = max(choices.kernels)
        reduced = se_channels(max_in, max(choices.se_ratios))
        families = {CONV_OPS[op][0] for op in choices.ops}
        mid = max_in * max(CONV_OPS[op][1] for op in choices.ops)
        self.ops = nn.ModuleDict()
        if "cn" in families:
            self.ops["cn"] = nn.ModuleList(
                [
                    SharedConvBN(max_in, max_out, kernel, norm, activation),
                    SharedSqueezeExcite(max_out, reduced, activation),
                ]
            )
        if "ds" in families:
            self.ops["ds"] = nn.ModuleList(
                [
                    SharedConvBN(max_in, max_in, kernel, norm, activation, depthwise=True),
                    SharedSqueezeExcite(max_in, reduced, activation),
                    SharedConvBN(max_in, max_out, 1, norm),
                ]
            )
        if "ir" in families:
            self.ops["ir"] = nn.ModuleList(
                [
                    SharedConvBN(max_in, mid, 1, norm, activation),
                    SharedConvBN(mid, mid, kernel, norm, activation, depthwise=True),
                    SharedSqueezeExcite(mid, reduced, activation),
                    SharedConvBN(mid, max_out, 1, norm),
                ]
            )
        self.projection = SharedConvBN(max_in, max_out, 1, norm) if "pool" in choices.skips else None

    def body(self, spec: BlockSpec, cin: int, stride: int) -> list[tuple[Piece, Slice]]:
        """The pieces ``spec``'s body runs, in the order ``search_spaces.blocks`` builds them, with their slices."""
        k, out, se = spec.kernel, spec.out_channels, spec.se_ratio > 0
        reduced = se_channels(cin, spec.se_ratio)
        if spec.op == "cn":
            conv, excite = self.ops["cn"]
            return [(conv, Slice(cin, out, k, stride))] + ([(excite, Slice(out, reduced))] if se else [])
        if spec.op == "ds":
            depthwise, excite, pointwise = self.ops["ds"]
            return [
                (depthwise, Slice(cin, cin, k, stride)),
                *([(excite, Slice(cin, reduced))] if se else []),
                (pointwise, Slice(cin, out)),
            ]
        expand, depthwise, excite, project = self.ops["ir"]
        mid = cin * spec.expand
        return [
            *([(expand, Slice(cin, mid))] if spec.expand != 1 else []),
            (depthwise, Slice(mid, mid, k, stride)),
            *([(excite, Slice(mid, reduced))] if se else []),
            (project, Slice(mid, out)),
        ]

    def forward(self, x: torch.Tensor, spec: BlockSpec, stride: int) -> torch.Tensor:
        cin, out = x.shape[1], spec.out_channels
        y = x
        for piece, part in self.body(spec, cin, stride):
            y = piece(y, part)
        if spec.skip == "pool":
            shortcut = F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)
            if cin != out:
                shortcut = self.projection(shortcut, Slice(cin, out))
            return y + shortcut
        if spec.skip == "id" and stride == 1 and cin == out:
            return y + x
        return y

    def copy_into(self, block: Block, spec: BlockSpec, cin: int, stride: int) -> None:
        """Write this position's slices for ``spec`` into ``block``, built by ``search_spaces.build``."""
        for (piece, part), module in zip(self.body(spec, cin, stride), block.body, strict=True):
            piece.copy_into(module, part)
        if isinstance(block.shortcut, PoolShortcut) and len(block.shortcut) > 1:
            self.projection.copy_into(block.shortcut[1], Slice(cin, spec.out_channels))


class Supernet(nn.Module):
    """Every member of ``space`` at ``width``/``depth``: ``supernet(x, genotype)`` runs that member."""

    def __init__(
        self,
        space: MnasNetSpace,
        width: float,
        depth: float,
        num_classes: int,
        in_chans: int,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        self.space, self.width, self.depth = space, width, depth
        self.num_classes, self.in_chans, self.bn_momentum = num_classes, in_chans, bn_momentum
        reference = apply_multipliers(space.reference, width, depth)
        act, norm = reference.activation, BatchNormArgs(reference.bn_eps, bn_momentum)
        self.stem_channels, self.head_channels = reference.stem, reference.head
        self.stem = SharedConvBN(in_chans, reference.stem, 3, norm, act)
        self.slots = nn.ModuleList()
        cin = reference.stem
        for choices in space.blocks:
            widest = max(round_filters(f, width) for f in choices.filters)
            deepest = max(round_repeats(n, depth) for n in choices.layers)
            positions = [SharedLayer(cin if j == 0 else widest, widest, choices, act, norm) for j in range(deepest)]
            self.slots.append(nn.ModuleList(positions))
            cin = widest
        self.head = SharedConvBN(cin, reference.head, 1, norm, act)
        self.classifier = nn.Linear(reference.head, num_classes)
        _init_weights(self)

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (genotypes are small frozen values; the supernet lives long)
    def scaled(self, genotype: Genotype) -> Genotype:
        """``genotype`` at the supernet's width and depth; ``ValueError`` when it is not in the space."""
        try:
            self.space.encode(genotype)
        except ValueError as err:
            raise ValueError(
                f"genotype {','.join(format_blocks(genotype))} is not in the supernet's space: {err}"
            ) from None
        return apply_multipliers(genotype, self.width, self.depth)

    def forward(self, x: torch.Tensor, genotype: Genotype) -> torch.Tensor:
        net = self.scaled(genotype)
        x = self.stem(x, Slice(self.in_chans, self.stem_channels, 3, 2))
        for positions, spec in zip(self.slots, net.blocks, strict=True):
            for j in range(spec.repeats):
                x = positions[j](x, spec, spec.stride if j == 0 else 1)
        x = self.head(x, Slice(x.shape[1], self.head_channels))
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))

    def extract(self, genotype: Genotype) -> ConvNet:
        """``genotype`` built as a stand-alone network (no dropout) holding this supernet's weights for it."""
        net = self.scaled(genotype)
        model = build(genotype, self.width, self.depth, self.num_classes, self.in_chans, 0.0, 0.0, self.bn_momentum)
        self.stem.copy_into(model.stem, Slice(self.in_chans, self.stem_channels, 3, 2))
        cin = net.stem
        for positions, stage, spec in zip(self.slots, model.stages, net.blocks, strict=True):
            for j, block in enumerate(stage):
                positions[j].copy_into(block, spec, cin, spec.stride if j == 0 else 1)
                cin = spec.out_channels
        self.head.copy_into(model.head, Slice(cin, self.head_channels))
        with torch.no_grad():
            model.classifier.weight.copy_(self.classifier.weight)
            model.classifier.bias.copy_(self.classifier.bias)
        return model

    def largest(self) -> Genotype:
        """The teacher: MBConv at its largest expansion (the references' op), largest kernel, SE on, widest, deepest."""
        return self._extreme(max, _teacher_rank, "id")

    def smallest(self) -> Genotype:
        """The cheapest member: depthwise-separable, smallest kernel, no SE, no skip, narrowest, shallowest."""
        return self._extreme(min, _cost_rank, "none")

    def sample(self, rng: np.random.Generator) -> Genotype:
        """A uniformly random member of the space."""
        return self.space.sample(rng)

    def _extreme(self, pick: Callable[..., Any], op_rank: Callable[[str], Any], skip: str) -> Genotype:
        """Every decision at ``pick`` (max or min) of its choices, ops ordered by ``op_rank``, ``skip`` where allowed."""
        specs = []
        for block, choices in zip(self.space.reference.blocks, self.space.blocks, strict=True):
            family, expand = CONV_OPS[pick(choices.ops, key=op_rank)]
            spec = replace(
                block, op=family, expand=expand, kernel=pick(choices.kernels), se_ratio=pick(choices.se_ratios)
            )
            chosen_skip = skip if skip in choices.skips else choices.skips[0]
            specs.append(
                replace(spec, skip=chosen_skip, out_channels=pick(choices.filters), repeats=pick(choices.layers))
            )
        return replace(self.space.reference, blocks=tuple(specs), name="candidate")


def _cost_rank(op: str) -> tuple[int, int]:
    """Ops by cost at equal width: depthwise-separable, MBConv by expansion, regular conv."""
    family, expand = CONV_OPS[op]
    return {"ds": 0, "ir": 1, "cn": 2}[family], expand


def _teacher_rank(op: str) -> tuple[bool, int]:
    family, expand = CONV_OPS[op]
    return family == "ir", expand


def _init_weights(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            bound = 1.0 / module.out_features**0.5
            nn.init.uniform_(module.weight, -bound, bound)
            nn.init.zeros_(module.bias)
