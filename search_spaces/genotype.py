"""Architectures as data: frozen, hashable block and network specs.

A :class:`Genotype` is everything needed to build a network except the choices made at
build time (width/depth multipliers, number of classes, input channels).  It is a plain
value: equal genotypes describe the same network, so they can key caches and dedupe a search.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

OPS = ("cn", "ds", "ir")
"""Block kinds: regular conv, depthwise-separable conv, mobile inverted bottleneck (MBConv)."""

OP_NAMES = {"cn": "Conv", "ds": "DSConv", "ir": "MBConv"}
SKIPS = ("id", "pool", "none")
"""Skip ops: identity residual (when shapes match), pooling shortcut, no skip."""

KERNELS = (1, 3, 5, 7)
STRIDES = (1, 2)
ACTIVATIONS = ("silu", "relu", "relu6")
BN_EPS = 1e-3
"""BatchNorm epsilon of the TensorFlow references (PyTorch's default, which timm's models use, is 1e-5)."""


@dataclass(frozen=True)
class BlockSpec:
    """One stage: ``repeats`` layers of the same op; only the first has ``stride``."""

    op: str
    repeats: int
    kernel: int
    stride: int
    expand: int
    out_channels: int
    se_ratio: float = 0.0
    skip: str = "id"

    def __post_init__(self) -> None:
        _require(self.op in OPS, f"block op {self.op!r} is not one of {', '.join(OPS)}")
        _require(_is_int(self.repeats) and self.repeats >= 1, f"repeats must be >= 1, got {self.repeats!r}")
        _require(self.kernel in KERNELS, f"kernel {self.kernel!r} is not one of {KERNELS}")
        _require(self.stride in STRIDES, f"stride {self.stride!r} is not one of {STRIDES}")
        _require(_is_int(self.expand) and self.expand >= 1, f"expansion must be an integer >= 1, got {self.expand!r}")
        _require(
            self.op == "ir" or self.expand == 1,
            f"expansion {self.expand} needs op 'ir'; '{self.op}' blocks have expansion 1",
        )
        _require(
            _is_int(self.out_channels) and self.out_channels >= 1,
            f"output channels must be >= 1, got {self.out_channels!r}",
        )
        _require(0.0 <= self.se_ratio <= 1.0, f"SE ratio must be in [0, 1], got {self.se_ratio!r}")
        _require(self.skip in SKIPS, f"skip {self.skip!r} is not one of {', '.join(SKIPS)}")

    @property
    def operator(self) -> str:
        """Human name in the style of EfficientNet's Table 1, e.g. ``MBConv6, k5x5``."""
        name = OP_NAMES[self.op] + (str(self.expand) if self.op == "ir" else "")
        return f"{name}, k{self.kernel}x{self.kernel}"


@dataclass(frozen=True)
class Genotype:
    """A whole network: stem conv, stages of blocks, 1x1 head conv, pooling and classifier.

    ``bn_eps`` is every BatchNorm's epsilon: part of the network, since weights trained with one
    epsilon give other outputs with another (timm's PyTorch-trained models use 1e-5).
    """

    blocks: tuple[BlockSpec, ...]
    stem: int = 32
    head: int = 1280
    activation: str = "silu"
    resolution: int = 224
    dropout: float = 0.2
    drop_connect: float = 0.2
    bn_eps: float = BN_EPS
    name: str = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))
        _require(len(self.blocks) >= 1, "a genotype needs at least one block")
        _require(all(isinstance(b, BlockSpec) for b in self.blocks), "blocks must be BlockSpec values")
        _require(_is_int(self.stem) and self.stem >= 1, f"stem channels must be >= 1, got {self.stem!r}")
        _require(_is_int(self.head) and self.head >= 1, f"head channels must be >= 1, got {self.head!r}")
        _require(
            self.activation in ACTIVATIONS,
            f"activation {self.activation!r} is not one of {', '.join(ACTIVATIONS)}",
        )
        _require(
            _is_int(self.resolution) and self.resolution >= 32,
            f"resolution must be an integer >= 32, got {self.resolution!r}",
        )
        _require(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), got {self.dropout!r}")
        _require(0.0 <= self.drop_connect < 1.0, f"drop_connect must be in [0, 1), got {self.drop_connect!r}")
        _require(
            isinstance(self.bn_eps, float) and 0.0 < self.bn_eps < 1.0,
            f"bn_eps must be a float in (0, 1), got {self.bn_eps!r}",
        )

    def with_blocks(self, blocks: tuple[BlockSpec, ...] | list[BlockSpec]) -> Genotype:
        return replace(self, blocks=tuple(blocks))

    @property
    def num_layers(self) -> int:
        return sum(b.repeats for b in self.blocks)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


@dataclass(frozen=True)
class Layer:
    """One layer of a built network, as the builder and the analytic FLOP count see it."""

    stage: int
    index: int
    spec: BlockSpec
    in_channels: int
    stride: int


def layers(genotype: Genotype) -> list[Layer]:
    """Every layer in order; a stage's stride applies to its first layer only."""
    result = []
    channels = genotype.stem
    for stage, spec in enumerate(genotype.blocks):
        for index in range(spec.repeats):
            result.append(Layer(stage, index, spec, channels, spec.stride if index == 0 else 1))
            channels = spec.out_channels
    return result
