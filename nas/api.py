"""The Python API: what the commands run, as plain functions with typed arguments and results.

    from nas import DatasetSpec, SearchSettings, run_search
    found = run_search("efficientnet_b0", SearchSettings(n_trials=4), DatasetSpec("digits"))
    found.best, found.genotype

Every argument has the default of the command's YAML config; nothing here needs Hydra.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nas.cli.command import RunSettings, StudyRun, run_study
from nas.proxy.data import DataSizes, ProxyDataCache
from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig, ProxyResult, train_proxy
from nas.search.job import SearchJob, SearchSettings
from nas.search.latency import LatencySource
from nas.search.objective import Reward
from nas.studies.storage import DEFAULT_STORAGE, StorageSettings
from nas.studies.workers import WorkerSettings
from search_spaces.codec import load_genotype
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencySettings
from search_spaces.spec import resolve_spec

PROG = "nas.api"


@dataclass(frozen=True)
class SearchResult(StudyRun):
    """A finished (or stopped) search: ``best`` is its summary of the best trial, ``genotype`` that network."""

    @property
    def genotype(self) -> Genotype:
        """The best genotype, as written to ``best.yaml`` (a SPEC for every command)."""
        if self.best is None:
            raise ValueError(f"no candidate of study {self.study!r} finished, so there is no best genotype")
        return load_genotype(self.out / "best.yaml")


def run_search(
    reference: Genotype | str = "efficientnet_b0",
    settings: SearchSettings | None = None,
    dataset: DatasetSpec | None = None,
    sizes: DataSizes | None = None,
    proxy: ProxyConfig | None = None,
    *,
    reward: Reward | None = None,
    target: Target | None = None,
    latency: LatencySettings | None = None,
    latency_source: LatencySource | None = None,
    seed: int = 0,
    storage: str | StorageSettings = DEFAULT_STORAGE,
    study_name: str | None = None,
    out: str | Path = "runs/api/search",
    worker: WorkerSettings | None = None,
    progress: bool = False,
) -> SearchResult:
    """Search the space around ``reference`` (a genotype or SPEC); what ``python -m nas.search`` runs."""
    job = SearchJob(
        resolve_spec(reference, storage=storage_url(storage)),
        settings or SearchSettings(),
        reward or Reward(),
        proxy or ProxyConfig(),
        sizes or DataSizes(),
        target or Target(),
        dataset or DatasetSpec(),
        seed,
        latency or LatencySettings(),
        latency_source or LatencySource(),
    )
    return SearchResult(**vars(run_api_study(job, study_name, storage, worker, out, progress)))


def storage_url(storage: str | StorageSettings) -> str:
    """The URL of an API ``storage`` argument (where a ``search:STUDY`` SPEC is looked up, too)."""
    return storage.url if isinstance(storage, StorageSettings) else storage


def run_api_study(
    job: Any,
    study_name: str | None,
    storage: str | StorageSettings,
    worker: WorkerSettings | None,
    out: Any,
    progress: bool,
) -> StudyRun:
    """``run_study`` with the API's plain arguments; the job's settings are recorded in ``config.json``."""
    settings = storage if isinstance(storage, StorageSettings) else StorageSettings(url=storage)
    fields = {f.name: getattr(job, f.name) for f in dataclasses.fields(job)}
    config = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else str(v) for k, v in fields.items()}
    run = RunSettings(Path(out), config, progress)
    return run_study(PROG, job, study_name, settings, worker or WorkerSettings(), run)


def train_genotype(
    genotype: Genotype | str,
    dataset: DatasetSpec | None = None,
    sizes: DataSizes | None = None,
    proxy: ProxyConfig | None = None,
    seed: int = 0,
    worker: WorkerSettings | None = None,
    storage: str = DEFAULT_STORAGE,
) -> ProxyResult:
    """Train one genotype on the proxy task and score it on the test split; what ``nas.train`` runs.

    ``storage`` is where a ``search:STUDY`` SPEC is looked up.
    """
    genotype = resolve_spec(genotype, storage=storage)
    device = (worker or WorkerSettings()).start()
    data = ProxyDataCache((dataset or DatasetSpec()).load(), sizes or DataSizes(), device).at()
    return train_proxy(genotype, data, proxy or ProxyConfig(), seed, evaluate_test=True)
