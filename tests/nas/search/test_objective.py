from __future__ import annotations

import pytest

from nas.search.objective import Reward


def test_soft_reward_is_the_formula():
    reward = Reward("soft", 400e6, -0.07)
    assert reward(0.8, 400e6) == pytest.approx(0.8)
    assert reward(0.8, 800e6) == pytest.approx(0.8 * 2**-0.07)
    assert reward(0.8, 200e6) == pytest.approx(0.8 * 0.5**-0.07)
    assert reward.directions == ["maximize"]


def test_hard_reward_ignores_flops_below_target_and_divides_above():
    reward = Reward("hard", 400e6)
    assert reward.exponents == (0.0, -1.0)
    assert reward(0.8, 100e6) == pytest.approx(0.8)
    assert reward(0.8, 800e6) == pytest.approx(0.4)


def test_multi_objective_directions():
    assert Reward("multi").directions == ["maximize", "minimize"]
    assert Reward("multi").multi_objective


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"target_flops": 0}, "must be > 0"),
        ({"target_flops": -5}, "must be > 0"),
        ({"w": 0.1}, "must be <= 0"),
        ({"mode": "strict"}, "is not one of soft, hard, multi"),
    ],
)
def test_bad_objectives(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        Reward(**kwargs)


@pytest.mark.parametrize("cost", [0.0, -1.0, float("nan")])
def test_a_cost_that_is_not_positive_is_refused_not_rewarded(cost):
    with pytest.raises(ValueError, match=r"a reward needs a cost \(FLOPS\) > 0"):
        Reward()(0.8, cost)
