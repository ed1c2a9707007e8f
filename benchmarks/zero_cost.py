"""Do zero-cost scores rank this toolkit's candidates, and does pre-screening make the search better?

Everything is measured on the candidate bank (``python -m benchmarks.bank``), whose labels are the
default proxy's validation accuracy, the mean of seeds 0 and 1:

1. Every member gets every zero-cost score.  For each score and the vote: Kendall's tau and
   Spearman's rho against the label and against the reward, with bootstrap 95% intervals, on the
   tuning half; the pre-screen's ranking is chosen there (the highest tau against the reward,
   either sign) and recorded before the held-out half is read.  Then the same figures on the
   held-out half, which decided nothing.  Beside them, each half's seed 0 against seed 1: the
   ceiling any score can reach.
2. Scoring rate: candidates per minute for every score and the vote, model construction included.
3. The search at equal wall-clock (``benchmarks.zero_cost_search``): random, TPE and TPE with the
   chosen pre-screen over ``--seeds``, with a paired comparison per seed.  Each search's pool is
   checked against the bank first: a seed whose pool shares a member is refused.

    python -m benchmarks.zero_cost                      # 15 searches of 180 s: ~50 min on 2 CPU cores
    python -m benchmarks.zero_cost --budget 60 --seeds 0 1

Writes ``benchmarks/results/zero_cost.json`` and ``zero_cost.png``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bank_members import (
    DRAW_SEED,
    RECORD,
    check_disjoint,
    check_same_task,
    label,
    load_bank,
    member_genotype,
)
from benchmarks.common import (
    add_record_options,
    results_path,
    run_benchmark,
    write_figures,
)
from benchmarks.ranking import best_ranking, correlations, resamples
from benchmarks.task import Task, load_task
from benchmarks.zero_cost_search import DEFAULT_METHODS, METHODS, best_so_far, compare_searches
from nas.cli.schema import UsageError
from nas.screening.ranking import RANKINGS, ranking_values
from nas.screening.scorer import Scorer, per_minute_of
from nas.screening.scores import SCORES, VOTE
from nas.search.plots import plot_best_so_far
from nas.search.prescreen import prescreen_pool
from nas.search.settings import SearchPrescreen

PROG = "zero_cost"
RANKED = (*SCORES, "vote")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bank", type=Path, default=RECORD, help="the candidate bank's record")
    parser.add_argument("--bootstrap", type=int, default=2000, help="resamples for the 95%% intervals")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4], help="search seeds per method")
    parser.add_argument("--budget", type=float, default=180.0, help="seconds per search (the default search's time)")
    parser.add_argument(
        "--score",
        choices=[*RANKINGS, "auto"],
        default="auto",
        help="the pre-screen's ranking (auto: the best on the bank's tuning half)",
    )
    parser.add_argument("--pool", type=int, default=200)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--k", type=int, default=4, help="proposals per RL trial with the pre-screen")
    parser.add_argument("--name", default="zero_cost")
    add_record_options(parser, "the record")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/search.yaml")
    run_benchmark(PROG, parser, argv, measure)


def check_arguments(args: argparse.Namespace) -> None:
    if args.budget <= 0 or args.bootstrap < 100 or len(set(args.seeds)) != len(args.seeds):
        raise UsageError(
            f"--budget must be > 0, --bootstrap >= 100 and --seeds distinct; "
            f"got {args.budget}, {args.bootstrap} and {args.seeds}"
        )
    if DRAW_SEED in args.seeds:
        raise UsageError(f"--seeds must not hold {DRAW_SEED}: it draws the candidate bank")


def check_pools(args: argparse.Namespace, task: Task, scorer: Scorer, bank: dict[str, Any]) -> None:
    """Refuse, before anything is searched, a seed whose pre-screen pool shares a member with the bank."""
    settings = SearchPrescreen(pool=args.pool)
    for seed in args.seeds:
        pool = prescreen_pool(task.space, settings, seed, scorer, task.search.max_flops)
        check_disjoint(pool, bank, f"the seed-{seed} search's pre-screen pool")


def measure(args: argparse.Namespace) -> None:
    check_arguments(args)
    bank = load_bank(args.bank)
    task = load_task(args.overrides)
    check_same_task(bank, task, args.bank)
    scorer = Scorer(task.data, task.proxy, task.target, seed=0)
    check_pools(args, task, scorer, bank)
    rows = scored_members(bank, task, scorer)
    agreement = {"tuning": rank_agreement([r for r in rows if r["set"] == "tuning"], args.bootstrap)}
    # the choice reads the tuning half only, and is made before the held-out half is looked at
    tuning_taus = {name: s["tau_reward"] for name, s in agreement["tuning"]["scores"].items()}
    score = args.score if args.score != "auto" else best_ranking(tuning_taus, SCORES)
    prescreen = SearchPrescreen(score=score, pool=args.pool, top=args.top, k=args.k)
    print(f"pre-screen chosen on the tuning half: {score} (pool {args.pool}, top {args.top})", flush=True)
    agreement["held_out"] = rank_agreement([r for r in rows if r["set"] == "held_out"], args.bootstrap)
    rates = scorer.per_minute()
    rates["vote"] = per_minute_of(rates, VOTE)
    print_agreement(agreement, rates)
    search = compare_searches(task, args.methods, args.seeds, args.budget, prescreen, bank)
    for pair, test in search["paired"].items():
        print(f"[paired] {pair}: {test['mean']} {test['interval_95']} over {test['n']} seeds: {test['verdict']}")
    figures = {
        "bank": {"path": str(args.bank), "commit": bank.get("commit"), "n": len(rows)},
        "candidates": rows,
        "tau_held_out": {s: agreement["held_out"]["scores"][s]["tau_val_acc"] for s in RANKED},
        "candidates_per_minute": {k: round(v, 1) for k, v in rates.items()},
        "rank_agreement": agreement,
        "prescreen": {"score": score, "chosen_by": "auto" if args.score == "auto" else "--score", **vars(prescreen)},
        "search": {"budget_seconds": args.budget, "seeds": args.seeds, **search},
        "settings": {k: getattr(args, k) for k in ("bootstrap", "overrides")},
    }
    plot_searches(search["methods"], args.budget, results_path(args.name, args.results_dir).with_suffix(".png"))
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def scored_members(bank: dict[str, Any], task: Task, scorer: Scorer) -> list[dict[str, Any]]:
    """The bank's members with their label, reward and every zero-cost score."""
    rows = []
    for row in bank["candidates"]:
        scores = scorer.scores(member_genotype(task.space, row), SCORES)
        value = label(row)
        rows.append({**row, "label": value, "reward": task.reward(value, row["flops"]), **scores})
    return rows


def rank_agreement(rows: list[dict[str, Any]], count: int) -> dict[str, Any]:
    """Tau and rho of every score (and the vote) against the label and the reward; the seeds' ceiling."""
    table = {s: np.array([r[s] for r in rows], dtype=float) for s in SCORES}
    truths = {"val_acc": [r["label"] for r in rows], "reward": [r["reward"] for r in rows]}
    samples = resamples(len(rows), count)
    scores = {}
    for name in RANKED:
        values = ranking_values(table, name)
        scores[name] = {}
        for truth_name, truth in truths.items():
            scores[name].update(correlations(values, truth, samples, truth_name))
    seed0, seed1 = ([r["val_acc"][i] for r in rows] for i in (0, 1))
    return {"n": len(rows), "scores": scores, "ceiling": correlations(seed0, seed1, samples, "val_acc")}


def print_agreement(agreement: dict[str, Any], rates: dict[str, float]) -> None:
    for half, part in agreement.items():
        print(f"{half} ({part['n']} candidates): Kendall tau against val_acc / reward [95% interval]")
        for name, s in part["scores"].items():
            rate = f"{rates[name]:8.0f}/min" if name in rates else ""
            print(
                f"  {name:9s} {s['tau_val_acc']:+.3f} {s['tau_val_acc_95']} / {s['tau_reward']:+.3f} "
                f"{s['tau_reward_95']}  {rate}"
            )
        ceiling = part["ceiling"]
        print(f"  ceiling (proxy seed 0 vs 1): {ceiling['tau_val_acc']:+.3f} {ceiling['tau_val_acc_95']}")


def plot_searches(methods: dict[str, Any], budget: float, path: Path) -> None:
    step = budget / 60
    curves = {m: [best_so_far(r["trials"], budget, step) for r in s["seeds"].values()] for m, s in methods.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_best_so_far(curves, path, xlabel="seconds", step=step)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
