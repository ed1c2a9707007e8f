"""benchmarks.threads on a tiny budget: every thread count measured idle and busy, the record's shape."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks import threads


@pytest.mark.slow
def test_records_scoring_and_training_rates_idle_and_busy(results_dir):
    before = torch.get_num_threads()
    threads.main(["--threads", "1", "0", "--candidates", "1", "--train-size", "256", "--dataset", "digits"])
    torch.set_num_threads(before)
    record = json.loads((results_dir / "threads.json").read_text())
    assert (
        record["command"]
        == "python -m benchmarks.threads --threads 1 0 --candidates 1 --train-size 256 --dataset digits"
    )
    assert record["scores"] == ["synflow", "naswot", "snip"]
    for state in ("idle", "busy"):
        assert set(record[state]) == {"1", "null"}
        for rates in record[state].values():
            assert rates["candidates_per_minute"] > 0 and rates["train_images_per_s"] > 0
