"""The workers benchmark on a tiny study: one and two workers finish it, no genotype is trained twice."""

from __future__ import annotations

import json

import pytest

from benchmarks import workers

TINY = ["proxy=tiny", "proxy.train_size=256", "proxy.epochs=1", "dataset=digits"]


@pytest.mark.slow
def test_one_and_two_workers_finish_the_same_study(results_dir):
    workers.main(["--trials", "2", *TINY])
    record = json.loads((results_dir / "workers.json").read_text())
    assert record["command"] == "python -m benchmarks.workers --trials 2 " + " ".join(TINY)
    for key, count in (("one", 1), ("two", 2)):
        run = record[key]
        assert run["workers"] == count and run["trials"] == 2 and run["repeated_genotypes"] == 0
        assert 1 <= run["trained"] <= 2 and run["training_seconds"] > 0
    assert record["speedup"] == pytest.approx(record["one"]["seconds"] / record["two"]["seconds"], abs=0.01)
