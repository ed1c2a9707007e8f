"""Running a study: open or resume it, run this worker's trials under the stop guard, write its outputs.

:func:`run_study` is what every study command and the Python API run (the search, the scaling
grid, the comparison, the pipeline's stages).  It says nothing itself: what a command prints goes
through the :class:`Progress` it passes in.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from nas.proxy.stopping import guarded
from nas.studies.job import StudyJob
from nas.studies.loop import run_trials
from nas.studies.storage import MEMORY, StudySettings, TrialCreationLock, open_storage
from nas.studies.study import open_study
from nas.studies.workers import WorkerSettings


def _quiet(text: str) -> None:
    return None


@dataclass(frozen=True)
class Progress:
    """Where a run says what it does: the commands print it; by default (the Python API) nothing is said."""

    line: Callable[[str], None] = _quiet  # the opening lines, the plain-words ending
    stopped: Callable[[str], None] = _quiet  # why the run ended early, said before the outputs are written
    bar: bool = False  # a progress bar over the trials (tqdm, on stderr)


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


def run_study(
    job: StudyJob,
    *,
    study: StudySettings | None = None,
    worker: WorkerSettings | None = None,
    out: str | Path = "runs/api",
    progress: Progress | None = None,
) -> StudyRun:
    """Open (or resume) the study, run this worker's trials, write the outputs into ``out``.

    ``study`` None is a study in memory (nothing written beside ``out``); ``study.name`` None is
    the experiment's own default name (``job.default_name()``).  ``config.json`` records the job's
    settings.  Optuna's own log lines and experimental-feature warnings are kept quiet.
    """
    with _quiet_optuna():
        return _run_study(job, study or StudySettings(storage=MEMORY), worker or WorkerSettings(), Path(out), progress)


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines ("Trial 3 finished ...") and experimental warnings would drown what a run says."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def _run_study(
    job: StudyJob, settings: StudySettings, worker: WorkerSettings, out: Path, progress: Progress | None
) -> StudyRun:
    progress = progress or Progress()
    device = worker.start()
    name = settings.name or job.default_name()
    storage = open_storage(settings)
    sampler = job.sampler(worker.worker, device)
    opened, created = open_study(storage, name, job.directions, sampler, job.pruner(), job.identity())
    begun, state = job.total() - job.remaining(opened), "new" if created else "resumed"
    progress.line(f"study {name!r} on {settings.storage} ({state}, {begun}/{job.total()} started); device {device}")
    lock = TrialCreationLock(storage, name)
    lock.acquire()  # what start() enqueues comes before any other worker's first trial
    try:
        started = job.start(opened, created, device)
    finally:
        lock.release()
    progress.line(started.opening)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(job.record(), indent=2, default=str) + "\n")

    def work() -> None:
        remaining, status, queue = (
            (lambda: job.remaining(opened)),
            (lambda: job.status(opened)),
            (lambda: job.queue(opened)),
        )
        run_trials(opened, started.objective, job.protocol, remaining, job.total(), lock, progress.bar, status, queue)

    summary, status = guarded(work, lambda: job.write_outputs(opened, out, settings.storage), tell=progress.stopped)
    progress.line(job.describe(summary))
    progress.line(f"outputs: {out}")
    return StudyRun(name, summary, status, out)
