"""``python -m scaling.family``: scale a baseline into a family, one member per phi.

``coefficients`` is a ``coefficients.yaml`` written by ``scaling.grid``, ``grid:STUDY`` or a triple
``alpha,beta,gamma`` (default: the paper's 1.2, 1.1, 1.15).  Each member costs ``2**phi`` times the
baseline's real FLOPs within ``cost_tolerance``: where rounding of layers, channels and input size
misses that, the member is moved along the compound direction and the output says so
(``equal_cost=false``: the nominal ``alpha**phi, beta**phi, gamma**phi``).  ``preset=efficientnet``
instead writes the official B0..B7 table (its rounded resolutions and hand-picked multipliers).
"""

from __future__ import annotations

import pandas as pd

from nas.cli.app import hydra_entry, run_dir
from nas.cli.references import resolve_model
from scaling.compound import parse_phis
from scaling.grid_reference import resolve_coefficients
from scaling.members import efficientnet_family, family_at_cost, write_family
from scaling.schema import FamilyCommand
from search_spaces.latency.measure import LatencyMeter
from search_spaces.references import reference

PROG = "python -m scaling.family"


def run(cfg: FamilyCommand) -> pd.DataFrame:
    meter = LatencyMeter(cfg.target) if cfg.latency else None
    if cfg.preset == "efficientnet":
        baseline = reference("efficientnet_b0")
        members = efficientnet_family(cfg.target, meter)
        source = "the official EfficientNet table"
    else:
        baseline = resolve_model(cfg.baseline, cfg.study.storage)
        coefficients = resolve_coefficients(cfg.coefficients, cfg.study.storage)
        coefficients.check_baseline(baseline)
        phis, triple = parse_phis(cfg.phis), coefficients.triple
        members, moves = family_at_cost(baseline, triple, phis, cfg.target, meter, cfg.equal_cost, cfg.cost_tolerance)
        source = coefficients.describe()
        for line in moves:
            print(line)
    frame = write_family(members, run_dir(), f"{baseline.name} family ({source})")
    with pd.option_context("display.width", 160):
        print(frame.drop(columns=["blocks"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{len(frame)} members of {baseline.name} scaled by {source} -> {run_dir()}")
    return frame


main = hydra_entry(PROG, "family", run)

if __name__ == "__main__":
    main()
