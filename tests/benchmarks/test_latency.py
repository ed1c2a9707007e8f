"""benchmarks.latency on a tiny space: a real table, real measurements, the record's keys."""

from __future__ import annotations

import json

import pytest

from benchmarks import latency

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
            "--search-trials",
            "0",
            "--table",
            str(table),
        ]
    )
    assert table.stat().st_mtime_ns == built and "search" not in json.loads((results_dir / "latency.json").read_text())
