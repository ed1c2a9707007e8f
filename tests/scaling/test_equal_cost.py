"""Each method at equal real cost: a rounded network that misses 2**phi x the FLOPs is moved back to it."""

from __future__ import annotations

import json
import math
import re

import optuna
import pytest

from nas.studies.identity import VERSION_ATTR
from nas.studies.study import experiment_name, open_study
from scaling.compare_study import CompareConfig, CompareJob, CompareSettings
from scaling.equal_cost import equal_cost_multipliers, flops_ratio, method_direction
from search_spaces.cost import Target
from search_spaces.references import reference

# Counted at 64 px, so each FLOP count is quick; the rounding that moves the cost is the same.
TARGET = Target(resolution=64)
B0 = reference("efficientnet_b0")
TRIPLE = (1.0, 1.2, 1.1)  # the grid's equal-cost triple at phi = 1: at phi = 2 it rounds to about 3x, not 4x


def method_multipliers(method: str, phi: float, coefficients: tuple[float, float, float]):
    return method_direction(method, coefficients)(phi)


def test_each_method_targets_the_same_flops_before_rounding():
    assert method_multipliers("depth", 1, (1.2, 1.1, 1.15)) == (2.0, 1.0, 1.0)
    assert method_multipliers("width", 2, (1.2, 1.1, 1.15)) == pytest.approx((1.0, 2.0, 1.0))
    assert method_multipliers("resolution", 2, (1.2, 1.1, 1.15)) == pytest.approx((1.0, 1.0, 2.0))
    assert method_multipliers("compound", 1, (1.2, 1.1, 1.15)) == pytest.approx((1.2, 1.1, 1.15))
    with pytest.raises(ValueError, match="unknown method"):
        method_multipliers("magic", 1, (1.2, 1.1, 1.15))


def test_a_compound_member_off_budget_is_moved_along_its_own_direction_to_it():
    direction = method_direction("compound", TRIPLE)
    assert flops_ratio(B0, direction(2.0), TARGET) < 4 * 0.9  # nominal: outside 4x +- 10%
    d, w, r = equal_cost_multipliers(B0, direction, 2.0, TARGET, 0.1)
    assert abs(flops_ratio(B0, (d, w, r), TARGET) / 4 - 1) <= 0.1  # analytic: tests/search_spaces hold it to fvcore's
    assert d == 1.0 and w > 1.44 and math.log(w) / math.log(1.2) == pytest.approx(math.log(r) / math.log(1.1))


def test_a_member_within_tolerance_keeps_its_nominal_multipliers():
    direction = method_direction("resolution", TRIPLE)
    assert equal_cost_multipliers(B0, direction, 1.0, TARGET, 0.1) == direction(1.0)
    # the tightest tolerance still moves it no further than the nearest rounding
    tight = equal_cost_multipliers(B0, direction, 1.0, TARGET, 1e-6)
    assert abs(math.log(flops_ratio(B0, tight, TARGET) / 2)) <= abs(
        math.log(flops_ratio(B0, direction(1.0), TARGET) / 2)
    )


def test_a_direction_whose_cost_does_not_grow_is_refused_in_one_line():
    with pytest.raises(ValueError, match="cannot reach 2x the baseline's FLOPs"):
        equal_cost_multipliers(B0, method_direction("compound", (1.0, 1.0, 1.0)), 1.0, TARGET, 0.1)


def test_a_comparison_holds_every_method_at_equal_cost_unless_told_not_to():
    def job(**settings):
        config = CompareConfig(target=TARGET, phis=[2], methods=["compound"], compare=CompareSettings(**settings))
        return CompareJob(B0, TRIPLE, config)

    fitted, nominal = job(), job(equal_cost=False)
    assert nominal.multipliers("compound@2")[2] == method_multipliers("compound", 2, TRIPLE)
    assert abs(flops_ratio(B0, fitted.multipliers("compound@2")[2], TARGET) / 4 - 1) <= 0.1
    assert nominal.moves() == [] and len(fitted.moves()) == 1
    line = r"  compound@2: \(1, 1.44, 1.21\), 3\.\d\dx .+; moved to \(1, 1\.\d+, 1\.\d+\), (3\.[6-9]|4\.[0-3])\dx .+"
    assert re.fullmatch(line, fitted.moves()[0])
    # a moved run trains another network: another study; where nothing moved, the same study as before
    assert set(fitted.identity()["moved"]) == {"compound@2"} and nominal.identity()["moved"] is None
    assert job(cost_tolerance=0.5).identity()["moved"] is None  # 3.4x is within 4x +- 50%: nothing moves
    assert experiment_name("compare", [], nominal.identity()) == experiment_name("compare", [], without_moved(nominal))
    with pytest.raises(ValueError, match="compare.cost_tolerance must be a number > 0, got 0"):
        CompareSettings(cost_tolerance=0)


def test_a_comparison_that_moved_a_run_is_not_resumed_with_nominal_networks():
    fitted = CompareJob(B0, TRIPLE, CompareConfig(target=TARGET, phis=[2], methods=["compound"]))
    nominal_config = CompareConfig(
        target=TARGET, phis=[2], methods=["compound"], compare=CompareSettings(equal_cost=False)
    )
    storage, sampler, pruner = optuna.storages.InMemoryStorage(), optuna.samplers.RandomSampler(), None
    open_study(storage, "named", ["maximize"], sampler, pruner, fitted.identity())
    with pytest.raises(
        ValueError, match=r'is another experiment: moved: \{"compound@2": \[1.0, 1.5\d+, 1.2\d+\]\} stored, null now'
    ):
        open_study(storage, "named", ["maximize"], sampler, pruner, CompareJob(B0, TRIPLE, nominal_config).identity())
    # a study made before equal cost existed (identity version 4, no moved) resumes where nothing moved
    old = {**without_moved(CompareJob(B0, TRIPLE, nominal_config))}
    study = optuna.create_study(study_name="old", storage=storage, direction="maximize")
    study.set_user_attr(VERSION_ATTR, 4)
    for key, value in json.loads(json.dumps(old)).items():
        study.set_user_attr(key, value)
    assert open_study(storage, "old", ["maximize"], sampler, pruner, CompareJob(B0, TRIPLE, nominal_config).identity())


def without_moved(job: CompareJob) -> dict:
    """The identity a comparison had before equal cost existed."""
    return {k: v for k, v in job.identity().items() if k != "moved"}


def test_a_member_over_budget_is_moved_down_but_never_to_the_baseline():
    """At phi 0.5 one more layer per stage already costs more than 2**0.5: the nearest member has it."""
    direction = method_direction("compound", (1.2, 1.1, 1.15))
    assert flops_ratio(B0, direction(0.5), TARGET) > 2**0.5 * 1.1
    d, w, r = equal_cost_multipliers(B0, direction, 0.5, TARGET, 0.1)
    assert 1 < d < direction(0.5).depth and flops_ratio(B0, (d, w, r), TARGET) > 1


def test_compound_coefficients_below_one_are_refused():
    with pytest.raises(ValueError, match=r"compound coefficients must each be >= 1, got \(0.9, 1.1, 1.1\)"):
        method_direction("compound", (0.9, 1.1, 1.1))
