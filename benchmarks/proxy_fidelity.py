"""Does the default proxy rank candidates like a 5x larger budget does?

Samples genotypes from the MnasNet space around EfficientNet-B0, trains each with the default
proxy and with ``--budget`` times the epochs, and reports Kendall's tau between the two
rankings (and between two seeds of the default proxy, the noise floor) and the seconds per
candidate.  Hydra overrides of the ``train`` config change the proxy being measured::

    python -m benchmarks.proxy_fidelity --candidates 8 proxy.lr=0.03

The 5x runs dominate the cost (about 25 minutes for 8 candidates on 2 CPU cores).  While tuning,
``--reference runs/bench/<name>.json`` ranks against the 5x accuracies recorded by an earlier run
of the same candidates instead of training them again (the figures record that it did).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from hydra import compose, initialize_config_dir
from scipy.stats import kendalltau

from benchmarks.common import write_figures
from nas import config as conf
from nas.app import CONF_DIR
from nas.train import ProxyConfig, resolve_device, train_proxy
from search_spaces.codec import format_blocks
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--budget", type=int, default=5, help="epochs multiplier of the reference proxy")
    parser.add_argument("--space-seed", type=int, default=0)
    parser.add_argument("--name", default="proxy_fidelity", help="runs/bench/<name>.json")
    parser.add_argument("--reference", type=Path, help="reuse the 5x accuracies of this earlier figures file")
    parser.add_argument("--one-seed", action="store_true", help="skip the seed-1 run of the default (the noise floor)")
    parser.add_argument(
        "--reference-noise",
        action="store_true",
        help="train only the 5x runs again with seed 1 and rank them against those recorded in --reference",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml")
    args = parser.parse_args()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=args.overrides)
    device = resolve_device(cfg.device)
    conf.set_threads(cfg.threads)
    proxy = conf.fields_of(ProxyConfig, cfg.proxy)
    big = dataclasses.replace(proxy, epochs=proxy.epochs * args.budget)
    data = conf.proxy_data(conf.raw_dataset(cfg.dataset), conf.data_sizes(cfg.proxy), device)
    space = mnasnet_space(reference("efficientnet_b0"))
    rng = np.random.default_rng(args.space_seed)
    genotypes = [space.reference] + [space.sample(rng) for _ in range(args.candidates - 1)]
    if args.reference_noise:
        if not args.reference:
            raise SystemExit("--reference-noise needs --reference FILE (the run whose 5x accuracies to repeat)")
        reference_noise(args, genotypes, data, big)
        return
    recorded = reference_accuracies(args.reference) if args.reference else {}
    rows = []
    for i, genotype in enumerate(genotypes):
        row = {"blocks": format_blocks(genotype)}
        for label, settings, seed in (("default", proxy, 0), ("default_seed1", proxy, 1), ("big", big, 0)):
            if label == "default_seed1" and args.one_seed:
                row[label], row[f"{label}_seconds"] = float("nan"), 0.0
                continue
            if label == "big" and args.reference:
                key = ",".join(row["blocks"])
                if key not in recorded:
                    raise SystemExit(f"--reference {args.reference} has no 5x run of {key}; use the same --space-seed")
                row["big"], row["big_seconds"] = recorded[key]
                continue
            start = time.perf_counter()
            result = train_proxy(genotype, data, settings, seed=seed)
            row[label] = result.val_acc if result.ok else 0.0
            row[f"{label}_seconds"] = time.perf_counter() - start
        rows.append(row)
        print(
            f"[{i + 1}/{len(genotypes)}] default {row['default']:.4f} (seed 1: {row['default_seed1']:.4f}, "
            f"{row['default_seconds']:.1f} s)  {args.budget}x {row['big']:.4f} ({row['big_seconds']:.1f} s)",
            flush=True,
        )
    tau, _ = kendalltau([r["default"] for r in rows], [r["big"] for r in rows])
    tau_seed1, _ = kendalltau([r["default_seed1"] for r in rows], [r["big"] for r in rows])
    tau_noise, _ = kendalltau([r["default"] for r in rows], [r["default_seed1"] for r in rows])
    seconds = float(np.mean([r["default_seconds"] for r in rows]))
    b0_seconds = rows[0]["default_seconds"]
    figures = {
        "candidates": len(rows),
        "budget": args.budget,
        "reference_from": str(args.reference) if args.reference else None,
        "overrides": args.overrides,
        "proxy": dataclasses.asdict(proxy),
        "data": dataclasses.asdict(conf.data_sizes(cfg.proxy)),
        "kendall_tau": round(float(tau), 3),
        "kendall_tau_seed1": round(float(tau_seed1), 3),
        "kendall_tau_between_seeds": round(float(tau_noise), 3),
        "seconds_per_candidate": round(seconds, 1),
        "seconds_b0": round(b0_seconds, 1),
        "rows": rows,
    }
    print(
        f"Kendall tau default vs {args.budget}x: {tau:.3f} (seed 1: {tau_seed1:.3f}; seed 0 vs 1: {tau_noise:.3f}); "
        f"{seconds:.1f} s per candidate, B0 {b0_seconds:.1f} s"
    )
    write_figures(args.name, figures)


def reference_noise(args: argparse.Namespace, genotypes: list, data: Any, big: ProxyConfig) -> None:
    """How well the 5x budget agrees with itself across seeds: the ceiling on any proxy's tau."""
    recorded = recorded_rows(args.reference)
    rows = []
    for i, (genotype, old) in enumerate(zip(genotypes, recorded, strict=True)):
        if format_blocks(genotype) != old["blocks"]:
            raise SystemExit(f"--reference {args.reference} holds other candidates; use its --space-seed")
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
    write_figures(args.name, figures)


def recorded_rows(path: Path) -> list[dict[str, Any]]:
    """The per-candidate rows of an earlier figures file (``--reference``)."""
    try:
        return json.loads(path.read_text())["rows"]
    except (OSError, ValueError, KeyError) as err:
        raise SystemExit(f"--reference {path}: not a proxy_fidelity figures file ({err})") from None


def reference_accuracies(path: Path) -> dict[str, tuple[float, float]]:
    """Blocks -> (5x accuracy, seconds) recorded in an earlier figures file."""
    return {",".join(r["blocks"]): (r["big"], r["big_seconds"]) for r in recorded_rows(path)}


if __name__ == "__main__":
    main()
