"""The one trial protocol every study follows once its evaluator has proposed a candidate.

Reuse a finished twin (training is seeded, so it would repeat the same curve), stand down
for a twin another worker is training right now, train with each epoch reported to the pruner,
then score the candidate or record why it failed.  An evaluator supplies only what differs:
how it proposes a candidate (its key and attributes) and how it scores an accuracy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nas.proxy.stopping import RunStopped, StopRequested
from nas.proxy.trainer import EpochCallback, ProxyResult
from nas.studies.storage import TrialCreationLock
from nas.studies.study import FINISHED, last_failure

CLAIM = "training_claim"  # the key a trial trains, recorded under the study's lock
OUTCOMES = "val_outcomes"  # each validation image right or wrong, packed: for paired comparisons
Value = float | tuple[float, ...]
Score = Callable[[float], tuple[Value, dict[str, Any]]]
"""Accuracy -> (the trial's value, attributes to record with it, e.g. the reward)."""
Train = Callable[[EpochCallback], ProxyResult]
"""Trains the candidate, calling the given callback after each epoch."""


class TooManyFailures(RunStopped):
    """More candidates failed in a row than the study allows."""


class TrialProtocol:
    """Dedupe, stand-down, per-epoch reports and pruning, failures, timing: for every study.

    ``key_attr`` names the user attribute that identifies a candidate (two trials with the same
    key train the same network); ``copy_attrs`` are copied from a finished twin.  After more
    than ``max_failures`` failed candidates in a row, :meth:`check` stops the run.
    """

    def __init__(
        self,
        key_attr: str,
        copy_attrs: Sequence[str],
        epochs: int,
        max_failures: int | None = None,
        setting: str = "max_failures",
    ) -> None:
        self.key_attr, self.copy_attrs, self.epochs = key_attr, tuple(copy_attrs), epochs
        self.max_failures, self.setting = max_failures, setting
        self.consecutive_failures = 0
        self.interrupted: int | None = None  # the number of the trial a stop signal ended
        self.lock: TrialCreationLock | None = None  # the study's lock, set by the worker loop

    def run(self, trial: optuna.Trial, key: Any, train: Train, score: Score, prune: bool = True) -> Value:
        """The trial's value, from a twin or from training ``train``; raises ``TrialPruned``.

        ``prune`` False: every epoch is reported, but the pruner is not asked (a re-training at another seed).
        """
        trial.set_user_attr(self.key_attr, key)
        running, previous = self._claim(trial, key)
        if running is not None:
            trial.set_user_attr("reason", f"same candidate as running trial {running.number}")
            raise optuna.TrialPruned("another worker is training this candidate")
        if previous is not None:
            return reuse_result(trial, previous, self.copy_attrs)
        start = time.perf_counter()
        try:
            result = train(self._reporter(trial, score, prune))
        except StopRequested as stop:
            self.interrupted = trial.number
            trial.set_user_attr("reason", f"interrupted by {stop}")
            trial.set_user_attr("interrupted", True)
            raise
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))
        if not result.ok:
            trial.set_user_attr("reason", result.reason)
            self.consecutive_failures += 1
            return math.nan  # Optuna records a NaN objective as a FAIL trial; the study goes on
        self.consecutive_failures = 0
        trial.set_user_attr("val_acc", result.val_acc)
        if result.val_outcomes:
            trial.set_user_attr(OUTCOMES, result.val_outcomes)
        value, attrs = score(result.val_acc)
        for name, attr in attrs.items():
            trial.set_user_attr(name, attr)
        return value

    def _claim(self, trial: optuna.Trial, key: Any) -> tuple[FrozenTrial | None, FrozenTrial | None]:
        """(a running twin, a finished twin); with neither, this trial claims ``key`` for training.

        Checking and claiming happen under the study's lock, so of two workers that picked the same
        candidate at once exactly one trains it.  The running twin is looked for first: a twin that
        finishes meanwhile is then found finished.
        """
        if self.lock is not None:
            self.lock.acquire()
        try:
            running = claimed_by(trial.study, key, trial.number)
            previous = None if running else find_result(trial.study, self.key_attr, key, exclude=trial.number)
            if running is None and previous is None:
                trial.set_user_attr(CLAIM, key)
            return running, previous
        finally:
            if self.lock is not None:
                self.lock.release()

    def check(self, study: optuna.Study) -> None:
        """Raise :class:`TooManyFailures` after more than ``max_failures`` failures in a row."""
        if self.max_failures is not None and self.consecutive_failures > self.max_failures:
            raise TooManyFailures(
                f"{self.consecutive_failures} candidates failed in a row ({self.setting}={self.max_failures}); "
                f"last reason: {last_failure(study)}"
            )

    def _reporter(self, trial: optuna.Trial, score: Score, prune: bool) -> EpochCallback:
        def on_epoch(epoch: int, val_acc: float) -> None:
            if len(trial.study.directions) > 1:
                return  # Optuna prunes single-objective studies only
            if report_epoch(trial, epoch, self.epochs, val_acc) and prune:
                trial.set_user_attr("val_acc", val_acc)
                for name, attr in score(val_acc)[1].items():
                    trial.set_user_attr(name, attr)
                trial.set_user_attr("reason", f"pruned after epoch {epoch + 1} at val_acc {val_acc:.4f}")
                raise optuna.TrialPruned()

        return on_epoch


def find_result(study: optuna.Study, key_attr: str, key: Any, exclude: int) -> FrozenTrial | None:
    """A trained trial whose user attribute ``key_attr`` equals ``key`` (for dedupe).

    A COMPLETE one is preferred; otherwise one that trained and was pruned (it has ``val_acc``
    and a curve), never one pruned before training (a FLOPs cap, a worker standing down).
    """
    pruned = None
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        if trial.number == exclude or trial.user_attrs.get(key_attr) != key:
            continue
        if trial.state == TrialState.COMPLETE:
            return trial
        if pruned is None and "val_acc" in trial.user_attrs and trial.intermediate_values:
            pruned = trial
    return pruned


def reuse_result(trial: optuna.Trial, previous: FrozenTrial, attrs: Iterable[str]) -> Value:
    """Make ``trial`` a copy of ``previous`` (same candidate): its ``attrs``, its values, or its pruning."""
    for name in attrs:
        trial.set_user_attr(name, previous.user_attrs.get(name))
    if OUTCOMES in previous.user_attrs:
        trial.set_user_attr(OUTCOMES, previous.user_attrs[OUTCOMES])
    trial.set_user_attr("duplicate_of", previous.number)
    if previous.state == TrialState.PRUNED:
        for step, value in sorted(previous.intermediate_values.items()):
            trial.report(value, step)
        trial.set_user_attr("reason", f"same candidate as pruned trial {previous.number}")
        raise optuna.TrialPruned(f"same candidate as pruned trial {previous.number}")
    values = previous.values
    return values[0] if len(values) == 1 else tuple(values)


def report_epoch(trial: optuna.Trial, epoch: int, epochs: int, val_acc: float) -> bool:
    """Report an epoch's accuracy; True if the pruner stops the trial there.

    The step is the number of epochs trained (``epoch + 1``), so a pruner's ``min_resource=1``
    means one epoch.  The last epoch is never pruned: its result is the trial's value.
    """
    trial.report(val_acc, epoch + 1)
    return epoch + 1 < epochs and trial.should_prune()


def claimed_by(study: optuna.Study, key: Any, number: int) -> FrozenTrial | None:
    """Another RUNNING trial (another worker's) that has claimed ``key`` for training."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.number != number and trial.user_attrs.get(CLAIM) == key:
            return trial
    return None
