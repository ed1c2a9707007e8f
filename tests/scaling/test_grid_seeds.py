"""The grid's seed rounds and its choice: who is trained again, when it stops, who is named, and ties."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

from nas.proxy.noise import pack_outcomes
from nas.studies.study import trials_frame
from scaling.grid_points import GridSettings, point_key
from scaling.grid_seeds import TIE_RULE, choose, most_retrains, plan, separated, standings, verdict_between
from scaling.grid_study import GRID_COLUMNS
from scaling.grid_summary import against_words, paper_point_verdict

POINTS = [(1.2, 1.1, 1.15), (1.3, 1.05, 1.1), (1.0, 1.2, 1.1), (1.25, 1.1, 1.1), (1.1, 1.15, 1.1), (1.0, 1.15, 1.2)]


def frame(results: dict[tuple[float, float, float], dict[int, float]], costs=None, **extra_rows) -> pd.DataFrame:
    """A grid.csv-like frame: one COMPLETE trial per (point, seed)."""
    rows, number = [], 0
    for point, accs in results.items():
        for seed, acc in accs.items():
            cost = (costs or {}).get(point, 2.0)
            row = dict(zip(("alpha", "beta", "gamma"), point, strict=True))
            row.update(number=number, state="COMPLETE", seed=seed, val_acc=acc, cost_ratio=cost, flops_ratio=cost)
            row.update(feasible=True, constraint=1.9, flops=1e8)
            rows.append(row)
            number += 1
    return pd.DataFrame(rows + list(extra_rows.get("rows", [])))


def first_pass() -> dict[tuple[float, float, float], dict[int, float]]:
    return {p: {0: acc} for p, acc in zip(POINTS, (0.80, 0.83, 0.81, 0.82, 0.79, 0.78), strict=True)}


def test_the_first_pass_best_are_trained_again_at_the_next_seed():
    settings = GridSettings(top=4, max_seeds=3)
    table = standings(frame(first_pass()), seed=0)
    due = plan(table, settings, seed=0, n_val=None).due
    assert due == [(point_key(p), 1) for p in (POINTS[1], POINTS[3], POINTS[2], POINTS[0])]
    assert most_retrains(settings) == 4 + 2
    assert most_retrains(GridSettings(top=8, max_seeds=4)) == 8 + 4 + 2
    assert plan(table, GridSettings(max_seeds=1), seed=0, n_val=None).due == []


def test_the_better_half_goes_on_and_a_separated_leader_ends_the_rounds():
    results = first_pass()
    for point, second in zip((POINTS[1], POINTS[3], POINTS[2], POINTS[0]), (0.835, 0.80, 0.825, 0.79), strict=True):
        results[point][1] = second
    settings = GridSettings(top=4, max_seeds=3)
    due = plan(standings(frame(results), 0), settings, 0, None).due
    # Means over two seeds: (1.3,1.05,1.1) 0.8325, (1.0,1.2,1.1) 0.8175, (1.25,1.1,1.1) 0.81: the first two go on,
    # and their differences (0.02, 0.01) do not separate them at two seeds.
    assert due == [(point_key(POINTS[1]), 2), (point_key(POINTS[2]), 2)]
    # Seed by seed the leader is ahead by 0.02 and 0.02: no spread, so the rounds stop at two seeds.
    results[POINTS[2]] = {0: 0.81, 1: 0.815}
    results[POINTS[1]] = {0: 0.83, 1: 0.835}
    current = plan(standings(frame(results), 0), settings, 0, None)
    assert current.due == [] and [s.key for s in current.group] == [point_key(POINTS[1]), point_key(POINTS[2])]
    choice = choose(standings(frame(results), 0), settings, 0, None)
    assert choice.chosen.point == POINTS[1] and not choice.tie
    assert [t["seeds"] for t in choice.top()] == [2, 2, 2, 2]


def test_a_tie_within_seed_noise_goes_to_the_lower_real_cost():
    results = {POINTS[0]: {0: 0.82, 1: 0.80, 2: 0.83}, POINTS[1]: {0: 0.83, 1: 0.79, 2: 0.825}}
    costs = {POINTS[0]: 2.05, POINTS[1]: 1.95}
    table = standings(frame(results, costs), 0)
    assert not separated(table[point_key(POINTS[0])], table[point_key(POINTS[1])], n_val=None)
    choice = choose(table, GridSettings(top=2, max_seeds=3), 0, None)
    assert choice.tie and choice.chosen.point == POINTS[1]  # the lower cost, though not the higher mean
    top = choice.top()
    assert all(t["tie"] for t in top) and all(t["seeds"] == 3 for t in top)
    assert top[0]["interval"][0] < top[0]["mean"] < top[0]["interval"][1]
    assert "lower real cost" in TIE_RULE


def test_equal_cost_ties_go_to_the_point_nearest_the_papers():
    results = {POINTS[2]: {0: 0.80, 1: 0.82}, POINTS[3]: {0: 0.81, 1: 0.80}}
    choice = choose(standings(frame(results), 0), GridSettings(top=2, max_seeds=2), 0, None)
    assert choice.tie and choice.chosen.point == (1.25, 1.1, 1.1)  # nearer (1.2, 1.1, 1.15) than (1.0, 1.2, 1.1)


def test_with_one_seed_only_the_validation_split_can_separate_two_points():
    results = {POINTS[0]: {0: 0.90}, POINTS[1]: {0: 0.80}}
    table = standings(frame(results), 0)
    first, second = table[point_key(POINTS[0])], table[point_key(POINTS[1])]
    assert separated(first, second, n_val=2000)
    assert not separated(first, second, n_val=50)  # 0.10 apart on 50 images is within sampling noise
    assert separated(first, second, n_val=None)  # no split size known (an older study): any gap counts
    choice = choose(table, GridSettings(max_seeds=1), 0, 2000)
    assert choice.chosen.point == POINTS[0] and not choice.tie


def test_infeasible_or_unfinished_trials_and_repeated_seeds_do_not_count():
    rows = [
        {"number": 9, "state": "PRUNED", "alpha": 1.3, "beta": 1.2, "gamma": 1.2, "val_acc": None, "feasible": False},
        {
            "number": 10,
            "state": "COMPLETE",
            "alpha": 1.3,
            "beta": 1.2,
            "gamma": 1.1,
            "val_acc": 0.99,
            "feasible": False,
        },
        {"number": 11, "state": "COMPLETE", "alpha": 1.2, "beta": 1.1, "gamma": 1.15, "val_acc": 0.5, "seed": 0},
    ]
    table = standings(frame({POINTS[0]: {0: 0.8}}, rows=rows), 0)
    assert list(table) == [point_key(POINTS[0])] and table[point_key(POINTS[0])].accs == {0: 0.8}


def test_a_trial_without_a_seed_is_the_first_pass_and_an_empty_grid_names_nothing():
    old = frame(first_pass()).drop(columns=["seed", "cost_ratio", "feasible"])
    table = standings(old, seed=3)
    assert all(s.accs.keys() == {3} for s in table.values())
    assert table[point_key(POINTS[0])].cost_ratio == pytest.approx(2.0)  # the FLOPs ratio stands in
    assert choose({}, GridSettings(), 0, None) is None


def test_a_retraining_that_ended_without_a_result_does_not_hold_up_the_rounds():
    results = first_pass()
    for point in (POINTS[1], POINTS[3], POINTS[2]):
        results[point][1] = results[point][0]
    results[POINTS[1]][1] = 0.835  # ahead of the runner-up by 0.01 and 0.015: not separated at two seeds
    failed = dict(zip(("alpha", "beta", "gamma"), POINTS[0], strict=True))
    failed.update(number=99, state="PRUNED", seed=1, val_acc=None, reason="same candidate as running trial 7")
    table = standings(frame(results, rows=[failed]), 0)
    assert table[point_key(POINTS[0])].tried == {1}
    due = plan(table, GridSettings(top=4, max_seeds=3), 0, None).due
    assert due == [(point_key(POINTS[1]), 2), (point_key(POINTS[3]), 2)]  # on to seed 2 without it


def test_equal_differences_at_every_seed_still_need_to_beat_the_splits_noise():
    results = {POINTS[0]: {0: 0.81, 1: 0.82}, POINTS[1]: {0: 0.80, 1: 0.81}}
    table = standings(frame(results), 0)
    first, second = table[point_key(POINTS[0])], table[point_key(POINTS[1])]
    assert separated(first, second, n_val=None) and not separated(first, second, n_val=1000)


def test_the_splits_noise_is_judged_image_by_image_where_the_trials_kept_their_outcomes():
    results = {POINTS[0]: {0: 0.81, 1: 0.82}, POINTS[1]: {0: 0.80, 1: 0.81}}
    images = np.arange(1_000)
    kept = [pack_outcomes(images < 100 * acc * 10) for acc in (0.81, 0.82, 0.80, 0.81)]  # the better one adds images
    rows = frame(results).assign(val_outcomes=kept)
    table = standings(rows, 0)
    first, second = table[point_key(POINTS[0])], table[point_key(POINTS[1])]
    assert separated(first, second, n_val=1000)  # +0.01 on 10 images the second misses, at both seeds
    swapped = rows.assign(val_outcomes=[*kept[:2], *(pack_outcomes(np.roll(images < k, 300)) for k in (800, 810))])
    table = standings(swapped, 0)  # the same accuracies, 300 images in dispute at each seed
    assert not separated(table[point_key(POINTS[0])], table[point_key(POINTS[1])], n_val=1000)


def test_twin_points_are_one_network_in_the_rounds_and_in_top():
    results = first_pass()
    results[(1.25, 1.1, 1.1)] = {0: 0.83}  # rounds to the same network as (1.3, 1.05, 1.1) below
    rows = frame(results)
    rows["model"] = [f"net{i}@35px" for i in range(len(rows))]
    twins = rows["alpha"].isin([1.3, 1.25])
    rows.loc[twins, "model"] = "same@35px"
    table = standings(rows, 0)
    assert point_key((1.3, 1.05, 1.1)) not in table  # (1.25, 1.1, 1.1) is nearer the paper's point
    due = plan(table, GridSettings(top=4, max_seeds=2), 0, None).due
    assert [key for key, _ in due].count(point_key((1.25, 1.1, 1.1))) == 1 and len(due) == 4
    choice = choose(table, GridSettings(top=4, max_seeds=1), 0, None)
    assert len({(t["alpha"], t["beta"], t["gamma"]) for t in choice.top()}) == len(choice.top())


def test_a_grid_studys_own_frame_knows_its_twins():
    study = optuna.create_study(direction="maximize")
    for point, acc in [((1.3, 1.05, 1.1), 0.83), ((1.25, 1.1, 1.1), 0.83)]:
        attrs = dict(zip(("alpha", "beta", "gamma"), point, strict=True))
        attrs.update(val_acc=acc, model="same@35px", seed=0, feasible=True, cost_ratio=2.0, flops_ratio=2.0)
        study.add_trial(optuna.trial.create_trial(value=acc, user_attrs=attrs))
    table = standings(trials_frame(study.trials, GRID_COLUMNS), 0)  # what GridJob.frame reads
    assert list(table) == [point_key((1.25, 1.1, 1.1))]


def test_the_chosen_point_is_judged_against_the_papers_over_the_seeds_both_have():
    images = np.arange(1_000)
    # The chosen point: 0.85 and 0.86 at seeds 0 and 1; the paper's point only at seed 0 (0.80), 50 images fewer.
    results = {POINTS[1]: {0: 0.85, 1: 0.86}, POINTS[0]: {0: 0.80}}
    kept = [pack_outcomes(images < k) for k in (850, 860, 800)]
    rows = frame(results).assign(val_outcomes=kept)
    table = standings(rows, 0)
    chosen, paper = table[point_key(POINTS[1])], table[point_key(POINTS[0])]
    judged = verdict_between(chosen, paper, n_val=1000)
    assert judged == {"verdict": "beats", "gap": pytest.approx(0.05), "seeds": 1, "paired": True}  # seed 0 only
    assert verdict_between(paper, chosen, n_val=1000)["verdict"] == "does not beat"
    record = paper_point_verdict(rows, chosen, seed=0, n_val=1000)
    assert record["against_chosen"] == judged and record["feasible"] is True
    assert "against_chosen" not in paper_point_verdict(rows, paper, seed=0, n_val=1000)  # the paper's is the chosen
    near = frame({POINTS[1]: {0: 0.81}, POINTS[0]: {0: 0.80}})
    table = standings(near, 0)  # 10 images apart on 1,000, unpaired: within the split's noise
    judged = verdict_between(table[point_key(POINTS[1])], table[point_key(POINTS[0])], n_val=1000)
    assert judged["verdict"] == "ties within noise with" and not judged["paired"]
    assert (
        against_words(judged) == "ties within noise with it (+0.0100 proxy accuracy at the seed both were trained at)"
    )
