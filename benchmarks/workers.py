"""The same small study with 1 and with 2 workers on this machine: wall clock and trials/minute.

Each run starts a fresh study on its own SQLite file under ``runs/bench/`` and launches the
workers as separate ``python -m nas.search`` processes (``worker=i workers=N``, so the cores
are split between them). On a 2-core CPU machine two workers mostly share the same cores;
real speed-ups come from one GPU or machine per worker.  Run: ``python -m benchmarks.workers``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna

from benchmarks.common import BENCH_DIR, write_figures

ROOT = Path(__file__).resolve().parents[1]


def run_study(workers: int, n_trials: int, extra: list[str]) -> dict[str, float]:
    db = BENCH_DIR / f"workers_{workers}.db"
    db.unlink(missing_ok=True)
    storage = f"sqlite:///{db}"
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
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nas.search",
                *args,
                f"worker={i}",
                f"hydra.run.dir={BENCH_DIR / f'workers_{workers}_w{i}'}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"worker failed: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}")
    seconds = time.perf_counter() - start
    study = optuna.load_study(study_name="bench-workers", storage=storage)
    finished = [t for t in study.trials if t.state.is_finished()]
    blocks = [
        t.user_attrs.get("blocks") and ",".join(t.user_attrs["blocks"])
        for t in study.trials
        if "duplicate_of" not in t.user_attrs
    ]
    return {
        "workers": workers,
        "seconds": round(seconds, 1),
        "trials": len(finished),
        "trials_per_minute": round(len(finished) / seconds * 60, 2),
        "repeated_genotypes": len(blocks) - len(set(blocks)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("overrides", nargs="*", default=["proxy=tiny"], help="Hydra overrides of conf/search.yaml")
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    one = run_study(1, args.trials, args.overrides)
    print(f"1 worker : {one}", flush=True)
    two = run_study(2, args.trials, args.overrides)
    print(f"2 workers: {two}", flush=True)
    ratio = one["seconds"] / two["seconds"]
    print(f"wall-clock speed-up with 2 workers: {ratio:.2f}x ({os.cpu_count()} CPU cores)")
    write_figures(
        "workers",
        {"overrides": args.overrides, "one": one, "two": two, "speedup": round(ratio, 2), "cores": os.cpu_count()},
    )


if __name__ == "__main__":
    main()
