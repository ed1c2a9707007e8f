"""``python -m nas.search``: MnasNet-style search for the baseline network, driven by Optuna.

The entry turns the Hydra config into plain values and a :class:`~nas.search.job.SearchJob`;
``nas.cli.command.run_study`` opens or resumes the study and runs this worker's trials.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from nas.cli.app import hydra_entry, proxy_task, typed
from nas.cli.command import study_command
from nas.search.job import SearchJob, SearchSettings
from nas.search.latency import LatencySource
from nas.search.objective import Reward
from search_spaces.latency.measure import LatencySettings
from search_spaces.spec import resolve_spec

PROG = "python -m nas.search"


def reward_of(objective: DictConfig) -> Reward:
    """The reward an ``objective`` section sets (FLOPs or latency as the cost)."""
    latency = objective.get("target_latency_ms")
    return Reward(
        objective.mode,
        float(objective.target_flops),
        float(objective.w),
        objective.get("cost", "flops"),
        None if latency is None else float(latency),
    )


def search_job_of(cfg: DictConfig, proxy: DictConfig | None = None) -> SearchJob:
    """The search a config describes (``proxy``: its proxy section when not ``cfg.proxy``, as in the pipeline)."""
    return SearchJob(
        reference=resolve_spec(cfg.space.reference, storage=cfg.study.storage),
        settings=typed(SearchSettings, cfg.search),
        reward=reward_of(cfg.objective),
        latency=typed(LatencySettings, cfg.target),
        latency_source=typed(LatencySource, cfg.objective),
        **proxy_task(cfg, proxy),
    )


def run(cfg: DictConfig) -> dict[str, Any]:
    return study_command(PROG, search_job_of(cfg), cfg)


main = hydra_entry(PROG, "search", run, workers=True)

if __name__ == "__main__":
    main()
