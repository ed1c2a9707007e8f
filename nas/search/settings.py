"""The search's settings: ``search`` (with ``search.prescreen``), and all a search reads as one value."""

from __future__ import annotations

from dataclasses import dataclass, field

from nas.proxy.task import TaskConfig
from nas.screening.ranking import RANKINGS, check_score_names
from nas.search.objective import Reward
from nas.supernet.settings import SupernetSettings

PRUNERS = ("median", "hyperband", "none")


@dataclass(frozen=True)
class SearchPrescreen:
    """``search.prescreen``: which score, how large a pool, how many warm-up trials, how many proposals."""

    score: str = "none"  # a score name, -score (lowest first), vote, or none (no pre-screen)
    pool: int = 200  # candidates scored once when the study is created, stored with it
    top: int = 5  # the pool's best become the first trials (after the reference)
    k: int = 1  # random and rl samplers: each trial trains the best-scored of k proposals
    batch_size: int = 64  # images every score sees

    def __post_init__(self) -> None:
        check_score_names(self.score, "search.prescreen.score", (*RANKINGS, "none"))
        for name, least in (("pool", 1), ("top", 0), ("k", 1), ("batch_size", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"search.prescreen.{name} must be an integer >= {least}, got {value!r}")
        if self.top > self.pool:
            raise ValueError(f"search.prescreen.top ({self.top}) must be <= search.prescreen.pool ({self.pool})")
        if self.k > 1 and not self.enabled:
            raise ValueError("search.prescreen.k > 1 needs search.prescreen.score (a score or vote), not none")

    @property
    def enabled(self) -> bool:
        return self.score != "none"


@dataclass(frozen=True)
class SearchSettings:
    """The ``search`` settings: the strategy, the budget, the caps."""

    sampler: str = "tpe"  # tpe, random, nsga2 (multi-objective), rl (the MnasNet controller)
    pruner: str = "median"  # median, hyperband, none
    n_trials: int = 20  # the study's total: running the search again continues the study up to it
    max_flops: float | None = None  # reject candidates above this many FLOPs (at the target input) before training
    max_latency_ms: float | None = None  # reject candidates slower than this (ms on target.device) before training
    enqueue_reference: bool = True  # the reference genotype is the study's first trial: the baseline to beat
    max_failures: int = 5  # stop after more than this many failed candidates in a row
    prescreen: SearchPrescreen = field(default_factory=SearchPrescreen)
    supernet: str = "none"  # none; auto (this task's supernet, trained when missing); or a supernet.pt

    def __post_init__(self) -> None:
        if not isinstance(self.supernet, str) or not self.supernet.strip():
            raise ValueError(f"search.supernet must be none, auto or a supernet.pt file, got {self.supernet!r}")
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


@dataclass(frozen=True)
class SearchConfig(TaskConfig):
    """Everything a search reads: the proxy task (dataset, proxy, target, seed), ``search`` and ``objective``."""

    search: SearchSettings = field(default_factory=SearchSettings)
    objective: Reward = field(default_factory=Reward)
    supernet: SupernetSettings = field(default_factory=SupernetSettings)  # used when search.supernet is not none

    def __post_init__(self) -> None:
        if self.search.supernet != "none" and self.objective.multi_objective:
            raise ValueError(
                "search.supernet ranks candidates by one reward: use objective.mode soft or hard, "
                "not the multi-objective mode"
            )
