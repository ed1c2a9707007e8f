"""The MnasNet factorized hierarchical search space around a reference genotype.

Each of the reference's blocks (7 for EfficientNet-B0) chooses independently: conv op
(regular conv, depthwise-separable, MBConv with expansion 3 or 6), kernel 3 or 5, SE ratio
0 or 0.25, skip op (identity, pooling, none), output filters x{0.75, 1.0, 1.25} of the
reference's (rounded to multiples of 8) and layers reference +{-1, 0, +1} (at least 1).
Strides, stem, head and activation stay the reference's.  Choices that round to the same
value are merged, so :meth:`MnasNetSpace.size` counts distinct genotypes exactly.

One definition serves every strategy: :meth:`suggest` is define-by-run on an Optuna trial,
:meth:`sample` draws uniformly from a NumPy generator, :meth:`decode`/:meth:`encode` map
between parameter dicts and genotypes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from search_spaces.genotype import BlockSpec, Genotype
from search_spaces.rounding import round_filters

CONV_OPS: dict[str, tuple[str, int]] = {"cn": ("cn", 1), "ds": ("ds", 1), "ir3": ("ir", 3), "ir6": ("ir", 6)}
KERNEL_CHOICES = (3, 5)
SE_CHOICES = (0.0, 0.25)
SKIP_CHOICES = ("id", "pool", "none")
FILTER_MULTIPLIERS = (0.75, 1.0, 1.25)
LAYER_DELTAS = (-1, 0, 1)
DECISIONS = ("op", "kernel", "se", "skip", "filters", "layers")


class SuggestsCategorical(Protocol):
    """The part of ``optuna.trial.Trial`` the space needs (keeps this package free of Optuna)."""

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


@dataclass(frozen=True)
class BlockChoices:
    """The options of one searchable block."""

    stride: int
    ops: tuple[str, ...]
    kernels: tuple[int, ...]
    se_ratios: tuple[float, ...]
    skips: tuple[str, ...]
    filters: tuple[int, ...]
    layers: tuple[int, ...]

    def options(self) -> dict[str, tuple[Any, ...]]:
        return {
            "op": self.ops,
            "kernel": self.kernels,
            "se": self.se_ratios,
            "skip": self.skips,
            "filters": self.filters,
            "layers": self.layers,
        }

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.options().values())


@dataclass(frozen=True)
class MnasNetSpace:
    reference: Genotype
    blocks: tuple[BlockChoices, ...]

    def size(self) -> int:
        """Exact number of distinct genotypes in the space."""
        return math.prod(b.size for b in self.blocks)

    def param_names(self) -> list[str]:
        return [param_name(i, d) for i in range(len(self.blocks)) for d in DECISIONS]

    def distributions(self) -> dict[str, tuple[Any, ...]]:
        """Parameter name -> its choices, in decision order."""
        return {param_name(i, d): opts for i, b in enumerate(self.blocks) for d, opts in b.options().items()}

    def suggest(self, trial: SuggestsCategorical) -> Genotype:
        """Define-by-run on an Optuna trial."""
        params = {name: trial.suggest_categorical(name, list(opts)) for name, opts in self.distributions().items()}
        return self.decode(params)

    def sample(self, rng: np.random.Generator) -> Genotype:
        """A uniformly random member."""
        params = {name: opts[int(rng.integers(len(opts)))] for name, opts in self.distributions().items()}
        return self.decode(params)

    def decode(self, params: Mapping[str, Any]) -> Genotype:
        """Parameters (as ``suggest``/``encode`` name them) -> genotype."""
        specs = []
        for i, choices in enumerate(self.blocks):
            values = {}
            for decision, opts in choices.options().items():
                name = param_name(i, decision)
                if name not in params:
                    raise ValueError(f"missing search-space parameter {name!r}")
                value = params[name]
                if value not in opts:
                    raise ValueError(f"{name}={value!r} is not one of {list(opts)}")
                values[decision] = value
            op, expand = CONV_OPS[values["op"]]
            specs.append(
                BlockSpec(
                    op=op,
                    repeats=int(values["layers"]),
                    kernel=int(values["kernel"]),
                    stride=choices.stride,
                    expand=expand,
                    out_channels=int(values["filters"]),
                    se_ratio=float(values["se"]),
                    skip=values["skip"],
                )
            )
        return replace(self.reference, blocks=tuple(specs), name="candidate")

    def encode(self, genotype: Genotype) -> dict[str, Any]:
        """Genotype -> parameters; ``ValueError`` if it is not a member of the space."""
        if len(genotype.blocks) != len(self.blocks):
            raise ValueError(f"genotype has {len(genotype.blocks)} blocks; the space has {len(self.blocks)}")
        params: dict[str, Any] = {}
        for i, spec in enumerate(genotype.blocks):
            op = next((k for k, v in CONV_OPS.items() if v == (spec.op, spec.expand)), None)
            values = {
                "op": op,
                "kernel": spec.kernel,
                "se": spec.se_ratio,
                "skip": spec.skip,
                "filters": spec.out_channels,
                "layers": spec.repeats,
            }
            for decision, opts in self.blocks[i].options().items():
                if values[decision] not in opts:
                    raise ValueError(f"block {i + 1}: {decision} {values[decision]!r} is not one of {list(opts)}")
                params[param_name(i, decision)] = values[decision]
            if spec.stride != self.blocks[i].stride:
                raise ValueError(
                    f"block {i + 1}: stride {spec.stride} differs from the space's {self.blocks[i].stride}"
                )
        if self.decode(params) != genotype:
            raise ValueError("genotype's stem, head or activation differ from the space's reference")
        return params

    def contains(self, genotype: Genotype) -> bool:
        try:
            self.encode(genotype)
        except ValueError:
            return False
        return True


def param_name(block: int, decision: str) -> str:
    return f"b{block + 1}_{decision}"


def _unique(values: Any) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


def mnasnet_space(reference: Genotype) -> MnasNetSpace:
    """The factorized space around ``reference`` (usually EfficientNet-B0 or MobileNetV2)."""
    blocks = tuple(
        BlockChoices(
            stride=spec.stride,
            ops=tuple(CONV_OPS),
            kernels=KERNEL_CHOICES,
            se_ratios=SE_CHOICES,
            skips=SKIP_CHOICES,
            filters=_unique(round_filters(spec.out_channels, m) for m in FILTER_MULTIPLIERS),
            layers=_unique(max(1, spec.repeats + d) for d in LAYER_DELTAS),
        )
        for spec in reference.blocks
    )
    return MnasNetSpace(reference=reference, blocks=blocks)
