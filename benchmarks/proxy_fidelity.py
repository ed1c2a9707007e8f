"""Does the default proxy rank candidates like a 5x larger budget does?  Measured on the candidate bank.

The bank (``python -m benchmarks.bank``) trained 20 members of each half with the default proxy
at seeds 0 and 1 and with 5x its compute (images seen).  This reports Kendall's tau-b between
the proxy's label (the mean of its two seeds) and the 5x accuracy on the held-out half, with a
bootstrap 95% interval, beside each seed alone against the 5x budget and the two seeds against
each other (the proxy's agreement with itself).  Nothing is chosen here, so nothing is read from
the tuning half unless ``--half tuning`` asks for it::

    python -m benchmarks.proxy_fidelity                 # reads the bank: seconds

Hydra overrides of ``conf/search.yaml``'s proxy measure another proxy instead: it is trained on
the half's 5x members at seeds 0 and 1 and ranked against the bank's 5x accuracies.  Tuning a
proxy that way reads ``--half tuning`` only; the held-out half is for the final claim::

    python -m benchmarks.proxy_fidelity --half tuning proxy.lr=0.03

Writes ``benchmarks/results/<--name>.json`` (``n``, ``tau``, ``tau_interval``, ...).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bank_members import RECORD, SEEDS, SETS, bank_half, check_same_task, load_bank, member_genotype
from benchmarks.common import add_record_options, run_benchmark, write_figures
from benchmarks.ranking import correlations, resamples
from benchmarks.task import Task, load_task
from nas.cli.schema import UsageError
from nas.proxy.trainer import train_proxy

PROG = "proxy_fidelity"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bank", type=Path, default=RECORD, help="the candidate bank's record")
    parser.add_argument("--half", choices=SETS, default="held_out", help="the bank's half measured")
    parser.add_argument("--bootstrap", type=int, default=2000, help="resamples for the 95%% interval")
    parser.add_argument("--name", default="proxy_fidelity", help="the record is <results-dir>/<name>.json")
    add_record_options(parser, "the record")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/search.yaml: another proxy to measure")
    run_benchmark(PROG, parser, argv, measure)


def measure(args: argparse.Namespace) -> None:
    """Rank the half's 5x members by the proxy (the bank's, or the overrides' retrained) and write tau."""
    if args.bootstrap < 100:
        raise UsageError(f"--bootstrap must be >= 100, got {args.bootstrap}")
    bank = load_bank(args.bank)
    rows = [r for r in bank_half(bank, args.half) if r["val_acc_5x"] is not None]
    if len(rows) < 3:
        raise UsageError(f"the bank {args.bank} has {len(rows)} {args.half} members with a 5x accuracy; 3 are needed")
    proxy = bank["proxy"]
    if args.overrides:
        task = load_task(args.overrides)
        check_same_task(bank, task, args.bank, compare=("dataset",))
        rows = [retrained(row, task) for row in rows]
        proxy = task.proxy.identity()
    figures = {
        "half": args.half,
        "bank": {"path": str(args.bank), "commit": bank.get("commit"), "budget_5x": bank.get("budget_5x")},
        "proxy": proxy,
        "overrides": args.overrides,
        "bootstrap": args.bootstrap,
        **fidelity(rows, args.bootstrap),
        "seconds_per_candidate": round(float(np.mean([s for r in rows for s in r["seconds"]])), 1),
        "rows": rows,
    }
    print(
        f"{args.half} half, {figures['n']} candidates: Kendall tau-b proxy (mean of seeds {SEEDS}) vs 5x "
        f"{figures['tau']:+.3f} {figures['tau_interval']}; seed by seed {figures['tau_seed0']:+.3f} and "
        f"{figures['tau_seed1']:+.3f}; seed 0 vs 1 {figures['tau_between_seeds']:+.3f}; "
        f"{figures['seconds_per_candidate']:.1f} s per candidate"
    )
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def fidelity(rows: list[dict[str, Any]], count: int) -> dict[str, Any]:
    """``n``, ``tau`` (tau-b of the seeds' mean against 5x) with ``tau_interval``, and the seeds alone."""
    samples = resamples(len(rows), count)
    big = [r["val_acc_5x"] for r in rows]
    seeds = [[r["val_acc"][i] for r in rows] for i in range(len(SEEDS))]
    mean = correlations(np.mean(seeds, axis=0), big, samples, "x", stats=("tau",))
    between = correlations(seeds[0], seeds[1], samples, "x", stats=("tau",))
    return {
        "n": len(rows),
        "tau": mean["tau_x"],
        "tau_interval": mean["tau_x_95"],
        **{
            f"tau_seed{s}": correlations(seeds[i], big, samples, "x", stats=("tau",))["tau_x"]
            for i, s in enumerate(SEEDS)
        },
        "tau_between_seeds": between["tau_x"],
        "tau_between_seeds_interval": between["tau_x_95"],
    }


def retrained(row: dict[str, Any], task: Task) -> dict[str, Any]:
    """``row`` with the overrides' proxy trained at each seed in place of the bank's accuracies."""
    genotype = member_genotype(task.space, row)
    accs, seconds = [], []
    for seed in SEEDS:
        start = time.perf_counter()
        result = train_proxy(genotype, task.data, task.proxy, seed=seed)
        accs.append(result.val_acc if result.ok else 0.0)
        seconds.append(round(time.perf_counter() - start, 2))
    print(f"member {row['member']}: {accs[0]:.4f} / {accs[1]:.4f} (5x {row['val_acc_5x']:.4f})", flush=True)
    return {**row, "val_acc": accs, "seconds": seconds, "bank_val_acc": row["val_acc"]}


if __name__ == "__main__":
    main()
