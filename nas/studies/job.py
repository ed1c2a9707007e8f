"""What one kind of study (the search, the scaling grid, ...) supplies to :func:`~nas.studies.run.run_study`."""

from __future__ import annotations

import dataclasses
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import optuna
import torch

from nas.proxy.datasets import RawDataset
from nas.proxy.task import TaskConfig
from nas.studies.protocol import TrialProtocol


class Started(NamedTuple):
    """What a job has ready once its study is open: the opening line, and the Optuna objective."""

    opening: str
    objective: Callable[[optuna.Trial], Any]


class StudyJob(ABC):
    """One kind of study: its settings (``config``, a :class:`TaskConfig`), how it suggests and scores candidates."""

    config: TaskConfig
    directions: list[str]
    protocol: TrialProtocol

    @functools.cached_property
    def raw(self) -> RawDataset:
        """The dataset as loaded from disk (once: its fingerprint is part of the identity).

        An image folder's cache keeps the largest side any candidate trains at, so a scaled point
        sees the stored pixels rather than an enlarged small copy.
        """
        side = self.config.proxy.sizes.resolution
        return self.config.dataset.load(None if side is None else round(side * self.largest_multiplier()))

    def largest_multiplier(self) -> float:
        """The largest resolution multiplier any candidate of the study trains at (scaled points: above 1)."""
        return 1.0

    def task_identity(self) -> dict[str, Any]:
        """The proxy task's part of every study's identity: target, dataset, proxy, data sizes, seed."""
        return self.config.identity(self.raw)

    def record(self) -> dict[str, Any]:
        """What ``config.json`` holds when no command's config is given: the settings, as plain data."""
        return dataclasses.asdict(self.config)

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What makes two runs the same experiment (stored with the study, checked on resume)."""

    @abstractmethod
    def default_name(self) -> str:
        """The study name when none is given: readable parts and a hash of the identity."""

    @abstractmethod
    def sampler(self, worker: int, device: torch.device) -> optuna.samplers.BaseSampler:
        """This worker's sampler (``device``: where anything it scores runs)."""

    @abstractmethod
    def pruner(self) -> optuna.pruners.BasePruner: ...

    @abstractmethod
    def start(self, study: optuna.Study, created: bool, device: torch.device) -> Started:
        """Prepare ``study`` (enqueue, record) and the objective that trains on ``device`` (loads the data)."""

    @abstractmethod
    def remaining(self, study: optuna.Study) -> int:
        """How many trials are still to be started (other workers' running ones count as started)."""

    @abstractmethod
    def total(self) -> int: ...

    def queue(self, study: optuna.Study) -> bool:
        """Enqueue the trials that finished ones call for (under the study's creation lock; by default none).

        True while trials other workers are running still decide what comes next (the worker waits).
        """
        return False

    def status(self, study: optuna.Study) -> str | None:
        """A short progress note (e.g. the best so far)."""
        return None

    @abstractmethod
    def write_outputs(self, study: optuna.Study, out: Path, storage_url: str) -> dict[str, Any]:
        """Write the run's files into ``out``; returns the summary."""

    @abstractmethod
    def describe(self, summary: dict[str, Any]) -> str:
        """The plain-words ending of a run."""
