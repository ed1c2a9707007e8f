"""CPU threads on an idle and on a busy machine: zero-cost scoring and proxy training, per thread count.

``threads=null`` lets PyTorch use every core.  On a machine that is busy with something else
(another worker, another job) its threads wait on one another and on the other process: this
measures how much, so that each command's default can be chosen by the figures.  For each
``--threads`` value (``0`` stands for null: PyTorch's default, all cores), idle and then with a
competing process that keeps two cores busy with matrix products:

* scoring: candidates per minute of the pre-screen's default scores (``synflow``, ``naswot``,
  ``snip``) on ``--candidates`` members of the default space, model construction included;
* training: images per second of one proxy epoch of B0 on Fashion-MNIST (the search's proxy).

    python -m benchmarks.threads --threads 1 2 0 --candidates 20    # ~6 min on 2 CPU cores

Writes ``benchmarks/results/threads.json``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from benchmarks.common import add_record_options, command_line, measurement_start, write_figures
from nas.proxy.data import ProxyDataCache
from nas.proxy.datasets import DatasetSpec
from nas.proxy.recipe import ProxyConfig
from nas.proxy.trainer import train_proxy
from nas.screening.scorer import Scorer, per_minute_of
from search_spaces.cost import Target
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference

PROG = "threads"
SCORES = ("synflow", "naswot", "snip")
DEFAULT_THREADS = torch.get_num_threads()  # what PyTorch takes with threads=null: every core
LOAD = "import torch\ntorch.set_num_threads(2)\na = torch.randn(768, 768)\nwhile True:\n    a @ a\n"


def scoring_rate(data: Any, proxy: ProxyConfig, candidates: int) -> float:
    """Candidates per minute when each gets every score of ``SCORES`` (fresh scorer: nothing cached)."""
    scorer = Scorer(data, proxy, Target(), batch_size=64, seed=0)
    space = mnasnet_space(reference("efficientnet_b0"))
    rng = np.random.default_rng(0)
    for genotype in [space.sample(rng) for _ in range(candidates)]:
        scorer.scores(genotype, SCORES)
    return per_minute_of(scorer.per_minute(), SCORES)


def training_rate(data: Any, proxy: ProxyConfig) -> float:
    result = train_proxy(reference("efficientnet_b0"), data, proxy, seed=0)
    return float(result.images_per_s)


def measure(threads: int, data: Any, proxy: ProxyConfig, candidates: int) -> dict[str, float]:
    torch.set_num_threads(threads or DEFAULT_THREADS)
    return {
        "candidates_per_minute": round(scoring_rate(data, proxy, candidates), 1),
        "train_images_per_s": round(training_rate(data, proxy), 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 0], help="thread counts (0: null, all cores)")
    parser.add_argument("--candidates", type=int, default=40, help="candidates scored per measurement")
    parser.add_argument("--train-size", type=int, default=4000, help="images of the timed proxy epoch")
    parser.add_argument("--dataset", default="fashion_mnist")
    add_record_options(parser, "threads.json")
    args = parser.parse_args(argv)
    start = measurement_start(args.results_dir, args.allow_dirty)
    proxy = ProxyConfig(epochs=1, train_size=args.train_size, val_size=1000, test_size=500)
    data = ProxyDataCache(DatasetSpec(args.dataset).load(), proxy.sizes, "cpu").at()
    figures: dict[str, Any] = {"cores": DEFAULT_THREADS, "scores": list(SCORES), "idle": {}, "busy": {}}
    for threads in args.threads:
        figures["idle"][str(threads or "null")] = measure(threads, data, proxy, args.candidates)
    load = subprocess.Popen([sys.executable, "-c", LOAD])
    try:
        time.sleep(2)  # the competing process is at work before the first measurement
        for threads in args.threads:
            figures["busy"][str(threads or "null")] = measure(threads, data, proxy, args.candidates)
    finally:
        load.kill()
        load.wait()
    for state in ("idle", "busy"):
        for threads, rates in figures[state].items():
            print(f"{state:>4}, threads={threads}: {rates['candidates_per_minute']:.0f} candidates/min, "
                  f"{rates['train_images_per_s']:.0f} training images/s")  # fmt: skip
    write_figures(PROG, figures, command_line("benchmarks.threads", argv), args.results_dir, start)


if __name__ == "__main__":
    main()
