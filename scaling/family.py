"""``python -m scaling.family``: scale a baseline into a family, one member per phi.

``coefficients`` is a ``coefficients.yaml`` written by ``scaling.grid`` or a triple
``alpha,beta,gamma`` (default: the paper's 1.2, 1.1, 1.15).  ``preset=efficientnet`` instead
writes the official B0..B7 table (its rounded resolutions and hand-picked multipliers).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from nas.cli.app import hydra_entry, plain, run_dir, scaled_latency, typed
from scaling.candidate import ScaledCandidate, scaled_candidate
from scaling.coefficients import parse_coefficients
from scaling.compound import compound_multipliers, parse_phis
from scaling.plots import plot_family
from search_spaces.codec import save_genotype
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter
from search_spaces.references import EFFICIENTNET_TABLE, reference
from search_spaces.spec import resolve_spec

PROG = "python -m scaling.family"
PRESETS = ("none", "efficientnet")


def compound_family(
    baseline: Genotype,
    coefficients: tuple[float, float, float],
    phis: Sequence[float],
    target: Target,
    latency: LatencyMeter | None = None,
) -> list[ScaledCandidate]:
    """The baseline (phi 0) and one member per phi, scaled by ``coefficients`` (timed with ``latency``)."""
    members = [scaled_candidate(baseline, 0.0, (1.0, 1.0, 1.0), target, latency=latency)]
    for phi in phis:
        multipliers = compound_multipliers(*coefficients, phi)
        name = f"{baseline.name}_phi{phi:g}"
        members.append(scaled_candidate(baseline, phi, multipliers, target, name=name, latency=latency))
    return members


def efficientnet_family(target: Target, latency: LatencyMeter | None = None) -> list[ScaledCandidate]:
    """The official B0..B7 (phi = 0..7) with the table's multipliers and resolutions."""
    base = EFFICIENTNET_TABLE["efficientnet_b0"].resolution
    b0 = reference("efficientnet_b0")
    return [
        scaled_candidate(
            b0,
            float(i),
            (row.depth, row.width, row.resolution / base),
            target,
            genotype=reference(name),
            latency=latency,
        )
        for i, (name, row) in enumerate(EFFICIENTNET_TABLE.items())
    ]


def family_frame(members: Sequence[ScaledCandidate]) -> pd.DataFrame:
    return pd.DataFrame([m.row() for m in members]).drop(columns=["proxy_resolution"])


def write_family(members: Sequence[ScaledCandidate], out: Path, title: str) -> pd.DataFrame:
    """One genotype file per member, ``family.csv`` and ``family.png`` in ``out``; returns the table."""
    out.mkdir(parents=True, exist_ok=True)
    for member in members:
        save_genotype(member.genotype, out / f"{member.genotype.name}.yaml")
    frame = family_frame(members)
    frame.to_csv(out / "family.csv", index=False)
    plot_family(frame, out / "family.png", title)
    return frame


def run(cfg: DictConfig) -> pd.DataFrame:
    if cfg.preset not in PRESETS:
        raise ValueError(f"unknown preset {cfg.preset!r}; allowed: {', '.join(PRESETS)}")
    target = typed(Target, cfg.target)
    latency = scaled_latency(cfg)
    meter = None if latency is None else LatencyMeter(target, latency)
    if cfg.preset == "efficientnet":
        baseline = reference("efficientnet_b0")
        members = efficientnet_family(target, meter)
        source = "the official EfficientNet table"
    else:
        baseline = resolve_spec(cfg.baseline, storage=cfg.study.storage)
        coefficients = parse_coefficients(plain(cfg.coefficients), storage=cfg.study.storage)
        coefficients.check_baseline(baseline)
        members = compound_family(baseline, coefficients.triple, parse_phis(plain(cfg.phis)), target, meter)
        source = coefficients.describe()
    frame = write_family(members, run_dir(), f"{baseline.name} family ({source})")
    with pd.option_context("display.width", 160):
        print(frame.drop(columns=["blocks"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{len(frame)} members of {baseline.name} scaled by {source} -> {run_dir()}")
    return frame


main = hydra_entry(PROG, "family", run)

if __name__ == "__main__":
    main()
