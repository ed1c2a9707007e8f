"""A worker's place among the workers that share a study, and the device and threads it trains with."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from nas.proxy.device import use_device


@dataclass(frozen=True)
class WorkerSettings:
    """This process's place among ``workers`` sharing a study, and what it runs on."""

    device: str = "auto"  # auto (CUDA when present; worker i takes GPU i mod count), cpu, cuda, cuda:N
    threads: int | None = None  # CPU threads (None: all cores, split between local workers)
    worker: int = 0
    workers: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {self.workers!r}")
        if isinstance(self.worker, bool) or not isinstance(self.worker, int) or not 0 <= self.worker < self.workers:
            hint = "; set workers= to the number of workers" if self.workers == 1 else ""
            raise ValueError(
                f"worker must be in [0, {self.workers - 1}] for workers={self.workers}, got {self.worker!r}{hint}"
            )
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads must be an integer >= 1 or null, got {self.threads!r}")

    def start(self) -> torch.device:
        """Resolve the device and set the thread count; ``ValueError`` for an unusable device."""
        return use_device(worker_device(self.device, self.worker), worker_threads(self.threads, self.workers))


def worker_device(device: str, worker: int) -> str:
    """Worker ``i`` of several takes GPU ``i mod count`` when CUDA is there; CPU otherwise."""
    if device == "auto" and torch.cuda.is_available():
        return f"cuda:{worker % torch.cuda.device_count()}"
    return device


def worker_threads(threads: int | None, workers: int) -> int | None:
    """Split the machine's cores among local workers (two full-width workers thrash 2 cores)."""
    if threads is not None or workers <= 1:
        return threads
    return max(1, (os.cpu_count() or 1) // workers)
