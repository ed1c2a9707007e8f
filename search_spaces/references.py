"""Reference genotypes: EfficientNet-B0..B7, MobileNetV2, MnasNet-A1 and MnasNet-B1."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from search_spaces.codec import parse_blocks
from search_spaces.genotype import Genotype
from search_spaces.rounding import apply_multipliers


class EfficientNetRow(NamedTuple):
    """One row of the official EfficientNet table."""

    width: float
    depth: float
    resolution: int
    dropout: float


EFFICIENTNET_TABLE: dict[str, EfficientNetRow] = {
    "efficientnet_b0": EfficientNetRow(1.0, 1.0, 224, 0.2),
    "efficientnet_b1": EfficientNetRow(1.0, 1.1, 240, 0.2),
    "efficientnet_b2": EfficientNetRow(1.1, 1.2, 260, 0.3),
    "efficientnet_b3": EfficientNetRow(1.2, 1.4, 300, 0.3),
    "efficientnet_b4": EfficientNetRow(1.4, 1.8, 380, 0.4),
    "efficientnet_b5": EfficientNetRow(1.6, 2.2, 456, 0.4),
    "efficientnet_b6": EfficientNetRow(1.8, 2.6, 528, 0.5),
    "efficientnet_b7": EfficientNetRow(2.0, 3.1, 600, 0.5),
}

_B0_BLOCKS = (
    "ds_r1_k3_s1_e1_c16_se0.25",
    "ir_r2_k3_s2_e6_c24_se0.25",
    "ir_r2_k5_s2_e6_c40_se0.25",
    "ir_r3_k3_s2_e6_c80_se0.25",
    "ir_r3_k5_s1_e6_c112_se0.25",
    "ir_r4_k5_s2_e6_c192_se0.25",
    "ir_r1_k3_s1_e6_c320_se0.25",
)

# MobileNetV2 paper, Table 2 (width 1.0).
_MOBILENET_V2_BLOCKS = (
    "ds_r1_k3_s1_e1_c16",
    "ir_r2_k3_s2_e6_c24",
    "ir_r3_k3_s2_e6_c32",
    "ir_r4_k3_s2_e6_c64",
    "ir_r3_k3_s1_e6_c96",
    "ir_r3_k3_s2_e6_c160",
    "ir_r1_k3_s1_e6_c320",
)

# MnasNet paper, Figure 7, and the TensorFlow reference mnasnet_models.py.
_MNASNET_A1_BLOCKS = (
    "ds_r1_k3_s1_e1_c16_noskip",
    "ir_r2_k3_s2_e6_c24",
    "ir_r3_k5_s2_e3_c40_se0.25",
    "ir_r4_k3_s2_e6_c80",
    "ir_r2_k3_s1_e6_c112_se0.25",
    "ir_r3_k5_s2_e6_c160_se0.25",
    "ir_r1_k3_s1_e6_c320",
)

_MNASNET_B1_BLOCKS = (
    "ds_r1_k3_s1_e1_c16_noskip",
    "ir_r3_k3_s2_e3_c24",
    "ir_r3_k5_s2_e3_c40",
    "ir_r3_k5_s2_e6_c80",
    "ir_r2_k3_s1_e6_c96",
    "ir_r4_k5_s2_e6_c192",
    "ir_r1_k3_s1_e6_c320_noskip",
)


def efficientnet(name: str) -> Genotype:
    """An EfficientNet: B0's blocks scaled by the official table's width, depth, resolution, dropout."""
    row = EFFICIENTNET_TABLE[name]
    b0 = Genotype(parse_blocks(_B0_BLOCKS), activation="silu", dropout=0.2, drop_connect=0.2, name="efficientnet_b0")
    scaled = apply_multipliers(b0, row.width, row.depth)
    return replace(scaled, resolution=row.resolution, dropout=row.dropout, name=name)


def mobilenet_v2() -> Genotype:
    return Genotype(parse_blocks(_MOBILENET_V2_BLOCKS), activation="relu6", drop_connect=0.0, name="mobilenet_v2")


def mnasnet_a1() -> Genotype:
    return Genotype(parse_blocks(_MNASNET_A1_BLOCKS), activation="relu", drop_connect=0.0, name="mnasnet_a1")


def mnasnet_b1() -> Genotype:
    return Genotype(parse_blocks(_MNASNET_B1_BLOCKS), activation="relu", drop_connect=0.0, name="mnasnet_b1")


REFERENCES = {
    **{name: (lambda name=name: efficientnet(name)) for name in EFFICIENTNET_TABLE},
    "mobilenet_v2": mobilenet_v2,
    "mnasnet_a1": mnasnet_a1,
    "mnasnet_b1": mnasnet_b1,
}


def reference(name: str) -> Genotype:
    """The reference genotype called ``name``; ``ValueError`` lists the known names."""
    try:
        return REFERENCES[name]()
    except KeyError:
        raise ValueError(f"unknown reference {name!r}; known: {', '.join(REFERENCES)}") from None
