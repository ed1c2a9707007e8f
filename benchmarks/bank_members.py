"""Who is in the candidate bank, which half each member is in, and what its record says.

The bank's members are a pure function of the space and :data:`DRAW_SEED`; the searches, pools
and tests draw with small seeds (0, 1, 2, ...), so they never produce a member, and
:func:`check_disjoint` refuses a pool that would (B0, the searches' first trial, is never one).
Benchmarks read the record through :func:`load_bank` and :func:`bank_half`: a choice reads
``tuning`` only, a claim ``held_out``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from scipy.stats import kendalltau

from benchmarks.task import Task
from nas.cli.schema import UsageError
from nas.screening.pool import sample_pool
from search_spaces.codec import format_blocks, parse_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace

DRAW_SEED = 20_261_204
"""The bank's draw: no search, pool, sampler or test uses a seed anywhere near it."""
SEEDS = (0, 1)
"""The proxy seeds of every member's ``val_acc`` list, in order."""
FIVE_X = 20
RUNS = ("seed0", "seed1", "5x")
SETS = ("tuning", "held_out")
RECORD = Path(__file__).resolve().parent / "results" / "bank.json"


def bank_members(space: MnasNetSpace, size: int) -> list[Genotype]:
    """``size`` distinct genotypes of ``space`` drawn with :data:`DRAW_SEED`, its reference excluded."""
    reference = format_blocks(space.reference)
    return sample_pool(space, size, DRAW_SEED, accept=lambda g: format_blocks(g) != reference)


def split_of(member: int) -> str:
    """The fixed rule: a member's half is its draw position's parity."""
    return SETS[member % 2]


def planned_runs(size: int, five_x: int) -> list[tuple[int, str]]:
    """Every (member, run) the bank trains: both seeds of all members first, then the 5x ones."""
    runs = [(m, run) for m in range(size) for run in RUNS[:2]]
    return runs + [(m, "5x") for m in range(2 * five_x)]


def candidate_rows(
    members: Sequence[Genotype], trials: Iterable[optuna.trial.FrozenTrial], target: Target
) -> list[dict[str, Any]]:
    """One row per member trained at both seeds, in draw order."""
    done = {(t.params["member"], t.params["run"]): t for t in trials if t.value is not None}
    rows = []
    for member, genotype in enumerate(members):
        runs = [done.get((member, f"seed{s}")) for s in SEEDS]
        if None in runs:
            continue
        big = done.get((member, "5x"))
        params, flops = target.cost(genotype)
        rows.append(
            {
                "member": member,
                "blocks": format_blocks(genotype),
                "set": split_of(member),
                "params": params,
                "flops": flops,
                "val_acc": [t.value for t in runs],
                "val_acc_5x": None if big is None else big.value,
                "seconds": [t.user_attrs.get("seconds") for t in runs],
                "seconds_5x": None if big is None else big.user_attrs.get("seconds"),
            }
        )
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts per half and the proxy's agreement with itself across seeds (the ceiling of any ranker)."""
    out: dict[str, Any] = {"n": len(rows), "n_5x": sum(r["val_acc_5x"] is not None for r in rows)}
    for half in SETS:
        part = [r for r in rows if r["set"] == half]
        out[f"n_{half}"] = len(part)
        out[f"n_5x_{half}"] = sum(r["val_acc_5x"] is not None for r in part)
    out["tau_between_seeds"] = seed_agreement(rows)
    out["tau_between_seeds_by_set"] = {half: seed_agreement([r for r in rows if r["set"] == half]) for half in SETS}
    return out


def seed_agreement(rows: Sequence[dict[str, Any]]) -> float | None:
    if len(rows) < 3:
        return None
    tau = kendalltau([r["val_acc"][0] for r in rows], [r["val_acc"][1] for r in rows])[0]
    return round(float(tau), 3) if np.isfinite(tau) else None


def label(row: dict[str, Any]) -> float:
    """A member's proxy label: the mean of its seeds' accuracies."""
    return float(np.mean(row["val_acc"]))


def load_bank(path: Path = RECORD) -> dict[str, Any]:
    """The bank's record, checked to hold candidates of both halves."""
    try:
        record = json.loads(Path(path).read_text())
        rows = record["candidates"]
        if not all({"blocks", "set", "val_acc", "val_acc_5x", "flops", "params"} <= r.keys() for r in rows):
            raise KeyError("a candidate lacks blocks, set, val_acc, val_acc_5x, flops or params")
    except FileNotFoundError:
        raise UsageError(f"no candidate bank at {path}: build it with python -m benchmarks.bank") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"{path}: not a candidate bank record ({err!r})") from None
    return record


def bank_half(record: dict[str, Any], half: str) -> list[dict[str, Any]]:
    """The members of one half (``tuning`` or ``held_out``)."""
    if half not in SETS:
        raise ValueError(f"unknown half {half!r}; allowed: {', '.join(SETS)}")
    return [r for r in record["candidates"] if r["set"] == half]


def check_disjoint(genotypes: Iterable[Genotype], record: dict[str, Any], what: str) -> None:
    """Refuse ``genotypes`` (a search's pool, a test's candidates) when any is a bank member."""
    members = {tuple(r["blocks"]) for r in record["candidates"]}
    shared = [g for g in genotypes if tuple(format_blocks(g)) in members]
    if shared:
        raise UsageError(
            f"{what} shares {len(shared)} candidate(s) with the candidate bank (first: "
            f"{','.join(format_blocks(shared[0]))}); measured there, a claim would not be held out: "
            "draw it with another seed"
        )


def member_genotype(space: MnasNetSpace, row: dict[str, Any]) -> Genotype:
    """A bank row's genotype: the space's reference with the row's blocks."""
    return dataclasses.replace(space.reference, blocks=parse_blocks(row["blocks"]), name=f"bank{row.get('member', '')}")


def check_same_task(
    record: dict[str, Any], task: Task, path: Path, compare: Sequence[str] = ("dataset", "proxy", "data")
) -> None:
    """Refuse to rank against labels that another proxy, data or dataset (those in ``compare``) produced."""
    mine = {"dataset": task.cfg.dataset.name, "proxy": task.proxy.identity(), "data": dataclasses.asdict(task.sizes)}
    ours = {key: mine[key] for key in compare}
    theirs = {key: record.get(key) for key in ours}
    if theirs != ours:
        differ = ", ".join(key for key in ours if theirs[key] != ours[key])
        raise UsageError(
            f"the bank {path} was trained with another {differ} than these settings: "
            "rank with the bank's settings (no overrides of the proxy or dataset) or build a bank for these"
        )
