"""Every reference model: exact parameter counts, FLOPs against the reference table."""

from __future__ import annotations

import pytest

from search_spaces.build import build, count_params
from search_spaces.flops import count_flops
from search_spaces.references import REFERENCES, reference

# Parameter counts of the reference implementations (timm / torchvision, 1000 classes) and
# fvcore FLOPs at each model's own resolution (REFERENCE.md for EfficientNet; timm's models
# counted the same way for the others).
EXPECTED = {
    "efficientnet_b0": (5_288_548, 0.3994e9),
    "efficientnet_b1": (7_794_184, 0.7086e9),
    "efficientnet_b2": (9_109_994, 1.0213e9),
    "efficientnet_b3": (12_233_232, 1.8749e9),
    "efficientnet_b4": (19_341_616, 4.4929e9),
    "efficientnet_b5": (30_389_784, 10.4645e9),
    "efficientnet_b6": (43_040_704, 19.4029e9),
    "efficientnet_b7": (66_347_960, 38.3265e9),
    "mobilenet_v2": (3_504_872, 0.3142e9),
    "mnasnet_a1": (3_887_038, 0.3241e9),
    "mnasnet_b1": (4_383_312, 0.3254e9),
}

FAST = ["efficientnet_b0", "mobilenet_v2", "mnasnet_a1", "mnasnet_b1"]


def test_every_reference_is_listed():
    assert set(EXPECTED) == set(REFERENCES)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_exact_parameter_count(name):
    assert count_params(build(reference(name))) == EXPECTED[name][0]


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in FAST else pytest.mark.slow) for n in REFERENCES])
def test_flops_within_half_a_percent(name):
    genotype = reference(name)
    flops = count_flops(genotype).total
    assert abs(flops - EXPECTED[name][1]) / EXPECTED[name][1] < 0.005


def test_b0_stage_table_matches_the_paper():
    g = reference("efficientnet_b0")
    assert g.stem == 32 and g.head == 1280 and g.activation == "silu"
    assert [(b.operator, b.out_channels, b.repeats, b.stride) for b in g.blocks] == [
        ("DSConv, k3x3", 16, 1, 1),
        ("MBConv6, k3x3", 24, 2, 2),
        ("MBConv6, k5x5", 40, 2, 2),
        ("MBConv6, k3x3", 80, 3, 2),
        ("MBConv6, k5x5", 112, 3, 1),
        ("MBConv6, k5x5", 192, 4, 2),
        ("MBConv6, k3x3", 320, 1, 1),
    ]
    assert all(b.se_ratio == 0.25 for b in g.blocks)
    assert (g.dropout, g.drop_connect) == (0.2, 0.2)
