"""``python -m scaling.pipeline``: search -> grid on the search's best -> family -> comparison -> report.

Each training stage is a study named ``<pipeline.name>-<stage>`` in the configured storage, run
by the same library call as its own command (:func:`~scaling.stages.run_pipeline`): running the
pipeline again resumes the stage that was stopped and only rewrites the outputs of finished ones.
The run directory gets one folder per stage and ``report.md`` (``scaling.report``).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import Any

from hydra.core.hydra_config import HydraConfig

from nas.cli.app import console, hydra_entry, run_dir
from nas.cli.references import resolve_model
from nas.studies.workers import WorkerSettings
from scaling.schema import PipelineCommand
from scaling.stage_commands import plain_groups, stage_command
from scaling.stages import run_pipeline

PROG = "python -m scaling.pipeline"
SHARED = {"dataset": "dataset", "target": "target", "seed": "seed"}  # stage key: pipeline key


def run(cfg: PipelineCommand) -> dict[str, Any]:
    name = cfg.pipeline.name
    result = run_pipeline(
        resolve_model(cfg.space.reference, cfg.study.storage),
        cfg,
        name=name,
        study=cfg.study,
        worker=WorkerSettings(cfg.device, cfg.threads),
        out=run_dir(),
        commands=commands(cfg, name),
        argv=sys.argv[1:],
        progress=console(PROG, cfg.progress),
    )
    if result.status:
        print(
            f"{PROG}: stopped in the {result.stopped_in} stage; run the same command again to resume it",
            file=sys.stderr,
        )
        sys.exit(result.status)
    return result.summary or {}


def commands(cfg: PipelineCommand, name: str) -> dict[str, str]:
    """The command line that reproduces each stage on its own (and finds the same study)."""
    choices = HydraConfig.get().runtime.choices
    config: Mapping[str, Any] = dataclasses.asdict(cfg)
    storage = cfg.study.storage
    dataset, stored = [f"dataset={choices['dataset']}"], [f"study.storage={storage}"]
    search_ref, grid_ref = f"baseline=search:{name}-search", f"coefficients=grid:{name}-grid"
    study = {stage: [*stored, f"study.name={name}-{stage}"] for stage in ("search", "grid", "compare")}
    search = {**SHARED, "proxy": "search.proxy", "search": "search", "objective": "objective", "space": "space"}
    grid = {**SHARED, "latency": "latency", "proxy": "grid.proxy", "grid": "grid"}
    compare = {
        **SHARED,
        "latency": "latency",
        "proxy": "compare.proxy",
        "phis": "compare.phis",
        "methods": "compare.methods",
        "compare": "compare",  # its equal_cost and cost_tolerance: the rest are the pipeline's (below)
    }
    family = {
        "target": "target",
        "phis": "family.phis",
        "latency": "latency",
        "equal_cost": "compare.equal_cost",  # held to the comparison's cost: its members are the compared ones
        "cost_tolerance": "compare.cost_tolerance",
    }
    choice = [*dataset, f"objective={choices['objective']}"]
    phi = [search_ref, f"phi={float(cfg.grid.phi):g}", *study["grid"]]
    return {
        "search": stage_command("nas.search", "search", choice, plain_groups(config, search), study["search"]),
        "grid": stage_command("scaling.grid", "grid", dataset, plain_groups(config, grid), phi),
        "family": stage_command(
            "scaling.family", "family", [], plain_groups(config, family), [search_ref, grid_ref, *stored]
        ),
        "compare": stage_command(
            "scaling.compare",
            "compare",
            dataset,
            plain_groups(config, compare, nested=("proxy", "phi", "phis", "methods")),
            [search_ref, grid_ref, *study["compare"]],
        ),
    }


main = hydra_entry(PROG, "pipeline", run)

if __name__ == "__main__":
    main()
