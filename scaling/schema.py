"""The scaling commands' config schema (conf/grid.yaml, family, compare, pipeline), registered with Hydra.

As in ``nas.cli.schema``: each command's schema is the settings its library call takes plus the
command's own fields (the SPECs it is given, device, threads); the YAML files are presets over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nas.cli.schema import OnDevice, SharedStudy, Space, store_schema
from nas.studies.storage import StudySettings
from scaling.compare_study import CompareConfig
from scaling.compound import PAPER_COEFFICIENTS, parse_phis
from scaling.grid_points import check_tolerance
from scaling.grid_study import GridConfig
from scaling.stages import PipelineConfig
from search_spaces.cost import Target

PRESETS = ("none", "efficientnet")


@dataclass(frozen=True)
class GridCommand(GridConfig, SharedStudy):
    """``python -m scaling.grid --phi 1 baseline=SPEC``."""

    baseline: str = "efficientnet_b0"  # SPEC: a reference name, genotype file, block strings, search:STUDY


@dataclass(frozen=True)
class CompareCommand(CompareConfig, SharedStudy):
    """``python -m scaling.compare baseline=SPEC``."""

    baseline: str = "efficientnet_b0"
    coefficients: Any = (
        PAPER_COEFFICIENTS  # for the compound method: a coefficients.yaml, grid:STUDY or [alpha,beta,gamma]
    )


@dataclass(frozen=True)
class FamilyCommand:
    """``python -m scaling.family baseline=SPEC coefficients=... phis=[1,2,3]`` (no training)."""

    baseline: str = "efficientnet_b0"
    coefficients: Any = PAPER_COEFFICIENTS  # a coefficients.yaml from scaling.grid, grid:STUDY, or [alpha,beta,gamma]
    phis: Any = (1, 2, 3, 4, 5, 6, 7)
    preset: str = "none"  # efficientnet: the official B0..B7 table instead
    latency: bool = True  # measure each member's latency on target.device (latency_ms, latency_ratio)
    equal_cost: bool = True  # move a member whose rounded network misses 2**phi x the FLOPs back to it
    cost_tolerance: float = 0.1  # how far a member's real FLOPs ratio may lie from 2**phi (as a fraction of it)
    target: Target = field(default_factory=Target)
    study: StudySettings = field(default_factory=StudySettings)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; allowed: {', '.join(PRESETS)}")
        parse_phis(self.phis)
        check_tolerance(self.cost_tolerance, "cost_tolerance")


@dataclass(frozen=True)
class PipelineName:
    """``pipeline``: the name the stages' studies share (``<name>-search``, ``-grid``, ``-compare``)."""

    name: str = "pipeline"


@dataclass(frozen=True)
class PipelineCommand(PipelineConfig, OnDevice):
    """``python -m scaling.pipeline``."""

    space: Space = field(default_factory=Space)
    study: StudySettings = field(default_factory=StudySettings)
    pipeline: PipelineName = field(default_factory=PipelineName)


for _name, _schema in (
    ("grid", GridCommand),
    ("compare", CompareCommand),
    ("family", FamilyCommand),
    ("pipeline", PipelineCommand),
):
    store_schema(_name, _schema)
