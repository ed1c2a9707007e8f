"""A family: the baseline and one member per phi, scaled by compound coefficients (or the official B0..B7 table).

Each member is one :class:`~scaling.candidate.ScaledCandidate` record; :func:`write_family` writes
one genotype file per member, ``family.csv`` and ``family.png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from scaling.candidate import ScaledCandidate, scaled_candidate
from scaling.coefficients import Coefficients, parse_coefficients
from scaling.compound import compound_multipliers, parse_phis
from scaling.equal_cost import equal_cost_multipliers, method_direction, moved
from scaling.grid_points import check_tolerance
from search_spaces.codec import save_genotype
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter
from search_spaces.references import EFFICIENTNET_TABLE, reference
from search_spaces.spec import resolve_spec


def compound_family(
    baseline: Genotype,
    coefficients: tuple[float, float, float],
    phis: Sequence[float],
    target: Target,
    latency: LatencyMeter | None = None,
    cost_tolerance: float | None = None,
) -> list[ScaledCandidate]:
    """The baseline (phi 0) and one member per phi, scaled by ``coefficients`` (timed with ``latency``).

    With ``cost_tolerance``, a member whose rounded network misses ``2**phi`` times the baseline's
    real FLOPs by more than that fraction is moved along the compound direction to the step whose
    FLOPs are nearest (:func:`~scaling.equal_cost.equal_cost_multipliers`), as ``scaling.compare`` does.
    """
    members = [scaled_candidate(baseline, 0.0, (1.0, 1.0, 1.0), target, latency=latency)]
    for phi in phis:
        if cost_tolerance is None:
            multipliers = compound_multipliers(*coefficients, phi)
        else:
            direction = method_direction("compound", coefficients)
            multipliers = equal_cost_multipliers(baseline, direction, phi, target, cost_tolerance)
        name = f"{baseline.name}_phi{phi:g}"
        members.append(scaled_candidate(baseline, phi, multipliers, target, name=name, latency=latency))
    return members


def family_at_cost(
    baseline: Genotype,
    coefficients: tuple[float, float, float],
    phis: Sequence[float],
    target: Target,
    latency: LatencyMeter | None,
    equal_cost: bool,
    tolerance: float,
    setting: str = "equal_cost",
) -> tuple[list[ScaledCandidate], list[str]]:
    """The family, held to ``2**phi`` times the baseline's real FLOPs within ``tolerance`` when
    ``equal_cost``, and one line per member moved off ``coefficients**phi`` (naming ``setting``)."""
    members = compound_family(baseline, coefficients, phis, target, latency, tolerance if equal_cost else None)
    lines = []
    for member in members[1:]:
        nominal = compound_multipliers(*coefficients, member.phi)
        if tuple(member.multipliers) != tuple(nominal):
            fitted, name = member.multipliers, member.genotype.name
            lines.append(moved(name, member.phi, nominal, fitted, baseline, target, tolerance, setting))
    return members, lines


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
    from scaling.plots import plot_family  # matplotlib loads when a figure is drawn, not when a command starts

    plot_family(frame, out / "family.png", title)
    return frame


def make_family(
    baseline: Genotype | str,
    coefficients: Coefficients | tuple[float, float, float] | str,
    phis: Sequence[float] = (1, 2, 3, 4, 5, 6, 7),
    target: Target | None = None,
    latency: bool = True,
    equal_cost: bool = True,
    cost_tolerance: float = 0.1,
) -> list[ScaledCandidate]:
    """The baseline and one member per phi; what ``python -m scaling.family`` writes.

    ``coefficients`` may be a grid's ``coefficients.yaml``: it must then belong to ``baseline``.
    ``latency``: each member's latency is measured on ``target.device``.  ``equal_cost``: a member
    whose real FLOPs miss ``2**phi`` times the baseline's by more than ``cost_tolerance`` is moved
    to the nearest step along the compound direction (see :func:`compound_family`).
    """
    genotype = resolve_spec(baseline)
    if not isinstance(coefficients, Coefficients):
        coefficients = parse_coefficients(coefficients)
    coefficients.check_baseline(genotype)
    target = target or Target()
    meter = LatencyMeter(target) if latency else None
    tolerance, triple = check_tolerance(cost_tolerance, "cost_tolerance"), coefficients.triple
    members, _ = family_at_cost(genotype, triple, parse_phis(list(phis)), target, meter, equal_cost, tolerance)
    return members
