"""What one kind of study (the search, the scaling grid, ...) supplies to the command skeleton."""

from __future__ import annotations

import dataclasses
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import torch

from nas.proxy.datasets import DatasetSpec, RawDataset
from nas.studies.protocol import TrialProtocol


class StudyJob(ABC):
    """What one kind of study (the search, the scaling grid, ...) brings to :func:`run_study`."""

    directions: list[str]
    protocol: TrialProtocol
    dataset: DatasetSpec

    target: Any  # search_spaces.cost.Target
    proxy: Any  # nas.proxy.recipe.ProxyConfig
    sizes: Any  # nas.proxy.data.DataSizes
    seed: int

    @functools.cached_property
    def raw(self) -> RawDataset:
        """The dataset as loaded from disk (once: its fingerprint is part of the identity)."""
        return self.dataset.load()

    def task_identity(self) -> dict[str, Any]:
        """The proxy task's part of every study's identity: target, dataset, proxy, data sizes, seed."""
        return {
            "target": dataclasses.asdict(self.target),
            "dataset": self.dataset.identity(self.raw),
            "proxy": self.proxy.identity(),
            "data_sizes": dataclasses.asdict(self.sizes),
            "seed": self.seed,
        }

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What makes two runs the same experiment (stored with the study, checked on resume)."""

    @abstractmethod
    def default_name(self) -> str:
        """The study name when none is given: readable parts and a hash of the identity."""

    @abstractmethod
    def sampler(self, worker: int) -> optuna.samplers.BaseSampler: ...

    @abstractmethod
    def pruner(self) -> optuna.pruners.BasePruner: ...

    @abstractmethod
    def start(self, study: optuna.Study, created: bool, device: torch.device) -> str:
        """Prepare to run trials on ``device`` (enqueue, record); returns the opening line."""

    @abstractmethod
    def objective(self, device: torch.device) -> Callable[[optuna.Trial], Any]:
        """The Optuna objective (loads the data)."""

    @abstractmethod
    def remaining(self, study: optuna.Study) -> int:
        """How many trials are still to be started (other workers' running ones count as started)."""

    @abstractmethod
    def total(self) -> int: ...

    def status(self, study: optuna.Study) -> str | None:
        """A short progress note (e.g. the best so far)."""
        return None

    @abstractmethod
    def write_outputs(self, study: optuna.Study, out: Path, storage_url: str) -> dict[str, Any]:
        """Write the run's files into ``out``; returns the summary."""

    @abstractmethod
    def describe(self, summary: dict[str, Any]) -> str:
        """The plain-words ending of a run."""
