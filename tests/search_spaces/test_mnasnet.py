from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from search_spaces.codec import format_blocks
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference


@pytest.fixture(scope="module")
def space():
    return mnasnet_space(reference("efficientnet_b0"))


def test_per_block_size_is_432_when_nothing_rounds_together(space):
    # 4 ops x 2 kernels x 2 SE x 3 skips x 3 filters x 3 layer counts, as in MnasNet.
    assert space.blocks[3].size == 432
    # B0's first block: 16 channels x0.75 rounds to 16, and 1 layer - 1 clips to 1.
    assert space.blocks[0].filters == (16, 24) and space.blocks[0].layers == (1, 2)
    assert space.size() == math.prod(b.size for b in space.blocks)


def test_size_counts_distinct_genotypes_exactly():
    tiny = mnasnet_space(reference("efficientnet_b0"))
    # Enumerate one block exhaustively and compare with its reported size.
    block = tiny.blocks[0]
    seen = set()
    base = tiny.encode(tiny.reference)
    for op in block.ops:
        for k in block.kernels:
            for se in block.se_ratios:
                for skip in block.skips:
                    for f in block.filters:
                        for n in block.layers:
                            params = {**base, "b1_op": op, "b1_kernel": k, "b1_se": se, "b1_skip": skip}
                            params.update({"b1_filters": f, "b1_layers": n})
                            seen.add(tiny.decode(params))
    assert len(seen) == block.size


def test_reference_is_a_member_and_round_trips(space):
    params = space.encode(space.reference)
    assert space.decode(params).blocks == space.reference.blocks
    assert space.contains(space.reference)
    assert not space.contains(reference("mobilenet_v2"))


def test_uniform_samples_are_members_and_vary(space):
    rng = np.random.default_rng(0)
    samples = [space.sample(rng) for _ in range(50)]
    assert all(space.contains(g) for g in samples)
    assert len(set(samples)) == 50
    assert all([b.stride for b in g.blocks] == [1, 2, 2, 2, 1, 2, 1] for g in samples)
    ops = {b.op for g in samples for b in g.blocks}
    assert ops == {"cn", "ds", "ir"}


def test_suggest_on_an_optuna_trial_round_trips(space):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    genotype = space.suggest(trial)
    assert space.decode(trial.params) == genotype
    assert space.encode(genotype) == trial.params
    assert set(trial.params) == set(space.param_names())


def test_mobilenet_v2_reference(capsys):
    space = mnasnet_space(reference("mobilenet_v2"))
    assert len(space.blocks) == 7
    assert space.reference.activation == "relu6"
    g = space.sample(np.random.default_rng(1))
    assert len(format_blocks(g)) == 7


def test_decode_rejects_values_outside_the_space(space):
    params = space.encode(space.reference)
    with pytest.raises(ValueError, match="b2_kernel=7 is not one of"):
        space.decode({**params, "b2_kernel": 7})
    params.pop("b3_op")
    with pytest.raises(ValueError, match="missing search-space parameter 'b3_op'"):
        space.decode(params)
