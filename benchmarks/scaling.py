"""Does scale pay on the grid's proxy?  The family at phi = 0, 1, 2 and each method alone, over seeds.

For each dataset (a name and its Hydra overrides of ``conf/compare.yaml``, e.g. a proxy budget),
runs ``scaling.compare`` (the baseline, then depth, width, resolution and compound scaling to about
``2**phi`` times its real FLOPs, each moved along its own direction where rounding misses that:
``compare.equal_cost``) at ``--seeds`` proxy seeds, in memory, and records each (method, phi)
accuracy's mean and 95% t-interval over seeds (EfficientNet's Table 3 on the proxy), with its
FLOPs ratio and (d, w, r).  The ``family`` is the baseline and the compound cells.  Scale *pays*
for a method when phi = 1 beats phi = 0 and phi = 2 beats phi = 1 seed by seed beyond noise (the
paired t-interval of the difference excludes zero) and beyond the validation split's sampling noise
(judged image by image from each model's per-image outcomes, ``margin``).  ``--grid-seeds N`` also
runs the default grid (plus ``--grid-override``) at N seeds and records how often its chosen triple
repeats (``grid_stability``).  ``--store DIR`` keeps every study in ``DIR/<commit>/studies.db``, so a
stopped run continues, on the same commit, from its last finished training, and each finished
dataset's figures in ``DIR/<commit>/datasets.json`` (copied to another machine's store at the same
commit and settings, its datasets are not run again).

Run: ``python -m benchmarks.scaling``; writes ``benchmarks/results/scaling.json`` (``--name``).
A dataset is ``NAME`` or ``NAME:OVERRIDE,OVERRIDE``, e.g.
``fashion_mnist:proxy.train_size=12000,proxy.epochs=4,methods=[compound]``.  A budget chosen from one
record is claimed on another whose ``--first-seed`` starts past the first one's seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import add_record_options, code_state, keep, kept_with, run_benchmark, write_figures
from nas.cli.references import resolve_model
from nas.cli.schema import UsageError, composed
from nas.proxy.noise import gap_margin, mean_interval, paired_margin
from nas.studies.storage import StudySettings
from scaling.coefficients import parse_coefficients
from scaling.compare_study import METHODS, run_compare
from scaling.compare_verdicts import OUTCOMES_FILE, read_outcomes, run_key
from scaling.grid_study import run_grid
from scaling.schema import CompareCommand  # noqa: F401  (registers the scaling commands' schemas)

PROG = "scaling"
PHIS = (1.0, 2.0)
KEPT_FILE = "datasets.json"  # in --store/<commit>: each finished dataset's figures, so a run continues by dataset


def parse_dataset(text: str) -> tuple[str, list[str]]:
    """``NAME`` or ``NAME:KEY=VALUE,KEY=VALUE`` -> (label, overrides); the name is the dataset config's."""
    name, _, rest = text.partition(":")
    overrides = [o for o in re.split(r",(?![^\[]*\])", rest) if o]  # methods=[depth,compound] stays whole
    if not name or any("=" not in o for o in overrides):
        raise ValueError(f"dataset {text!r}: expected NAME or NAME:KEY=VALUE,KEY=VALUE")
    return text, [f"dataset={name}", *overrides]


def summary_of(values: Sequence[float]) -> dict[str, Any]:
    """Mean, 95% t-interval and count of one cell's accuracies over seeds."""
    interval = mean_interval(values)
    return {
        "mean": round(sum(values) / len(values), 5),
        "interval": None if interval is None else [round(v, 5) for v in interval],
        "seeds": len(values),
        "values": [round(v, 5) for v in values],
    }


def rises(
    lower: Sequence[float],
    upper: Sequence[float],
    n_val: int | None,
    outcomes: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
) -> dict[str, Any]:
    """``upper`` against ``lower``, seed by seed: the mean difference, its interval, and whether it beats noise.

    A step rises (or falls) when the seed-by-seed t-interval excludes zero and the mean gap is
    beyond the validation split's sampling noise too (equal differences give a zero-width interval):
    image by image when each seed's per-image ``outcomes`` (lower's, upper's) are kept, else unpaired.
    """
    interval = mean_interval([u - v for u, v in zip(upper, lower, strict=True)])
    high, low = sum(upper) / len(upper), sum(lower) / len(lower)
    difference = high - low
    paired = outcomes is not None and len(outcomes[0]) == len(lower) == len(outcomes[1])
    margin = paired_margin(*outcomes) if paired else gap_margin(high, low, n_val) if n_val else 0.0
    verdict = "tie"
    if interval is not None and abs(difference) > margin and not interval[0] <= 0 <= interval[1]:
        verdict = "rises" if interval[0] > 0 else "falls"
    return {
        "difference": round(difference, 5),
        "interval": None if interval is None else [round(v, 5) for v in interval],
        "margin": round(margin, 5),
        "paired": paired,
        "verdict": verdict,
    }


def compare_once(
    overrides: list[str], seed: int, args: argparse.Namespace, scratch: Path
) -> tuple[pd.DataFrame, int | None, dict[str, np.ndarray]]:
    """One comparison at one seed: its table (method, phi, val_acc, flops_ratio), split size and per-image outcomes."""
    fixed = [f"seed={seed}", "phis=[1,2]", "latency=false", "progress=false"]
    cfg = composed("compare", [*overrides, *fixed])
    out = scratch / f"compare-{seed}"
    baseline = resolve_model(args.baseline, None)
    run = run_compare(baseline, args.coefficients, cfg, study=args.study, worker=cfg.worker_settings(), out=out)
    if run.status:  # stopped part-way: the record waits for a full run
        stopped(run.status, args)
    return pd.read_csv(out / "compare.csv"), run.summary["dataset"].get("n_val"), read_outcomes(out / OUTCOMES_FILE)


def paired_outcomes(
    outcomes: dict[tuple[str, float], list[np.ndarray]], lower: tuple[str, float], upper: tuple[str, float]
) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """Both runs' per-image outcomes, seed by seed, when every seed kept them (None otherwise)."""
    pair = outcomes.get(lower, []), outcomes.get(upper, [])
    return pair if pair[0] and len(pair[0]) == len(pair[1]) else None


def measure_dataset(label: str, overrides: list[str], args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """The family and the single methods at every phi, over seeds, and whether each rises with phi."""
    start = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    runs = [compare_once(overrides, s, args, scratch) for s in seeds]
    n_val = runs[0][1]
    accuracy: dict[tuple[str, float], list[float]] = {}
    outcomes: dict[tuple[str, float], list[np.ndarray]] = {}
    flops: dict[tuple[str, float], float] = {}
    scaled: dict[tuple[str, float], list[float]] = {}
    for table, _, kept in runs:
        for _, row in table.iterrows():
            key = ("baseline", 0.0) if row["method"] == "baseline" else (row["method"], float(row["phi"]))
            accuracy.setdefault(key, []).append(float(row["val_acc"]))
            if (name := run_key(row["method"], row["phi"])) in kept:
                outcomes.setdefault(key, []).append(kept[name])
            flops[key] = float(row["flops_ratio"])
            scaled[key] = [round(float(row[k]), 4) for k in ("d", "w", "r")]
    base = accuracy[("baseline", 0.0)]
    methods: dict[str, dict[str, Any]] = {}
    verdicts: dict[str, dict[str, Any]] = {}
    for method in [m for m in METHODS if (m, PHIS[0]) in accuracy]:  # methods=[...] may leave some out
        keys = [("baseline", 0.0)] + [(method, phi) for phi in PHIS]
        steps = [accuracy[key] for key in keys]
        methods[method] = {
            f"{phi:g}": {
                **summary_of(accuracy[(method, phi)]),
                "flops_ratio": round(flops[(method, phi)], 3),
                "multipliers": scaled[(method, phi)],
            }
            for phi in PHIS
        }
        verdicts[method] = {
            f"{i + 1}>{i}": rises(steps[i], steps[i + 1], n_val, paired_outcomes(outcomes, keys[i], keys[i + 1]))
            for i in range(len(PHIS))
        }
        print(f"{label} {method}: " + ", ".join(f"{k} {v['verdict']}" for k, v in verdicts[method].items()), flush=True)
    family = {"0": summary_of(base), **methods.get("compound", {})}
    return {
        "overrides": overrides,
        "n_val": n_val,
        "family": family,
        "methods": methods,
        "rises": verdicts,
        "scale_pays": "compound" in verdicts and all(v["verdict"] == "rises" for v in verdicts["compound"].values()),
        "seconds": round(time.perf_counter() - start, 1),
    }


def grid_overrides(overrides: list[str]) -> list[str]:
    """A dataset's overrides less those the grid's config has no section for (``methods``, ``compare.*``, ...)."""
    grid = composed("grid")
    return [o for o in overrides if hasattr(grid, o.split("=", 1)[0].lstrip("+~").split(".")[0])]


def grid_stability(overrides: list[str], args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """The default grid at ``args.grid_seeds`` seeds: the triple each chose, and how often the commonest repeats."""
    triples, ties, seeds = [], [], []
    for k in range(args.grid_seeds):
        fixed = [*grid_overrides(overrides), *args.grid_override, "latency=false", "progress=false"]
        # a grid at seed s re-trains at s+1, ...: none shared
        seed = args.first_seed + k * composed("grid", fixed).grid.max_seeds
        cfg = composed("grid", [*fixed, f"seed={seed}"])
        seeds.append(seed)
        baseline = resolve_model(args.baseline, None)
        result = run_grid(baseline, cfg, study=args.study, worker=cfg.worker_settings(), out=scratch / f"grid-{seed}")
        if result.status:
            stopped(result.status, args)
        triples.append(list(result.triple))
        ties.append(result.summary["tie"])
        print(f"grid seed {seed}: {result.triple} (tie: {result.summary['tie']})", flush=True)
    common, count = Counter(map(tuple, triples)).most_common(1)[0]
    return {
        "seeds": seeds,
        "triples": triples,
        "ties": ties,
        "most_common": list(common),
        "same": f"{count}/{len(triples)}",
    }


def stopped(status: int, args: argparse.Namespace) -> None:
    """Say in one line what a stop kept, and exit with the study's status."""
    said = f"{PROG}: stopped; nothing recorded"
    if args.store:
        said += f"; the finished trainings are kept in {args.store}, and the same command continues"
    print(said, file=sys.stderr, flush=True)
    raise SystemExit(status)


def kept_studies(args: argparse.Namespace) -> Path:
    """``--store``/<tree>: where this tree's studies are kept (``args.study``), so a stopped run continues.

    The tree is :func:`benchmarks.common.code_state`, so code that differs never shares a study.
    """
    tree = code_state()
    if tree is None:
        raise UsageError("--store keeps the studies per commit: run the benchmark in a git checkout")
    folder = (args.store / tree).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    args.study = StudySettings(storage=f"sqlite:///{folder / 'studies.db'}")
    return folder


def measure_one(label: str, overrides: list[str], args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """One dataset's figures and, with ``--grid-seeds``, its grids' choices."""
    readable = re.sub(r"[^\w.=-]+", "_", label)[:80]
    folder = scratch / f"{readable}-{hashlib.sha256(label.encode()).hexdigest()[:8]}"  # alike labels stay apart
    figures = measure_dataset(label, overrides, args, folder)
    return {"figures": figures, "grid_stability": grid_stability(overrides, args, folder) if args.grid_seeds else None}


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """What a kept dataset's figures depend on besides the commit (which names the store's folder)."""
    names = ("baseline", "coefficients", "seeds", "first_seed", "grid_seeds", "grid_override")
    return {name: getattr(args, name) for name in names}  # kept_with compares them as JSON (a tuple as a list)


def measure(args: argparse.Namespace) -> None:
    if args.seeds < 2:
        raise ValueError(f"--seeds must be at least 2 (an interval needs two), got {args.seeds}")
    args.coefficients = parse_coefficients(args.coefficients).triple
    args.study = None  # in memory, unless --store keeps the studies
    datasets: dict[str, Any] = {}
    stability: dict[str, Any] = {}
    parsed = [parse_dataset(text) for text in args.dataset or ["fashion_mnist"]]  # all checked before any runs
    with contextlib.ExitStack() as stack:
        scratch = kept_studies(args) if args.store else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        kept, kept_as = scratch / KEPT_FILE if args.store else None, {"settings": settings_of(args)}
        done = (kept_with(kept, kept_as) or {}).get("datasets", {})
        for label, overrides in parsed:
            if label in done:
                print(f"{label}: kept from {kept}", flush=True)
            else:
                done[label] = measure_one(label, overrides, args, scratch)
                if kept is not None:
                    keep(kept, {**kept_as, "datasets": done})
            datasets[label] = done[label]["figures"]
            if done[label]["grid_stability"] is not None:
                stability[label] = done[label]["grid_stability"]
    figures = {
        "baseline": args.baseline,
        "coefficients": list(args.coefficients),
        "seeds": args.seeds,
        "first_seed": args.first_seed,
        "store": None if args.store is None else str(args.store),
        "datasets": datasets,
        "grid_stability": stability or None,
    }
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", action="append", help="NAME or NAME:OVERRIDE,... (repeat; default fashion_mnist)")
    parser.add_argument("--seeds", type=int, default=3, help="proxy seeds per model (default 3)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from here (keep tuning and claims apart)")
    parser.add_argument("--name", default=PROG, help="the record's name (default scaling: scaling.json)")
    parser.add_argument("--baseline", default="efficientnet_b0", help="SPEC of the network scaled")
    parser.add_argument("--coefficients", default="1.2,1.1,1.15", help="compound (alpha, beta, gamma)")
    parser.add_argument("--grid-seeds", type=int, default=0, help="also run the default grid at N seeds")
    parser.add_argument("--grid-override", action="append", default=[], help="a Hydra override for the grid only")
    parser.add_argument("--store", type=Path, help="keep the studies here, per commit, so a stopped run continues")
    add_record_options(parser, "scaling.json")
    run_benchmark(PROG, parser, argv, measure)


if __name__ == "__main__":
    main()
