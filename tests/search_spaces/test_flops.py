from __future__ import annotations

import warnings

import numpy as np
import pytest

from search_spaces import flops as flops_module
from search_spaces.codec import parse_blocks
from search_spaces.flops import FlopCount, count_flops, estimate_flops, genotype_params, stage_input_sizes
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import REFERENCES, reference
from search_spaces.rounding import apply_multipliers


def assert_same_count(exact: FlopCount, estimate: FlopCount) -> None:
    """Totals, every stage (same names, same order, same number) and the zero-cost ops: all equal."""
    assert (exact.method, estimate.method) == ("fvcore", "analytic")
    assert estimate.total == exact.total
    for (name_a, a), (name_b, b) in zip(exact.by_stage, estimate.by_stage, strict=True):
        assert (name_b, b) == (name_a, a)
    assert estimate.skipped == exact.skipped


@pytest.mark.slow
@pytest.mark.parametrize("name", list(REFERENCES))
def test_analytic_estimate_equals_fvcore_on_every_reference(name):
    genotype = reference(name)
    # At its own resolution, and at 64 px with 10 classes: the estimate must follow the input.
    for resolution, classes in ((genotype.resolution, 1000), (64, 10)):
        exact = count_flops(genotype, resolution, num_classes=classes)
        assert_same_count(exact, estimate_flops(genotype, resolution, num_classes=classes))


@pytest.mark.parametrize("seed", range(8))
def test_analytic_estimate_equals_fvcore_on_random_members_of_the_space(seed):
    space = mnasnet_space(reference("efficientnet_b0"))
    genotype = space.sample(np.random.default_rng(seed))
    for resolution, chans, classes in ((96, 1, 10), (224, 3, 1000)):
        exact = count_flops(genotype, resolution, in_chans=chans, num_classes=classes)
        assert_same_count(exact, estimate_flops(genotype, resolution, in_chans=chans, num_classes=classes))


@pytest.mark.parametrize(
    "blocks",
    [
        "cn_r2_k3_s2_e1_c16_noskip,ir_r1_k5_s2_e3_c24_noskip",  # no SE and no shortcut: no mean/mul/add
        "ds_r2_k3_s1_e1_c32_poolskip,ir_r2_k7_s2_e4_c40_se0.5_poolskip",  # pooling shortcuts, kernel 7
    ],
)
@pytest.mark.parametrize("activation", ["silu", "relu", "relu6"])
def test_analytic_estimate_equals_fvcore_on_odd_genotypes(blocks, activation):
    genotype = Genotype(parse_blocks(blocks), stem=24, head=200, activation=activation, resolution=48)
    assert_same_count(count_flops(genotype, 48, num_classes=7), estimate_flops(genotype, 48, num_classes=7))


def test_too_large_to_trace_is_counted_analytically_and_exactly(monkeypatch):
    genotype = reference("mnasnet_a1")
    traced = count_flops(genotype, 72, num_classes=10)
    # With the limit lowered the same input gets the equal analytic count (uncached: the cache keeps
    # the traced one for the other tests).
    monkeypatch.setattr(flops_module, "TRACE_LIMIT_BYTES", 0)
    monkeypatch.setattr(flops_module, "FlopCountAnalysis", _no_trace)
    assert_same_count(traced, flops_module._count_flops_cached.__wrapped__(genotype, 72, 3, 10, 1.0, 1.0))


def test_huge_resolution_and_width_are_counted_without_a_trace(monkeypatch):
    monkeypatch.setattr(flops_module, "FlopCountAnalysis", _no_trace)
    b0 = reference("efficientnet_b0")
    huge = count_flops(b0, 20000)
    assert huge.method == "analytic" and huge.total == estimate_flops(b0, 20000).total == 3_168_414_407_200
    wide = count_flops(b0, width=50)
    assert wide.method == "analytic" and wide.total == estimate_flops(b0, width=50).total
    assert genotype_params(apply_multipliers(b0, 50)) == 9_508_992_800


def test_deep_networks_are_counted_without_a_trace(monkeypatch):
    monkeypatch.setattr(flops_module, "FlopCountAnalysis", _no_trace)
    deep = count_flops(reference("efficientnet_b0"), 64, num_classes=10, depth=7)
    assert apply_multipliers(reference("efficientnet_b0"), depth=7).num_layers > flops_module.TRACE_MAX_LAYERS
    assert deep.method == "analytic"


@pytest.mark.parametrize(
    ("width", "depth", "classes", "fragment"),
    [
        (1e9, 1.0, 1000, "channels wide; costs are counted up to 16,777,216"),
        (1.0, 1000, 1000, "16,000 layers; costs are counted up to 1,000"),
        (1.0, 1.0, 10**12, "1,000,000,000,000 channels wide"),
    ],
)
def test_networks_too_big_to_build_are_refused_with_the_limit(width, depth, classes, fragment):
    b0 = reference("efficientnet_b0")
    with pytest.raises(ValueError, match=fragment):
        count_flops(b0, 64, num_classes=classes, width=width, depth=depth)
    with pytest.raises(ValueError, match=fragment):
        genotype_params(apply_multipliers(b0, width, depth), num_classes=classes)


def _no_trace(*args, **kwargs):
    raise AssertionError("fvcore was asked to trace a network too large to trace")


def test_breakdown_sums_to_total_and_names_stages():
    result = count_flops(reference("efficientnet_b0"))
    names = [n for n, _ in result.by_stage]
    assert names == ["stem", *[f"stage{i}" for i in range(1, 8)], "head"]
    assert sum(v for _, v in result.by_stage) == result.total
    assert "aten::silu_" in result.skipped and "aten::sigmoid" in result.skipped


def test_repeated_genotype_is_traced_once(monkeypatch):
    genotype = reference("mnasnet_b1")
    calls = []
    real_analysis = flops_module.FlopCountAnalysis
    monkeypatch.setattr(flops_module, "FlopCountAnalysis", lambda *a: calls.append(1) or real_analysis(*a))
    # Inputs no other test counts, so the first call traces without emptying the shared cache.
    first = count_flops(genotype, 56, num_classes=3)
    second = count_flops(reference("mnasnet_b1"), 56, num_classes=3)
    assert first == second
    assert len(calls) == 1
    count_flops(genotype, 60, num_classes=3)
    assert len(calls) == 2


def test_counting_is_quiet(capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        count_flops(reference("mobilenet_v2"), 52, num_classes=3)  # an input no other test counts
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_flops_scale_with_resolution_squared_roughly():
    g = reference("efficientnet_b0")
    ratio = count_flops(g, 448).total / count_flops(g, 224).total
    assert 3.8 < ratio < 4.1


def test_stage_input_sizes():
    assert stage_input_sizes(reference("efficientnet_b0"), 224) == [224, 112, 112, 56, 28, 14, 14, 7, 7]


def test_resolution_below_32_is_rejected():
    with pytest.raises(ValueError, match=">= 32"):
        count_flops(reference("efficientnet_b0"), 31)
    with pytest.raises(ValueError, match=">= 32"):
        estimate_flops(reference("efficientnet_b0"), 16)
