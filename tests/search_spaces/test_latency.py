"""Measured latency (timing, threads, cache) and the lookup-table predictor on a tiny space."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau
from torch import nn

from search_spaces.codec import parse_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.__main__ import main as latency_main
from search_spaces.latency.measure import Latency, LatencyMeter, measure_latency, time_module
from search_spaces.latency.table import LatencyTable, build_table, default_table_path, space_entries
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference

SMALL = Target(resolution=64, num_classes=10, min_run_time=0.05, warmup=1)
TINY = Genotype(parse_blocks("ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24"), stem=16, head=64, name="tiny")


@pytest.mark.timing
def test_a_larger_model_is_slower_than_a_much_smaller_one():
    big = measure_latency(reference("efficientnet_b0"), dataclasses.replace(SMALL, resolution=128, num_classes=1000))
    small = measure_latency(TINY, SMALL)
    assert big.median_ms > 5 * small.median_ms
    assert big.runs >= 1 and small.iqr_ms >= 0


class ThreadSpy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.seen: set[int] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.add(torch.get_num_threads())
        return x * 2


@pytest.mark.parametrize("threads", [1, 2])
def test_timing_runs_on_exactly_the_pinned_threads_and_restores_them(threads):
    before = torch.get_num_threads()
    spy = ThreadSpy()
    time_module(spy, (1, 4), dataclasses.replace(SMALL, threads=threads))
    assert spy.seen == {threads}
    assert torch.get_num_threads() == before


def test_each_genotype_is_measured_once_per_device_threads_and_input():
    calls = []

    def fake(genotype, target, multiplier):
        calls.append((genotype.name, target.threads, target.scaled_resolution(multiplier)))
        return Latency(1.0 + len(calls), 0.1, 10)

    cache: dict = {}
    meter = LatencyMeter(SMALL, cache, measure=fake)
    first = meter(TINY)
    assert meter(dataclasses.replace(TINY, name="renamed", dropout=0.5)) == first  # same network when run
    assert len(calls) == 1
    meter(TINY, 1.5)  # another input size
    LatencyMeter(dataclasses.replace(SMALL, threads=2), cache, measure=fake)(TINY)
    assert len(calls) == 3
    shared = LatencyMeter(SMALL, cache, measure=fake)  # another worker on the same store
    assert shared(TINY) == first and len(calls) == 3
    key = meter.key(TINY)
    assert key.startswith("latency:") and json.dumps(cache[key])


def test_timing_settings_are_part_of_the_key():
    keys = {LatencyMeter(t).key(TINY) for t in (SMALL, dataclasses.replace(SMALL, min_run_time=0.2))}
    assert len(keys | {LatencyMeter(dataclasses.replace(SMALL, warmup=5)).key(TINY)}) == 3


def test_a_ratio_divides_two_timings_of_one_meter_and_keeps_its_denominator():
    calls = []

    def drifting(genotype, target, multiplier):  # every timing differs, as between processes
        calls.append((genotype.name, multiplier))
        return Latency(10.0 * len(calls), 0.1, 10)

    cache: dict = {LatencyMeter(SMALL).key(TINY): [1.0, 0.0, 1]}  # another process's baseline: never a denominator
    first = LatencyMeter(SMALL, cache, measure=drifting)
    big = dataclasses.replace(TINY, head=128, name="big")
    member, ratio = first.ratio(big, TINY, 1.5)
    assert calls == [("tiny", 1.0), ("big", 1.5)] and member.median_ms == 20.0 and ratio == 2.0
    assert first.ratio(dataclasses.replace(TINY, name="again"), TINY) == (Latency(10.0, 0.1, 10), 1.0)
    assert len(calls) == 2  # the baseline against itself is its own timing
    other = LatencyMeter(SMALL, cache, measure=drifting)  # another worker or a resume on the same store
    assert other.ratio(big, TINY, 1.5) == (member, ratio) and len(calls) == 2  # a kept pair, its own denominator
    _, new = other.ratio(dataclasses.replace(TINY, head=96, name="new"), TINY)
    assert calls[2:] == [("tiny", 1.0), ("new", 1.0)] and new == 40.0 / 30.0  # this meter's own baseline


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"device": "tpu"}, "unknown target.device 'tpu'; allowed: cpu, cuda, cuda:N"),
        ({"threads": 0}, "target.threads must be an integer >= 1, got 0"),
        ({"batch_size": 0}, "target.batch_size must be an integer >= 1"),
        ({"min_run_time": 0}, "target.min_run_time must be a number of seconds > 0"),
    ],
)
def test_bad_settings_say_what_is_allowed(settings, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Target(**settings)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present here")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(ValueError, match="target.device 'cuda' is not present here"):
        Target(device="cuda")


@pytest.fixture(scope="module")
def tiny_table():
    space = mnasnet_space(TINY)
    return space, build_table(space, dataclasses.replace(SMALL, min_run_time=0.01), 6, progress=False)


@pytest.mark.slow
@pytest.mark.timing
def test_the_table_times_every_distinct_layer_of_its_space_once(tiny_table):
    space, table = tiny_table
    keys = [e.key for e in space_entries(space, SMALL)]
    assert len(keys) == len(set(keys)) == len(table.entries)
    assert all(ms > 0 for ms in table.entries.values())
    assert table.build_seconds > 0 and len(table.calibration) == 6
    rng = np.random.default_rng(1)
    for _ in range(20):  # every member is made of entries of the table
        table.entry_sum(space.sample(rng))


@pytest.mark.slow
@pytest.mark.timing
def test_a_table_built_on_a_tiny_space_predicts_the_measured_latency(tiny_table):
    space, table = tiny_table
    meter = LatencyMeter(dataclasses.replace(SMALL, min_run_time=0.2))  # millisecond networks: time them longer
    rng = np.random.default_rng(7)
    members = [space.sample(rng) for _ in range(12)]
    measured = np.array([meter(g).median_ms for g in members])
    predicted = np.array([table.predict(g) for g in members])
    # Millisecond timings drift with the process's state (a table built before, members timed after);
    # a table that sums or fits the wrong thing gets the members' order or their scale wrong. The
    # benchmark measures its accuracy; the members here span about 5x, so noise keeps their order.
    tau = kendalltau(predicted, measured).statistic
    ratio = float(np.median(predicted / measured))
    assert tau >= 0.5 and 0.5 <= ratio <= 2.0, (tau, ratio, predicted, measured)
    assert all(table.predict(g) == pytest.approx(table.fitted(table.entry_sum(g), g.num_layers)) for g in members)


@pytest.mark.slow
@pytest.mark.timing
def test_a_table_of_another_device_or_space_is_refused(tiny_table, tmp_path):
    space, table = tiny_table
    path = table.save(tmp_path / "table.json")
    loaded = LatencyTable.load(path)
    assert loaded.predict(TINY) == pytest.approx(table.predict(TINY))
    loaded.check(space, SMALL, path)
    moved = dataclasses.replace(loaded, measured_on={**loaded.measured_on, "device": "cpu:another"})
    with pytest.raises(ValueError, match="was built for device 'cpu:another'"):
        moved.check(space, SMALL, path)
    with pytest.raises(ValueError, match="was built for another search space"):
        loaded.check(mnasnet_space(reference("efficientnet_b0")), SMALL, path)
    with pytest.raises(ValueError, match="is not in this latency table"):
        loaded.predict(reference("efficientnet_b0"))
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(ValueError, match="cannot read latency table"):
        LatencyTable.load(tmp_path / "broken.json")
    assert default_table_path(space, SMALL, tmp_path).parent == tmp_path


@pytest.mark.slow
def test_cli_measures_and_builds(tmp_path, capsys):
    assert latency_main(["measure", "efficientnet_b0", "--resolution", "64", "--min-run-time", "0.05"]) == 0
    assert "ms median, IQR" in capsys.readouterr().out
    spec = "ds_r1_k3_s1_e1_c16"
    out = tmp_path / "t.json"
    args = ["build", spec, "--resolution", "32", "--num-classes", "10", "--min-run-time", "0.005"]
    assert latency_main([*args, "--calibration", "3", "--out", str(out), "--no-progress"]) == 0
    assert "entries timed in" in capsys.readouterr().out and LatencyTable.load(out).entries


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["measure", "efficientnet_b0", "--threads", "0"], "target.threads must be an integer >= 1"),
        (["measure", "efficientnet_b0", "--device", "tpu"], "unknown target.device 'tpu'"),
        (["build", "efficientnet_b0", "--calibration", "1"], "calibration must be an integer >= 2"),
        (["measure", "efficientnet_b9"], "unknown SPEC 'efficientnet_b9'"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_two(args, fragment, capsys):
    assert latency_main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m search_spaces.latency: error: ") and fragment in err[0]


def test_a_negative_fitted_overhead_never_predicts_a_latency_at_or_below_zero():
    """Noise once fitted -2.5 ms on a tiny space: a small member's reward became a complex number."""
    table = LatencyTable(space="s", target={}, measured_on={}, entries={}, constant_ms=-2.5, per_layer_ms=0.0)
    assert table.fitted(2.0, 10) == 1.0  # half the entries' sum, not -0.5
    assert table.fitted(10.0, 10) == 7.5  # a large member: the fitted overhead as it is
