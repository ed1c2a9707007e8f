"""Does the default proxy rank candidates like a 5x larger budget does?

Samples genotypes from the MnasNet space around EfficientNet-B0, trains each with the default
proxy and with ``--budget`` times its compute (images seen), and reports Kendall's tau between
the two rankings (and between two seeds of the default proxy, the noise floor) and the seconds
per candidate.  The reference spends its budget in ``--reference-epochs`` epochs (3 by default)
over as many more training images as that takes (40,000 for the default proxy), validated on
the same images; ``--reference-epochs 15`` instead repeats the proxy's own 8,000 images five
times as long.  Hydra overrides of the ``train`` config change the proxy being measured::

    python -m benchmarks.proxy_fidelity --candidates 8 proxy.lr=0.03

The 5x runs dominate the cost (about 20 minutes for 8 candidates on 2 CPU cores).  Writes
``benchmarks/results/<--name>.json``.  While tuning, ``--reference benchmarks/results/<name>.json`` ranks against the 5x accuracies recorded by an earlier run
of the same candidates instead of training them again (the figures record that it did), and
``--reference-noise`` trains the 5x runs again with another seed: how well the reference agrees
with itself bounds the tau any proxy can reach against it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException
from scipy.stats import kendalltau

from benchmarks.common import add_record_options, command_line, measurement_start, write_figures
from nas.cli.app import fail
from nas.cli.overrides import config_error
from nas.cli.schema import UsageError, composed
from nas.proxy.data import DataSizes, ProxyData, ProxyDataCache
from nas.proxy.datasets import RawDataset
from nas.proxy.device import use_device
from nas.proxy.trainer import ProxyConfig, train_proxy
from search_spaces.codec import format_blocks
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference

PROG = "proxy_fidelity"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--budget", type=int, default=5, help="compute multiplier of the reference proxy")
    parser.add_argument(
        "--reference-epochs",
        type=int,
        default=3,
        help="epochs of the reference; it trains on budget x the proxy's images x epochs / this many images",
    )
    parser.add_argument("--space-seed", type=int, default=0)
    parser.add_argument("--name", default="proxy_fidelity", help="the record is <results-dir>/<name>.json")
    add_record_options(parser, "the record")
    parser.add_argument("--reference", type=Path, help="reuse the 5x accuracies of this earlier figures file")
    parser.add_argument("--one-seed", action="store_true", help="skip the seed-1 run of the default (the noise floor)")
    parser.add_argument(
        "--reference-noise",
        action="store_true",
        help="train only the 5x runs again with seed 1 and rank them against those recorded in --reference",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.command = command_line("benchmarks.proxy_fidelity", argv)
    args.start = measurement_start(args.results_dir, args.allow_dirty)
    try:
        measure(args)
    except (HydraException, OmegaConfBaseException) as err:
        fail(PROG, config_error(err))
    except (UsageError, ValueError, FileNotFoundError) as err:
        fail(PROG, err)


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse, before any data is loaded, what the measurement cannot be made with."""
    if args.candidates < 2 or args.budget < 2 or args.reference_epochs < 1:
        raise UsageError(
            "--candidates and --budget must be >= 2 and --reference-epochs >= 1, "
            f"got {args.candidates}, {args.budget} and {args.reference_epochs}"
        )
    if args.reference_noise and not args.reference:
        raise UsageError("--reference-noise needs --reference FILE (the run whose 5x accuracies to repeat)")


def measure(args: argparse.Namespace) -> None:
    """Train the candidates as ``args`` say, print Kendall's tau and write the figures."""
    check_arguments(args)
    cfg = composed("train", args.overrides)
    device = use_device(cfg.device, cfg.threads)
    proxy = cfg.proxy
    raw = cfg.dataset.load()
    cache = ProxyDataCache(raw, proxy.sizes, device)
    sizes, data = cache.sizes, cache.at()
    space = mnasnet_space(reference("efficientnet_b0"))
    rng = np.random.default_rng(args.space_seed)
    genotypes = [space.reference] + [space.sample(rng) for _ in range(args.candidates - 1)]
    recorded = recorded_figures(args.reference) if args.reference else None
    if recorded is None or args.reference_noise:
        train_size, epochs = reference_sizes(args.budget, args.reference_epochs, raw, sizes, proxy)
        if recorded is not None:
            check_same_reference(args.reference, recorded, train_size, epochs)
        big = dataclasses.replace(proxy, epochs=epochs)
        big_data = ProxyDataCache(raw, dataclasses.replace(sizes, train_size=train_size), device).at()
        reference_size = {"reference_train_size": train_size, "reference_epochs": epochs}
    else:
        reference_size = {k: recorded.get(k) for k in ("reference_train_size", "reference_epochs")}
        big_by_blocks = {",".join(r["blocks"]): (r["big"], r["big_seconds"]) for r in recorded["rows"]}
    if args.reference_noise:
        reference_noise(args, genotypes, recorded["rows"], big_data, big)
        return
    runs = {"default": (proxy, data), "default_seed1": (proxy, data)}
    if recorded is None:
        runs["big"] = (big, big_data)
    rows = []
    for i, genotype in enumerate(genotypes):
        row = train_row(args, genotype, runs, None if recorded is None else big_by_blocks)
        rows.append(row)
        print(
            f"[{i + 1}/{len(genotypes)}] default {row['default']:.4f} (seed 1: {row['default_seed1']:.4f}, "
            f"{row['default_seconds']:.1f} s)  {args.budget}x {row['big']:.4f} ({row['big_seconds']:.1f} s)",
            flush=True,
        )
    figures = {
        "candidates": len(rows),
        "budget": args.budget,
        **reference_size,
        "reference_from": str(args.reference) if args.reference else None,
        "overrides": args.overrides,
        "proxy": proxy.identity(),
        "data": dataclasses.asdict(proxy.sizes),
        **rank_figures(rows),
        "rows": rows,
    }
    print(
        f"Kendall tau default vs {args.budget}x: {figures['kendall_tau']:.3f} "
        f"(seed 1: {figures['kendall_tau_seed1']:.3f}; seed 0 vs 1: {figures['kendall_tau_between_seeds']:.3f}); "
        f"{figures['seconds_per_candidate']:.1f} s per candidate, B0 {figures['seconds_b0']:.1f} s"
    )
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def train_row(
    args: argparse.Namespace,
    genotype: Genotype,
    runs: dict[str, tuple[ProxyConfig, ProxyData]],
    big_by_blocks: dict[str, tuple[float, float]] | None,
) -> dict[str, Any]:
    """One candidate trained at the default budget (seeds 0 and 1) and the larger one (or its recorded run)."""
    row: dict[str, Any] = {"blocks": format_blocks(genotype)}
    for label, seed in (("default", 0), ("default_seed1", 1), ("big", 0)):
        if label == "default_seed1" and args.one_seed:
            row[label], row[f"{label}_seconds"] = float("nan"), 0.0
            continue
        if label == "big" and big_by_blocks is not None:
            key = ",".join(row["blocks"])
            if key not in big_by_blocks:
                raise UsageError(f"--reference {args.reference} has no 5x run of {key}; use the same --space-seed")
            row["big"], row["big_seconds"] = big_by_blocks[key]
            continue
        settings, run_data = runs[label]
        start = time.perf_counter()
        result = train_proxy(genotype, run_data, settings, seed=seed)
        row[label] = result.val_acc if result.ok else 0.0
        row[f"{label}_seconds"] = time.perf_counter() - start
    return row


def rank_figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Kendall's tau of the default budget (each seed) against the larger one and between seeds; seconds."""
    default, seed1, big = ([r[k] for r in rows] for k in ("default", "default_seed1", "big"))
    return {
        "kendall_tau": round(float(kendalltau(default, big)[0]), 3),
        "kendall_tau_seed1": round(float(kendalltau(seed1, big)[0]), 3),
        "kendall_tau_between_seeds": round(float(kendalltau(default, seed1)[0]), 3),
        "seconds_per_candidate": round(float(np.mean([r["default_seconds"] for r in rows])), 1),
        "seconds_b0": round(rows[0]["default_seconds"], 1),
    }


def reference_noise(
    args: argparse.Namespace, genotypes: list, recorded: list[dict[str, Any]], data: ProxyData, big: ProxyConfig
) -> None:
    """How well the 5x budget agrees with itself across seeds: the ceiling on any proxy's tau."""
    rows = []
    for i, (genotype, old) in enumerate(zip(genotypes, recorded, strict=True)):
        if format_blocks(genotype) != old["blocks"]:
            raise UsageError(f"--reference {args.reference} holds other candidates; use its --space-seed")
        start = time.perf_counter()
        result = train_proxy(genotype, data, big, seed=1)
        row = {
            **old,
            "big_seed1": result.val_acc if result.ok else 0.0,
            "big_seed1_seconds": time.perf_counter() - start,
        }
        rows.append(row)
        print(
            f"[{i + 1}/{len(genotypes)}] {args.budget}x seed 0 {row['big']:.4f}, seed 1 {row['big_seed1']:.4f}",
            flush=True,
        )
    big0 = [r["big"] for r in rows]
    big1 = [r["big_seed1"] for r in rows]
    mean = [(a + b) / 2 for a, b in zip(big0, big1, strict=True)]
    figures = {
        "reference_from": str(args.reference),
        "budget": args.budget,
        "kendall_tau_big_seed0_vs_seed1": round(float(kendalltau(big0, big1)[0]), 3),
        "kendall_tau_default_vs_big_mean": round(float(kendalltau([r["default"] for r in rows], mean)[0]), 3),
        "kendall_tau_default_seed1_vs_big_mean": round(
            float(kendalltau([r["default_seed1"] for r in rows], mean)[0]), 3
        ),
        "rows": rows,
    }
    print(
        f"Kendall tau {args.budget}x seed 0 vs seed 1: {figures['kendall_tau_big_seed0_vs_seed1']:.3f}; "
        f"default vs the mean of both: {figures['kendall_tau_default_vs_big_mean']:.3f}"
    )
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def reference_sizes(budget: int, epochs: int, raw: RawDataset, sizes: DataSizes, proxy: ProxyConfig) -> tuple[int, int]:
    """The reference's training images and epochs: ``budget`` x the images the proxy sees, in ``epochs``."""
    train_size = budget * sizes.train_size * proxy.epochs // epochs
    available = len(raw.train_labels) - sizes.val_size
    if train_size > available:
        raise UsageError(
            f"a {budget}x reference in {epochs} epochs needs {train_size} training images; "
            f"{raw.name} has {available} beside the validation set (raise --reference-epochs)"
        )
    return train_size, epochs


def check_same_reference(path: Path, recorded: dict[str, Any], train_size: int, epochs: int) -> None:
    """``--reference-noise`` repeats the recorded reference: it must be the same budget."""
    was = (recorded.get("reference_train_size"), recorded.get("reference_epochs"))
    if None not in was and was != (train_size, epochs):
        raise UsageError(
            f"--reference {path} trained its reference on {was[0]} images x {was[1]} epochs, "
            f"these arguments on {train_size} x {epochs}; pass the same --budget and --reference-epochs"
        )


def recorded_figures(path: Path) -> dict[str, Any]:
    """An earlier figures file (``--reference``), checked to hold the reference's accuracies."""
    try:
        figures = json.loads(path.read_text())
        rows = figures["rows"]
        if not all({"blocks", "big", "big_seconds"} <= row.keys() for row in rows):
            raise KeyError("a row lacks blocks, big or big_seconds")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(f"--reference {path}: not a proxy_fidelity figures file ({err!r})") from None
    return figures


if __name__ == "__main__":
    main()
