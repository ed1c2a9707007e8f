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

from nas.proxy.data import DataSizes, ProxyData, ProxyDataCache
from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig, train_proxy
from nas.screening.scorer import Scorer
from nas.search.best import REFERENCE_ATTR
from nas.search.latency import LatencyCost, LatencySource, existing_table, latency_cost
from nas.search.objective import Reward
from nas.search.outputs import best_trial, describe_best, write_outputs
from nas.search.prescreen import SearchPrescreen, proposal_chooser, record_scores, warm_up
from nas.search.samplers import make_sampler
from nas.studies.job import StudyJob
from nas.studies.protocol import TrialProtocol
from nas.studies.study import count_started, experiment_name
from search_spaces.codec import format_blocks, genotype_to_dict
from search_spaces.cost import Target
from search_spaces.genotype import BN_EPS, Genotype
from search_spaces.latency.measure import LatencySettings
from search_spaces.latency.table import LatencyTable
from search_spaces.mnasnet import MnasNetSpace, mnasnet_space

PRUNERS = ("median", "hyperband", "none")
TARGET_LATENCY_ATTR = "target_latency_ms"
"""The study attribute holding T when it is the reference's latency (measured once, when the study starts)."""


@dataclass(frozen=True)
class SearchSettings:
    sampler: str = "tpe"
    pruner: str = "median"
    n_trials: int = 20
    max_flops: float | None = None
    max_latency_ms: float | None = None
    enqueue_reference: bool = True
    max_failures: int = 5
    prescreen: SearchPrescreen = dataclasses.field(default_factory=SearchPrescreen)

    def __post_init__(self) -> None:
        if isinstance(self.prescreen, dict):  # as typed() hands over the config's section
            object.__setattr__(self, "prescreen", SearchPrescreen(**self.prescreen))
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, int) or self.n_trials < 1:
            raise ValueError(f"search.n_trials must be an integer >= 1, got {self.n_trials!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"unknown search.pruner {self.pruner!r}; allowed: {', '.join(PRUNERS)}")
        if self.max_flops is not None and not self.max_flops > 0:
            raise ValueError(f"search.max_flops must be > 0 or null, got {self.max_flops!r}")
        if self.max_latency_ms is not None and not self.max_latency_ms > 0:
            raise ValueError(f"search.max_latency_ms must be > 0 or null, got {self.max_latency_ms!r}")
        if self.max_failures < 1:
            raise ValueError(f"search.max_failures must be >= 1, got {self.max_failures!r}")


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs), reduction_factor=3)
    return optuna.pruners.NopPruner()


def space_identity(space: MnasNetSpace) -> dict[str, Any]:
    """What makes two runs' spaces the same (stored with the study, checked on resume)."""
    identity: dict[str, Any] = {
        "reference": format_blocks(space.reference),
        "stem_head_act": [space.reference.stem, space.reference.head, space.reference.activation],
        "choices": space.distributions(),
    }
    if space.reference.bn_eps != BN_EPS:  # only then, so studies from before bn_eps keep their names
        identity["bn_eps"] = space.reference.bn_eps
    return identity


def search_protocol(proxy: ProxyConfig, settings: SearchSettings) -> TrialProtocol:
    """Genotypes are keyed by their block strings; a twin gives its accuracy, reward and time."""
    copied = ("val_acc", "reward", "seconds")
    return TrialProtocol("blocks", copied, proxy.epochs, settings.max_failures, "search.max_failures")


class Evaluator:
    """The Optuna objective: suggest a genotype, cost it, cap it; the protocol does the rest."""

    def __init__(
        self,
        space: MnasNetSpace,
        data: ProxyData,
        proxy: ProxyConfig,
        target: Target,
        reward: Reward,
        settings: SearchSettings,
        seed: int,
        protocol: TrialProtocol | None = None,
        scorer: Scorer | None = None,
        latency: LatencyCost | None = None,
    ) -> None:
        self.space, self.data, self.proxy, self.target = space, data, proxy, target
        self.reward, self.settings, self.seed = reward, settings, seed
        self.protocol = protocol or search_protocol(proxy, settings)
        self.scorer = scorer  # the pre-screen's: every candidate's scores are recorded with its trial
        self.latency = latency  # when the reward or a cap needs it: every candidate's latency is recorded

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        genotype = self.space.suggest(trial)
        blocks = format_blocks(genotype)
        trial.set_user_attr("blocks", blocks)
        params, flops = self.target.cost(genotype)
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
        return self.protocol.run(
            trial,
            blocks,
            lambda on_epoch: train_proxy(genotype, self.data, self.proxy, self.seed, on_epoch=on_epoch),
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
    """A search around ``reference`` as a study: what ``nas.cli.command.run_study`` runs."""

    reference: Genotype
    settings: SearchSettings = dataclasses.field(default_factory=SearchSettings)
    reward: Reward = dataclasses.field(default_factory=Reward)
    proxy: ProxyConfig = dataclasses.field(default_factory=ProxyConfig)
    sizes: DataSizes = dataclasses.field(default_factory=DataSizes)
    target: Target = dataclasses.field(default_factory=Target)
    dataset: DatasetSpec = dataclasses.field(default_factory=DatasetSpec)
    seed: int = 0
    latency: LatencySettings = dataclasses.field(default_factory=LatencySettings)
    latency_source: LatencySource = dataclasses.field(default_factory=LatencySource)

    def __post_init__(self) -> None:
        self.space = mnasnet_space(self.reference)
        self.scoring = self.reward  # with a latency target of None, the reference's latency once start() knows it
        self.latency_cost: LatencyCost | None = None  # made by start(), when the reward or a cap needs latency
        self.table: LatencyTable | None = None  # predicted latency: an existing table, read and checked once
        if self.uses_latency and self.latency_source.latency == "predicted":  # a wrong table fails before any storage
            self.table, _ = existing_table(self.space, self.target, self.latency, self.latency_source.latency_table)
        self.directions = self.reward.directions
        self.protocol = search_protocol(self.proxy, self.settings)
        self.sampler(0)  # an unknown sampler, or one that cannot serve the objective, fails before any storage
        self.scorer: Scorer | None = None  # the pre-screen's, made on the device by start()
        self._data: dict[str, ProxyDataCache] = {}

    def identity(self) -> dict[str, Any]:
        return {
            "command": "nas.search",
            "space": space_identity(self.space),
            "objective": self.reward.identity(),
            **self.task_identity(),
            **({"latency": self.latency_identity()} if self.reward.on_latency else {}),  # a cap is not, as max_flops
            "strategy": self.strategy(),
        }

    @property
    def uses_latency(self) -> bool:
        return self.reward.on_latency or self.settings.max_latency_ms is not None

    def latency_identity(self) -> dict[str, Any]:
        """Latencies on one device model, thread count and batch, measured or predicted."""
        measured_on = self.latency.identity()
        del measured_on["torch"]  # a torch upgrade re-times candidates (the cache key has it) but keeps the study
        return {**measured_on, "source": self.latency_source.latency}

    def strategy(self) -> dict[str, Any]:
        strategy: dict[str, Any] = {"sampler": self.settings.sampler, "pruner": self.settings.pruner}
        if self.settings.prescreen.enabled:  # only then, so studies from before the pre-screen keep their names
            strategy["prescreen"] = dataclasses.asdict(self.settings.prescreen)
        return strategy

    def default_name(self) -> str:
        readable = [self.reference.name, self.dataset.name, self.settings.sampler, self.reward.mode, f"seed{self.seed}"]
        return experiment_name("search", readable, self.identity())

    def sampler(self, worker: int) -> optuna.samplers.BaseSampler:
        distributions = self.space.distributions()
        prescreen = self.settings.prescreen
        cap = self.settings.max_flops
        choose = proposal_chooser(self.space, lambda: self.scorer, prescreen.score, cap) if prescreen.enabled else None
        seed = self.seed + worker
        return make_sampler(
            self.settings.sampler, distributions, seed, self.reward.multi_objective, choose, prescreen.k
        )

    def data(self, device: torch.device) -> ProxyData:
        """The proxy data on ``device`` (prepared once: the pre-screen and the trials share it)."""
        if str(device) not in self._data:
            self._data[str(device)] = ProxyDataCache(self.raw, self.sizes, device)
        return self._data[str(device)].at()

    def pruner(self) -> optuna.pruners.BasePruner:
        return make_pruner(self.settings.pruner, self.proxy.epochs)

    def start(self, study: optuna.Study, created: bool, device: torch.device) -> str:
        if created:  # all of the reference, for search:STUDY (the identity holds only what makes the space)
            study.set_user_attr(REFERENCE_ATTR, genotype_to_dict(self.reference))
        if self.settings.enqueue_reference and created:
            study.enqueue_trial(self.space.encode(self.reference), skip_if_exists=True)
        latency = self.start_latency(study) if self.uses_latency else None
        size = self.space.size()
        opening = (
            f"space: {len(self.space.blocks)} blocks around {self.reference.name}, {size:,} genotypes ({size:.3e}); "
            f"objective: {self.scoring.describe()}; sampler {self.settings.sampler}, pruner {self.settings.pruner}"
        )
        if latency is not None:
            opening += "\n" + latency
        prescreen = self.settings.prescreen
        if not prescreen.enabled:
            return opening
        self.scorer = Scorer(self.data(device), self.proxy, self.target, prescreen.batch_size, self.seed)
        if prescreen.top == 0:
            return opening
        return opening + "\n" + warm_up(study, self.space, self.scorer, prescreen, self.seed, self.settings.max_flops)

    def start_latency(self, study: optuna.Study) -> str:
        """The latency cost, cached in ``study``; a latency target of None becomes the reference's."""
        source = self.latency_source
        self.latency_cost = latency_cost(study, self.space, self.target, self.latency, source, self.table)
        reference_ms = self.latency_cost(self.reference).median_ms
        if self.reward.on_latency and self.reward.target_latency_ms is None:
            # T is fixed once per study: a resume that re-times the reference (a torch upgrade) keeps it
            if TARGET_LATENCY_ATTR not in study.user_attrs:
                study.set_user_attr(TARGET_LATENCY_ATTR, round(reference_ms, 4))
            target_ms = study.user_attrs[TARGET_LATENCY_ATTR]
            self.scoring = dataclasses.replace(self.reward, target_latency_ms=target_ms)
        return f"{self.latency_cost.describe()}: reference {self.reference.name} {reference_ms:.3f} ms"

    def objective(self, device: torch.device) -> Evaluator:
        settings = self.settings
        return Evaluator(
            self.space,
            self.data(device),
            self.proxy,
            self.target,
            self.scoring,
            settings,
            self.seed,
            self.protocol,
            self.scorer,
            self.latency_cost,
        )

    def remaining(self, study: optuna.Study) -> int:
        return self.settings.n_trials - count_started(study)

    def total(self) -> int:
        return self.settings.n_trials

    def status(self, study: optuna.Study) -> str | None:
        best = best_trial(study)
        return f"best reward {best.user_attrs['reward']:.4f}" if best and "reward" in best.user_attrs else None

    def write_outputs(self, study: optuna.Study, out: Path, storage_url: str) -> dict[str, Any]:
        reference_cost = self.target.cost(self.reference)
        dataset = self.dataset.describe(self.raw)
        reference_ms = self.latency_cost(self.reference).median_ms if self.latency_cost is not None else None
        return write_outputs(
            study, out, storage_url, self.reference, reference_cost, self.scoring, dataset, reference_ms
        )

    def describe(self, summary: dict[str, Any]) -> str:
        return describe_best(summary)
