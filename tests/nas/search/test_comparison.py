"""nas.report's comparison: runs grouped by strategy, and never pooled across datasets."""

from __future__ import annotations

import json

import pandas as pd

from nas.search.comparison import best_so_far, compare


def fake_run(folder, dataset: str, sampler: str, rewards: list[float]):
    folder.mkdir(parents=True)
    states = ["COMPLETE" if r == r else "PRUNED" for r in rewards]
    pd.DataFrame({"number": range(len(rewards)), "state": states, "reward": rewards}).to_csv(
        folder / "trials.csv", index=False
    )
    best = {"reward": max(r for r in rewards if r == r), "val_acc": 0.5, "flops": 3e8}
    summary = {"study": folder.name, "dataset": {"name": dataset}, "n_trials": len(rewards), "best": best}
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "config.json").write_text(json.dumps({"search": {"sampler": sampler}, "seed": 0}))
    return folder


def test_best_so_far_keeps_the_best_through_pruned_trials():
    frame = pd.DataFrame({"number": [0, 1, 2], "state": ["COMPLETE", "PRUNED", "COMPLETE"], "reward": [0.5, 0.9, 0.4]})
    assert best_so_far(frame) == [0.5, 0.5, 0.5]


def test_runs_on_two_datasets_are_compared_on_their_own(tmp_path, cli):
    runs = [
        fake_run(tmp_path / "a", "digits", "tpe", [0.6, 0.7]),
        fake_run(tmp_path / "b", "digits", "tpe", [0.5, 0.8]),
        fake_run(tmp_path / "c", "mnist5k", "tpe", [0.9, 0.95]),
    ]
    table, curves = compare(runs)
    assert sorted(curves) == ["tpe on digits", "tpe on mnist5k"]
    assert curves["tpe on digits"] == [[0.6, 0.7], [0.5, 0.8]] and curves["tpe on mnist5k"] == [[0.9, 0.95]]
    assert list(table["dataset"]) == ["digits", "digits", "mnist5k"]
    _, one = compare(runs[:2])
    assert sorted(one) == ["tpe"]  # one dataset: the strategy alone
    result = cli("nas.report", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "runs on 2 datasets (digits, mnist5k): each dataset's runs are compared on their own" in result.stdout
