"""The Python API of scaling: the grid search, a family, as plain functions (no Hydra needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nas.api import run_api_study, storage_url
from nas.cli.command import StudyRun
from nas.proxy.data import DataSizes
from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig
from nas.studies.storage import DEFAULT_STORAGE, StorageSettings
from nas.studies.workers import WorkerSettings
from scaling.candidate import ScaledCandidate
from scaling.coefficients import Coefficients, parse_coefficients
from scaling.compound import check_phi, parse_phis
from scaling.family import compound_family
from scaling.grid_points import GridSettings
from scaling.grid_study import GRID_PROXY, GRID_SIZES, GridJob
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter, LatencySettings
from search_spaces.spec import resolve_spec

MEASURED = LatencySettings()
"""The commands' default: latency measured on one CPU thread at batch 1 (``conf/target/default.yaml``)."""


@dataclass(frozen=True)
class GridResult(StudyRun):
    """A finished (or stopped) grid: ``best`` is the chosen point, ``triple`` its (alpha, beta, gamma)."""

    @property
    def triple(self) -> tuple[float, float, float]:
        if self.best is None:
            raise ValueError(f"no point of study {self.study!r} was fully trained, so there is no best triple")
        return self.best["alpha"], self.best["beta"], self.best["gamma"]


def run_grid(
    baseline: Genotype | str,
    phi: float = 1.0,
    dataset: DatasetSpec | None = None,
    sizes: DataSizes = GRID_SIZES,
    proxy: ProxyConfig = GRID_PROXY,
    settings: GridSettings | None = None,
    *,
    target: Target | None = None,
    latency: LatencySettings | None = MEASURED,
    seed: int = 0,
    storage: str | StorageSettings = DEFAULT_STORAGE,
    study_name: str | None = None,
    out: str | Path = "runs/api/grid",
    worker: WorkerSettings | None = None,
    progress: bool = False,
) -> GridResult:
    """Grid-search compound coefficients for ``baseline`` at ``phi``; what ``python -m scaling.grid`` runs.

    ``latency``: where each point's latency is measured (None: not measured).
    """
    job = GridJob(
        resolve_spec(baseline, storage=storage_url(storage)),
        check_phi(phi),
        settings or GridSettings(),
        proxy,
        sizes,
        target or Target(),
        dataset or DatasetSpec(),
        seed,
        latency,
    )
    return GridResult(**vars(run_api_study(job, study_name, storage, worker, out, progress)))


def make_family(
    baseline: Genotype | str,
    coefficients: Coefficients | tuple[float, float, float] | str,
    phis: Sequence[float] = (1, 2, 3, 4, 5, 6, 7),
    target: Target | None = None,
    storage: str = DEFAULT_STORAGE,
    latency: LatencySettings | None = MEASURED,
) -> list[ScaledCandidate]:
    """The baseline and one member per phi; what ``python -m scaling.family`` writes.

    ``coefficients`` may be a grid's ``coefficients.yaml`` or ``grid:STUDY``: it must then belong to
    ``baseline``.  ``storage`` is where ``search:STUDY`` and ``grid:STUDY`` are looked up; ``latency``
    is where each member's latency is measured (None: not measured).
    """
    genotype = resolve_spec(baseline, storage=storage)
    if not isinstance(coefficients, Coefficients):
        coefficients = parse_coefficients(coefficients, storage=storage)
    coefficients.check_baseline(genotype)
    target = target or Target()
    meter = None if latency is None else LatencyMeter(target, latency)
    return compound_family(genotype, coefficients.triple, parse_phis(list(phis)), target, meter)
