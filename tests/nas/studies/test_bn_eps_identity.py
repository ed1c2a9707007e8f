"""A genotype's BatchNorm epsilon keys its studies only when it is not the default, so old names stay."""

from __future__ import annotations

from dataclasses import replace

from nas.search.job import SearchJob
from scaling.coefficients import genotype_signature
from search_spaces.references import reference


def test_existing_study_names_and_signatures_are_unchanged():
    b0 = reference("efficientnet_b0")
    assert SearchJob(b0).default_name() == "search-efficientnet_b0-fashion_mnist-tpe-soft-seed0-92f6a0f0"
    assert genotype_signature(b0)[-3:] == [32, 1280, "silu"]


def test_another_bn_eps_is_another_study_and_baseline():
    b0 = reference("efficientnet_b0")
    timm_b0 = replace(b0, bn_eps=1e-5)
    assert SearchJob(timm_b0).default_name() != SearchJob(b0).default_name()
    assert genotype_signature(timm_b0) == [*genotype_signature(b0), 1e-5]
