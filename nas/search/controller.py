"""The MnasNet controller as an Optuna sampler: a recurrent policy trained by REINFORCE.

The policy is a small LSTM that emits one categorical decision per step, in the search
space's order (block 1's op, kernel, SE, skip, filters, layers, then block 2's ...); each
choice is fed back as the next step's input.  After every finished trial the policy takes a
policy-gradient step on ``(reward - baseline) * log p(decisions)`` with an exponential
moving-average baseline (advantages normalised by the rewards' running spread) and a small entropy bonus (MnasNet used PPO; REINFORCE with a
baseline is the simpler policy gradient its controller descends from).

Truth lives in the study's storage: the policy is a cache of the trials it has learned from.
A new process (a resumed study, another worker) replays the study's finished trials in
order before sampling, so every worker's policy reflects everything the study knows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from optuna.distributions import BaseDistribution
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState
from torch import nn

from nas.screening.proposals import FixedSpaceSampler


class Controller(nn.Module):
    """LSTM policy over a fixed sequence of categorical decisions."""

    def __init__(self, choices: Sequence[int], hidden: int = 64) -> None:
        super().__init__()
        self.choices = list(choices)
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.embeddings = nn.ModuleList(nn.Embedding(n, hidden) for n in self.choices)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in self.choices)

    def forward(self, actions: Sequence[int] | None = None, generator: torch.Generator | None = None):
        """Sample (``actions`` None) or score given actions; returns (actions, log-prob, entropy)."""
        x, state = self.start, None
        taken, log_prob, entropy = [], torch.zeros(()), torch.zeros(())
        for i, head in enumerate(self.heads):
            state = self.cell(x, state)
            logits = head(state[0])[0]
            dist = torch.distributions.Categorical(logits=logits)
            sampled = actions is None
            action = int(torch.multinomial(dist.probs, 1, generator=generator)) if sampled else int(actions[i])
            taken.append(action)
            log_prob = log_prob + dist.log_prob(torch.tensor(action))
            entropy = entropy + dist.entropy()
            x = self.embeddings[i](torch.tensor([action]))
        return taken, log_prob, entropy


class ControllerSampler(FixedSpaceSampler):
    """MnasNet-style RL controller over a fixed categorical search space.

    ``search_space`` maps parameter names (in decision order) to their choices.  The reward
    of a trial is its objective value (single-objective studies), or a ``reward`` user
    attribute when present (so pruned trials with a partial reward can teach too).
    """

    def __init__(
        self,
        search_space: dict[str, Sequence[Any]],
        seed: int | None = None,
        lr: float = 0.02,
        baseline_decay: float = 0.9,
        entropy_weight: float = 1e-3,
        hidden: int = 64,
    ) -> None:
        super().__init__(search_space, seed)
        self._names = list(search_space)
        self._seed = 0 if seed is None else int(seed)
        torch_state = torch.random.get_rng_state()
        torch.manual_seed(self._seed)
        self._controller = Controller([len(c) for c in search_space.values()], hidden)
        torch.random.set_rng_state(torch_state)
        self._optimizer = torch.optim.Adam(self._controller.parameters(), lr=lr)
        self._baseline: float | None = None
        self._variance = 0.0
        self._decay = baseline_decay
        self._entropy_weight = entropy_weight
        self._learned: set[int] = set()
        self.rewards: list[float] = []

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.propose(study, trial, 0)

    def propose(self, study: Study, trial: FrozenTrial, index: int = 0) -> dict[str, Any]:
        """The policy's ``index``-th independent proposal for ``trial`` (after learning what the study knows)."""
        if len(study.directions) > 1:
            raise ValueError("search.sampler=rl needs a single-objective study (objective.mode soft or hard)")
        self.learn(study)
        generator = torch.Generator().manual_seed(self._seed * 1_000_003 + trial.number + 7_919 * index)
        with torch.no_grad():
            actions, _, _ = self._controller(generator=generator)
        return {n: self._distributions[n].choices[a] for n, a in zip(self._names, actions, strict=True)}

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        # Learning happens lazily in sample_relative from the storage, so every worker agrees.
        return None

    def learn(self, study: Study) -> None:
        """Take a policy-gradient step for each finished trial of ``study`` not learned from yet."""
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        for t in sorted(trials, key=lambda t: t.number):
            if t.number in self._learned:
                continue
            self._learned.add(t.number)
            reward = _reward_of(t, study)
            if reward is None or not all(n in t.params for n in self._names):
                continue
            self._update([self._distributions[n].to_internal_repr(t.params[n]) for n in self._names], reward)

    def _update(self, actions: list[int], reward: float) -> None:
        self.rewards.append(reward)
        if self._baseline is None:
            self._baseline, self._variance = reward, 0.0
        # Rewards of similar networks differ by ~1e-2: normalise the advantage by the running
        # spread, so the policy learns at the same pace whatever the reward's scale.
        deviation = reward - self._baseline
        scale = math.sqrt(self._variance) if self._variance > 0 else abs(deviation) or 1.0
        advantage = max(-3.0, min(3.0, deviation / (scale + 1e-12)))
        self._baseline += (1 - self._decay) * deviation
        self._variance = self._decay * (self._variance + (1 - self._decay) * deviation**2)
        _, log_prob, entropy = self._controller(actions=[int(a) for a in actions])
        loss = -advantage * log_prob - self._entropy_weight * entropy
        self._optimizer.zero_grad()
        loss.backward()
        self._optimizer.step()

    def probabilities(self) -> dict[str, list[float]]:
        """The policy's greedy per-decision probabilities (for inspection and tests)."""
        out = {}
        with torch.no_grad():
            x, state = self._controller.start, None
            for i, name in enumerate(self._names):
                state = self._controller.cell(x, state)
                probs = torch.softmax(self._controller.heads[i](state[0])[0], 0)
                out[name] = probs.tolist()
                x = self._controller.embeddings[i](probs.argmax().view(1))
        return out


def _reward_of(trial: FrozenTrial, study: Study) -> float | None:
    if "reward" in trial.user_attrs and trial.user_attrs["reward"] is not None:
        reward = float(trial.user_attrs["reward"])
    elif trial.state == TrialState.COMPLETE and trial.values is not None and len(trial.values) == 1:
        reward = float(trial.values[0])
    else:
        return None
    return reward if study.direction == StudyDirection.MAXIMIZE else -reward
