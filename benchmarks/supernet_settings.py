"""Which supernet settings rank best, read on the candidate bank's tuning half only.

Each ``--setting`` (Hydra overrides of ``supernet.*``, comma-separated) trains its supernet in
``--store`` (continued there when stopped; its seconds are those stored when it was trained in an
earlier run), over the seconds of one B0 proxy training timed in this run,
and scores the bank's tuning half with it: Kendall's tau-b of inherited accuracy and of inherited
loss against the label, with bootstrap intervals.  The held-out half is never read here, so a
default chosen from this record can still be measured on it by ``python -m benchmarks.supernet``.
The chosen setting is the best tuning tau among those that cost at most ``--max-cost`` B0 proxy
trainings; a tie within the intervals is reported as one, and ``fastest_tie`` names the tied setting
that scores the most subnets a minute (how scoring settings are chosen).  Scoring settings (``supernet.eval_images``,
``supernet.recalibration``) reuse the stored supernet, and each setting's ``subnets_per_minute`` is
measured on the same members.

    python -m benchmarks.supernet_settings --setting "" --setting supernet.epochs=6
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.bank_members import RECORD, check_same_task, load_bank
from benchmarks.common import add_record_options, run_benchmark, write_figures
from benchmarks.supernet import STORE, b0_proxy_seconds, scoring_images, supernet_cost, tuning_taus
from benchmarks.task import Task, load_task
from nas.cli.schema import UsageError, composed
from nas.supernet.evaluation import SubnetScorer

PROG = "supernet_settings"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--setting", action="append", required=True, help="OVERRIDE,OVERRIDE ('' : the defaults)")
    parser.add_argument("--bank", type=Path, default=RECORD, help="the candidate bank's record")
    parser.add_argument("--bootstrap", type=int, default=2000, help="resamples for the 95%% intervals")
    parser.add_argument("--max-cost", type=float, default=15.0, help="most B0 proxy trainings a setting may cost")
    parser.add_argument("--store", type=Path, default=STORE, help="where the supernets are kept")
    parser.add_argument("--name", default=PROG, help="the record's name (default supernet_settings)")
    add_record_options(parser, "the record")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/search.yaml every setting shares")
    run_benchmark(PROG, parser, argv, measure)


def measure(args: argparse.Namespace) -> None:
    if args.bootstrap < 100 or args.max_cost <= 0:
        raise UsageError(f"--bootstrap must be >= 100 and --max-cost > 0; got {args.bootstrap}, {args.max_cost}")
    settings = [[o for o in text.split(",") if o] for text in args.setting]
    bad = [o for overrides in settings for o in overrides if not o.startswith("supernet.") or "=" not in o]
    if bad:
        raise UsageError(f"a --setting holds supernet.KEY=VALUE overrides only; got {', '.join(bad)}")
    bank = load_bank(args.bank)
    shared = load_task(args.overrides)  # the data once: settings differ only in supernet.*
    check_same_task(bank, shared, args.bank)
    configs = [composed("search", [*args.overrides, *overrides]) for overrides in settings]  # checked first
    tasks = [dataclasses.replace(shared, cfg=cfg) for cfg in configs]
    b0_seconds = b0_proxy_seconds(tasks[0])
    rows = [
        measure_setting(overrides, task, bank, b0_seconds, args)
        for overrides, task in zip(settings, tasks, strict=True)
    ]
    figures = {
        "bank": {"path": str(args.bank), "commit": bank.get("commit"), "half": "tuning"},
        "b0_proxy_seconds": round(b0_seconds, 2),
        "max_cost": args.max_cost,
        "settings": rows,
        **chosen(rows, args.max_cost),
    }
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def measure_setting(
    overrides: list[str], task: Task, bank: dict[str, Any], b0_seconds: float, args: argparse.Namespace
) -> dict[str, Any]:
    """One setting's supernet: its cost, and each score's tau on the tuning half."""
    cost, run, _ = supernet_cost(task, args.store, b0_seconds)
    scorer = SubnetScorer(cost.pop("net"), task.data, run.settings, task.proxy)
    taus = tuning_taus(bank, task, scorer, args.bootstrap)
    print(f"{','.join(overrides) or 'defaults'}: " + ", ".join(f"{s} {t['tau']:+.3f}" for s, t in taus.items()))
    return {
        "overrides": overrides,
        "supernet_settings": run.identity()["supernet"],
        "scoring": scoring_images(run.settings),
        "train_cost_ratio": cost["train_cost_ratio"],
        "supernet_seconds": cost["supernet_seconds"],
        "final_loss": cost["supernet_history"][-1]["loss"] if cost["supernet_history"] else None,
        "tuning": taus,
        "subnets_per_minute": scorer.per_minute,  # over the tuning half: comparable between settings of one run
    }


def chosen(rows: list[dict[str, Any]], max_cost: float) -> dict[str, Any]:
    """The affordable setting and score with the best tuning tau, the settings whose interval holds it,
    and of those (the best included) the one scoring the most subnets a minute."""
    affordable = [r for r in rows if r["train_cost_ratio"] <= max_cost]
    if not affordable:
        return {"chosen": None}
    pairs = [(r, score) for r in affordable for score in r["tuning"]]
    best, score = max(pairs, key=lambda p: p[0]["tuning"][p[1]]["tau"])
    tau = best["tuning"][score]["tau"]
    tied = [(r, s) for r, s in pairs if (r, s) != (best, score) and r["tuning"][s]["tau_interval"][1] >= tau]
    fast = max([(best, score), *tied], key=lambda p: (p[0]["subnets_per_minute"] or 0.0, p[0]["tuning"][p[1]]["tau"]))
    return {
        "chosen": _named(best, score),
        "ties_with": [{"overrides": r["overrides"], "score": s} for r, s in tied],
        "fastest_tie": _named(*fast),
    }


def _named(row: dict[str, Any], score: str) -> dict[str, Any]:
    return {"overrides": row["overrides"], "score": score, "tau": row["tuning"][score]["tau"]}


if __name__ == "__main__":
    main()
