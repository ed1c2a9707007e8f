"""Does the weight-sharing supernet rank candidates, what does it cost, and does a search with it win?

Measured on the candidate bank (``python -m benchmarks.bank``), whose labels are the default
proxy's validation accuracy, the mean of seeds 0 and 1:

1. Cost: one B0 proxy training, then the supernet (``supernet.*`` settings, seed 0; kept in
   ``--store`` and continued there when stopped), in the same run: ``train_cost_ratio``.
2. Ranking: every bank member scored with the supernet (accuracy and loss).  Which of the two ranks
   is chosen on the tuning half and recorded before the held-out half is read; on the held-out
   half, Kendall's tau-b of the chosen score against the label with a bootstrap interval, beside
   the proxy's seed-to-seed agreement (the ceiling), the parameter count's tau, and the zero-cost
   pre-screen's held-out tau from ``zero_cost.json``.
3. Speed: ``--rate-pool`` fresh members scored, ``subnets_per_minute``.
4. The search at equal wall-clock (``benchmarks.zero_cost_search``): random, TPE, TPE with a
   supernet trained inside the budget, and TPE with the supernet of step 1 (train once, search
   many), over ``--seeds``, paired seed by seed.  ``--seeds`` none skips it.  Each finished search
   (a method at a seed) is kept in ``--store``/searches.json, so a stopped run (same commit)
   continues with the next search.

    python -m benchmarks.supernet                          # hours on 2 CPU cores
    python -m benchmarks.supernet --seeds --rate-pool 100 supernet=tiny   # a quick look, no searches

Writes ``benchmarks/results/supernet.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.bank_members import DRAW_SEED, RECORD, bank_half, check_same_task, label, load_bank, member_genotype
from benchmarks.common import ROOT, add_record_options, results_path, run_benchmark, write_figures
from benchmarks.ranking import correlations, resamples
from benchmarks.task import Task, load_task
from benchmarks.zero_cost_search import SupernetPlan, compare_searches
from nas.cli.schema import UsageError
from nas.proxy.trainer import train_proxy
from nas.screening.pool import sample_pool
from nas.search.settings import SearchPrescreen
from nas.supernet.evaluation import SubnetScorer
from nas.supernet.settings import SCORES, SupernetSettings
from nas.supernet.store import stored_path
from nas.supernet.training import SupernetRun, train_supernet

PROG = "supernet"
STORE = ROOT / "runs" / "benchmarks" / "supernet"
SEARCH_METHODS = ("random", "tpe", "tpe+supernet", "tpe+trained_supernet")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bank", type=Path, default=RECORD, help="the candidate bank's record")
    parser.add_argument("--bootstrap", type=int, default=2000, help="resamples for the 95%% intervals")
    parser.add_argument("--rate-pool", type=int, default=300, help="fresh members scored for subnets per minute")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4], help="search seeds (none: no search)")
    parser.add_argument("--budget", type=float, default=1800.0, help="seconds per search, supernet training included")
    parser.add_argument("--store", type=Path, default=STORE, help="where the benchmark's supernets are kept")
    parser.add_argument("--name", default="supernet")
    add_record_options(parser, "the record")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/search.yaml (supernet.*, proxy.*)")
    run_benchmark(PROG, parser, argv, measure)


def measure(args: argparse.Namespace) -> None:
    if args.bootstrap < 100 or args.rate_pool < 1 or args.budget <= 0 or DRAW_SEED in args.seeds:
        raise UsageError(
            f"--bootstrap must be >= 100, --rate-pool >= 1, --budget > 0 and --seeds without {DRAW_SEED}; "
            f"got {args.bootstrap}, {args.rate_pool}, {args.budget}, {args.seeds}"
        )
    bank = load_bank(args.bank)
    task = load_task(args.overrides)
    check_same_task(bank, task, args.bank)
    cost, run, path = training_cost(task, args.store)
    scorer = SubnetScorer(cost.pop("net"), task.data, run.settings, task.proxy)
    ranking = rank_bank(bank, task, scorer, args.bootstrap)
    rate = scoring_rate(task, scorer, args.rate_pool)
    figures = {
        "bank": {"path": str(args.bank), "commit": bank.get("commit"), "n": len(bank["candidates"])},
        "supernet_settings": run.identity()["supernet"],
        "scoring": scoring_images(run.settings),
        **cost,
        **ranking,
        "subnets_per_minute": rate,
        "zero_cost": zero_cost_reference(results_path("zero_cost", args.results_dir)),
    }
    if args.seeds:
        plan = SupernetPlan(run.settings, trained=path)
        figures["search"] = {
            "budget_seconds": args.budget,
            "seeds": args.seeds,
            **compare_searches(
                task,
                SEARCH_METHODS,
                args.seeds,
                args.budget,
                SearchPrescreen(),
                bank,
                plan,
                args.store / "searches.json",
            ),
        }
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def training_cost(task: Task, store: Path) -> tuple[dict[str, Any], SupernetRun, Path]:
    """One B0 proxy training and the supernet's, timed in this run; the ratio of the two."""
    b0_seconds = b0_proxy_seconds(task)
    figures, run, path = supernet_cost(task, store, b0_seconds)
    return {"b0_proxy_seconds": round(b0_seconds, 2), **figures}, run, path


def scoring_images(settings: SupernetSettings) -> dict[str, int]:
    """The images every subnet is recalibrated and scored on (not in the supernet's identity)."""
    return {"recalibration": settings.recalibration, "eval_images": settings.eval_images}


def b0_proxy_seconds(task: Task) -> float:
    """Seconds one proxy training of the space's reference takes (the unit of the supernet's cost)."""
    start = time.perf_counter()
    b0 = train_proxy(task.space.reference, task.data, task.proxy, seed=0)
    seconds = time.perf_counter() - start
    print(f"B0 proxy training: {seconds:.1f} s (val_acc {b0.val_acc:.4f})", flush=True)
    return seconds


def supernet_cost(task: Task, store: Path, b0_seconds: float) -> tuple[dict[str, Any], SupernetRun, Path]:
    """The task's supernet, trained (or continued) in ``store``: its seconds and their ratio to ``b0_seconds``."""
    run = SupernetRun(task.space, task.data, task.proxy, task.cfg.supernet, 0, task.dataset.identity(task.cache.raw))
    path = stored_path(run, store)
    path.parent.mkdir(parents=True, exist_ok=True)
    trained = train_supernet(run, path)
    ratio = trained.seconds / b0_seconds
    print(f"supernet: {trained.steps} steps in {trained.seconds:.0f} s = {ratio:.1f} B0 proxy trainings", flush=True)
    figures = {
        "net": trained.net,
        "supernet_seconds": round(trained.seconds, 1),
        "supernet_steps": trained.steps,
        "supernet_history": trained.history,
        "train_cost_ratio": round(ratio, 2),
    }
    return figures, run, path


def rank_bank(bank: dict[str, Any], task: Task, scorer: SubnetScorer, count: int) -> dict[str, Any]:
    """Choose accuracy or loss on the tuning half, then measure the choice on the held-out half."""
    taus = tuning_taus(bank, task, scorer, count)
    choice = max(SCORES, key=lambda s: taus[s]["tau"])
    measured = ", ".join(f"{s} {t['tau']:+.3f}" for s, t in taus.items())
    print(f"chosen on the tuning half: {choice} ({measured})", flush=True)
    held = scored(bank_half(bank, "held_out"), task, scorer)  # read only after the choice
    samples = resamples(len(held), count)
    labels = [r["label"] for r in held]
    main_tau = correlations([r[choice] for r in held], labels, samples, "x", ("tau",))
    ceiling = correlations([r["val_acc"][0] for r in held], [r["val_acc"][1] for r in held], samples, "x", ("tau",))
    params = correlations([r["params"] for r in held], labels, samples, "x", ("tau",))
    figures = {
        "score": choice,
        "tuning": taus,
        "n": len(held),
        "tau": main_tau["tau_x"],
        "tau_interval": main_tau["tau_x_95"],
        "tau_ceiling": ceiling["tau_x"],
        "tau_ceiling_interval": ceiling["tau_x_95"],
        "tau_params": params["tau_x"],
        "tau_params_interval": params["tau_x_95"],
        "candidates": [{"blocks": r["blocks"], "score": r[choice], "label": r["label"]} for r in held],
    }
    print(
        f"held-out ({len(held)}): supernet {choice} tau-b {figures['tau']:+.3f} {figures['tau_interval']}; "
        f"ceiling {figures['tau_ceiling']:+.3f}; params {figures['tau_params']:+.3f}",
        flush=True,
    )
    return figures


def tuning_taus(bank: dict[str, Any], task: Task, scorer: SubnetScorer, count: int) -> dict[str, dict[str, Any]]:
    """Each score's Kendall tau-b against the label on the bank's tuning half, with its bootstrap interval."""
    tuning = scored(bank_half(bank, "tuning"), task, scorer)
    samples = resamples(len(tuning), count)
    labels = [r["label"] for r in tuning]
    taus = {s: correlations([r[s] for r in tuning], labels, samples, "x", ("tau",)) for s in SCORES}
    return {s: {"tau": t["tau_x"], "tau_interval": t["tau_x_95"]} for s, t in taus.items()}


def scored(rows: list[dict[str, Any]], task: Task, scorer: SubnetScorer) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        score = scorer(member_genotype(task.space, row))
        out.append({**row, "label": label(row), **{s: score.value(s) for s in SCORES}})
    return out


def scoring_rate(task: Task, scorer: SubnetScorer, count: int) -> float:
    """Members scored per minute, over ``count`` members none of which was scored before."""
    pool = [g for g in sample_pool(task.space, count + len(scorer.cache), seed=1) if g not in scorer.cache][:count]
    start = time.perf_counter()
    for genotype in pool:
        scorer(genotype)
    rate = 60 * len(pool) / (time.perf_counter() - start)
    print(f"{len(pool)} subnets scored: {rate:.0f} per minute", flush=True)
    return round(rate, 1)


def zero_cost_reference(path: Path) -> dict[str, Any] | None:
    """The zero-cost pre-screen's held-out tau, from its record (None when there is none)."""
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    score = record["prescreen"]["score"]
    name, sign = score.lstrip("-"), -1 if score.startswith("-") else 1
    held = record["rank_agreement"]["held_out"]["scores"][name]
    low, high = (sign * v for v in held["tau_val_acc_95"])
    return {"score": score, "tau": sign * held["tau_val_acc"], "tau_interval": sorted([low, high]), "record": str(path)}


if __name__ == "__main__":
    main()
