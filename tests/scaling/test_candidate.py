"""One latency path for every scaled record: grid, family and compare time through one function, one target."""

from __future__ import annotations

import pandas as pd
import pytest

import scaling.compare_study as compare_study
import scaling.grid_trial as grid_trial
from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig, ProxyResult
from scaling.compare_study import CompareConfig, CompareSettings, run_compare
from scaling.grid_points import GridSettings
from scaling.grid_study import GridConfig, run_grid
from scaling.members import make_family
from search_spaces.codec import parse_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency import measure
from search_spaces.latency.measure import Latency

TARGET = Target(resolution=64, num_classes=10, min_run_time=0.05, warmup=1)
BASELINE = Genotype(parse_blocks("ds_r1_k3_s1_e1_c16,ir_r1_k3_s2_e6_c24"), stem=16, head=64, name="tiny")
POINT = (1.0, 1.2, 1.1)  # the only feasible point of ONE_POINT
ONE_POINT = GridSettings(
    step=0.1, alpha_max=1.0, beta_max=1.2, gamma_max=1.1, rule="constraint", tolerance=0.4, max_seeds=1, pruner="none"
)
PROXY = ProxyConfig(epochs=1, resolution=32, train_size=256, val_size=128, test_size=128)


@pytest.fixture
def timed(monkeypatch):
    """``time_module`` replaced by a clock that depends on the input only: (shape, target) of every call."""
    calls = []

    def fake_time_module(module, shape, target):
        calls.append((shape, target))
        return Latency(float(shape[-1] ** 2), 0.0, 1)

    monkeypatch.setattr(measure, "time_module", fake_time_module)
    return calls


def fake_training(genotype, data, proxy, seed, on_epoch=None, **kwargs):
    return ProxyResult("ok", val_acc=0.8, val_accs=[0.8])


def test_the_family_times_its_baseline_once_and_every_member_with_the_target(timed):
    members = make_family(BASELINE, POINT, [1, 2], TARGET, equal_cost=False)  # nominal: the sides below
    assert [target for _, target in timed] == [TARGET] * 3
    sides = [round(64 * 1.1), round(64 * 1.1**2)]
    assert [shape for shape, _ in timed] == [(1, 3, 64, 64), *[(1, 3, s, s) for s in sides]]
    assert [m.latency_ratio for m in members] == pytest.approx([1.0, *[(s / 64) ** 2 for s in sides]])


@pytest.mark.slow
def test_grid_family_and_compare_record_one_network_alike(timed, monkeypatch, tmp_path):
    """Same network, same target, same clock: the same milliseconds and ratio in every record."""
    monkeypatch.setattr(grid_trial, "train_proxy", fake_training)
    monkeypatch.setattr(compare_study, "train_proxy", fake_training)
    grid = run_grid(BASELINE, GridConfig(DatasetSpec("digits"), PROXY, TARGET, grid=ONE_POINT), out=tmp_path / "grid")
    family = make_family(BASELINE, POINT, [1], TARGET, equal_cost=False)
    nominal = CompareSettings(equal_cost=False)  # as the grid here, judged by the constraint, not the real cost
    config = CompareConfig(DatasetSpec("digits"), PROXY, TARGET, phis=[1], methods=("compound",), compare=nominal)
    compare = run_compare(BASELINE, POINT, config, out=tmp_path / "compare")
    assert len(timed) == 2 + 2 + 2  # each command: its baseline, then the phi=1 member
    assert all(target is TARGET for _, target in timed)  # the configured target itself: every setting alike
    expected = (family[1].latency_ms, family[1].latency_ratio)
    assert (grid.best["latency_ms"], grid.best["latency_ratio"]) == expected
    compound = pd.read_csv(compare.out / "compare.csv").set_index("method").loc["compound"]
    assert (compound["latency_ms"], compound["latency_ratio"]) == pytest.approx(expected)
