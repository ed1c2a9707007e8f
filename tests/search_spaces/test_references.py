"""Every reference model: exact parameter and FLOP counts, and both against the published figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search_spaces.build import build, count_params
from search_spaces.flops import count_flops, genotype_params
from search_spaces.references import REFERENCES, reference

# The published figures and where each comes from: reference_counts.json beside this file.
PUBLISHED = json.loads((Path(__file__).with_name("reference_counts.json")).read_text())["models"]

# Our exact counts (1000 classes, each model's own resolution), computed with this code and fvcore
# 0.1.5 on PyTorch 2.13 CPU: (parameters, FLOPs).  A change to the builder or to the counting
# that moves any of them by one must show up here.  Both equal timm's own models counted by fvcore.
EXACT = {
    "efficientnet_b0": (5_288_548, 399_352_864),
    "efficientnet_b1": (7_794_184, 708_623_088),
    "efficientnet_b2": (9_109_994, 1_021_308_768),
    "efficientnet_b3": (12_233_232, 1_874_915_424),
    "efficientnet_b4": (19_341_616, 4_492_947_056),
    "efficientnet_b5": (30_389_784, 10_464_477_712),
    "efficientnet_b6": (43_040_704, 19_402_938_992),
    "efficientnet_b7": (66_347_960, 38_326_538_880),
    "mobilenet_v2": (3_504_872, 314_193_216),
    "mnasnet_a1": (3_887_038, 324_085_440),
    "mnasnet_b1": (4_383_312, 325_391_872),
}

FLOPS_TOLERANCE = 2e-4
"""0.02%, as the README claims; the published GFLOPs carry 4 decimals (B0: up to 0.0125%)."""


def test_every_reference_is_pinned_and_published():
    assert set(EXACT) == set(REFERENCES) == set(PUBLISHED)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_resolution_is_the_published_one(name):
    assert reference(name).resolution == PUBLISHED[name]["resolution"]


@pytest.mark.parametrize("name", list(REFERENCES))
def test_exact_parameter_count_is_the_published_one(name):
    genotype = reference(name)
    assert count_params(build(genotype)) == EXACT[name][0] == PUBLISHED[name]["params"]
    # Counted without storage (meta device), the same number.
    assert genotype_params(genotype) == EXACT[name][0]


@pytest.mark.parametrize("name", list(REFERENCES))
def test_exact_flop_count_is_timms_and_the_published_one(name):
    counted = count_flops(reference(name))
    assert counted.method == "fvcore"
    assert counted.total == EXACT[name][1] == PUBLISHED[name]["timm_fvcore_flops"]  # timm's model, counted alike
    published = PUBLISHED[name]["gflops"] * 1e9
    assert abs(counted.total - published) / published < FLOPS_TOLERANCE


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
