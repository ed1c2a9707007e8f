"""Progressive shrinking: which decisions a step's subnets vary in, part by part, and a run that learns with it."""

from __future__ import annotations

import dataclasses

import pytest

from nas.supernet import training
from nas.supernet.evaluation import SubnetScorer
from nas.supernet.network import Supernet
from nas.supernet.progressive import free_decisions
from nas.supernet.settings import SupernetSettings
from nas.supernet.training import subnets_of_step, train_supernet
from search_spaces.mnasnet import mnasnet_space

from .test_network import TINY_REFERENCE
from .test_training import PROXY, tiny_run

FIELDS = ("op", "expand", "kernel", "se_ratio", "repeats", "skip", "out_channels")


def differing(genotype, largest) -> set[str]:
    return {
        f
        for a, b in zip(genotype.blocks, largest.blocks, strict=True)
        for f in FIELDS
        if getattr(a, f) != getattr(b, f)
    }


def test_the_free_decisions_grow_over_four_equal_parts():
    parts = [free_decisions(step, 100) for step in (0, 24, 25, 49, 50, 74, 75, 99)]
    assert parts[:2] == [frozenset()] * 2
    assert parts[2] == parts[3] == {"kernel", "se_ratio"}
    assert parts[4] == parts[5] == {"kernel", "se_ratio", "repeats", "skip"}
    assert parts[6] is parts[7] is None


def test_each_part_varies_only_its_decisions_and_the_last_is_the_sandwich():
    net = Supernet(mnasnet_space(TINY_REFERENCE), 0.25, 1.0, 10, 1)
    largest = net.largest()
    assert subnets_of_step(net, 0, 3, 2, frozenset()) == [largest]
    for free in ({"kernel", "se_ratio"}, {"kernel", "se_ratio", "repeats", "skip"}):
        varied = set()
        for step in range(40):
            subnets = subnets_of_step(net, 0, step, 2, frozenset(free))
            assert subnets[0] == largest and len(subnets) == 4
            varied |= set().union(*(differing(g, largest) for g in subnets[1:]))
        assert varied == free  # every free decision varies somewhere, nothing else anywhere
    assert subnets_of_step(net, 0, 7, 2, None) == subnets_of_step(net, 0, 7, 2)


@pytest.mark.slow
def test_a_progressive_run_trains_the_largest_first_and_the_smallest_by_its_end(data, tmp_path, monkeypatch):
    seen = []

    def recording(net, seed, step, random_subnets, free=None):
        seen.append(free)
        return subnets_of_step(net, seed, step, random_subnets, free)

    monkeypatch.setattr(training, "subnets_of_step", recording)
    run = tiny_run(data, epochs=4, progressive=True)
    untrained = SubnetScorer(run.build(), data, run.settings, PROXY)
    trained = train_supernet(run, tmp_path / "supernet.pt")
    scorer = SubnetScorer(trained.net, data, run.settings, PROXY)
    largest, smallest = trained.net.largest(), trained.net.smallest()
    assert trained.steps == run.total_steps and scorer(largest).accuracy > 0.3  # chance: 0.1
    assert scorer(smallest).loss < untrained(smallest).loss  # trained only in the last quarter
    assert seen == [free_decisions(step, run.total_steps) for step in range(run.total_steps)]
    assert seen[0] == frozenset() and seen[-1] is None


def test_progressive_is_in_the_identity_only_when_on():
    assert "progressive" not in SupernetSettings().identity()  # supernets trained before keep their identity
    assert SupernetSettings(progressive=True).identity()["progressive"] is True
    assert dataclasses.replace(SupernetSettings(), progressive=True).identity() != SupernetSettings().identity()
