"""Compound scaling of a baseline: the Python API (``run_grid``, ``make_family``) and its types.

Names are imported on first use, as in ``nas``.
"""

from __future__ import annotations

from nas import lazy_exports

_EXPORTS = {
    "run_grid": "scaling.api",
    "make_family": "scaling.api",
    "GridResult": "scaling.api",
    "GridSettings": "scaling.grid_points",
    "Coefficients": "scaling.coefficients",
    "parse_coefficients": "scaling.coefficients",
    "ScaledCandidate": "scaling.candidate",
    "compound_multipliers": "scaling.compound",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports("scaling", _EXPORTS)
