"""The one skeleton of every command that runs a study.

validate input (one line, exit 2) -> device and threads -> storage -> study -> run under the
stop guard -> outputs -> exit status.  A command's entry turns its config into plain values
and a :class:`~nas.studies.job.StudyJob`; :func:`run_study` does the rest the same way for every study.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from nas.cli.app import run_dir, to_container, typed
from nas.cli.guard import guarded
from nas.studies.job import StudyJob
from nas.studies.loop import run_trials
from nas.studies.storage import StorageSettings, TrialCreationLock, open_storage
from nas.studies.study import open_study
from nas.studies.workers import WorkerSettings


@dataclass(frozen=True)
class StudyRun:
    """What a run of a study left: its name, summary, exit status (0, or 1/130/143 when stopped) and outputs."""

    study: str
    summary: dict[str, Any]
    status: int
    out: Path

    @property
    def best(self) -> dict[str, Any] | None:
        """The summary of the study's best trial (every study's summary names one, or None)."""
        return self.summary["best"]


@dataclass(frozen=True)
class RunSettings:
    """Where a command's outputs go and what it records about itself."""

    out: Path
    config: dict[str, Any] = field(default_factory=dict)  # written as config.json
    progress: bool = True


def run_study(
    prog: str,
    job: StudyJob,
    study_name: str | None,
    storage: StorageSettings,
    worker: WorkerSettings,
    run: RunSettings,
) -> StudyRun:
    """Open (or resume) the study, run this worker's trials, write the outputs.

    ``study_name`` None means the experiment's own default name (``job.default_name()``).
    """
    device = worker.start()
    study_name = study_name or job.default_name()
    opened = open_storage(storage)
    study, created = open_study(
        opened, study_name, job.directions, job.sampler(worker.worker), job.pruner(), job.identity()
    )
    started = job.total() - job.remaining(study)
    state = "new" if created else "resumed"
    print(f"study {study_name!r} on {storage.url} ({state}, {started}/{job.total()} started); device {device}")
    lock = TrialCreationLock(opened, study_name)
    lock.acquire()  # what start() enqueues comes before any other worker's first trial
    try:
        print(job.start(study, created, device), flush=True)
    finally:
        lock.release()
    objective = job.objective(device)
    run.out.mkdir(parents=True, exist_ok=True)
    (run.out / "config.json").write_text(json.dumps(run.config, indent=2) + "\n")
    summary, status = guarded(
        prog,
        lambda: run_trials(
            study,
            objective,
            job.protocol,
            lambda: job.remaining(study),
            job.total(),
            lock,
            run.progress,
            lambda: job.status(study),
        ),
        lambda: job.write_outputs(study, run.out, storage.url),
    )
    print(job.describe(summary))
    print(f"outputs: {run.out}")
    return StudyRun(study_name, summary, status, run.out)


def study_command(prog: str, job: StudyJob, cfg: DictConfig) -> dict[str, Any]:
    """A study command's edge: worker, storage and run settings from ``cfg``, then exit as the run says."""
    workers = 1 if cfg.workers is None else cfg.workers
    worker = WorkerSettings(cfg.device, cfg.threads, cfg.worker, workers)
    storage = typed(StorageSettings, cfg.study, url=cfg.study.storage)
    result = run_study(
        prog, job, cfg.study.name, storage, worker, RunSettings(run_dir(), to_container(cfg), cfg.progress)
    )
    if result.status:
        sys.exit(result.status)
    return result.summary
