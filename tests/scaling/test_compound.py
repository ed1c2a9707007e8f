from __future__ import annotations

import pytest

from scaling.compound import PAPER_COEFFICIENTS, compound_multipliers, flops_constraint, scale
from search_spaces.build import build, count_params
from search_spaces.references import reference


def test_paper_coefficients_are_about_two():
    assert flops_constraint(*PAPER_COEFFICIENTS) == pytest.approx(1.92, abs=0.01)


def test_multipliers_are_powers_of_phi():
    d, w, r = compound_multipliers(1.2, 1.1, 1.15, 2)
    assert (d, w, r) == pytest.approx((1.44, 1.21, 1.3225))


def test_scale_rounds_like_the_references():
    b0 = reference("efficientnet_b0")
    scaled = scale(b0, depth=1.4, width=1.2, resolution=300 / 224)
    b3 = reference("efficientnet_b3")
    assert scaled.blocks == b3.blocks and (scaled.stem, scaled.head) == (b3.stem, b3.head)
    assert scaled.resolution == 300
    assert count_params(build(scaled)) == 12_233_232


@pytest.mark.parametrize("phi", [0, -1, "1", None])
def test_phi_must_be_positive(phi):
    with pytest.raises(ValueError, match="phi must be a number > 0"):
        compound_multipliers(1.2, 1.1, 1.15, phi)
