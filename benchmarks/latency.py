"""How well does this toolkit know latency here: measurement noise, the lookup table, FLOPs against time.

1. The lookup table of the default space (around ``--reference`` EfficientNet-B0, 224 px, 1000 classes) on this
   device, built as ``python -m search_spaces.latency build`` does (or ``--table`` reused); its
   build time.
2. ``--candidates`` members of the space, each measured and predicted (around EfficientNet-B0 the
   candidate bank's held-out half, ``--bank``; around another reference drawn with ``--seed``): the
   share of predictions within +-10% of the measured latency (nn-Meter's metric), the mean
   absolute percentage error, and Kendall's tau between predicted and measured; beside them
   Kendall's tau between FLOPs and measured latency (how much ranking by FLOPs and by time disagree).
3. The measurement's own noise: ``--repeats`` rounds over ``--noise-candidates`` members, one
   measurement of each per round; coefficient of variation (standard deviation over mean) per
   member; the median is ``cv``.  Between processes: the reference timed once in each of
   ``--processes`` fresh processes (:mod:`search_spaces.latency.noise`, the same function and
   ``Target``); the CV of their medians is ``cv_processes``, the noise two records of one network
   (two commands) are judged by (``latencies_agree``).
4. With ``--search-trials`` > 0: the default search with ``objective.cost=latency`` (T: the
   reference's latency, predicted by the table), its best next to the reference, measured too;
   trailing Hydra overrides of conf/search.yaml (``proxy.epochs=1``, ...) change that search.

    python -m benchmarks.latency                          # ~20 min on 2 CPU cores, 1 thread timed
    python -m benchmarks.latency --candidates 10 --search-trials 0 --table runs/latency/t.json

Writes ``benchmarks/results/latency.json`` and ``latency.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from benchmarks.bank_members import RECORD, bank_half, load_bank, member_genotype
from benchmarks.common import add_record_options, command_line, measurement_start, results_path, write_figures
from nas.cli.schema import composed
from nas.proxy.datasets import DatasetSpec
from nas.search.latency import open_table
from nas.search.objective import Reward
from nas.search.run import run_search
from nas.search.settings import SearchConfig
from nas.studies.storage import StudySettings
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter, measure_latency
from search_spaces.latency.noise import coefficient_of_variation, latencies_agree, measure_in_processes
from search_spaces.latency.table import LatencyTable
from search_spaces.mnasnet import MnasNetSpace, mnasnet_space
from search_spaces.spec import resolve_spec

PROG = "latency"


def accuracy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The predictor's figures and FLOPs against latency on measured ``rows``."""
    measured = np.array([r["measured_ms"] for r in rows])
    predicted = np.array([r["predicted_ms"] for r in rows])
    errors = np.abs(predicted - measured) / measured
    return {
        "within_10pct": round(float(np.mean(errors <= 0.10)), 4),
        "mape": round(float(np.mean(errors)), 4),
        "max_error": round(float(np.max(errors)), 4),
        "tau_predicted_measured": round(float(kendalltau(predicted, measured).statistic), 4),
        "tau_flops_latency": round(float(kendalltau([r["flops"] for r in rows], measured).statistic), 4),
        "tau_params_latency": round(float(kendalltau([r["params"] for r in rows], measured).statistic), 4),
    }


def noise(members: Sequence[Genotype], target: Target, repeats: int) -> dict[str, Any]:
    """Coefficient of variation of repeated measurements of each member (median over members: ``cv``).

    The repeats go round the members, so each member's are spread over the whole run (drift counts).
    """
    times: list[list[float]] = [[] for _ in members]
    for _ in range(repeats):
        for genotype, kept in zip(members, times, strict=True):
            kept.append(measure_latency(genotype, target).median_ms)
    per_member = [coefficient_of_variation(t) for t in times]
    return {"cv": round(statistics.median(per_member), 4), "cv_per_member": [round(c, 4) for c in per_member]}


def process_noise(genotype: Genotype, target: Target, processes: int) -> dict[str, Any]:
    """``genotype`` timed in ``processes`` fresh processes: their medians and the CV between them."""
    medians = [round(t.median_ms, 4) for t in measure_in_processes(genotype, target, processes)]
    return {
        "cv_processes": round(coefficient_of_variation(medians), 4),
        "process_medians_ms": medians,
        "process_network": genotype.name,
    }


def latency_search(
    baseline: Genotype, table_path: Path, trials: int, target: Target, dataset: str, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """The default search (with ``overrides``) rewarded on latency (predicted; T the reference's), its best measured too."""
    meter = LatencyMeter(target)
    objective = Reward(cost="latency", latency="predicted", latency_table=str(table_path))
    settings = composed("search", overrides)
    search = dataclasses.replace(settings.search, n_trials=trials)
    config = SearchConfig(DatasetSpec(dataset), settings.proxy, target, settings.seed, search, objective)
    with tempfile.TemporaryDirectory() as scratch:
        study = StudySettings(storage=f"sqlite:///{scratch}/studies.db")
        found = run_search(baseline, config, study=study, out=Path(scratch) / "search")
        best_ms = meter(found.genotype).median_ms if found.best is not None else None
    result = {"trials": trials, "objective": found.summary["objective"], "n_trained": found.summary["n_trained"]}
    result["reference"] = {**found.summary["reference"], "measured_latency_ms": round(meter(baseline).median_ms, 3)}
    result["best"] = None if best_ms is None else {**found.best, "measured_latency_ms": round(best_ms, 3)}
    if best_ms is not None:
        print(f"latency search: best {found.best['latency_ms']:.2f} ms predicted, {best_ms:.2f} measured")
    return result


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference", default="efficientnet_b0", help="the space's reference (SPEC)")
    parser.add_argument("--resolution", type=int, default=224, help="the target input's side")
    parser.add_argument("--candidates", type=int, default=50, help="random members measured and predicted")
    parser.add_argument("--seed", type=int, default=1, help="which members (the table calibrates on seed 0's)")
    parser.add_argument(
        "--bank", type=Path, default=RECORD, help="around its reference, measure the bank's held-out members"
    )
    parser.add_argument("--noise-candidates", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="measurements of each noise candidate")
    parser.add_argument("--processes", type=int, default=5, help="fresh processes timing the reference (>= 2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-run-time", type=float, default=0.5, help="seconds timed per measurement")
    parser.add_argument(
        "--table", type=Path, help="a lookup table to reuse (default: the default one, built if absent)"
    )
    parser.add_argument("--search-trials", type=int, default=20, help="the latency search's trials (0: none)")
    parser.add_argument("--dataset", default="fashion_mnist", help="the latency search's dataset")
    add_record_options(parser, "latency.json")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/search.yaml for the latency search")
    args = parser.parse_args(argv)
    if args.processes < 2:
        parser.error(f"--processes must be >= 2 (a CV between processes), got {args.processes}")
    return args


def measured_rows(members: Sequence[Genotype], table: LatencyTable, target: Target) -> list[dict[str, Any]]:
    """Each member's cost, measured latency and the table's prediction."""
    rows = []
    for genotype in members:
        params, flops = target.cost(genotype)
        measured = measure_latency(genotype, target)
        rows.append(
            {
                "blocks": format_blocks(genotype),
                "params": params,
                "flops": flops,
                "measured_ms": round(measured.median_ms, 4),
                "iqr_ms": round(measured.iqr_ms, 4),
                "predicted_ms": round(table.predict(genotype), 4),
            }
        )
    return rows


def evaluation_members(args: argparse.Namespace, space: MnasNetSpace) -> tuple[list[Genotype], str]:
    """The members measured and predicted, and where they come from.

    Around the bank's reference, the first ``--candidates`` of the candidate bank's held-out half
    (the table's overhead is fitted on its own seed-0 members, which the bank never holds);
    around any other reference, ``--candidates`` drawn with ``--seed``.
    """
    bank = load_bank(args.bank) if args.bank.exists() else None
    if bank is not None and args.reference == bank["space"]:
        rows = bank_half(bank, "held_out")[: args.candidates]
        return [member_genotype(space, row) for row in rows], f"{args.bank.name} held_out"
    rng = np.random.default_rng(args.seed)
    return [space.sample(rng) for _ in range(args.candidates)], f"seed {args.seed}"


def table_figures(table: LatencyTable) -> dict[str, Any]:
    return {
        "entries": len(table.entries),
        "build_seconds": table.build_seconds,
        "constant_ms": round(table.constant_ms, 4),
        "per_layer_ms": round(table.per_layer_ms, 4),
        "measured_on": table.measured_on,
    }


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    start = measurement_start(args.results_dir, args.allow_dirty)
    baseline = resolve_spec(args.reference)
    target = Target(resolution=args.resolution, threads=args.threads, min_run_time=args.min_run_time)
    space = mnasnet_space(baseline)
    table, table_path = open_table(space, target, None if args.table is None else str(args.table), progress=True)
    print(f"latency table {table_path}: {len(table.entries)} entries, built in {table.build_seconds:.0f} s")
    members, drawn = evaluation_members(args, space)
    rows = measured_rows(members, table, target)
    figures: dict[str, Any] = {"n": len(rows), "members": drawn, **accuracy(rows)}
    figures.update(noise(members[: args.noise_candidates], target, args.repeats))
    figures.update(process_noise(baseline, target, args.processes))
    figures["table"] = table_figures(table)
    figures["settings"] = {"reference": baseline.name, **dataclasses.asdict(target)}
    print(
        f"{len(rows)} members: {100 * figures['within_10pct']:.0f}% predicted within 10%, MAPE {100 * figures['mape']:.1f}%, "
        f"tau(predicted, measured) {figures['tau_predicted_measured']:+.3f}, tau(FLOPs, latency) "
        f"{figures['tau_flops_latency']:+.3f}; measurement CV {100 * figures['cv']:.1f}% in one process, "
        f"{100 * figures['cv_processes']:.1f}% between {args.processes}; table of "
        f"{len(table.entries)} entries built in {table.build_seconds:.0f} s"
    )
    if args.search_trials:
        search = (baseline, table_path, args.search_trials, target, args.dataset, args.overrides)
        figures["search"] = latency_search(*search)
        reference_ms = figures["search"]["reference"]["measured_latency_ms"]  # timed after training, in this process
        fresh_ms = statistics.median(figures["process_medians_ms"])
        figures["search"]["reference"]["agrees_with_processes"] = latencies_agree(
            reference_ms, fresh_ms, figures["cv_processes"]
        )
    figures["candidates"] = rows
    plot(rows, results_path(PROG, args.results_dir).with_suffix(".png"), args.resolution)
    write_figures(PROG, figures, command_line("benchmarks.latency", argv), args.results_dir, start)


def plot(rows: list[dict[str, Any]], path: Path, resolution: int) -> None:
    """Predicted against measured latency, and FLOPs against measured latency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r["measured_ms"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.scatter(measured, [r["predicted_ms"] for r in rows], s=14)
    low, high = min(measured) * 0.9, max(measured) * 1.1
    left.plot([low, high], [low, high], "k:", lw=1, label="exact")
    left.fill_between([low, high], [low * 0.9, high * 0.9], [low * 1.1, high * 1.1], alpha=0.15, label="+-10%")
    left.set(xlabel="measured latency (ms)", ylabel="predicted latency (ms)", title="lookup table")
    left.legend()
    right.scatter([r["flops"] / 1e6 for r in rows], measured, s=14)
    right.set(xlabel=f"MFLOPs at {resolution} px", ylabel="measured latency (ms)", title="FLOPs against latency")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
