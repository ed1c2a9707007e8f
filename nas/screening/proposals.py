"""Move proposals: a trial takes the best of ``k`` proposals by a zero-cost score.

The sampler asks its proposer (uniform sampling, or the RL controller's policy) for ``k``
independent proposals and keeps the one ``choose`` prefers; enqueued trials (the reference,
the pre-screen's warm-up) keep their fixed parameters and cost nothing to propose.  The RL
controller then learns from what was trained: samples of best-of-k, not of its own policy, so
its updates lean towards what the score prefers (the point of the move proposal, and a bias).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

Proposer = Callable[[Study, FrozenTrial, int], dict[str, Any]]
"""(study, trial, proposal index) -> parameters."""
Chooser = Callable[[list[dict[str, Any]]], int]
"""Proposals -> the index of the one to train."""


class FixedSpaceSampler(BaseSampler):
    """A sampler that proposes all of a trial's parameters at once from a fixed categorical space."""

    def __init__(self, distributions: dict[str, Sequence[Any]], seed: int | None = None) -> None:
        self._distributions = {n: CategoricalDistribution(list(c)) for n, c in distributions.items()}
        self._fallback = RandomSampler(seed=seed)

    def reseed_rng(self) -> None:
        self._fallback.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return dict(self._distributions)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)


class BestOfK(FixedSpaceSampler):
    """Propose ``k`` parameter sets per trial, train the one ``choose`` picks."""

    def __init__(
        self,
        distributions: dict[str, Sequence[Any]],
        propose: Proposer,
        choose: Chooser,
        k: int,
        seed: int | None = None,
        inner: BaseSampler | None = None,
    ) -> None:
        super().__init__(distributions, seed)
        self._propose, self._choose, self._k, self._inner = propose, choose, k, inner

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if "fixed_params" in trial.system_attrs:  # enqueued: its parameters are already chosen
            return {}
        proposals = [self._propose(study, trial, i) for i in range(self._k)]
        return proposals[self._choose(proposals) if self._k > 1 else 0]

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        if self._inner is not None:
            self._inner.after_trial(study, trial, state, values)


def uniform_proposer(distributions: dict[str, Sequence[Any]], seed: int) -> Proposer:
    """Uniform proposals, reproducible per (seed, trial, proposal) whatever the worker."""

    def propose(study: Study, trial: FrozenTrial, index: int) -> dict[str, Any]:
        rng = np.random.default_rng([seed, trial.number, index])
        return {name: choices[int(rng.integers(len(choices)))] for name, choices in distributions.items()}

    return propose
