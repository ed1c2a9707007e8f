"""Final training of the default search's best network against B0, the same recipe for both.

Runs ``python -m nas.train model=… train=final`` (the CPU recipe, ``conf/train/final.yaml``) as a
subprocess for EfficientNet-B0 and for the best genotype of the default search (its blocks are
read from ``benchmarks/results/defaults.json``), and records wall clock, test and validation
accuracy, the per-epoch history, params and FLOPs at the target input in
``benchmarks/results/final_training.json``.  The ``model.pt`` files stay in ``--keep`` (default
``runs/final/bench``) for ``benchmarks.export_latency``.  About 40 minutes on 2 CPU cores.
Overrides after ``--`` go to both runs, e.g. a smoke run: ``-- proxy.epochs=1 proxy.train_size=2000``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, add_record_options, results_path, run_benchmark, stoppable, write_figures
from nas.cli.schema import UsageError
from search_spaces.codec import parse_blocks, save_genotype
from search_spaces.genotype import Genotype

PROG = "final_training"
KEEP = ROOT / "runs" / "final" / "bench"


def search_best(defaults: Path, folder: Path) -> Path:
    """The default search's best genotype (from the defaults record) as a genotype file."""
    if not defaults.is_file():
        raise UsageError(f"{defaults} is missing: run python -m benchmarks.defaults --only search first")
    blocks = json.loads(defaults.read_text())["search"]["best"]["blocks"]
    folder.mkdir(parents=True, exist_ok=True)
    return save_genotype(Genotype(parse_blocks(",".join(blocks)), name="search_best"), folder / "search_best.yaml")


def train(name: str, model: str, out: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """One final training run; its summary, wall clock and command."""
    args = ["nas.train", f"model={model}", "train=final", "progress=false", f"hydra.run.dir={out}", *overrides]
    print(f"$ {shlex.join(['python', '-m', *args])}", flush=True)
    start = time.perf_counter()
    with stoppable([sys.executable, "-m", *args], text=True, stdout=sys.stdout) as child:
        child.wait()
    if child.returncode != 0:
        raise SystemExit(f"{PROG}: error: {name} exited with status {child.returncode}; nothing recorded")
    summary = json.loads((out / "summary.json").read_text())
    keys = ("test_acc", "val_acc", "epochs", "seconds", "params", "flops", "history", "device")
    return {
        "run": shlex.join(["python", "-m", *args]),
        "wall_seconds": round(time.perf_counter() - start, 1),
        **{k: summary.get(k) for k in keys},
        "model_file": str(out / "model.pt"),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, default=KEEP, help="where the runs and their model.pt go")
    parser.add_argument(
        "--defaults",
        type=Path,
        help="the record whose default search's best is trained (default: the results folder's)",
    )
    add_record_options(parser, "final_training.json")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for both runs (after --)")
    run_benchmark(PROG, parser, argv, measure)


def measure(args: argparse.Namespace) -> None:
    best = search_best(args.defaults or results_path("defaults", args.results_dir), args.keep)
    runs = {}
    for name, model in (("efficientnet_b0", "efficientnet_b0"), ("search_best", str(best))):
        out = args.keep / name
        if (out / "checkpoint.pt").exists():
            raise UsageError(f"{out} holds an earlier run: remove it (or give another --keep)")
        runs[name] = train(name, model, out, args.overrides)
    figures = {"overrides": args.overrides, "runs": runs}
    figures["test_acc_difference"] = round(runs["search_best"]["test_acc"] - runs["efficientnet_b0"]["test_acc"], 4)
    write_figures(PROG, figures, args.command, args.results_dir, args.start)


if __name__ == "__main__":
    main()
