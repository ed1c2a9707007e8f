"""Latency noise between processes: one network timed in fresh processes, and whether two timings agree.

Repeated timings in one process vary by about 2% (CV).  Two commands are two processes: each
starts with its own heap, caches and page mappings, and on a shared machine its own neighbours,
so two records of one network can differ by more than that.  :func:`measure_in_processes` times
one network in fresh Python processes, one after another, each through
:func:`~search_spaces.latency.measure.measure_latency` with the same ``Target``;
:func:`latencies_agree` says whether two latencies of one network are within ``k`` times a CV.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import subprocess
import sys
from collections.abc import Sequence

from search_spaces.codec import genotype_from_dict, genotype_to_dict
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import Latency, measure_latency

CHILD = "from search_spaces.latency.noise import child; child()"
"""What each fresh process runs: a request on stdin, its latency as JSON on stdout."""


def request(genotype: Genotype, target: Target, resolution_multiplier: float = 1.0) -> str:
    """What a fresh process is asked to time: the genotype, every ``Target`` setting, the input's scale."""
    return json.dumps(
        {
            "genotype": genotype_to_dict(genotype),
            "target": dataclasses.asdict(target),
            "resolution_multiplier": resolution_multiplier,
        }
    )


def answer(text: str) -> Latency:
    """Time the network of a :func:`request` in this process."""
    asked = json.loads(text)
    target = Target(**asked["target"])
    return measure_latency(genotype_from_dict(asked["genotype"]), target, asked["resolution_multiplier"])


def measure_in_processes(
    genotype: Genotype, target: Target, processes: int, resolution_multiplier: float = 1.0
) -> list[Latency]:
    """``genotype`` timed once in each of ``processes`` fresh Python processes, run one after another."""
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be an integer >= 1, got {processes!r}")
    asked = request(genotype, target, resolution_multiplier)
    latencies = []
    for i in range(processes):
        done = subprocess.run([sys.executable, "-c", CHILD], input=asked, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"latency process {i + 1} of {processes} failed (exit {done.returncode}): {last}")
        latencies.append(Latency(*json.loads(done.stdout.strip().splitlines()[-1])))
    return latencies


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Standard deviation over mean of at least two values."""
    if len(values) < 2:
        raise ValueError(f"a coefficient of variation needs at least 2 values, got {len(values)}")
    return statistics.stdev(values) / statistics.mean(values)


def latencies_agree(a_ms: float, b_ms: float, cv: float, k: float = 3.0) -> bool:
    """Whether two latencies of one network differ by at most ``k`` standard deviations of their difference.

    Each timing varies by ``cv`` of its size; the difference of two independent ones by
    ``sqrt(2) * cv`` of their mean.  ``cv`` should be the noise between the places the two came
    from: ``cv_processes`` of ``benchmarks/results/latency.json`` for two records, not the
    within-process ``cv``.
    """
    if not (a_ms > 0 and b_ms > 0):
        raise ValueError(f"latencies must be > 0 ms, got {a_ms!r} and {b_ms!r}")
    if not (cv >= 0 and k > 0):
        raise ValueError(f"cv must be >= 0 and k > 0, got cv={cv!r}, k={k!r}")
    return abs(a_ms - b_ms) <= k * math.sqrt(2) * cv * (a_ms + b_ms) / 2


def child() -> None:
    """A fresh process's part: time the request read from stdin, write the latency to stdout."""
    print(json.dumps(list(answer(sys.stdin.read()))))
