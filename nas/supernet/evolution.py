"""An evolutionary search over a space, every member scored by a cheap fitness (the supernet's, with a reward).

Once-for-All's recipe: a population of allowed members; each generation keeps the fittest
``parents`` and fills the rest with mutants (each decision redrawn with ``mutation`` probability)
and crossovers (each decision from one of two parents), until ``candidates`` distinct members have
been scored.  Members ``allowed`` refuses (over a FLOPs or latency cap) are never scored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace

Progress = Callable[[int, int], None]
"""Called after each scored member with (members scored, members to score)."""


@dataclass(frozen=True)
class Evolution:
    """How the evolutionary search runs: members scored in all, population, parents kept, mutation rate."""

    candidates: int = 5000
    population: int = 100
    parents: int = 25
    mutation: float = 0.1

    def __post_init__(self) -> None:
        if not 1 <= self.parents <= self.population <= self.candidates:
            raise ValueError(
                "the evolution needs 1 <= supernet.parents <= supernet.population <= supernet.candidates, "
                f"got {self.parents}, {self.population}, {self.candidates}"
            )
        if not 0 < self.mutation <= 1:
            raise ValueError(f"supernet.mutation must be in (0, 1], got {self.mutation!r}")


def evolve(
    space: MnasNetSpace,
    fitness: Callable[[Genotype], float],
    settings: Evolution,
    seed: int,
    allowed: Callable[[Genotype], bool] | None = None,
    progress: Progress | None = None,
) -> list[tuple[Genotype, float]]:
    """Every member scored, fittest first (ties in the order they were found)."""
    rng = np.random.default_rng(seed)
    options = space.distributions()
    scored: dict[Genotype, float] = {}
    refused: set[Genotype] = set()
    attempts = 0

    def consider(params: dict[str, Any]) -> None:
        nonlocal attempts
        attempts += 1
        genotype = space.decode(params)
        if genotype in scored or genotype in refused:
            return
        if allowed is not None and not allowed(genotype):
            refused.add(genotype)
            return
        scored[genotype] = fitness(genotype)
        if progress is not None:
            progress(len(scored), settings.candidates)

    limit = 50 * settings.candidates  # a cap so tight that hardly anything passes still ends
    while len(scored) < settings.population and attempts < limit:
        consider({name: opts[int(rng.integers(len(opts)))] for name, opts in options.items()})
    while len(scored) < settings.candidates and attempts < limit:
        fittest = sorted(scored, key=scored.__getitem__, reverse=True)[: settings.parents]
        parents = [space.encode(g) for g in fittest]
        for _ in range(settings.population - settings.parents):
            if len(scored) >= settings.candidates:
                break
            first = parents[int(rng.integers(len(parents)))]
            if rng.random() < 0.5:
                child = {
                    n: (opts[int(rng.integers(len(opts)))] if rng.random() < settings.mutation else first[n])
                    for n, opts in options.items()
                }
            else:
                second = parents[int(rng.integers(len(parents)))]
                child = {n: first[n] if rng.random() < 0.5 else second[n] for n in options}
            consider(child)
    return sorted(scored.items(), key=lambda item: item[1], reverse=True)
