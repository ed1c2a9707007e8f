"""The candidate bank: one fixed set of trained candidates that every ranking benchmark evaluates on.

``--size`` members of the default search space (EfficientNet-B0 itself excluded), drawn with
:data:`DRAW_SEED`, a seed no search, pool or test uses, and split once by their draw order:
even positions are the tuning half, odd ones the held-out half.  Each member is trained with
the search's default proxy at seeds 0 and 1 (its label is their mean; their agreement is the
ceiling any ranker can reach), and the first ``--five-x`` members of each half also with a 5x
budget (``--budget`` times the images the proxy sees, in ``--reference-epochs`` epochs).

Every training is one trial of an Optuna study (``--storage``, by default under ``runs/``), so an
interrupted build resumes where it stopped and can span sessions::

    python -m benchmarks.bank                  # ~2 h on 2 CPU cores; rerun to resume
    python -m benchmarks.bank --export-only    # write the record from what is trained so far

Writes ``benchmarks/results/bank.json``: ``candidates`` (``blocks``, ``set``, ``params``,
``flops``, ``val_acc`` with one accuracy per seed in ``seeds``, ``val_acc_5x`` or null).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

import optuna

from benchmarks.bank_members import (
    DRAW_SEED,
    FIVE_X,
    RUNS,
    SEEDS,
    bank_members,
    candidate_rows,
    planned_runs,
    split_of,
    summary,
)
from benchmarks.common import (
    ROOT,
    add_record_options,
    git_commit,
    run_benchmark,
    write_figures,
)
from benchmarks.task import Task, load_task
from nas.cli.schema import UsageError
from nas.proxy.data import DataSizes, ProxyDataCache
from nas.proxy.datasets import RawDataset
from nas.proxy.recipe import ProxyConfig
from nas.proxy.trainer import train_proxy
from search_spaces.codec import format_blocks

PROG = "bank"
STORAGE = ROOT / "runs" / "benchmarks" / "bank" / "bank.db"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100, help="members (B0 excluded)")
    parser.add_argument("--five-x", type=int, default=FIVE_X, help="members per half trained with the 5x budget")
    parser.add_argument("--budget", type=int, default=5, help="compute multiplier of the larger budget")
    parser.add_argument("--reference-epochs", type=int, default=3, help="epochs the larger budget spends it in")
    parser.add_argument("--storage", type=Path, default=STORAGE, help="the SQLite file of the bank's study")
    parser.add_argument("--export-only", action="store_true", help="train nothing; write the record")
    parser.add_argument("--name", default="bank", help="the record is <results-dir>/<name>.json")
    add_record_options(parser, "the record")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/search.yaml")
    run_benchmark(PROG, parser, argv, build)


def check_arguments(args: argparse.Namespace) -> None:
    if args.size < 4 or args.size % 2 or not 0 <= 2 * args.five_x <= args.size or args.budget < 2:
        raise UsageError(
            "--size must be an even number >= 4, --five-x between 0 and half of it, --budget >= 2; "
            f"got {args.size}, {args.five_x}, {args.budget}"
        )


def open_study(args: argparse.Namespace, task: Task) -> optuna.Study:
    """The bank's study (created or resumed); refuses one that was drawn or split otherwise."""
    args.storage.parent.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        study_name=f"bank-{task.key()}",
        storage=f"sqlite:///{args.storage}",
        direction="maximize",
        load_if_exists=True,
    )
    # members are a prefix of one draw, so --size and --five-x may grow a bank; nothing else may change
    identity = {"draw_seed": DRAW_SEED, "budget": args.budget, "reference_epochs": args.reference_epochs}
    stored = {k: study.user_attrs.get(k) for k in identity}
    if not study.trials and not study.user_attrs:
        for key, value in identity.items():
            study.set_user_attr(key, value)
    elif stored != identity:
        raise UsageError(
            f"the bank in {args.storage} was built with {stored}, not {identity}: "
            "pass the same --budget and --reference-epochs, or another --storage"
        )
    return study


def build(args: argparse.Namespace) -> None:
    """Train what the bank still lacks (unless ``--export-only``), then write the record."""
    check_arguments(args)
    task = load_task(args.overrides)
    study = open_study(args, task)
    members = bank_members(task.space, args.size)
    done = {(t.params["member"], t.params["run"]) for t in study.get_trials(deepcopy=False) if t.value is not None}
    todo = [run for run in planned_runs(args.size, args.five_x) if run not in done]
    print(f"bank: {len(done)} trainings stored in {args.storage}, {len(todo)} to go", flush=True)
    if todo and not args.export_only:
        train_missing(args, task, study, members, todo)
    rows = candidate_rows(members, study.get_trials(deepcopy=False), task.target)
    figures = {
        "seeds": list(SEEDS),
        "draw_seed": DRAW_SEED,
        "split_rule": "draw order: even positions tuning, odd held_out",
        "space": task.cfg.space.reference,
        "dataset": task.cfg.dataset.name,
        "proxy": task.proxy.identity(),
        "data": dataclasses.asdict(task.sizes),
        "budget_5x": {"budget": args.budget, **dict(zip(("train_size", "epochs"), big_sizes(args, task), strict=True))},
        "study": {"storage": str(args.storage), "name": study.study_name},
        "trained_at_commits": sorted({str(t.user_attrs.get("commit")) for t in study.trials}),
        **summary(rows),
        "candidates": rows,
    }
    print(
        f"bank: {figures['n']} members with both seeds ({figures['n_5x']} with the 5x budget); "
        f"seed 0 vs 1 Kendall tau {figures['tau_between_seeds']}",
        flush=True,
    )
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def big_sizes(args: argparse.Namespace, task: Task) -> tuple[int, int]:
    return reference_sizes(args.budget, args.reference_epochs, task.cache.raw, task.sizes, task.proxy)


def train_missing(
    args: argparse.Namespace, task: Task, study: optuna.Study, members: list, todo: list[tuple[int, str]]
) -> None:
    """Train each (member, run) in ``todo`` and store it as a trial the moment it finishes."""
    train_size, epochs = big_sizes(args, task)
    big = dataclasses.replace(task.proxy, epochs=epochs)
    big_cache = ProxyDataCache(task.cache.raw, dataclasses.replace(task.sizes, train_size=train_size), task.device)
    distributions = {
        "member": optuna.distributions.IntDistribution(0, 99_999),
        "run": optuna.distributions.CategoricalDistribution(RUNS),
    }
    commit = git_commit()
    for n, (member, run) in enumerate(todo, 1):
        genotype = members[member]
        settings, data, seed = (big, big_cache.at(), 0) if run == "5x" else (task.proxy, task.data, int(run[-1]))
        start = time.perf_counter()
        result = train_proxy(genotype, data, settings, seed=seed)
        seconds = time.perf_counter() - start
        value = result.val_acc if result.ok else 0.0
        attrs = {"blocks": ",".join(format_blocks(genotype)), "seconds": round(seconds, 2), "ok": result.ok}
        trial = optuna.trial.create_trial(
            params={"member": member, "run": run},
            distributions=distributions,
            value=value,
            user_attrs={**attrs, "commit": commit},
        )
        study.add_trial(trial)
        print(
            f"[bank {n}/{len(todo)}] member {member} ({split_of(member)}) {run}: val_acc {value:.4f} ({seconds:.1f} s)",
            flush=True,
        )


def reference_sizes(budget: int, epochs: int, raw: RawDataset, sizes: DataSizes, proxy: ProxyConfig) -> tuple[int, int]:
    """The reference's training images and epochs: ``budget`` x the images the proxy sees, in ``epochs``."""
    train_size = budget * sizes.train_size * proxy.epochs // epochs
    available = len(raw.train_labels) - sizes.val_size
    if train_size > available:
        raise UsageError(
            f"a {budget}x reference in {epochs} epochs needs {train_size} training images; "
            f"{raw.name} has {available} beside the validation set (raise --reference-epochs)"
        )
    return train_size, epochs


if __name__ == "__main__":
    main()
