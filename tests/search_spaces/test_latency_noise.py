"""Latency noise between processes: fresh processes time one network alike; two latencies agree within noise."""

from __future__ import annotations

import dataclasses

import pytest

from search_spaces.codec import parse_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency import noise
from search_spaces.latency.measure import Latency

SMALL = Target(resolution=64, num_classes=10, min_run_time=0.01, warmup=1)
TINY = Genotype(parse_blocks("ds_r1_k3_s1_e1_c16,ir_r1_k3_s2_e6_c24"), stem=16, head=64, name="tiny")


def test_a_fresh_process_is_asked_for_the_same_network_and_every_target_setting(monkeypatch):
    seen = []

    def fake(genotype, target, multiplier):
        seen.append((genotype, target, multiplier))
        return Latency(1.0, 0.1, 5)

    monkeypatch.setattr(noise, "measure_latency", fake)
    target = dataclasses.replace(SMALL, threads=2, batch_size=3, warmup=4)
    assert noise.answer(noise.request(TINY, target, 1.5)) == Latency(1.0, 0.1, 5)
    assert seen == [(TINY, target, 1.5)]


@pytest.mark.slow
def test_each_fresh_process_times_the_network_once():
    latencies = noise.measure_in_processes(TINY, SMALL, 2)
    assert len(latencies) == 2 and all(t.median_ms > 0 and t.runs >= 1 for t in latencies)


def test_a_failed_process_says_which_and_why(monkeypatch):
    monkeypatch.setattr(noise, "CHILD", "import no_such_latency_module")  # fails before importing torch
    with pytest.raises(RuntimeError, match=r"latency process 1 of 2 failed \(exit 1\): .*No module named"):
        noise.measure_in_processes(TINY, SMALL, 2)
    with pytest.raises(ValueError, match="processes must be an integer >= 1, got 0"):
        noise.measure_in_processes(TINY, SMALL, 0)


def test_two_latencies_agree_within_k_times_the_noise_of_their_difference():
    assert noise.latencies_agree(10.0, 10.5, cv=0.02)  # 5% apart; 3 * sqrt(2) * 2% is 8.5%
    assert not noise.latencies_agree(10.0, 12.0, cv=0.02)
    assert noise.latencies_agree(10.0, 12.0, cv=0.05)
    assert not noise.latencies_agree(10.0, 10.5, cv=0.02, k=1.0)
    assert noise.coefficient_of_variation([9.0, 10.0, 11.0]) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="latencies must be > 0 ms"):
        noise.latencies_agree(0.0, 1.0, cv=0.02)
    with pytest.raises(ValueError, match="cv must be >= 0 and k > 0"):
        noise.latencies_agree(1.0, 1.0, cv=-0.1)
    with pytest.raises(ValueError, match="at least 2 values"):
        noise.coefficient_of_variation([1.0])
