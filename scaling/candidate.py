"""One record per scaled candidate, whichever command made it (grid, family, compare)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from scaling.compound import Multipliers, scale
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter

MEMBER_COLUMNS = [
    "d",
    "w",
    "r",
    "resolution",
    "proxy_resolution",
    "target_resolution",
    "params",
    "flops",
    "flops_ratio",
    "expected_ratio",
    "latency_ms",
    "latency_ratio",
]
"""The columns of a scaled member's table row that every scaling table shares (see :meth:`ScaledCandidate.row`)."""
TRAINED_COLUMNS = ["val_acc", "seconds", "duplicate_of", "reason"]
"""What a study records about training a member (the trial protocol's attributes)."""


@dataclass(frozen=True)
class ScaledCandidate:
    """The baseline scaled by ``(d, w, r)`` at ``phi``, and what it costs at the target input.

    ``resolution`` is the member's own input size (its genotype's), ``target_resolution`` the
    target's scaled by ``r`` (where FLOPs are counted), ``proxy_resolution`` the proxy's scaled
    by ``r`` (where it trains), or None when it is not trained.  ``latency_ms`` is its measured
    latency on the target device at the target input and ``latency_ratio`` that over the
    baseline's, both None when not measured.
    """

    phi: float
    multipliers: Multipliers
    genotype: Genotype
    target_resolution: int
    params: int
    flops: int
    flops_ratio: float
    proxy_resolution: int | None = None
    latency_ms: float | None = None
    latency_ratio: float | None = None

    @property
    def expected_ratio(self) -> float:
        return 2.0**self.phi

    @property
    def blocks(self) -> list[str]:
        return format_blocks(self.genotype)

    @property
    def model_key(self) -> str:
        """Same key, same network trained the same way (rounding maps several points to one)."""
        return ",".join(self.blocks) + f"@{self.proxy_resolution}px"

    def row(self) -> dict[str, Any]:
        """The record as a table row (``blocks`` comma-joined)."""
        d, w, r = self.multipliers
        return {
            "name": self.genotype.name,
            "phi": self.phi,
            "d": d,
            "w": w,
            "r": r,
            "resolution": self.genotype.resolution,
            "target_resolution": self.target_resolution,
            "proxy_resolution": self.proxy_resolution,
            "params": self.params,
            "flops": self.flops,
            "flops_ratio": self.flops_ratio,
            "expected_ratio": self.expected_ratio,
            "latency_ms": self.latency_ms,
            "latency_ratio": self.latency_ratio,
            "blocks": ",".join(self.blocks),
        }


def scaled_candidate(
    baseline: Genotype,
    phi: float,
    multipliers: tuple[float, float, float],
    target: Target,
    proxy_resolution: int | None = None,
    genotype: Genotype | None = None,
    name: str | None = None,
    latency: LatencyMeter | None = None,
) -> ScaledCandidate:
    """``baseline`` scaled by ``multipliers`` (or the given ``genotype``, e.g. an official member), costed.

    ``proxy_resolution`` is the proxy's own resolution, scaled here by ``r`` when given; with a
    ``latency`` meter, the member and the baseline are timed on its device, in this process.
    """
    d, w, r = multipliers
    member = genotype if genotype is not None else scale(baseline, depth=d, width=w, resolution=r)
    if name is not None:
        member = replace(member, name=name)
    params, flops = target.cost(member, r)
    return ScaledCandidate(
        phi=phi,
        multipliers=Multipliers(d, w, r),
        genotype=member,
        target_resolution=target.scaled_resolution(r),
        params=params,
        flops=flops,
        flops_ratio=flops / target.cost(baseline).flops,
        proxy_resolution=None if proxy_resolution is None else round(proxy_resolution * r),
        **({} if latency is None else latency_of(member, r, baseline, latency)),
    )


def latency_of(member: Genotype, r: float, baseline: Genotype, meter: LatencyMeter) -> dict[str, float]:
    """The member's measured latency at the target input scaled by ``r``, and its ratio to the baseline's.

    Both are timed by ``meter`` in this process (:meth:`LatencyMeter.ratio`), so a ratio never
    divides timings from two processes.
    """
    latency, ratio = meter.ratio(member, baseline, r)
    return {"latency_ms": round(latency.median_ms, 4), "latency_ratio": ratio}
