"""``run_search``: the search as a Python call, what ``python -m nas.search`` runs.

    from nas import SearchConfig, SearchSettings, DatasetSpec, run_search
    found = run_search("efficientnet_b0", SearchConfig(search=SearchSettings(n_trials=4), dataset=DatasetSpec("digits")))
    found.best, found.genotype

Settings are the typed values of the command's config sections; nothing here needs Hydra, and
nothing is printed unless a :class:`~nas.studies.run.Progress` says where.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nas.search.job import SearchJob
from nas.search.settings import SearchConfig
from nas.studies.run import Progress, StudyRun, run_study
from nas.studies.storage import StudySettings
from nas.studies.workers import WorkerSettings
from search_spaces.codec import load_genotype
from search_spaces.genotype import Genotype
from search_spaces.spec import resolve_spec


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
    config: SearchConfig | None = None,
    *,
    study: StudySettings | None = None,
    worker: WorkerSettings | None = None,
    out: str | Path = "runs/api/search",
    progress: Progress | None = None,
) -> SearchResult:
    """Search the space around ``reference`` (a genotype, a reference name, a genotype file or block strings).

    ``study``: its storage and name (default: the experiment's own study in ``runs/studies.db``);
    ``config.json`` in ``out`` records ``config``.
    """
    job = SearchJob(resolve_spec(reference), config or SearchConfig())
    run = run_study(job, study=study, worker=worker, out=out, progress=progress)
    return SearchResult(run.study, run.summary, run.status, run.out)
