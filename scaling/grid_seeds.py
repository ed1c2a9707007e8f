"""The grid's choice, with error bars: the first pass's best points trained again over more seeds.

Every feasible point is trained once, at the grid's ``seed``.  Then the ``grid.top`` best are
trained at ``seed + 1``; after each round the better half (at least two) go on to the next seed,
successive-halving style, until the leader is separated from the runner-up or ``grid.max_seeds``
seeds are spent.  Two points are separated when the 95% t-interval of their seed-by-seed
difference excludes zero and the gap is beyond the validation split's sampling noise, judged
image by image where the trials kept their per-image outcomes (:func:`~nas.proxy.noise.paired_margin`,
else :func:`~nas.proxy.noise.gap_margin`); with a single seed in common only the latter can be judged.
Points the leader is not separated from tie with it, and a tie goes to the lower real cost, then
to the point nearest the paper's.  With one seed (``grid.max_seeds=1``) every point may tie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nas.proxy.noise import gap_margin, mean_interval, paired_margin, unpack_outcomes
from nas.studies.protocol import OUTCOMES
from scaling.compound import PAPER_COEFFICIENTS
from scaling.grid_points import GridSettings, point_key

TIE_RULE = "a tie goes to the lower real cost, then to the point nearest the paper's (1.2, 1.1, 1.15)"


@dataclass(frozen=True)
class Standing:
    """One point's record: its accuracy per seed, its real cost ratio, and its first-pass trial's row."""

    key: str
    accs: dict[int, float]
    cost_ratio: float
    row: dict[str, Any]
    tried: set[int] = field(default_factory=set)  # seeds a trial ended at without a result (not tried again)
    outcomes: dict[int, str] = field(default_factory=dict)  # per seed: the per-image outcomes, packed, where kept

    @property
    def point(self) -> tuple[float, float, float]:
        return float(self.row["alpha"]), float(self.row["beta"]), float(self.row["gamma"])

    @property
    def mean(self) -> float:
        return sum(self.accs.values()) / len(self.accs)

    @property
    def interval(self) -> tuple[float, float] | None:
        return mean_interval(list(self.accs.values()))

    def order(self) -> tuple[float, float]:
        """Sort key: higher mean first, then lower real cost."""
        return -self.mean, self.cost_ratio


def standings(frame: pd.DataFrame, seed: int) -> dict[str, Standing]:
    """Every feasible, fully trained network's accuracies by seed (a trial without a seed is the first pass's).

    Points that round to one network (twins) are one standing, under the twin nearest the paper's
    point, so the seed rounds never spend two places on one network.  A re-training that ended
    without a result (it failed, or stood down for a twin) is noted in ``tried``: the rounds go on
    without it rather than wait for it.
    """
    done = frame[(frame["state"] == "COMPLETE") & frame["val_acc"].notna()]
    if "feasible" in done:
        done = done[done["feasible"].fillna(True).astype(bool)]
    rows = [row for _, row in done.sort_values("number").iterrows()]
    stands_for = _representatives(rows, seed)
    table: dict[str, Standing] = {}
    for row in sorted(rows, key=lambda r: stands_for.get(_key(r), _key(r)) != _key(r)):  # its own row first
        key = stands_for.get(_key(row), _key(row))
        if key not in table:
            cost = row.get("cost_ratio")
            cost = float(row["flops_ratio"]) if cost is None or pd.isna(cost) else float(cost)
            kept = {k: v for k, v in row.items() if k != OUTCOMES and not _missing(v)}
            table[key] = Standing(key, {}, cost, kept)
        at = seed if pd.isna(row.get("seed")) else int(row["seed"])
        table[key].accs.setdefault(at, float(row["val_acc"]))
        if isinstance(row.get(OUTCOMES), str):
            table[key].outcomes.setdefault(at, row[OUTCOMES])
    for _, row in frame[frame["state"].isin(["PRUNED", "FAIL"])].iterrows():
        key = stands_for.get(_key(row)) if pd.notna(row.get("alpha")) else None
        interrupted = str(row.get("reason")).startswith("interrupted")
        if key in table and pd.notna(row.get("seed")) and pd.notna(row.get("reason")) and not interrupted:
            table[key].tried.add(int(row["seed"]))
    return table


def _key(row: pd.Series) -> str:
    return point_key((row["alpha"], row["beta"], row["gamma"]))


def _representatives(rows: list[pd.Series], seed: int) -> dict[str, str]:
    """Point key -> the key of the twin that stands for its network (the nearest the paper's point).

    Twins are the first pass's points whose trials share the trial protocol's key (``model``: the
    same network trained the same way); a re-training's key also names its seed.
    """
    networks: dict[str, set[tuple[float, float, float]]] = {}
    for row in rows:
        if pd.notna(row.get("seed")) and int(row["seed"]) != seed:
            continue
        network = _key(row) if _missing(row.get("model")) else str(row["model"])
        networks.setdefault(network, set()).add((float(row["alpha"]), float(row["beta"]), float(row["gamma"])))
    return {
        point_key(point): point_key(min(points, key=lambda p: (math.dist(p, PAPER_COEFFICIENTS), p)))
        for points in networks.values()
        for point in points
    }


def _missing(value: Any) -> bool:
    return not isinstance(value, (list, tuple, dict)) and pd.isna(value)


def separated(first: Standing, second: Standing, n_val: int | None) -> bool:
    """Whether ``first`` is better than ``second`` beyond noise (seed-to-seed, or the split's with one seed)."""
    common = common_seeds(first, second)
    differences = [first.accs[s] - second.accs[s] for s in common]
    gap = sum(differences) / len(differences) if common else first.mean - second.mean  # the seeds both have
    beyond_split = gap > split_margin(first, second, common, n_val)
    if len(common) >= 2:
        interval = mean_interval(differences)
        # Equal differences at every seed give a zero-width interval: the split's noise still holds.
        return interval is not None and interval[0] > 0 and beyond_split
    return beyond_split  # one seed: only the split's noise is known (none known: any gap counts)


def verdict_between(first: Standing, second: Standing, n_val: int | None) -> dict[str, Any] | None:
    """``first`` against ``second`` over the seeds both were trained at (None: no seed in common).

    ``verdict``: beats, ties within noise with, or does not beat (by :func:`separated`, both ways);
    ``gap``: the mean seed-by-seed difference; ``paired``: judged image by image.
    """
    common = common_seeds(first, second)
    if not common:
        return None
    words = "beats" if separated(first, second, n_val) else "ties within noise with"
    words = "does not beat" if separated(second, first, n_val) else words
    return {
        "verdict": words,
        "gap": round(sum(first.accs[s] - second.accs[s] for s in common) / len(common), 6),
        "seeds": len(common),
        "paired": both_kept(first, second, common),
    }


def common_seeds(first: Standing, second: Standing) -> list[int]:
    """The seeds both points were trained at, in order."""
    return sorted(set(first.accs) & set(second.accs))


def both_kept(first: Standing, second: Standing, common: list[int]) -> bool:
    """Whether both points kept their per-image outcomes at every one of ``common`` (so they pair image by image)."""
    return bool(common) and all(s in first.outcomes and s in second.outcomes for s in common)


def split_margin(first: Standing, second: Standing, common: list[int], n_val: int | None) -> float:
    """The gap the validation split's noise allows: image by image over the common seeds where all kept outcomes."""
    if both_kept(first, second, common):
        upper: list[np.ndarray] = [unpack_outcomes(first.outcomes[s]) for s in common]
        return paired_margin([unpack_outcomes(second.outcomes[s]) for s in common], upper)
    return gap_margin(first.mean, second.mean, n_val) if n_val else 0.0


@dataclass(frozen=True)
class Plan:
    """Where the re-training stands: the points still in the running, best first, and the (point, seed) pairs due."""

    first: list[Standing]  # the first pass's best ``grid.top``, best first
    group: list[Standing]
    due: list[tuple[str, int]]


def plan(table: dict[str, Standing], settings: GridSettings, seed: int, n_val: int | None) -> Plan:
    """Replay the rounds that the trained seeds allow; ``due`` is the next round's missing pairs (empty: done)."""
    ranked = sorted((s for s in table.values() if seed in s.accs), key=lambda s: (-s.accs[seed], s.cost_ratio))
    first = ranked[: settings.top]
    group = first if settings.max_seeds > 1 else ranked  # one seed: every point may tie with the leader
    for extra in range(1, settings.max_seeds):
        if len(group) < 2 or (extra > 1 and separated(group[0], group[1], n_val)):
            break
        due = [(s.key, seed + extra) for s in group if seed + extra not in s.accs.keys() | s.tried]
        if due:
            return Plan(first, sorted(group, key=Standing.order), due)
        group = sorted(group, key=Standing.order)[: max(2, math.ceil(len(group) / 2))]
    return Plan(first, sorted(group, key=Standing.order), [])


def most_retrains(settings: GridSettings) -> int:
    """How many re-trainings the rounds hold at most (for a progress total)."""
    group, total = settings.top, 0
    for _ in range(1, settings.max_seeds):
        if group < 2:
            break
        total += group
        group = max(2, math.ceil(group / 2))
    return total


@dataclass(frozen=True)
class Choice:
    """The chosen point, the first pass's best with their seeds, and which of them tie with the leader."""

    chosen: Standing
    first: list[Standing]
    tied: frozenset[str]

    @property
    def tie(self) -> bool:
        return len(self.tied) > 1

    def top(self) -> list[dict[str, Any]]:
        """``summary.json``'s ``top``: each point's mean, interval, seeds, real cost and whether it ties."""
        return [
            {
                "alpha": s.point[0],
                "beta": s.point[1],
                "gamma": s.point[2],
                "mean": round(s.mean, 5),
                "interval": None if s.interval is None else [round(v, 5) for v in s.interval],
                "seeds": len(s.accs),
                "cost_ratio": round(s.cost_ratio, 4),
                "tie": self.tie and s.key in self.tied,
            }
            for s in self.first
        ]


def choose(table: dict[str, Standing], settings: GridSettings, seed: int, n_val: int | None) -> Choice | None:
    """The point the grid names (None when none was fully trained): the leader, or the tie rule's pick."""
    current = plan(table, settings, seed, n_val)
    if not current.group:
        return None
    leader = current.group[0]
    tied = [s for s in current.group if s is leader or not separated(leader, s, n_val)]
    chosen = min(tied, key=lambda s: (s.cost_ratio, math.dist(s.point, PAPER_COEFFICIENTS)))
    shown = current.first + [s for s in tied if s not in current.first]
    return Choice(chosen, shown, frozenset(s.key for s in tied))
