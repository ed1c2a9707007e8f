"""The candidate bank: drawn apart from every search and test, split by a fixed rule, resumable, refused when mixed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import bank, bank_members
from benchmarks.bank_members import DRAW_SEED, check_disjoint
from benchmarks.bank_members import bank_members as draw
from nas.cli.schema import UsageError
from nas.screening.pool import sample_pool
from search_spaces.codec import format_blocks
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference
from tests.benchmarks.conftest import TINY_TASK

SPACE = mnasnet_space(reference("efficientnet_b0"))


@pytest.mark.slow
def test_a_built_bank_holds_both_halves_and_a_rebuild_trains_nothing(tiny_bank, tmp_path, monkeypatch):
    record = json.loads(tiny_bank.read_text())
    rows = record["candidates"]
    assert record["seeds"] == [0, 1] and record["draw_seed"] == DRAW_SEED
    assert [r["set"] for r in rows] == ["tuning", "held_out"] * 3
    assert [r["blocks"] for r in rows] == [format_blocks(g) for g in draw(SPACE, 6)]
    for row in rows:
        assert len(row["val_acc"]) == 2 and all(0 < a <= 1 for a in row["val_acc"])
        assert 0 < row["val_acc_5x"] <= 1 and row["flops"] > 0 and row["params"] > 0
    assert (record["n"], record["n_5x"], record["n_5x_held_out"]) == (6, 6, 3)
    assert record["budget_5x"] == {"budget": 5, "train_size": 426, "epochs": 3}
    # every training is a trial of the study: building again trains nothing and exports the same
    monkeypatch.setattr(bank, "train_proxy", _no_training)
    storage = tiny_bank.parent / "bank.db"
    argv = ["--size", "6", "--five-x", "3", "--storage", str(storage), "--results-dir", str(tmp_path)]
    bank.main([*argv, *TINY_TASK])
    assert json.loads((tmp_path / "bank.json").read_text())["candidates"] == rows
    # a bank built with another budget is refused, in one line
    with pytest.raises(SystemExit) as stop:
        bank.main([*argv, "--budget", "4", *TINY_TASK])
    assert stop.value.code == 2


def _no_training(*args, **kwargs):
    raise AssertionError("a stored training ran again")


def test_no_small_seed_draws_a_member_and_b0_is_never_one():
    members = {tuple(format_blocks(g)) for g in draw(SPACE, 100)}
    assert len(members) == 100 and tuple(format_blocks(SPACE.reference)) not in members
    for seed in range(10):  # the searches', pools', samplers' and tests' seeds
        assert members.isdisjoint(tuple(format_blocks(g)) for g in sample_pool(SPACE, 200, seed))
    # a prefix: a bank grown to more members keeps the first ones and their halves
    assert [format_blocks(g) for g in draw(SPACE, 10)] == [format_blocks(g) for g in draw(SPACE, 12)[:10]]
    assert [bank_members.split_of(i) for i in range(4)] == ["tuning", "held_out", "tuning", "held_out"]


def test_a_pool_that_shares_a_member_is_refused():
    record = {"candidates": [{"blocks": format_blocks(g)} for g in draw(SPACE, 4)]}
    check_disjoint(sample_pool(SPACE, 50, 0), record, "a pool")
    with pytest.raises(UsageError, match=r"a pool shares 1 candidate\(s\) with the candidate bank"):
        check_disjoint([*sample_pool(SPACE, 5, 0), draw(SPACE, 4)[2]], record, "a pool")


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--size", "5"], "--size must be an even number"), (["--five-x", "60"], "--five-x between 0")],
)
def test_bad_arguments_are_one_line(capsys, tmp_path, argv, message):
    with pytest.raises(SystemExit) as stop:
        bank.main([*argv, "--storage", str(tmp_path / "b.db"), *TINY_TASK])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_the_rng_of_the_draw_is_its_own():
    assert DRAW_SEED > 10**6 and np.random.default_rng(DRAW_SEED).integers(10) is not None
