"""Zero-cost scores on tiny models: their known properties, determinism, and finite values on every reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nas.proxy.recipe import ProxyConfig
from nas.screening import scores as zero_cost
from nas.screening.pool import sample_pool, scored_rows
from nas.screening.ranking import best_of, members, pool_frame, ranking_values, ranks
from nas.screening.scorer import Scorer
from search_spaces.build import build
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.references import REFERENCES, reference


def tiny_net(activation: type[nn.Module] = nn.ReLU) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), activation(), nn.Flatten(), nn.Linear(8 * 8 * 8, 10)
    )


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(16, 1, 8, 8, generator=generator), torch.randint(0, 10, (16,), generator=generator)


@pytest.mark.parametrize("name", list(zero_cost.MODEL_SCORES))
def test_every_score_is_deterministic_and_finite(name, batch):
    score = zero_cost.MODEL_SCORES[name]
    first, second = score(tiny_net(), *batch), score(tiny_net(), *batch)
    assert first == second and math.isfinite(first)


def test_synflow_sees_only_the_input_shape(batch):
    inputs, targets = batch
    assert zero_cost.synflow(tiny_net(), inputs, targets) == zero_cost.synflow(tiny_net(), inputs * 7 + 3, targets)
    assert zero_cost.synflow(tiny_net(), inputs, targets) > 0


def test_synflow_grows_with_the_weights_magnitude(batch):
    bigger = tiny_net()
    with torch.no_grad():
        for p in bigger.parameters():
            p.mul_(2)
    assert zero_cost.synflow(bigger, *batch) > zero_cost.synflow(tiny_net(), *batch)


def test_naswot_is_higher_when_the_codes_differ_more(batch):
    inputs, targets = batch
    alike = tiny_net()
    with torch.no_grad():  # a large bias makes most units fire for every input: codes barely differ
        alike[1].bias.fill_(2.5)
    diverse = tiny_net()  # BatchNorm centres every unit: about half fire, differently per input
    assert zero_cost.naswot(diverse, inputs, targets) > zero_cost.naswot(alike, inputs, targets)


def test_naswot_codes_silu_by_the_sign_of_its_input(batch):
    assert zero_cost.naswot(tiny_net(nn.SiLU), *batch) == zero_cost.naswot(tiny_net(nn.ReLU), *batch)


def test_naswot_without_relu_like_units_or_with_identical_codes_is_minus_infinity(batch):
    inputs, targets = batch
    assert zero_cost.naswot(tiny_net(nn.Tanh), inputs, targets) == -math.inf
    same = inputs[:1].repeat(16, 1, 1, 1)
    assert zero_cost.naswot(tiny_net(), same, targets) == -math.inf


def test_snip_is_zero_for_zero_weights_and_grad_norm_is_not(batch):
    net = tiny_net()
    with torch.no_grad():
        net[0].weight.zero_()
        net[4].weight.zero_()
    assert zero_cost.snip(net, *batch) == 0.0
    assert zero_cost.grad_norm(tiny_net(), *batch) > 0


def test_zico_needs_two_images(batch):
    inputs, targets = batch
    with pytest.raises(ValueError, match="at least 2"):
        zero_cost.zico(tiny_net(), inputs[:1], targets[:1])


@pytest.fixture(scope="module")
def scorer(data):
    return Scorer(data, ProxyConfig(width=0.25), Target(), batch_size=32)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(REFERENCES))
def test_every_score_is_finite_on_every_reference(scorer, name):
    scores = scorer.scores(reference(name), zero_cost.SCORES)
    assert all(math.isfinite(v) for v in scores.values()), scores
    assert scores["params"] > 0 and scores["flops"] > 0


def test_scores_repeat_and_cost_scores_are_the_target_cost(scorer, data):
    genotype = reference("efficientnet_b0")
    again = Scorer(data, ProxyConfig(width=0.25), Target(), batch_size=32)
    assert scorer.scores(genotype, zero_cost.SCORES) == again.scores(genotype, zero_cost.SCORES)
    params, flops = Target().cost(genotype)
    assert scorer.score(genotype, "params") == params and scorer.score(genotype, "flops") == flops
    assert set(again.per_minute()) == set(zero_cost.SCORES)


def test_scores_follow_the_model_the_proxy_trains(scorer, data):
    """The scorer's synflow is that of the proxy-width model on the data's classes and channels."""
    genotype = reference("mobilenet_v2")
    torch.manual_seed(0)
    model = build(genotype, width=0.25, num_classes=data.num_classes, in_chans=data.in_chans)
    inputs = data.train.batch(slice(0, 2))
    assert scorer.score(genotype, "synflow") == pytest.approx(zero_cost.synflow(model, inputs, None), rel=1e-9)


def test_ranks_put_the_highest_first_and_non_finite_last():
    assert ranks([0.5, math.nan, 2.0, -math.inf, 1.0]).tolist() == [3, 4, 1, 4, 2]
    assert best_of({"synflow": [1.0, math.nan, 3.0]}, "synflow") == 2


def test_vote_is_the_mean_rank_of_its_members():
    table = {"synflow": [1.0, 2.0, 3.0], "naswot": [3.0, 2.0, 1.0], "snip": [1.0, 3.0, 2.0]}
    assert ranking_values(table, "vote").tolist() == pytest.approx([5 / 3, 7 / 3, 2.0])
    assert members("vote") == zero_cost.VOTE and members("zico") == ("zico",)


def test_a_pool_is_distinct_seeded_and_filtered(space):
    pool = sample_pool(space, 30, seed=3)
    keys = [tuple(format_blocks(g)) for g in pool]
    assert len(set(keys)) == 30
    assert keys == [tuple(format_blocks(g)) for g in sample_pool(space, 30, seed=3)]
    small = sample_pool(space, 10, seed=3, accept=lambda g: g.blocks[0].kernel == 3)
    assert small and all(g.blocks[0].kernel == 3 for g in small)


def test_pool_frame_ranks_by_the_vote_and_keeps_the_columns(scorer, space):
    pool = sample_pool(space, 4, seed=0)
    rows = list(scored_rows(scorer, pool, ["params", *zero_cost.VOTE]))
    frame = pool_frame(rows, ["params"], "vote")
    assert list(frame.columns) == ["blocks", "params", "rank"]
    expected = ranks(ranking_values({n: [r[n] for r in rows] for n in zero_cost.VOTE}, "vote"))
    assert np.array_equal(frame["rank"].to_numpy(), expected)


def test_a_negated_score_ranks_the_lowest_first_and_non_finite_still_last():
    table = {"snip": [3.0, 1.0, math.nan, 2.0]}
    assert ranks(ranking_values(table, "-snip")).tolist() == [3, 1, 4, 2]
    assert members("-snip") == ("snip",) and best_of(table, "-snip") == 1
