"""``python -m scaling.grid --phi 1``: Optuna grid search over compound-scaling coefficients.

The entry resolves the baseline SPEC (``search:STUDY`` too) and hands the typed config to
:func:`~scaling.grid_study.run_grid` (feasible points in ``scaling.grid_points``).  On CPU a
successive-halving pruner stops weak points after the first epoch.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from nas.cli.app import console, fail, finish, hydra_entry, run_dir
from nas.cli.references import resolve_model
from scaling.grid_study import run_grid
from scaling.schema import GridCommand

PROG = "python -m scaling.grid"


def run(cfg: GridCommand) -> dict[str, Any]:
    baseline = resolve_model(cfg.baseline, cfg.study.storage)
    progress = console(PROG, cfg.progress)
    return finish(
        run_grid(baseline, cfg, study=cfg.study, worker=cfg.worker_settings(), out=run_dir(), progress=progress)
    )


def rewrite_phi_flag(argv: Sequence[str]) -> list[str]:
    """``--phi X`` / ``--phi=X`` -> the Hydra override ``phi=X`` (placed last; every entry puts Hydra's flags first)."""
    result, phis, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--phi":
            if i + 1 >= len(argv):
                raise ValueError("--phi needs a value, e.g. --phi 1")
            phis.append(f"phi={argv[i + 1]}")
            i += 2
            continue
        if arg.startswith("--phi="):
            phis.append("phi=" + arg[len("--phi=") :])
        else:
            result.append(arg)
        i += 1
    return result + phis


_hydra_main = hydra_entry(PROG, "grid", run, workers=True)


def main() -> Any:
    try:
        sys.argv[1:] = rewrite_phi_flag(sys.argv[1:])
    except ValueError as err:
        fail(PROG, err)
    return _hydra_main()


if __name__ == "__main__":
    main()
