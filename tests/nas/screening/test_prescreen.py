"""python -m nas.prescreen end to end: scores.csv with the named columns, rates, plot, bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from nas.screening.scorer import Scorer
from nas.screening.scores import SCORES
from search_spaces.codec import parse_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype

TINY = ["dataset=digits", "proxy=tiny", "threads=2", "progress=false", "prescreen.batch_size=16"]


@pytest.mark.slow
def test_scores_a_pool_and_ranks_it(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("nas.prescreen", *TINY, "prescreen.pool=6", f"hydra.run.dir={out}")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out / "scores.csv")
    assert list(frame.columns) == ["blocks", *SCORES, "rank"]
    assert len(frame) == 6 and frame["blocks"].is_unique
    assert frame["rank"].is_monotonic_increasing and frame["rank"].iloc[0] == 1
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["candidates_per_minute"]) == {*SCORES, "vote"}
    assert summary["candidates"] == 6 and summary["rank_by"] == "vote"
    assert (out / "scores.png").stat().st_size > 0
    assert "candidates per minute" in result.stdout


@pytest.mark.slow
def test_one_score_and_a_flops_cap_on_one_thread_by_default(cli, tmp_path, monkeypatch):
    out, threads, real = tmp_path / "run", set(), Scorer.scores

    def scores(self, genotype, names):
        threads.add(torch.get_num_threads())
        return real(self, genotype, names)

    monkeypatch.setattr(Scorer, "scores", scores)
    cap = ["prescreen.scores=[synflow]", "prescreen.rank_by=synflow", "prescreen.pool=5", "prescreen.max_flops=3e8"]
    default_threads = [a for a in TINY if not a.startswith("threads=")]
    result = cli("nas.prescreen", *default_threads, *cap, f"hydra.run.dir={out}")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out / "scores.csv")
    assert list(frame.columns) == ["blocks", "synflow", "rank"]
    assert frame["synflow"].is_monotonic_decreasing
    assert all(Target().cost(Genotype(parse_blocks(b))).flops <= 3e8 for b in frame["blocks"])
    assert threads == {1}  # scoring on a busy machine: one thread (benchmarks/results/threads.json)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("prescreen.pool=0", "prescreen.pool must be an integer >= 1"),
        ("prescreen.scores=[synflow,bogus]", "unknown prescreen.scores score 'bogus'; allowed: synflow"),
        ("prescreen.rank_by=best", "unknown prescreen.rank_by 'best'; allowed:"),
        ("prescreen.batch_size=1", "prescreen.batch_size must be an integer >= 2"),
    ],
)
def test_bad_input_is_one_line(cli, tmp_path, override, message):
    result = cli("nas.prescreen", *TINY, override, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
