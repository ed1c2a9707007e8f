"""The search's samplers and pruners, by name: Optuna's, the MnasNet controller, best-of-k proposals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from optuna.samplers import BaseSampler

from nas.screening.proposals import BestOfK, Chooser, uniform_proposer
from nas.search.controller import ControllerSampler

SAMPLERS = ("tpe", "random", "nsga2", "rl")
PROPOSING = ("random", "rl")  # samplers that can take the best of k proposals


def check_sampler(name: str, multi_objective: bool, k: int = 1) -> None:
    """``ValueError`` for an unknown sampler, or one that cannot serve the objective or take ``k`` proposals."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown search.sampler {name!r}; allowed: {', '.join(SAMPLERS)}")
    if k > 1 and name not in PROPOSING:
        raise ValueError(
            f"search.prescreen.k > 1 needs search.sampler {' or '.join(PROPOSING)} and a search.prescreen.score, "
            f"got sampler {name!r}; with other samplers use the warm-up (search.prescreen.top)"
        )
    if name == "rl" and multi_objective:
        raise ValueError("search.sampler=rl needs objective.mode soft or hard (one reward), not multi")


def make_sampler(
    name: str,
    search_space: dict[str, Sequence[Any]],
    seed: int,
    multi_objective: bool,
    choose: Chooser | None = None,
    k: int = 1,
) -> BaseSampler:
    """The sampler called ``name``; ``ValueError`` for unknown names or mismatched objectives.

    ``k > 1`` (random and rl only): each trial trains the proposal ``choose`` prefers among ``k``.
    """
    check_sampler(name, multi_objective, k)
    if k > 1:
        if choose is None:
            raise ValueError("search.prescreen.k > 1 needs a search.prescreen.score to choose by")
        if name == "random":
            return BestOfK(search_space, uniform_proposer(search_space, seed), choose, k, seed)
        controller = ControllerSampler(search_space, seed=seed)
        return BestOfK(search_space, controller.propose, choose, k, seed, inner=controller)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=5)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=8)
    return ControllerSampler(search_space, seed=seed)


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs), reduction_factor=3)
    return optuna.pruners.NopPruner()
