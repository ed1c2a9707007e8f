"""Measured latency of a genotype at the target input, on its device: the one way every record is timed.

The model is built for the target (``Target``: resolution, classes, channels) and timed in eval
mode without gradients on a batch of ``batch_size`` random images: ``warmup`` untimed runs, then
``torch.utils.benchmark``'s blocked timing for at least ``min_run_time`` seconds (on CUDA it
synchronises the device around every block).  CPU threads are pinned to ``threads`` while timing
and restored after.  The median and the interquartile range are reported in milliseconds.

Every latency a command or benchmark records goes through :func:`time_call` (a module through
:func:`time_module`, a genotype through :func:`measure_latency`, a cached one through
:class:`LatencyMeter`), so two records of one network differ only by where and when they ran.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol

import torch
from torch import nn
from torch.utils import benchmark

from search_spaces.build import build
from search_spaces.codec import genotype_to_dict
from search_spaces.cost import Target
from search_spaces.device import check_device
from search_spaces.genotype import Genotype


class Latency(NamedTuple):
    """Milliseconds per batch: the median of the timed blocks and their interquartile range."""

    median_ms: float
    iqr_ms: float
    runs: int


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


def time_call(run: Callable[[], object], target: Target) -> Latency:
    """Latency of ``run()`` as every record times: the target's threads, ``warmup`` runs, blocked timing."""
    steady_allocator()
    device = check_device(target.device)
    # The timer synchronises the current CUDA device only: make it the one measured.
    on_device = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    with pinned_threads(target.threads), on_device:
        for _ in range(target.warmup):
            run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        timer = benchmark.Timer(stmt="run()", globals={"run": run}, num_threads=target.threads)
        measurement = timer.blocked_autorange(min_run_time=target.min_run_time)
    return Latency(measurement.median * 1e3, measurement.iqr * 1e3, len(measurement.times) * measurement.number_per_run)


def input_shape(target: Target, resolution_multiplier: float = 1.0) -> tuple[int, int, int, int]:
    """The timed batch: ``batch_size`` images of the target's channels at its resolution (optionally scaled)."""
    side = target.scaled_resolution(resolution_multiplier)
    return (target.batch_size, target.in_chans, side, side)


def time_module(module: nn.Module, shape: tuple[int, ...], target: Target) -> Latency:
    """Latency of ``module`` on a random batch of ``shape`` (eval, no grad) on the target's device, threads, timing."""
    device = check_device(target.device)
    module = module.to(device).eval()
    x = torch.randn(shape, device=device)

    @torch.no_grad()
    def run() -> None:
        module(x)

    return time_call(run, target)


def measure_latency(genotype: Genotype, target: Target, resolution_multiplier: float = 1.0) -> Latency:
    """Latency of ``genotype`` built for ``target`` (its resolution optionally scaled)."""
    model = build(genotype, num_classes=target.num_classes, in_chans=target.in_chans)
    return time_module(model, input_shape(target, resolution_multiplier), target)


class Cache(Protocol):
    """Where measurements are kept: a dict, or a study's attributes."""

    def get(self, key: str) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...


class LatencyMeter:
    """Measures genotypes at the target, each at most once per key, keeping results in ``cache``.

    ``cache`` maps a key (a hash of the network as run, the input, and the target's device,
    threads, batch, warm-up, timing and torch version) to a result; the search hands its study's
    storage here, so workers and resumes share it.
    """

    def __init__(
        self,
        target: Target,
        cache: Cache | None = None,
        measure: Callable[..., Latency] = measure_latency,
    ) -> None:
        self.target = target
        self.cache: Cache = {} if cache is None else cache
        self._measure = measure
        self._identity = {**target.latency_identity(), "warmup": target.warmup, "min_run_time": target.min_run_time}
        self._baselines: dict[str, Latency] = {}  # timed by this meter, never read from the shared cache

    def key(self, genotype: Genotype, resolution_multiplier: float = 1.0) -> str:
        # Name, dropout and the genotype's own resolution do not change what is timed (eval, target input).
        ignored = ("name", "dropout", "drop_connect", "resolution")
        described = {k: v for k, v in genotype_to_dict(genotype).items() if k not in ignored}
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
        latency = self._measure(genotype, self.target, resolution_multiplier)
        self.cache[key] = list(latency)
        return latency

    def ratio(
        self, genotype: Genotype, baseline: Genotype, resolution_multiplier: float = 1.0
    ) -> tuple[Latency, float]:
        """``genotype``'s latency and its ratio to ``baseline``'s (at the target input), timed in one process.

        The shared cache may hold a baseline timed by another worker, run or machine: dividing by
        it mixes processes, whose timings differ by more than one process's noise.  So the
        baseline is timed once by this meter, and each member is kept with the baseline it was
        divided by (one key per pair): a cached member brings its own denominator.
        """
        member_key, baseline_key = self.key(genotype, resolution_multiplier), self.key(baseline)
        pair_key = f"latency_pair:{member_key.removeprefix('latency:')}:{baseline_key.removeprefix('latency:')}"
        known = self.cache.get(pair_key)
        if known is None:
            if baseline_key not in self._baselines:
                self._baselines[baseline_key] = self._measure(baseline, self.target, 1.0)
            base = self._baselines[baseline_key]
            timed = base if member_key == baseline_key else self._measure(genotype, self.target, resolution_multiplier)
            known = [list(timed), list(base)]
            self.cache[pair_key] = known
        member, base = Latency(*known[0]), Latency(*known[1])
        return member, member.median_ms / base.median_ms
