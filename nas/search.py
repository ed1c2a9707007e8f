"""``python -m nas.search``: MnasNet-style search for the baseline network, driven by Optuna.

The entry turns the Hydra config into plain values and a :class:`~nas.search_study.SearchJob`;
``nas.cli.command.run_study`` opens or resumes the study and runs this worker's trials.
"""

from __future__ import annotations

import sys
from typing import Any

from omegaconf import DictConfig

from nas.cli.app import hydra_entry, run_dir, to_container, typed
from nas.cli.command import RunSettings, run_study
from nas.cli.workers import WorkerSettings
from nas.objective import Reward
from nas.proxy.data import DataSizes
from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig
from nas.search_study import SearchJob, SearchSettings
from nas.studies.storage import StorageSettings
from search_spaces.cost import Target
from search_spaces.spec import resolve_spec

PROG = "python -m nas.search"


def run(cfg: DictConfig) -> dict[str, Any]:
    worker = WorkerSettings(cfg.device, cfg.threads, cfg.worker, 1 if cfg.workers is None else cfg.workers)
    job = SearchJob(
        reference=resolve_spec(cfg.space.reference),
        settings=typed(SearchSettings, cfg.search),
        reward=Reward(cfg.objective.mode, float(cfg.objective.target_flops), float(cfg.objective.w)),
        proxy=typed(ProxyConfig, cfg.proxy),
        sizes=typed(DataSizes, cfg.proxy),
        target=typed(Target, cfg.target),
        dataset=typed(DatasetSpec, cfg.dataset),
        seed=cfg.seed,
    )
    storage = typed(StorageSettings, cfg.study, url=cfg.study.storage)
    result = run_study(
        PROG, job, cfg.study.name, storage, worker, RunSettings(run_dir(), to_container(cfg), cfg.progress)
    )
    if result.status:
        sys.exit(result.status)
    return result.summary


main = hydra_entry(PROG, "search", run, workers=True)

if __name__ == "__main__":
    main()
