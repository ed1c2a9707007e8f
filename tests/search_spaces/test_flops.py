from __future__ import annotations

import warnings

import numpy as np
import pytest

from search_spaces import flops as flops_module
from search_spaces.flops import count_flops, estimate_flops, stage_input_sizes
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import REFERENCES, reference


@pytest.mark.parametrize("name", list(REFERENCES))
def test_analytic_estimate_within_one_percent_of_fvcore(name):
    genotype = reference(name)
    # At 224 and with 10 classes too: the estimate must follow the input, not the reference.
    for resolution, classes in ((224, 1000), (64, 10)):
        exact = count_flops(genotype, resolution, num_classes=classes)
        estimate = estimate_flops(genotype, resolution, num_classes=classes)
        assert abs(estimate.total - exact.total) / exact.total < 0.01


@pytest.mark.parametrize("seed", range(6))
def test_analytic_estimate_agrees_on_random_members_of_the_space(seed):
    space = mnasnet_space(reference("efficientnet_b0"))
    genotype = space.sample(np.random.default_rng(seed))
    exact = count_flops(genotype, 96, in_chans=1, num_classes=10)
    estimate = estimate_flops(genotype, 96, in_chans=1, num_classes=10)
    assert abs(estimate.total - exact.total) / exact.total < 0.01
    for (name_a, a), (name_b, b) in zip(exact.by_stage, estimate.by_stage, strict=False):
        assert name_a == name_b
        assert abs(a - b) <= 0.01 * max(a, 1)


def test_breakdown_sums_to_total_and_names_stages():
    result = count_flops(reference("efficientnet_b0"))
    names = [n for n, _ in result.by_stage]
    assert names == ["stem", *[f"stage{i}" for i in range(1, 8)], "head"]
    assert sum(v for _, v in result.by_stage) == result.total
    assert "aten::silu_" in result.skipped and "aten::sigmoid" in result.skipped


def test_repeated_genotype_is_traced_once(monkeypatch):
    genotype = reference("mnasnet_b1")
    flops_module._count_flops_cached.cache_clear()
    calls = []
    real_build = flops_module.build
    monkeypatch.setattr(flops_module, "build", lambda *a, **k: calls.append(1) or real_build(*a, **k))
    first = count_flops(genotype, 64)
    second = count_flops(reference("mnasnet_b1"), 64)
    assert first == second
    assert len(calls) == 1
    count_flops(genotype, 96)
    assert len(calls) == 2


def test_counting_is_quiet(capfd):
    flops_module._count_flops_cached.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        count_flops(reference("mobilenet_v2"), 64)
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
