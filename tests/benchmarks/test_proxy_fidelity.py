"""The fidelity benchmark on a tiny bank: tau-b read from the bank's labels, another proxy retrained, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks import proxy_fidelity
from tests.benchmarks.conftest import TINY_TASK


@pytest.mark.slow
def test_ranks_the_held_out_half_against_the_larger_budget_without_training(tiny_bank, results_dir, monkeypatch):
    monkeypatch.setattr(proxy_fidelity, "train_proxy", _no_training)
    proxy_fidelity.main(["--bank", str(tiny_bank), "--bootstrap", "200"])
    figures = json.loads((results_dir / "proxy_fidelity.json").read_text())
    rows = figures["rows"]
    assert figures["half"] == "held_out" and figures["n"] == len(rows) == 3
    assert {r["set"] for r in rows} == {"held_out"}
    mean = [float(np.mean(r["val_acc"])) for r in rows]
    assert figures["tau"] == pytest.approx(tau_b(mean, [r["val_acc_5x"] for r in rows]), abs=5e-4, nan_ok=True)
    low, high = figures["tau_interval"]
    assert -1 <= low <= high <= 1
    assert figures["tau_between_seeds"] == pytest.approx(
        tau_b([r["val_acc"][0] for r in rows], [r["val_acc"][1] for r in rows]), abs=5e-4, nan_ok=True
    )


@pytest.mark.slow
def test_another_proxy_is_trained_on_the_tuning_half_and_ranked_against_the_bank(tiny_bank, results_dir):
    proxy_fidelity.main(["--bank", str(tiny_bank), "--half", "tuning", "--name", "lr", *TINY_TASK, "proxy.lr=0.02"])
    figures = json.loads((results_dir / "lr.json").read_text())
    assert figures["proxy"]["lr"] == 0.02 and figures["overrides"][-1] == "proxy.lr=0.02"
    assert {r["set"] for r in figures["rows"]} == {"tuning"}
    for row in figures["rows"]:
        assert len(row["val_acc"]) == 2 and row["val_acc"] != row["bank_val_acc"]


def _no_training(*args, **kwargs):
    raise AssertionError("the bank's labels were trained again")


def tau_b(a: list[float], b: list[float]) -> float:
    """Kendall's tau-b, counted pair by pair (the benchmark uses scipy's)."""
    sign = lambda v: (v > 0) - (v < 0)  # noqa: E731
    pairs = [(i, j) for i in range(len(a)) for j in range(i + 1, len(a))]
    score = sum(sign(a[i] - a[j]) * sign(b[i] - b[j]) for i, j in pairs)
    untied_a = sum(a[i] != a[j] for i, j in pairs)
    untied_b = sum(b[i] != b[j] for i, j in pairs)
    return score / math.sqrt(untied_a * untied_b) if untied_a and untied_b else math.nan


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bootstrap", "10"], "--bootstrap must be >= 100"),
        (["--bank", "/nonexistent/bank.json"], "no candidate bank at /nonexistent/bank.json"),
        (["BANK", "dataset=mnist5k"], "was trained with another dataset"),
        (["BANK", "proxy.nope=1"], "proxy.nope"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tiny_bank, results_dir, capsys, args, message):
    args = ["--bank", str(tiny_bank), *TINY_TASK[:1], *args[1:]] if args[0] == "BANK" else args
    with pytest.raises(SystemExit) as exit_info:
        proxy_fidelity.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("proxy_fidelity: error:")
    assert message in err
    assert not list(results_dir.glob("*.json"))
