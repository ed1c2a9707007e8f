"""The search as a study: one genotype per trial, costed at the target, trained, scored by the reward.

Each trial suggests a genotype from the factorized space, counts its params and FLOPs at the
target input, rejects it above ``max_flops``, and hands it to the trial protocol (reuse a
finished twin, stand down for a running one, train with per-epoch pruning, score or fail).
``n_trials`` is the study's total: running the same search again continues the study and
trains only what is missing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch

from nas.proxy.data import ProxyData, ProxyDataCache
from nas.proxy.trainer import train_proxy
from nas.screening.scorer import Scorer
from nas.search.best import REFERENCE_ATTR, best_trial
from nas.search.latency import LatencyCost, existing_table, latency_cost
from nas.search.objective import Reward
from nas.search.outputs import describe_best, write_outputs
from nas.search.prescreen import proposal_chooser, record_scores, warm_up
from nas.search.samplers import check_sampler, make_pruner, make_sampler
from nas.search.settings import SearchConfig, SearchSettings
from nas.search.supernet import supernet_identity, supernet_warm_up
from nas.studies.job import Started, StudyJob
from nas.studies.protocol import TrialProtocol
from nas.studies.study import count_started, experiment_name
from nas.supernet.store import check_supernet_file
from nas.supernet.training import task_identity
from search_spaces.codec import format_blocks, genotype_to_dict
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.table import LatencyTable
from search_spaces.mnasnet import MnasNetSpace, mnasnet_space

TARGET_LATENCY_ATTR = "target_latency_ms"
"""The study attribute holding T when it is the reference's latency (measured once, when the study starts)."""


def space_identity(space: MnasNetSpace) -> dict[str, Any]:
    """What makes two runs' spaces the same (stored with the study, checked on resume)."""
    return {
        "reference": format_blocks(space.reference),
        "stem_head_act": [space.reference.stem, space.reference.head, space.reference.activation],
        "choices": space.distributions(),
        "bn_eps": space.reference.bn_eps,
    }


def search_protocol(config: SearchConfig) -> TrialProtocol:
    """Genotypes are keyed by their block strings; a twin gives its accuracy, reward and time."""
    copied = ("val_acc", "reward", "seconds")
    return TrialProtocol("blocks", copied, config.proxy.epochs, config.search.max_failures, "search.max_failures")


class Evaluator:
    """The Optuna objective: suggest a genotype, cost it, cap it; the protocol does the rest."""

    def __init__(
        self,
        space: MnasNetSpace,
        data: ProxyData,
        config: SearchConfig,
        reward: Reward,
        protocol: TrialProtocol | None = None,
        scorer: Scorer | None = None,
        latency: LatencyCost | None = None,
    ) -> None:
        self.space, self.data, self.config, self.reward = space, data, config, reward
        self.settings: SearchSettings = config.search
        self.protocol = protocol or search_protocol(config)
        self.scorer = scorer  # the pre-screen's: every candidate's scores are recorded with its trial
        self.latency = latency  # when the reward or a cap needs it: every candidate's latency is recorded

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        genotype = self.space.suggest(trial)
        blocks = format_blocks(genotype)
        trial.set_user_attr("blocks", blocks)
        params, flops = self.config.target.cost(genotype)
        trial.set_user_attr("params", params)
        trial.set_user_attr("flops", flops)
        cap = self.settings.max_flops
        if cap is not None and flops > cap:
            trial.set_user_attr("reason", f"{flops / 1e6:.1f} MFLOPs over search.max_flops {cap / 1e6:.1f}M")
            raise optuna.TrialPruned("over the FLOPs cap")
        cost: float = flops
        if self.latency is not None:
            latency_ms = self.latency.record(trial, genotype)
            cost = latency_ms if self.reward.on_latency else flops
            cap = self.settings.max_latency_ms
            if cap is not None and latency_ms > cap:
                trial.set_user_attr("reason", f"{latency_ms:.2f} ms over search.max_latency_ms {cap:g} ms")
                raise optuna.TrialPruned("over the latency cap")
        if self.scorer is not None:
            record_scores(trial, genotype, self.scorer, self.settings.prescreen.score)
        proxy, seed = self.config.proxy, self.config.seed
        return self.protocol.run(
            trial,
            blocks,
            lambda on_epoch: train_proxy(genotype, self.data, proxy, seed, on_epoch=on_epoch),
            lambda val_acc: self.score(val_acc, cost),
        )

    def score(self, val_acc: float, cost: float) -> tuple[float | tuple[float, float], dict[str, Any]]:
        """The trial's value and the attributes recorded with it (``cost``: FLOPs, or ms on latency)."""
        if self.reward.multi_objective:
            return (val_acc, float(cost)), {}
        reward = self.reward(val_acc, cost)
        return reward, {"reward": reward}


@dataclass
class SearchJob(StudyJob):
    """A search around ``reference`` as a study: what :func:`~nas.search.run.run_search` runs."""

    reference: Genotype
    config: SearchConfig = dataclasses.field(default_factory=SearchConfig)

    def __post_init__(self) -> None:
        self.space = mnasnet_space(self.reference)
        self._data: dict[str, ProxyData] = {}  # one set of splits per device: the pre-screen and the trials share it
        self._scorers: dict[str, Scorer] = {}  # one scorer per device: it caches every score per candidate
        self.directions = self.config.objective.directions
        self.protocol = search_protocol(self.config)
        # Fail before any storage is touched: an unknown sampler, a wrong lookup table.
        check_sampler(self.config.search.sampler, self.config.objective.multi_objective, self.prescreen.k)
        choice = self.config.search.supernet
        if choice not in ("none", "auto"):  # a given supernet must fit this task, before the study is touched
            check_supernet_file(Path(choice), task_identity(self.space, self.config.proxy, self.dataset_identity()))
        self.table: LatencyTable | None = None  # predicted latency: an existing table, read and checked once
        if self.uses_latency and self.config.objective.latency == "predicted":
            self.table, _ = existing_table(self.space, self.target, self.config.objective.latency_table)

    def dataset_identity(self) -> dict[str, Any]:
        return self.config.dataset.identity(self.raw)

    @property
    def target(self) -> Target:
        return self.config.target

    @property
    def prescreen(self) -> Any:
        return self.config.search.prescreen

    @property
    def uses_latency(self) -> bool:
        return self.config.objective.on_latency or self.config.search.max_latency_ms is not None

    def identity(self) -> dict[str, Any]:
        objective = self.config.objective
        return {
            "command": "nas.search",
            "space": space_identity(self.space),
            "objective": objective.identity(),
            **self.task_identity(),
            "latency": self.latency_identity() if objective.on_latency else None,  # a cap is not, as max_flops
            "strategy": self.strategy(),
        }

    def latency_identity(self) -> dict[str, Any]:
        """Latencies on one device model, thread count and batch, measured or predicted."""
        measured_on = self.target.latency_identity()
        del measured_on["torch"]  # a torch upgrade re-times candidates (the cache key has it) but keeps the study
        return {**measured_on, "source": self.config.objective.latency}

    def strategy(self) -> dict[str, Any]:
        search = self.config.search
        prescreen = dataclasses.asdict(self.prescreen) if self.prescreen.enabled else None
        strategy = {"sampler": search.sampler, "pruner": search.pruner, "prescreen": prescreen}
        return {**strategy, "supernet": supernet_identity(self.config)}

    def default_name(self) -> str:
        config = self.config
        readable = [self.reference.name, config.dataset.name, config.search.sampler, config.objective.mode]
        return experiment_name("search", [*readable, f"seed{config.seed}"], self.identity())

    def data(self, device: torch.device) -> ProxyData:
        """The proxy data on ``device`` (prepared once)."""
        if str(device) not in self._data:
            self._data[str(device)] = ProxyDataCache(self.raw, self.config.proxy.sizes, device).at()
        return self._data[str(device)]

    def scorer(self, device: torch.device) -> Scorer | None:
        """The pre-screen's scorer on ``device`` (made once; None without a pre-screen)."""
        if not self.prescreen.enabled:
            return None
        if str(device) not in self._scorers:
            settings = self.prescreen
            self._scorers[str(device)] = Scorer(
                self.data(device), self.config.proxy, self.target, settings.batch_size, self.config.seed
            )
        return self._scorers[str(device)]

    def sampler(self, worker: int, device: torch.device) -> optuna.samplers.BaseSampler:
        prescreen, search = self.prescreen, self.config.search
        scorer = self.scorer(device)
        choose = None if scorer is None else proposal_chooser(self.space, scorer, prescreen.score, search.max_flops)
        multi = self.config.objective.multi_objective
        distributions = self.space.distributions()
        return make_sampler(search.sampler, distributions, self.config.seed + worker, multi, choose, prescreen.k)

    def pruner(self) -> optuna.pruners.BasePruner:
        return make_pruner(self.config.search.pruner, self.config.proxy.epochs)

    def start(self, study: optuna.Study, created: bool, device: torch.device) -> Started:
        if created:  # all of the reference, for search:STUDY (the identity holds only what makes the space)
            study.set_user_attr(REFERENCE_ATTR, genotype_to_dict(self.reference))
            if self.config.search.enqueue_reference:
                study.enqueue_trial(self.space.encode(self.reference), skip_if_exists=True)
        lines = [self.opening(study)]
        cost = self.latency_cost(study)
        if cost is not None:
            lines.append(f"{cost.describe()}: reference {self.reference.name} {cost(self.reference).median_ms:.3f} ms")
        scorer = self.scorer(device)
        if scorer is not None and self.prescreen.top > 0:
            lines.append(
                warm_up(study, self.space, scorer, self.prescreen, self.config.seed, self.config.search.max_flops)
            )
        data, reward = self.data(device), self.reward(study)
        if self.config.search.supernet != "none":
            lines.append(supernet_warm_up(study, self.space, data, self.config, reward, cost, self.dataset_identity()))
        evaluator = Evaluator(self.space, data, self.config, reward, self.protocol, scorer, cost)
        return Started("\n".join(lines), evaluator)

    def opening(self, study: optuna.Study) -> str:
        size, search = self.space.size(), self.config.search
        return (
            f"space: {len(self.space.blocks)} blocks around {self.reference.name}, {size:,} genotypes ({size:.3e}); "
            f"objective: {self.reward(study).describe()}; sampler {search.sampler}, pruner {search.pruner}"
        )

    def latency_cost(self, study: optuna.Study) -> LatencyCost | None:
        """The latency cost, cached in ``study`` (None when neither the reward nor a cap needs latency)."""
        if not self.uses_latency:
            return None
        objective = self.config.objective
        return latency_cost(study, self.space, self.target, objective.latency, objective.latency_table, self.table)

    def reward(self, study: optuna.Study) -> Reward:
        """The objective's reward; a latency target of None is the reference's latency, fixed once per study."""
        objective = self.config.objective
        if not objective.on_latency or objective.target_latency_ms is not None:
            return objective
        if TARGET_LATENCY_ATTR not in study.user_attrs:  # a resume that re-times the reference keeps the first T
            reference_ms = self.latency_cost(study)(self.reference).median_ms  # type: ignore[misc]
            study.set_user_attr(TARGET_LATENCY_ATTR, round(reference_ms, 4))
        return dataclasses.replace(objective, target_latency_ms=study.user_attrs[TARGET_LATENCY_ATTR])

    def remaining(self, study: optuna.Study) -> int:
        return self.config.search.n_trials - count_started(study)

    def total(self) -> int:
        return self.config.search.n_trials

    def status(self, study: optuna.Study) -> str | None:
        best = best_trial(study)
        return f"best reward {best.user_attrs['reward']:.4f}" if best and "reward" in best.user_attrs else None

    def write_outputs(self, study: optuna.Study, out: Path, storage_url: str) -> dict[str, Any]:
        cost = self.latency_cost(study)
        reference_ms = None if cost is None else cost(self.reference).median_ms
        dataset = self.config.dataset.describe(self.raw, self.config.proxy.sizes)
        reference_cost = self.target.cost(self.reference)
        reward = self.reward(study)
        return write_outputs(study, out, storage_url, self.reference, reference_cost, reward, dataset, reference_ms)

    def describe(self, summary: dict[str, Any]) -> str:
        return describe_best(summary)
