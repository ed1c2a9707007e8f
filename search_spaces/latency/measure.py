"""Measured latency of a genotype at the target input, on the device it will run on.

The model is built for the target (``Target``: resolution, classes, channels) and timed in eval
mode without gradients on a batch of ``batch_size`` random images: ``warmup`` untimed runs, then
``torch.utils.benchmark``'s blocked timing for at least ``min_run_time`` seconds (on CUDA it
synchronises the device around every block).  CPU threads are pinned to ``threads`` while timing
and restored after.  The median and the interquartile range are reported in milliseconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import json
import platform
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import torch
from torch import nn
from torch.utils import benchmark

from search_spaces.build import build
from search_spaces.codec import genotype_to_dict
from search_spaces.cost import Target
from search_spaces.genotype import Genotype

DEVICES = ("cpu", "cuda", "cuda:N")


@dataclass(frozen=True)
class LatencySettings:
    """Where and how a latency is measured (``target.device``, ``target.threads``, ...)."""

    device: str = "cpu"
    threads: int = 1
    batch_size: int = 1
    min_run_time: float = 0.5
    warmup: int = 3

    def __post_init__(self) -> None:
        check_device(self.device)
        for name in ("threads", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"target.{name} must be an integer >= 1, got {value!r}")
        number = isinstance(self.min_run_time, (int, float)) and not isinstance(self.min_run_time, bool)
        if not (number and self.min_run_time > 0):
            raise ValueError(f"target.min_run_time must be a number of seconds > 0, got {self.min_run_time!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"target.warmup must be an integer >= 0, got {self.warmup!r}")

    def identity(self) -> dict[str, Any]:
        """What makes two measurements comparable: the device's own name, threads, batch, torch."""
        return {
            "device": device_name(self.device),
            "threads": self.threads,
            "batch_size": self.batch_size,
            "torch": torch.__version__,
        }


class Latency(NamedTuple):
    """Milliseconds per batch: the median of the timed blocks and their interquartile range."""

    median_ms: float
    iqr_ms: float
    runs: int


def check_device(device: str) -> torch.device:
    """``device`` as a torch device; ``ValueError`` when it is unknown or not present here."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown target.device {device!r}; allowed: {', '.join(DEVICES)}") from None
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown target.device {device!r}; allowed: {', '.join(DEVICES)}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"target.device {device!r} is not present here (no CUDA GPU); allowed: cpu")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"target.device {device!r} is not present: {torch.cuda.device_count()} CUDA device(s)")
    return resolved


def device_name(device: str) -> str:
    """The device's model (CPU or GPU name), so that measurements from two machines never mix."""
    resolved = check_device(device)
    if resolved.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(resolved)}"
    return f"cpu:{cpu_model()}"


def cpu_model() -> str:
    """The CPU's ``model name`` from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@contextlib.contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """Run with exactly ``threads`` intra-op CPU threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's upper limit on 64-bit systems


@functools.cache
def steady_allocator() -> bool:
    """Keep freed feature maps in the heap (glibc), so that timings do not depend on the process's past.

    By default glibc hands blocks above a threshold back to the OS on free and raises the
    threshold as large blocks are freed: the same layer then costs 3-4x more in a fresh process
    (page faults on every run) than after some history.  Fixed thresholds make every run the
    steady state of a long-lived inference process.  False where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) and libc.mallopt(M_TRIM_THRESHOLD, 2**29))
    except (OSError, AttributeError):
        return False


def time_module(module: nn.Module, shape: tuple[int, ...], settings: LatencySettings) -> Latency:
    """Latency of ``module`` on a random batch of ``shape`` (eval, no grad) as the settings say."""
    steady_allocator()
    device = check_device(settings.device)
    module = module.to(device).eval()
    x = torch.randn(shape, device=device)

    @torch.no_grad()
    def run() -> None:
        module(x)

    # The timer synchronises the current CUDA device only: make it the one measured.
    on_device = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    with pinned_threads(settings.threads), on_device:
        for _ in range(settings.warmup):
            run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        timer = benchmark.Timer(stmt="run()", globals={"run": run}, num_threads=settings.threads)
        measurement = timer.blocked_autorange(min_run_time=settings.min_run_time)
    return Latency(measurement.median * 1e3, measurement.iqr * 1e3, len(measurement.times) * measurement.number_per_run)


def measure_latency(
    genotype: Genotype, target: Target, settings: LatencySettings, resolution_multiplier: float = 1.0
) -> Latency:
    """Latency of ``genotype`` built for ``target`` (its resolution optionally scaled)."""
    model = build(genotype, num_classes=target.num_classes, in_chans=target.in_chans)
    side = target.scaled_resolution(resolution_multiplier)
    return time_module(model, (settings.batch_size, target.in_chans, side, side), settings)


class Cache(Protocol):
    """Where measurements are kept: a dict, or a study's attributes."""

    def get(self, key: str) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...


class LatencyMeter:
    """Measures genotypes at the target, each at most once per key, keeping results in ``cache``.

    ``cache`` maps a key (a hash of the genotype, input, device, threads, batch and torch version)
    to a result; the search hands its study's storage here, so workers and resumes share it.
    """

    def __init__(
        self,
        target: Target,
        settings: LatencySettings,
        cache: Cache | None = None,
        measure: Callable[..., Latency] = measure_latency,
    ) -> None:
        self.target, self.settings = target, settings
        self.cache: Cache = {} if cache is None else cache
        self._measure = measure
        self._identity = settings.identity()

    def key(self, genotype: Genotype, resolution_multiplier: float = 1.0) -> str:
        described = {
            k: v for k, v in genotype_to_dict(genotype).items() if k not in ("name", "dropout", "drop_connect")
        }
        described.update(
            input=[self.target.in_chans, self.target.scaled_resolution(resolution_multiplier)],
            num_classes=self.target.num_classes,
            **self._identity,
        )
        digest = hashlib.sha1(json.dumps(described, sort_keys=True).encode()).hexdigest()[:20]
        return f"latency:{digest}"

    def __call__(self, genotype: Genotype, resolution_multiplier: float = 1.0) -> Latency:
        key = self.key(genotype, resolution_multiplier)
        known = self.cache.get(key)
        if known is not None:
            return Latency(*known)
        latency = self._measure(genotype, self.target, self.settings, resolution_multiplier)
        self.cache[key] = list(latency)
        return latency
