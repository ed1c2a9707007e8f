"""benchmarks.supernet and benchmarks.supernet_settings on the tiny bank: the keys, and which half each reads."""

from __future__ import annotations

import json

import pytest

from benchmarks import supernet, supernet_settings
from benchmarks.bank_members import bank_half
from tests.benchmarks.conftest import TINY_TASK

TINY_SUPERNET = [*TINY_TASK, "supernet=tiny", "supernet.epochs=1"]


@pytest.mark.slow
def test_the_settings_read_the_tuning_half_and_the_record_measures_the_held_out_one(
    tiny_bank, results_dir, tmp_path, monkeypatch
):
    read = []
    real = supernet.scored
    monkeypatch.setattr(supernet, "scored", lambda rows, *a: read.append(rows) or real(rows, *a))
    bank = json.loads(tiny_bank.read_text())
    tuning, held_out = ([r["blocks"] for r in bank_half(bank, h)] for h in ("tuning", "held_out"))
    shared = ["--bank", str(tiny_bank), "--bootstrap", "100", "--store", str(tmp_path / "store")]
    shared += ["--results-dir", str(results_dir)]
    settings = ["--setting", "", "--setting", "supernet.eval_images=64", "--max-cost", "1000"]
    supernet_settings.main([*shared, *settings, *TINY_SUPERNET])
    assert [[r["blocks"] for r in rows] for rows in read] == [tuning, tuning]  # never the held-out half
    sweep = json.loads((results_dir / "supernet_settings.json").read_text())
    assert [s["overrides"] for s in sweep["settings"]] == [[], ["supernet.eval_images=64"]]
    first, scoring = sweep["settings"]
    assert scoring["supernet_seconds"] == first["supernet_seconds"]  # a scoring setting reuses the stored supernet
    assert all(s["train_cost_ratio"] > 0 and set(s["tuning"]) == {"accuracy", "loss"} for s in sweep["settings"])
    best = max(t["tau"] for s in sweep["settings"] for t in s["tuning"].values())
    assert sweep["chosen"]["tau"] == best

    read.clear()
    supernet.main([*shared, "--seeds", "--rate-pool", "3", *TINY_SUPERNET])
    assert [[r["blocks"] for r in rows] for rows in read] == [tuning, held_out]  # chosen first, then measured
    record = json.loads((results_dir / "supernet.json").read_text())
    for key in ("n", "tau", "tau_interval", "tau_ceiling", "tau_params", "candidates", "train_cost_ratio"):
        assert key in record
    assert record["n"] == len(held_out) and record["subnets_per_minute"] > 0
    assert record["supernet_seconds"] == sweep["settings"][0]["supernet_seconds"]  # the stored supernet, reused

    with pytest.raises(SystemExit) as bad:
        supernet_settings.main([*shared, "--setting", "proxy.epochs=3", *TINY_SUPERNET])
    assert bad.value.code == 2
