"""benchmarks.latency on a tiny space: a real table, real measurements, the record's keys."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from benchmarks import export_latency, latency
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.latency import measure
from search_spaces.latency.measure import Latency
from search_spaces.mnasnet import mnasnet_space
from search_spaces.spec import resolve_spec

TINY = ["--reference", "ds_r1_k3_s1_e1_c16", "--resolution", "64", "--min-run-time", "0.01"]
TINY_SEARCH = ["proxy=tiny", "proxy.train_size=256", "proxy.epochs=1"]


@pytest.mark.slow
def test_records_noise_predictor_accuracy_and_flops_against_latency(results_dir, tmp_path):
    table = tmp_path / "table.json"
    argv = [
        *TINY,
        "--candidates",
        "6",
        "--noise-candidates",
        "2",
        "--repeats",
        "3",
        "--processes",
        "2",
        "--search-trials",
        "2",
        "--dataset",
        "digits",
    ]
    latency.main([*argv, "--table", str(table), *TINY_SEARCH])
    record = json.loads((results_dir / "latency.json").read_text())
    assert record["command"].startswith("python -m benchmarks.latency --reference")
    assert {"n", "cv", "within_10pct", "mape", "tau_predicted_measured", "tau_flops_latency"} <= record.keys()
    assert record["n"] == len(record["candidates"]) == 6
    assert 0 <= record["within_10pct"] <= 1 and record["mape"] >= 0 and 0 <= record["cv"] < 1
    assert -1 <= record["tau_flops_latency"] <= 1 and len(record["cv_per_member"]) == 2
    for row in record["candidates"]:
        assert row["measured_ms"] > 0 and row["predicted_ms"] > 0 and row["flops"] > 0
    assert record["table"]["build_seconds"] > 0 and record["table"]["entries"] > 10
    search = record["search"]
    assert search["trials"] == 2 and "LAT" in search["objective"]
    assert search["best"]["latency_ms"] > 0 and search["best"]["measured_latency_ms"] > 0
    assert len(record["process_medians_ms"]) == 2 and isinstance(search["reference"]["agrees_with_processes"], bool)
    assert (results_dir / "latency.png").stat().st_size > 0
    # the table is kept: a second run reuses it
    built = table.stat().st_mtime_ns
    latency.main(
        [
            *TINY,
            "--candidates",
            "3",
            "--noise-candidates",
            "1",
            "--repeats",
            "2",
            "--processes",
            "2",
            "--search-trials",
            "0",
            "--table",
            str(table),
        ]
    )
    assert table.stat().st_mtime_ns == built and "search" not in json.loads((results_dir / "latency.json").read_text())


class LayerCountTable:
    """A stand-in lookup table: half a millisecond per layer, nothing to build."""

    def __init__(self) -> None:
        self.entries, self.measured_on = {"layer": 0.5}, {}
        self.build_seconds = self.constant_ms = self.per_layer_ms = 0.0

    def predict(self, genotype):
        return 0.5 * genotype.num_layers


@pytest.mark.slow
def test_noise_between_fresh_processes_is_recorded_beside_the_in_process_one(results_dir, monkeypatch):
    timed = []

    def fake_time_module(module, shape, target):  # this process's timings; the fresh processes time for real
        timed.append(target)
        return Latency(1.0 + 0.1 * (len(timed) % 3), 0.01, 5)

    monkeypatch.setattr(measure, "time_module", fake_time_module)
    monkeypatch.setattr(latency, "open_table", lambda *args, **kwargs: (LayerCountTable(), Path("table.json")))
    argv = ["--candidates", "3", "--noise-candidates", "1", "--repeats", "2", "--processes", "2"]
    latency.main([*TINY, *argv, "--search-trials", "0"])
    record = json.loads((results_dir / "latency.json").read_text())
    assert len(record["process_medians_ms"]) == 2 and all(ms > 0 for ms in record["process_medians_ms"])
    assert 0 <= record["cv_processes"] < 1 and 0 <= record["cv"] < 1
    assert record["process_network"] == record["settings"]["reference"]
    target = Target(**{k: v for k, v in record["settings"].items() if k != "reference"})
    assert set(timed) == {target} and len(timed) == 3 + 2  # candidates, then the in-process noise repeats


def test_export_latency_times_both_runtimes_with_the_one_timer_and_the_target(monkeypatch):
    assert export_latency.time_module is measure.time_module and export_latency.time_call is measure.time_call
    timed = []

    def fake_time_call(run, target):
        run()
        timed.append(target)
        return Latency(2.0 if len(timed) == 1 else 0.5, 0.01, 5)

    monkeypatch.setattr(measure, "time_call", fake_time_call)  # what time_module times through
    monkeypatch.setattr(export_latency, "time_call", fake_time_call)
    target = Target(resolution=32, num_classes=10, in_chans=1, threads=1, min_run_time=0.01, warmup=1)
    seen = []
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(10))
    figures = export_latency.latency(model, lambda x: seen.append(x.shape), (1, 1, 32, 32), target)
    assert timed == [target, target] and seen == [(1, 1, 32, 32)]
    assert figures == {"input": [1, 32, 32], "torch_ms": 2.0, "onnxruntime_ms": 0.5, "speedup": 4.0}


def test_around_the_banks_reference_the_members_are_its_held_out_half(tiny_bank, tmp_path):
    bank = json.loads(tiny_bank.read_text())
    space = mnasnet_space(resolve_spec("efficientnet_b0"))
    args = argparse.Namespace(bank=tiny_bank, reference="efficientnet_b0", candidates=2, seed=1)
    members, drawn = latency.evaluation_members(args, space)
    held_out = [r["blocks"] for r in bank["candidates"] if r["set"] == "held_out"]
    assert [format_blocks(g) for g in members] == held_out[:2] and drawn == "bank.json held_out"
    args.bank = tmp_path / "none.json"  # no bank: drawn with --seed, as around any other reference
    members, drawn = latency.evaluation_members(args, space)
    assert len(members) == 2 and drawn == "seed 1"
