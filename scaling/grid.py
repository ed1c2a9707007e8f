"""``python -m scaling.grid --phi 1``: Optuna grid search over compound-scaling coefficients.

The entry turns the Hydra config into plain values and a :class:`~scaling.grid_study.GridJob`
(feasible points in ``scaling.grid_points``); ``nas.cli.command.run_study`` runs it as every
study is run.  On CPU a successive-halving pruner stops weak points after the first epoch.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig

from nas.cli.app import fail, hydra_entry, proxy_task, scaled_latency, typed
from nas.cli.command import study_command
from scaling.compound import parse_phi
from scaling.grid_points import GridSettings
from scaling.grid_study import GridJob
from search_spaces.spec import resolve_spec

PROG = "python -m scaling.grid"


def run(cfg: DictConfig) -> dict[str, Any]:
    job = GridJob(
        baseline=resolve_spec(cfg.baseline, storage=cfg.study.storage),
        phi=parse_phi(cfg.phi),
        settings=typed(GridSettings, cfg.grid),
        latency=scaled_latency(cfg),
        **proxy_task(cfg),
    )
    return study_command(PROG, job, cfg)


def rewrite_phi_flag(argv: Sequence[str]) -> list[str]:
    """``--phi X`` / ``--phi=X`` -> the Hydra override ``phi=X``, placed last.

    Last, because Hydra's parser takes overrides only after its flags: ``phi=1 -m a=1`` would
    leave ``a=1`` unparsed, ``-m a=1 phi=1`` does not.
    """
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
