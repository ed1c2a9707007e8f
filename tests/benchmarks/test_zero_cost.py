"""benchmarks.zero_cost on a tiny budget: real training, real scores, the record's shape, bad input."""

from __future__ import annotations

import json

import pytest

from benchmarks import zero_cost, zero_cost_data
from nas.screening.pool import sample_pool
from nas.screening.scores import SCORES

TINY = ["proxy=tiny", "dataset=digits", "proxy.train_size=256", "proxy.epochs=1", "threads=2"]


@pytest.mark.slow
def test_records_every_score_against_the_proxy_and_the_searches_at_equal_time(results_dir, tmp_path, monkeypatch):
    argv = ["--candidates", "4", "--budget", "4", "--seeds", "0", "--bootstrap", "100", "--pool", "6", "--top", "2"]
    argv += ["--methods", "random", "rl+prescreen", "--cache", str(tmp_path / "cache.json"), *TINY]
    zero_cost.main(argv)
    record = json.loads((results_dir / "zero_cost.json").read_text())
    assert record["command"].startswith("python -m benchmarks.zero_cost --candidates 4")
    assert len(record["candidates"]) == 8  # tuning and held-out
    for row in record["candidates"]:
        assert {"blocks", "val_acc", "reward", *SCORES} <= row.keys()
    assert set(record["tau"]) == {*SCORES, "vote"}
    assert set(record["candidates_per_minute"]) == {*SCORES, "vote"}
    tuning = record["rank_agreement"]["tuning"]
    assert "ceiling" in tuning and "ceiling" not in record["rank_agreement"]["held_out"]
    low, high = tuning["scores"]["params"]["tau_val_acc_95"]
    assert -1 <= low <= high <= 1
    assert record["prescreen"]["score"].removeprefix("-") in (*SCORES, "vote")  # auto may pick a score reversed
    for method in ("random", "rl+prescreen"):
        run = record["search"]["methods"][method]["seeds"]["0"]
        assert run["trials_in_time"] <= run["trials_started"]
        assert all(t <= 4 for t, _ in run["curve"])
    assert (results_dir / "zero_cost.png").stat().st_size > 0
    # the cache holds every proxy run: a second run trains nothing and reads the same accuracies
    cache = zero_cost_data.TrainedCache(tmp_path / "cache.json")
    assert len(cache.rows) == 12  # 4 tuning candidates x 2 seeds, 4 held-out x 1
    monkeypatch.setattr(zero_cost_data, "train_proxy", _no_training)
    task, settings = zero_cost_data.load_task(TINY), record["settings"]
    for label, space_seed, seeds in (
        ("tuning", settings["space_seed"], (0, 1)),
        ("held_out", settings["holdout_seed"], (0,)),
    ):
        again = zero_cost_data.train_candidates(task, sample_pool(task.space, 4, space_seed), seeds, cache, label)
        first = [row for row in record["candidates"] if row["set"] == label]
        assert [row["val_acc"] for row in again] == [row["val_acc"] for row in first]
    assert json.loads((tmp_path / "cache.json").read_text()) == cache.rows


def _no_training(*args, **kwargs):
    raise AssertionError("a cached candidate was trained again")


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--candidates", "2"], "--candidates must be >= 4"), (["--holdout-seed", "0"], "--holdout-seed must differ")],
)
def test_bad_arguments_are_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        zero_cost.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_auto_picks_the_ranking_that_agrees_best_with_the_reward_whatever_its_sign():
    scores = {name: {"tau_reward": 0.1} for name in SCORES}
    scores["vote"] = {"tau_reward": 0.2}
    assert zero_cost.best_ranking(scores) == "vote"
    scores["snip"]["tau_reward"] = -0.4
    scores["zico"]["tau_reward"] = float("nan")
    assert zero_cost.best_ranking(scores) == "-snip"
