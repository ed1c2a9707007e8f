"""Compound scaling of a baseline: the Python API (``run_grid``, ``make_family``, ``run_pipeline``) and its types.

The maths (``compound``, ``grid_points``, ``coefficients``), one record per scaled candidate
(``candidate``), the studies (``grid_study``, ``compare_study``), a family (``members``), the
pipeline (``stages``, its ``report``); the commands (``grid``, ``family``, ``compare``,
``pipeline``) and their edge (``schema``, ``grid_reference``, ``stage_commands``).  Names are
imported on first use, as in ``nas``.
"""

from __future__ import annotations

from nas import lazy_exports

_EXPORTS = {
    "run_grid": "scaling.grid_study",
    "GridResult": "scaling.grid_study",
    "GridConfig": "scaling.grid_study",
    "GridSettings": "scaling.grid_points",
    "run_compare": "scaling.compare_study",
    "CompareConfig": "scaling.compare_study",
    "make_family": "scaling.members",
    "run_pipeline": "scaling.stages",
    "PipelineConfig": "scaling.stages",
    "Coefficients": "scaling.coefficients",
    "parse_coefficients": "scaling.coefficients",
    "best_coefficients": "scaling.grid_reference",
    "ScaledCandidate": "scaling.candidate",
    "compound_multipliers": "scaling.compound",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports("scaling", _EXPORTS)
