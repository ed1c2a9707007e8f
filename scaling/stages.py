"""The pipeline as one call: search -> grid on the search's best -> family -> comparison -> ``report.md``.

Each training stage is a study named ``<name>-<stage>`` in one storage, run by
:func:`~nas.studies.run.run_study` as its own command runs it: running the pipeline again resumes
the stage that was stopped and only rewrites the outputs of finished ones.  The output folder gets
one folder per stage, ``report.md`` and ``summary.json`` (:mod:`scaling.report`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from nas.proxy.datasets import DatasetSpec
from nas.proxy.recipe import ProxyConfig
from nas.search.job import SearchJob
from nas.search.objective import Reward
from nas.search.settings import SearchConfig, SearchSettings
from nas.studies.job import StudyJob
from nas.studies.run import Progress, StudyRun, run_study
from nas.studies.storage import MEMORY, StudySettings
from nas.studies.workers import WorkerSettings
from scaling.compare_study import METHODS, CompareConfig, CompareJob, CompareSettings
from scaling.compound import parse_phis
from scaling.grid_points import GridSettings
from scaling.grid_study import GRID_PROXY, GridConfig, GridJob
from scaling.members import family_at_cost, write_family
from scaling.report import Report, write_report
from search_spaces.codec import load_genotype
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter

Settings = TypeVar("Settings")


@dataclass(frozen=True)
class SearchStage(SearchSettings):
    """``search``: the search's settings, and the proxy it trains candidates on (``search.proxy``)."""

    proxy: ProxyConfig = field(default_factory=ProxyConfig)


@dataclass(frozen=True)
class GridStage(GridSettings):
    """``grid``: the grid's settings, its ``phi`` and its proxy (``grid.proxy``)."""

    phi: float = 1.0  # the grid's phi (python -m scaling.grid --phi)
    proxy: ProxyConfig = field(default_factory=lambda: GRID_PROXY)


@dataclass(frozen=True)
class FamilyStage:
    """``family``: the phis the baseline is scaled to (held to cost as ``compare.equal_cost`` says)."""

    phis: Any = (1, 2, 3, 4, 5, 6, 7)


@dataclass(frozen=True)
class CompareStage:
    """``compare``: the phis and methods compared, and their proxy (``compare.proxy``)."""

    phis: Any = (1, 2)
    methods: tuple[str, ...] = METHODS
    proxy: ProxyConfig = field(default_factory=lambda: GRID_PROXY)
    equal_cost: bool = True  # as scaling.compare's compare.equal_cost; the family stage follows it
    cost_tolerance: float = 0.1


@dataclass(frozen=True)
class PipelineConfig:
    """Everything the pipeline reads: the shared dataset, target, seed and latency switch, and each stage's settings."""

    dataset: DatasetSpec = field(default_factory=DatasetSpec)
    target: Target = field(default_factory=Target)
    objective: Reward = field(default_factory=Reward)
    search: SearchStage = field(default_factory=SearchStage)
    grid: GridStage = field(default_factory=GridStage)
    family: FamilyStage = field(default_factory=FamilyStage)
    compare: CompareStage = field(default_factory=CompareStage)
    seed: int = 0
    latency: bool = True  # measure every scaled model's latency on target.device (grid, family, compare)

    def __post_init__(self) -> None:
        # Every stage's settings are checked before the first stage runs.
        self.grid_config(), self.compare_config()
        parse_phis(self.family.phis)

    def search_config(self) -> SearchConfig:
        task = {"dataset": self.dataset, "target": self.target, "seed": self.seed}
        search = _base(self.search, SearchSettings)
        return SearchConfig(**task, proxy=self.search.proxy, search=search, objective=self.objective)

    def grid_config(self) -> GridConfig:
        task = {"dataset": self.dataset, "target": self.target, "seed": self.seed, "latency": self.latency}
        return GridConfig(**task, proxy=self.grid.proxy, phi=self.grid.phi, grid=_base(self.grid, GridSettings))

    def compare_config(self) -> CompareConfig:
        task = {"dataset": self.dataset, "target": self.target, "seed": self.seed, "latency": self.latency}
        compare = self.compare
        settings = CompareSettings(equal_cost=compare.equal_cost, cost_tolerance=compare.cost_tolerance)
        return CompareConfig(
            **task, proxy=compare.proxy, phis=compare.phis, methods=tuple(compare.methods), compare=settings
        )


def _base(settings: Any, cls: type[Settings]) -> Settings:
    """A stage's settings without the pipeline's additions (``proxy``, ``phi``): the command's own settings."""
    return cls(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class PipelineResult:
    """What a pipeline run left: its summary and report, or the stage it stopped in and the exit status."""

    summary: dict[str, Any] | None
    report: Path | None
    status: int = 0
    stopped_in: str | None = None


class _Stopped(Exception):
    def __init__(self, stage: str, status: int) -> None:
        super().__init__(stage)
        self.stage, self.status = stage, status


@dataclass
class Stages:
    """Where the stages run: one storage, this worker, the output folder, the study names."""

    name: str
    study: StudySettings
    worker: WorkerSettings
    out: Path
    progress: Progress
    seconds: dict[str, float] = field(default_factory=dict)  # each stage's wall clock in this run
    current: str = "search"  # the stage running now (where a stop signal lands)

    def run(self, stage: str, job: StudyJob) -> StudyRun:
        """Run (or resume) one stage's study; a stopped stage ends the pipeline with its exit status."""
        self.begin(stage)
        start = time.perf_counter()
        study = dataclasses.replace(self.study, name=f"{self.name}-{stage}")
        result = run_study(job, study=study, worker=self.worker, out=self.out / stage, progress=self.progress)
        if result.status:
            raise _Stopped(stage, result.status)
        if result.best is None:
            hint = "; widen grid.band or grid.cost_tolerance" if result.summary.get("n_feasible") == 0 else ""
            raise ValueError(
                f"the {stage} stage (study {result.study!r}) finished no candidate{hint}, so the pipeline stops "
                "(finished stages are kept)"
            )
        self.seconds[stage] = round(time.perf_counter() - start, 1)
        return result

    def begin(self, stage: str) -> None:
        self.current = stage
        self.progress.line(f"\n== {stage} ==")


def run_pipeline(
    reference: Genotype,
    config: PipelineConfig,
    *,
    name: str,
    study: StudySettings | None = None,
    worker: WorkerSettings | None = None,
    out: str | Path = "runs/api/pipeline",
    commands: Mapping[str, str] | None = None,
    argv: Sequence[str] = (),
    progress: Progress | None = None,
) -> PipelineResult:
    """Search around ``reference``, scale its best, compare, report; what ``python -m scaling.pipeline`` runs.

    ``name`` names the stages' studies (``<name>-search``, ...), in ``study.storage`` (None: in memory);
    ``commands`` are the command lines that reproduce each stage, and ``argv`` the pipeline's own, for the report.
    """
    progress = progress or Progress()
    study = study or StudySettings(storage=MEMORY)
    stages = Stages(name, study, worker or WorkerSettings(), Path(out), progress)
    searching = SearchJob(reference, config.search_config())
    try:
        search = stages.run("search", searching)
        baseline = load_genotype(search.out / "best.yaml")
        grid = stages.run("grid", GridJob(baseline, config.grid_config()))
        triple = (grid.best["alpha"], grid.best["beta"], grid.best["gamma"])  # type: ignore[index]
        family = write_stage_family(stages, baseline, triple, config)
        compare = stages.run("compare", CompareJob(baseline, triple, config.compare_config()))
    except _Stopped as stop:
        return PipelineResult(None, None, stop.status, stop.stage)
    except KeyboardInterrupt:  # between two stages' guards (e.g. while a stage loads its data)
        return PipelineResult(None, None, 130, stages.current)
    runs = {"search": search, "grid": grid, "compare": compare}
    dataset = config.dataset.describe(searching.raw)
    report = Report(name, dataset, runs, family, config.grid.phi, dict(commands or {}), stages.seconds, list(argv))
    path = write_report(report, stages.out)
    progress.line(f"\nreport: {path}")
    return PipelineResult(report.summary(), path)


def write_stage_family(
    stages: Stages, baseline: Genotype, triple: tuple[float, float, float], config: PipelineConfig
) -> Path:
    """The family stage: no training, one member per phi written to ``family/``."""
    stages.begin("family")
    start = time.perf_counter()
    meter = LatencyMeter(config.target) if config.latency else None
    # held to the comparison's cost, so the family's members are the compared ones
    compare, phis = config.compare, parse_phis(config.family.phis)
    held = (compare.equal_cost, compare.cost_tolerance, "compare.equal_cost")
    members, moves = family_at_cost(baseline, triple, phis, config.target, meter, *held)
    for line in moves:
        stages.progress.line(line)
    write_family(members, stages.out / "family", f"{baseline.name} family, alpha, beta, gamma = {triple}")
    stages.seconds["family"] = round(time.perf_counter() - start, 1)
    return stages.out / "family"
