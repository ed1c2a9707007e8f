"""The worker loop: create and run one trial at a time until the study has what it needs.

Optuna's ``optimize`` runs each trial, so heartbeats, FAIL on NaN and FAIL-then-re-raise on a
stop behave as everywhere else in Optuna.  Counting what is missing and creating the next
trial happen under :class:`~nas.studies.storage.TrialCreationLock`, so workers sharing a study
stop at exactly its total.  A trial ended by a stop signal is queued again for the next run.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import optuna
from optuna.storages import fail_stale_trials
from tqdm import tqdm

from nas.proxy.stopping import StopRequested, check_stop
from nas.studies.protocol import TrialProtocol
from nas.studies.storage import TrialCreationLock

WAIT_SECONDS = 2.0  # how often a worker waiting for other workers' trials looks again
QUEUED_ATTRS = ("seed",)
"""Attributes a queued trial was given that its retry keeps (a grid's re-training at another seed)."""


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    protocol: TrialProtocol,
    remaining: Callable[[], int],
    total: int,
    lock: TrialCreationLock | None = None,
    progress: bool = True,
    status: Callable[[], str | None] | None = None,
    queue: Callable[[], bool] | None = None,
) -> None:
    """Run trials while ``remaining()`` (which counts other workers' running trials) is positive.

    ``lock`` is the study's creation lock (default: one only this process honours); ``queue``,
    called under it before each count, enqueues the trials that finished ones call for, and says
    True while trials other workers are running still decide what comes next: with nothing left
    to start, this worker then waits for them instead of ending.
    """
    lock = lock or TrialCreationLock(None, study.study_name)
    protocol.interrupted, protocol.lock = None, lock
    bar = tqdm(total=total, unit="trial", disable=not progress, desc=study.study_name)
    with _stop_said_once():
        try:
            while True:
                check_stop()
                lock.acquire()
                try:
                    _fail_stale_trials(study)  # a killed worker's trial is failed (and re-queued) before counting
                    waiting = queue() if queue is not None else False
                    left = remaining()
                    bar.update(max(0, total - left) - bar.n)
                    if left <= 0 and not waiting:
                        break
                    if left > 0:
                        study.optimize(_releasing(lock, objective), n_trials=1, gc_after_trial=False)
                except StopRequested:
                    _queue_again(study, protocol.interrupted)
                    raise
                finally:
                    lock.release()
                if left <= 0:
                    time.sleep(WAIT_SECONDS)
                    continue
                text = status() if status else None
                if text:
                    bar.set_postfix_str(text)
                protocol.check(study)
        finally:
            bar.close()


class _NotTheStop(logging.Filter):
    """Optuna logs a trial that a stop signal ended as a failure (a traceback, then its value): the command says it in one line."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped: str | None = None  # "Trial N failed": the trial the stop ended

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], StopRequested):
            self.stopped = str(record.msg).split(" with ", 1)[0]
            return False
        return not (self.stopped and str(record.msg).startswith(f"{self.stopped} with value"))


@contextlib.contextmanager
def _stop_said_once() -> Iterator[None]:
    logger, quiet = logging.getLogger("optuna.study._optimize"), _NotTheStop()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _releasing(lock: TrialCreationLock, objective: Callable[[optuna.Trial], Any]) -> Callable[[optuna.Trial], Any]:
    """``objective``, releasing ``lock`` first: by then the trial exists and counts as running."""

    def run(trial: optuna.Trial) -> Any:
        lock.release()
        return objective(trial)

    return run


def _queue_again(study: optuna.Study, number: int | None) -> None:
    """Enqueue the interrupted trial's parameters, so the next run trains that candidate first."""
    if number is None:
        return
    trial = study.get_trials(deepcopy=False)[number]
    kept = {name: trial.user_attrs[name] for name in QUEUED_ATTRS if name in trial.user_attrs}
    study.enqueue_trial(trial.params, user_attrs={"retry_of": number, **kept}, skip_if_exists=False)


def _fail_stale_trials(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)
