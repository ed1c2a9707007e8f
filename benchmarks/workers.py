"""The same small study with 1 and with 2 workers on this machine: wall clock and trials/minute.

Each run starts a fresh study on its own SQLite file in a temporary folder and launches the
workers as separate ``python -m nas.search`` processes (``worker=i workers=N``, so the cores
are split between them). On a 2-core CPU machine two workers mostly share the same cores;
real speed-ups come from one GPU or machine per worker.  Run: ``python -m benchmarks.workers``;
writes ``benchmarks/results/workers.json``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import optuna

from benchmarks.common import ROOT, add_record_options, command_line, measurement_start, stoppable_all, write_figures


def run_study(workers: int, n_trials: int, extra: list[str], scratch: Path) -> dict[str, float]:
    """A fresh study in ``scratch`` run by ``workers`` processes at once: wall clock and trials."""
    storage = f"sqlite:///{scratch / f'workers_{workers}.db'}"
    args = [
        f"study.storage={storage}",
        "study.name=bench-workers",
        f"search.n_trials={n_trials}",
        "search.pruner=none",
        f"workers={workers}",
        "progress=false",
        *extra,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    argvs = [
        [
            sys.executable,
            "-m",
            "nas.search",
            *args,
            f"worker={i}",
            f"hydra.run.dir={scratch / f'workers_{workers}_w{i}'}",
        ]
        for i in range(workers)
    ]
    with stoppable_all(argvs, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as procs:
        errors = [proc.communicate()[1] for proc in procs]
    for proc, err in zip(procs, errors, strict=True):
        if proc.returncode != 0:
            raise SystemExit(f"worker failed: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}")
    seconds = time.perf_counter() - start
    study = optuna.load_study(study_name="bench-workers", storage=storage)
    finished = [t for t in study.trials if t.state.is_finished()]
    trained = [t for t in finished if "duplicate_of" not in t.user_attrs]
    blocks = [t.user_attrs.get("blocks") and ",".join(t.user_attrs["blocks"]) for t in trained]
    return {
        "workers": workers,
        "seconds": round(seconds, 1),
        "trials": len(finished),
        "trained": len(trained),  # the rest copied a twin's result
        "training_seconds": round(sum(t.user_attrs.get("seconds", 0.0) for t in trained), 1),
        "trials_per_minute": round(len(finished) / seconds * 60, 2),
        "repeated_genotypes": len(blocks) - len(set(blocks)),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="workers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=8)
    add_record_options(parser, "workers.json")
    parser.add_argument("overrides", nargs="*", default=["proxy=tiny"], help="Hydra overrides of conf/search.yaml")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    start = measurement_start(args.results_dir, args.allow_dirty)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as scratch:
        one = run_study(1, args.trials, args.overrides, Path(scratch))
        print(f"1 worker : {one}", flush=True)
        two = run_study(2, args.trials, args.overrides, Path(scratch))
        print(f"2 workers: {two}", flush=True)
    ratio = one["seconds"] / two["seconds"]
    print(f"wall-clock speed-up with 2 workers: {ratio:.2f}x ({os.cpu_count()} CPU cores)")
    figures = {"overrides": args.overrides, "one": one, "two": two, "speedup": round(ratio, 2), "cores": os.cpu_count()}
    write_figures("workers", figures, command_line("benchmarks.workers", argv), args.results_dir, start)


if __name__ == "__main__":
    main()
