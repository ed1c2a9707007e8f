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
    assert scoring["scoring"]["eval_images"] == 64 and first["scoring"]["eval_images"] == 256  # supernet=tiny's
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

    searched = ["--seeds", "1", "--budget", "1", "--rate-pool", "3", "--name", "searched"]
    supernet.main([*shared, *searched, *TINY_SUPERNET])
    methods = json.loads((results_dir / "searched.json").read_text())["search"]["methods"]
    warm_up = {m: methods[m]["seeds"]["1"]["supernet"] for m in methods}
    assert warm_up["random"] is None and warm_up["tpe"] is None
    trained_inside, reused = warm_up["tpe+supernet"], warm_up["tpe+trained_supernet"]
    assert trained_inside["candidates"] == reused["candidates"] == 60  # supernet=tiny ranks 60
    assert reused["supernet_seconds"] == record["supernet_seconds"]  # train once, search many: the stored one
    assert trained_inside["seconds"] >= trained_inside["supernet_seconds"] > 0  # its own, trained in its budget

    with pytest.raises(SystemExit) as bad:
        supernet_settings.main([*shared, "--setting", "proxy.epochs=3", *TINY_SUPERNET])
    assert bad.value.code == 2


def _row(name: str, cost: float, rate: float, accuracy: tuple[float, float, float]) -> dict:
    tau, low, high = accuracy
    return {
        "overrides": [name],
        "train_cost_ratio": cost,
        "subnets_per_minute": rate,
        "tuning": {"accuracy": {"tau": tau, "tau_interval": [low, high]}},
    }


def test_the_choice_is_the_best_tau_and_the_fastest_tie_is_named_beside_it():
    rows = [
        _row("best", 10, 300.0, (0.30, 0.10, 0.50)),
        _row("fast", 10, 900.0, (0.25, 0.05, 0.45)),  # its interval holds 0.30: a tie, and the fastest
        _row("faster_but_worse", 10, 2000.0, (0.05, -0.10, 0.20)),  # below the best's tau: no tie
        _row("too_dear", 99, 5000.0, (0.29, 0.10, 0.48)),  # over --max-cost
    ]
    picked = supernet_settings.chosen(rows, max_cost=15)
    assert picked["chosen"] == {"overrides": ["best"], "score": "accuracy", "tau": 0.30}
    assert picked["ties_with"] == [{"overrides": ["fast"], "score": "accuracy"}]
    assert picked["fastest_tie"] == {"overrides": ["fast"], "score": "accuracy", "tau": 0.25}
    assert supernet_settings.chosen(rows, max_cost=1) == {"chosen": None}
