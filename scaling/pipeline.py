"""``python -m scaling.pipeline``: search -> grid on the search's best -> family -> comparison -> report.

Each training stage is a study named ``<pipeline.name>-<stage>`` in the configured storage, run
by the same skeleton as its own command (``nas.cli.command.run_study``): running the pipeline
again resumes the stage that was stopped and only rewrites the outputs of finished ones.  The
run directory gets one folder per stage and ``report.md`` (``scaling.report``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from nas.cli.app import hydra_entry, plain, proxy_task, run_dir, scaled_latency, to_container, typed
from nas.cli.command import RunSettings, StudyRun, run_study
from nas.search.__main__ import search_job_of
from nas.studies.storage import StorageSettings
from nas.studies.workers import WorkerSettings
from scaling.compare_study import CompareJob, check_methods
from scaling.compound import check_phi, parse_phis
from scaling.family import compound_family, write_family
from scaling.grid_points import GridSettings
from scaling.grid_study import GridJob
from scaling.report import Report, write_report
from scaling.stage_commands import plain_groups, stage_command
from search_spaces.codec import load_genotype
from search_spaces.latency.measure import LatencyMeter

PROG = "python -m scaling.pipeline"
SHARED = {"dataset": "dataset", "target": "target", "seed": "seed"}  # stage key: pipeline key


@dataclass(frozen=True)
class Stages:
    """Where the stages run: storage, device and threads, the run directory, the study names."""

    name: str
    storage: StorageSettings
    worker: WorkerSettings
    out: Path
    config: dict[str, Any]
    progress: bool
    seconds: dict[str, float] = field(default_factory=dict)  # each stage's wall clock in this run

    def run(self, stage: str, job: Any) -> StudyRun:
        """Run (or resume) one stage's study; a stopped stage ends the pipeline with its exit status."""
        print(f"\n== {stage} ==", flush=True)
        start = time.perf_counter()
        settings = RunSettings(self.out / stage, self.config, self.progress)
        try:
            result = run_study(PROG, job, self.study(stage), self.storage, self.worker, settings)
        except KeyboardInterrupt:  # between two stages' guards (e.g. while this one loads its data)
            self.stopped(stage, 130)
        if result.status:
            self.stopped(stage, result.status)
        if result.best is None:
            raise ValueError(f"the {stage} stage (study {result.study!r}) finished no candidate, so the pipeline stops")
        self.seconds[stage] = round(time.perf_counter() - start, 1)
        return result

    def stopped(self, stage: str, status: int) -> NoReturn:
        print(f"{PROG}: stopped in the {stage} stage; run the same command again to resume it", file=sys.stderr)
        sys.exit(status)

    def study(self, stage: str) -> str:
        return f"{self.name}-{stage}"


def run(cfg: DictConfig) -> dict[str, Any]:
    storage = typed(StorageSettings, cfg.study, url=cfg.study.storage)
    worker = WorkerSettings(cfg.device, cfg.threads)
    stages = Stages(str(cfg.pipeline.name), storage, worker, run_dir(), to_container(cfg), cfg.progress)
    phi = check_phi(cfg.grid.phi)
    family_phis, compare_phis = parse_phis(plain(cfg.family.phis)), parse_phis(plain(cfg.compare.phis))
    methods = check_methods([str(m) for m in plain(cfg.compare.methods)])  # before any stage runs
    search_job = search_job_of(cfg, cfg.search.proxy)
    latency = scaled_latency(cfg)
    search = stages.run("search", search_job)
    baseline = load_genotype(search.out / "best.yaml")
    grid_job = GridJob(baseline, phi, typed(GridSettings, cfg.grid), latency=latency, **proxy_task(cfg, cfg.grid.proxy))
    grid = stages.run("grid", grid_job)
    triple = (grid.best["alpha"], grid.best["beta"], grid.best["gamma"])
    print("\n== family ==", flush=True)
    start = time.perf_counter()
    meter = None if latency is None else LatencyMeter(search_job.target, latency)
    members = compound_family(baseline, triple, family_phis, search_job.target, meter)
    write_family(members, stages.out / "family", f"{baseline.name} family, alpha, beta, gamma = {triple}")
    stages.seconds["family"] = round(time.perf_counter() - start, 1)
    compare_job = CompareJob(
        baseline, triple, tuple(compare_phis), methods, latency=latency, **proxy_task(cfg, cfg.compare.proxy)
    )
    compare = stages.run("compare", compare_job)
    report = Report(
        name=stages.name,
        dataset=search_job.dataset.describe(search_job.raw),
        stages={"search": search, "grid": grid, "compare": compare},
        family=stages.out / "family",
        phi=phi,
        commands=commands(cfg, stages),
        seconds=stages.seconds,
    )
    path = write_report(report, stages.out)
    print(f"\nreport: {path}")
    return report.summary()


def commands(cfg: DictConfig, stages: Stages) -> dict[str, str]:
    """The command line that reproduces each stage on its own (and finds the same study)."""
    choices = HydraConfig.get().runtime.choices
    dataset, storage = [f"dataset={choices['dataset']}"], [f"study.storage={cfg.study.storage}"]
    search_ref, grid_ref = f"baseline=search:{stages.study('search')}", f"coefficients=grid:{stages.study('grid')}"
    study = {stage: [*storage, f"study.name={stages.study(stage)}"] for stage in ("search", "grid", "compare")}
    search = {**SHARED, "proxy": "search.proxy", "search": "search", "objective": "objective", "space": "space"}
    grid = {**SHARED, "latency": "latency", "proxy": "grid.proxy", "grid": "grid"}
    compare = {
        **SHARED,
        "latency": "latency",
        "proxy": "compare.proxy",
        "phis": "compare.phis",
        "methods": "compare.methods",
    }
    choice = [*dataset, f"objective={choices['objective']}"]
    return {
        "search": stage_command("nas.search", "search", choice, plain_groups(cfg, search), study["search"]),
        "grid": stage_command(
            "scaling.grid",
            "grid",
            dataset,
            plain_groups(cfg, grid),
            [search_ref, f"phi={phi_text(cfg)}", *study["grid"]],
        ),
        "family": stage_command(
            "scaling.family",
            "family",
            [],
            plain_groups(cfg, {"target": "target", "phis": "family.phis", "latency": "latency"}),
            [search_ref, grid_ref, *storage],
        ),
        "compare": stage_command(
            "scaling.compare", "compare", dataset, plain_groups(cfg, compare), [search_ref, grid_ref, *study["compare"]]
        ),
    }


def phi_text(cfg: DictConfig) -> str:
    return f"{float(cfg.grid.phi):g}"


main = hydra_entry(PROG, "pipeline", run)

if __name__ == "__main__":
    main()
