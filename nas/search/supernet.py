"""The search with a supernet (``search.supernet=auto|PATH``): thousands ranked cheaply, the best few trained.

When the study starts (once: the ranking is stored with it, attribute ``supernet_ranking``), the
supernet is obtained (``nas.supernet.store``), and an evolutionary search scores
``supernet.candidates`` members by the study's own reward with the supernet's accuracy in place of
the proxy's (``exp(-loss)`` with ``supernet.score=loss``), FLOPs counted analytically at the target
input (the same count as fvcore's) or the study's latency, ``search.max_flops`` and
``search.max_latency_ms`` respected.  The ``supernet.top`` fittest are enqueued as the first trials
after the reference and trained stand-alone by the ordinary proxy, so every reward in the study
means what it means in any other search.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from nas.proxy.data import ProxyData
from nas.search.latency import LatencyCost
from nas.search.objective import Reward
from nas.search.settings import SearchConfig
from nas.supernet.evaluation import SubnetScore, SubnetScorer
from nas.supernet.evolution import evolve
from nas.supernet.store import obtain_supernet
from nas.supernet.training import SupernetRun
from search_spaces.codec import format_blocks
from search_spaces.flops import estimate_flops
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace

RANKING_ATTR = "supernet_ranking"
RANK_ATTR = "supernet_rank"
KEPT_ROWS = 50  # the fittest members stored with the study (all are counted)


def supernet_identity(config: SearchConfig) -> dict[str, Any] | None:
    """The supernet part of a search's strategy (None without one): which supernet, and how it ranks."""
    choice, settings = config.search.supernet, config.supernet
    if choice == "none":
        return None
    if choice == "auto":
        return {"source": "auto", "training": settings.identity(), "ranking": settings.ranking_identity()}
    return {"source": str(Path(choice).expanduser().resolve()), "ranking": settings.ranking_identity()}


def accuracy_term(score: SubnetScore, kind: str) -> float:
    """What stands for ACC in the reward: the supernet's accuracy, or ``exp(-loss)`` when ranking by loss."""
    return score.accuracy if kind == "accuracy" else math.exp(-score.loss)


def supernet_warm_up(
    study: optuna.Study,
    space: MnasNetSpace,
    data: ProxyData,
    config: SearchConfig,
    reward: Reward,
    latency: LatencyCost | None,
    dataset: dict[str, Any],
) -> str:
    """Rank the space with the supernet (once per study), enqueue the fittest; returns what it did."""
    stored = study.user_attrs.get(RANKING_ATTR)
    if stored is not None:
        return f"supernet: the study's {stored['candidates']} candidates were ranked by its supernet before"
    settings, search = config.supernet, config.search
    run = SupernetRun(space, data, config.proxy, settings, config.seed, dataset)
    start = time.perf_counter()
    trained, path = obtain_supernet(run, search.supernet, Path(settings.store))
    prepared = time.perf_counter() - start
    scorer = SubnetScorer(trained.net, data, settings, config.proxy)
    cost, allowed = costing(config, latency)

    def fitness(genotype: Genotype) -> float:
        return reward(accuracy_term(scorer(genotype), settings.score), cost(genotype))

    ranked = evolve(space, fitness, settings.evolution, config.seed, allowed)
    for rank, (genotype, value) in enumerate(ranked[: settings.top], start=1):
        attrs = {RANK_ATTR: rank, "supernet_fitness": value, "supernet": scorer.value(genotype)}
        study.enqueue_trial(space.encode(genotype), user_attrs=attrs, skip_if_exists=True)
    study.set_user_attr(
        RANKING_ATTR,
        {
            "supernet": str(path),
            "supernet_seconds": round(trained.seconds, 1),
            "seconds": round(time.perf_counter() - start, 1),
            "candidates": len(ranked),
            "subnets_per_minute": scorer.per_minute,
            "rows": [[",".join(format_blocks(g)), v, cost(g)] for g, v in ranked[:KEPT_ROWS]],
        },
    )
    return (
        f"supernet: {path} ready in {prepared:.0f} s; {len(ranked)} candidates ranked by the reward with its "
        f"{settings.score} ({scorer.per_minute or 0:.0f}/min); the top {min(settings.top, len(ranked))} follow the reference"
    )


def costing(
    config: SearchConfig, latency: LatencyCost | None
) -> tuple[Callable[[Genotype], float], Callable[[Genotype], bool]]:
    """(the reward's cost of a member, whether the search's caps allow it), both without building a model."""
    target, search = config.target, config.search

    def flops(genotype: Genotype) -> int:
        return estimate_flops(
            genotype, target.resolution, in_chans=target.in_chans, num_classes=target.num_classes
        ).total

    def cost(genotype: Genotype) -> float:
        if config.objective.on_latency and latency is not None:
            return latency(genotype).median_ms
        return flops(genotype)

    def allowed(genotype: Genotype) -> bool:
        if search.max_flops is not None and flops(genotype) > search.max_flops:
            return False
        cap = search.max_latency_ms
        return cap is None or latency is None or latency(genotype).median_ms <= cap

    return cost, allowed
