"""benchmarks.zero_cost on a tiny bank: real scores and searches, the choice read from the tuning half only."""

from __future__ import annotations

import json

import pytest

from benchmarks import zero_cost
from benchmarks.bank_members import DRAW_SEED
from benchmarks.ranking import best_ranking
from benchmarks.zero_cost_search import paired
from nas.screening.pool import sample_pool
from nas.screening.scores import SCORES
from search_spaces.codec import format_blocks
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference
from tests.benchmarks.conftest import TINY_TASK

SEARCH = ["--budget", "3", "--seeds", "0", "1", "--bootstrap", "100", "--pool", "6", "--top", "2"]


@pytest.mark.slow
def test_scores_the_bank_chooses_on_tuning_and_searches_at_equal_time(tiny_bank, results_dir, tmp_path):
    argv = ["--methods", "random", "tpe+prescreen", *SEARCH, "--bank", str(tiny_bank), *TINY_TASK]
    zero_cost.main(argv)
    record = json.loads((results_dir / "zero_cost.json").read_text())
    assert record["command"].startswith("python -m benchmarks.zero_cost --methods random tpe+prescreen --budget 3")
    assert len(record["candidates"]) == 6
    for row in record["candidates"]:
        assert {"blocks", "set", "label", "reward", *SCORES} <= row.keys()
        assert row["label"] == pytest.approx(sum(row["val_acc"]) / 2)
    agreement = record["rank_agreement"]
    assert agreement["tuning"]["n"] == agreement["held_out"]["n"] == 3
    assert {"tau_val_acc", "tau_val_acc_95"} <= agreement["held_out"]["ceiling"].keys()
    assert set(record["tau_held_out"]) == {*SCORES, "vote"}
    assert record["prescreen"]["score"].removeprefix("-") in (*SCORES, "vote")
    runs = [run for method in record["search"]["methods"].values() for run in method["seeds"].values()]
    assert len(runs) == 4 and any(run["trials"] for run in runs)
    for run in runs:
        assert run["trials_in_time"] <= run["trials_started"] and run["bank_members_trained"] == 0
        assert all(t <= 3 for t, _ in run["trials"])
        bests = [r for _, r in run["curve"]]  # best so far, not per trial
        assert bests == sorted(bests) and len(bests) <= len(run["trials"])
        if run["trials"]:
            assert bests[-1] == max(r for _, r in run["trials"]) == pytest.approx(run["best_reward"], abs=1e-5)
    test = record["search"]["paired"]["tpe+prescreen vs random"]
    assert test["verdict"] in ("beats", "ties within noise with", "does not beat", "too few seeds")
    assert (results_dir / "zero_cost.png").stat().st_size > 0
    # the held-out labels decide nothing: scrambled, the choice stays (one short search)
    bank = json.loads(tiny_bank.read_text())
    for row in bank["candidates"]:
        if row["set"] == "held_out":
            row["val_acc"] = [1.0 - a for a in row["val_acc"]]
    (tmp_path / "bank.json").write_text(json.dumps(bank))
    again = ["--methods", "random", "--seeds", "0", "--budget", "0.01", "--bootstrap", "100", "--name", "b"]
    zero_cost.main([*again, "--bank", str(tmp_path / "bank.json"), *TINY_TASK])
    assert json.loads((results_dir / "b.json").read_text())["prescreen"]["score"] == record["prescreen"]["score"]


def test_a_search_pool_that_shares_a_bank_member_is_refused_before_any_search(tiny_bank, tmp_path, capsys):
    bank = json.loads(tiny_bank.read_text())
    space = mnasnet_space(reference("efficientnet_b0"))
    shared = sample_pool(space, 6, 1)[4]  # in seed 1's pool of 6
    bank["candidates"].append({**bank["candidates"][0], "blocks": format_blocks(shared)})
    (tmp_path / "bank.json").write_text(json.dumps(bank))
    with pytest.raises(SystemExit) as stop:
        zero_cost.main([*SEARCH, "--bank", str(tmp_path / "bank.json"), *TINY_TASK])
    assert stop.value.code == 2
    assert (
        "the seed-1 search's pre-screen pool shares 1 candidate(s) with the candidate bank" in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0", str(DRAW_SEED)], f"must not hold {DRAW_SEED}"),
        (["--bootstrap", "10"], "--bootstrap >= 100"),
        (["--bank", "nowhere.json"], "no candidate bank at nowhere.json"),
    ],
)
def test_bad_arguments_are_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        zero_cost.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bank_of_another_proxy_is_refused(tiny_bank, capsys):
    with pytest.raises(SystemExit) as stop:
        zero_cost.main(["--bank", str(tiny_bank), *TINY_TASK, "proxy.lr=0.2"])
    assert stop.value.code == 2
    assert "was trained with another proxy than these settings" in capsys.readouterr().err


def test_the_choice_is_the_ranking_that_agrees_best_whatever_its_sign():
    taus = {name: 0.1 for name in SCORES} | {"vote": 0.2}
    assert best_ranking(taus, SCORES) == "vote"
    taus["snip"], taus["zico"] = -0.4, float("nan")
    assert best_ranking(taus, SCORES) == "-snip"


def test_a_paired_difference_beats_only_beyond_its_interval():
    def runs(values):
        return {str(i): {"best_reward": v} for i, v in enumerate(values)}

    base = runs([0.80, 0.82, 0.81, 0.79, 0.80])
    assert paired(runs([0.85, 0.86, 0.86, 0.84, 0.85]), base)["verdict"] == "beats"
    mixed = paired(runs([0.82, 0.80, 0.83, 0.77, 0.81]), base)
    assert mixed["verdict"] == "ties within noise with" and mixed["interval_95"][0] < 0 < mixed["interval_95"][1]
    assert paired(runs([0.75, 0.76, 0.76, 0.74, 0.75]), base)["verdict"] == "does not beat"
    assert paired(runs([0.9]), runs([0.8]))["verdict"] == "too few seeds"
