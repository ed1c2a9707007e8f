"""The compound-scaling grid as a study: one point per trial, scaled, costed, checked, trained; then seed rounds.

The points near the constraint are handed to Optuna's ``GridSampler`` (one categorical parameter
``point``).  Each scales the baseline by ``d = alpha**phi``, ``w = beta**phi``, ``r = gamma**phi``
with the reference rounding, counts its FLOPs at ``target.resolution * r``, and trains on the proxy
at ``round(proxy.resolution * r)`` when the grid's rule finds it feasible (``scaling.grid_trial``).
The best are then trained again at more seeds before one is named (``scaling.grid_seeds``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch

from nas.proxy.data import ProxyDataCache
from nas.proxy.recipe import ProxyConfig
from nas.proxy.task import TaskConfig
from nas.studies.job import Started, StudyJob
from nas.studies.protocol import OUTCOMES, TrialProtocol
from nas.studies.run import Progress, StudyRun, run_study
from nas.studies.storage import StudySettings
from nas.studies.study import StudyCache, experiment_name, trials_frame
from nas.studies.workers import WorkerSettings
from scaling.candidate import MEMBER_COLUMNS, TRAINED_COLUMNS
from scaling.coefficients import genotype_signature
from scaling.compound import PAPER_COEFFICIENTS, check_phi
from scaling.grid_points import GridSettings, feasible_grid, point_key
from scaling.grid_seeds import TIE_RULE, Choice, choose, plan, standings
from scaling.grid_summary import (
    N_VAL_ATTR,
    chosen_record,
    describe_grid,
    feasible_points,
    grid_opening,
    paper_point_verdict,
    points_in,
    write_coefficients,
)
from scaling.grid_trial import SEED_ATTR, PointEvaluator, points_left, queue_retrains
from search_spaces.codec import format_blocks
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter
from search_spaces.spec import resolve_spec

GRID_COLUMNS = [
    "alpha",
    "beta",
    "gamma",
    "seed",
    "constraint",
    "constraint_ok",
    "cost_ratio",
    "cost_ok",
    "feasible",
    *MEMBER_COLUMNS,
    *TRAINED_COLUMNS,
    "model",  # the trial protocol's key: points whose first-pass trials share it are twins
]


def grid_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial of a grid study: ``grid.csv``'s columns and each trial's per-image outcomes."""
    return trials_frame(study.get_trials(deepcopy=False), [*GRID_COLUMNS, OUTCOMES])


GRID_PROXY = ProxyConfig(epochs=3, train_size=24000, width=0.25)
"""The scaling commands' proxy (``conf/proxy/grid.yaml``): each point costs 2**phi times the baseline."""

BASELINE_NAME_ATTR = "baseline_name"
"""The study attribute a grid records its baseline's name in (the identity holds the network, not its name)."""


@dataclass(frozen=True)
class GridConfig(TaskConfig):
    """Everything a grid reads: the proxy task, ``phi``, ``grid``, and whether each point's latency is measured."""

    proxy: ProxyConfig = field(default_factory=lambda: GRID_PROXY)
    phi: float = 1.0  # also --phi on the command line
    grid: GridSettings = field(default_factory=GridSettings)
    latency: bool = True  # measure each point's latency on target.device (latency_ms, latency_ratio)

    def __post_init__(self) -> None:
        object.__setattr__(self, "phi", check_phi(self.phi))
        if self.grid.by_cost and self.grid.cost == "latency" and not self.latency:
            raise ValueError("grid.cost=latency judges points by measured latency: it needs latency=true")


@dataclass
class GridJob(StudyJob):
    """The grid search over compound coefficients at ``config.phi``: what :func:`run_grid` runs."""

    baseline: Genotype
    config: GridConfig = field(default_factory=GridConfig)

    def __post_init__(self) -> None:
        self.settings, self.phi, self.target = self.config.grid, self.config.phi, self.config.target
        self.grid = feasible_grid(self.settings)
        self.directions = ["maximize"]
        copied = ("val_acc", "seconds")
        epochs, failures = self.config.proxy.epochs, self.settings.max_failures
        self.protocol = TrialProtocol("model", copied, epochs, failures, "grid.max_failures")

    def largest_multiplier(self) -> float:
        return max(g for _, _, g in self.grid) ** self.phi

    def identity(self) -> dict[str, Any]:
        return {
            "command": "scaling.grid",
            "baseline": genotype_signature(self.baseline),
            "phi": self.phi,
            "grid": self.settings.identity(),
            **self.task_identity(),
        }

    def default_name(self) -> str:
        readable = [self.baseline.name, f"phi{self.phi:g}", self.config.dataset.name]
        return experiment_name("grid", readable, self.identity())

    def sampler(self, worker: int, device: torch.device) -> optuna.samplers.BaseSampler:
        # Every worker uses the same grid seed: GridSampler's choices then never overshoot the grid.
        return optuna.samplers.GridSampler({"point": [point_key(p) for p in self.grid]}, seed=self.config.seed)

    def pruner(self) -> optuna.pruners.BasePruner:
        if self.settings.pruner == "successive_halving":
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
        return optuna.pruners.NopPruner()

    @functools.cached_property
    def n_val(self) -> int | None:
        return self.config.dataset.describe(self.raw, self.config.proxy.sizes).get("n_val")

    def start(self, study: optuna.Study, created: bool, device: torch.device) -> Started:
        if created:
            study.set_user_attr(BASELINE_NAME_ATTR, self.baseline.name)
        study.set_user_attr(N_VAL_ATTR, self.n_val)
        meter = LatencyMeter(self.target, StudyCache(study)) if self.config.latency else None
        config, data = self.config, ProxyDataCache(self.raw, self.config.proxy.sizes, device)
        evaluator = PointEvaluator(
            self.baseline,
            self.phi,
            config.proxy,
            data,
            self.target,
            config.seed,
            self.grid,
            self.settings,
            self.protocol,
            meter,
        )
        return Started(
            f"{grid_opening(self.settings, len(self.grid), self.phi)}; baseline {self.baseline.name}", evaluator
        )

    def queue(self, study: optuna.Study) -> bool:
        """Once every point has its first result, queue the seed round that is due (``scaling.grid_seeds``).

        True (wait) while other workers' trials decide the next round: every worker then ends with
        the same choice, not one made before the rounds were done.
        """
        if self.settings.max_seeds == 1 or points_left(study, self.grid):
            return False
        first, running = self.config.seed, optuna.trial.TrialState.RUNNING
        if any(
            t.state == running and t.user_attrs.get(SEED_ATTR, first) == first for t in study.get_trials(deepcopy=False)
        ):
            return True  # a first-pass point is still training: the ranking is not known yet
        due = plan(standings(self.frame(study), first), self.settings, first, self.n_val).due
        queue_retrains(study, due)
        return bool(due)

    def remaining(self, study: optuna.Study) -> int:
        waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
        return points_left(study, self.grid) + len(waiting)

    def total(self) -> int:
        """The first pass's points (the seed rounds' trials come on top, as many as the rounds need)."""
        return len(self.grid)

    def frame(self, study: optuna.Study) -> pd.DataFrame:
        return grid_frame(study)

    def choice(self, frame: pd.DataFrame, n_val: int | None) -> Choice | None:
        return choose(standings(frame, self.config.seed), self.settings, self.config.seed, n_val)

    def status(self, study: optuna.Study) -> str | None:
        choice = self.choice(self.frame(study), self.n_val)
        if choice is None:
            return None
        return f"best {choice.chosen.key} acc {choice.chosen.mean:.4f} ({len(choice.chosen.accs)} seeds)"

    def write_outputs(self, study: optuna.Study, out: Path, storage_url: str) -> dict[str, Any]:
        """grid.csv, coefficients.yaml, grid.png and summary.json in ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        frame = self.frame(study)
        frame.drop(columns=[OUTCOMES]).to_csv(out / "grid.csv", index=False)
        dataset = self.config.dataset.describe(self.raw, self.config.proxy.sizes)
        choice = self.choice(frame, dataset.get("n_val"))
        first_pass = frame[frame["seed"].isna() | (frame["seed"] == self.config.seed)]
        summary: dict[str, Any] = {
            "study": study.study_name,
            "storage": storage_url,
            "dataset": dataset,
            "baseline": self.baseline.name,
            "baseline_blocks": format_blocks(self.baseline),
            "phi": self.phi,
            "rule": self.settings.rule,
            "cost": self.settings.cost if self.settings.by_cost else None,
            "n_points": len(self.grid),
            "n_trials": len(frame),
            "n_feasible": feasible_points(frame),
            "n_complete": points_in(first_pass, "COMPLETE"),  # points, each counted once
            "n_pruned": points_in(first_pass, "PRUNED"),
            "n_retrained": len(frame) - len(first_pass),  # trials at a further seed
            "paper_point_in_grid": tuple(PAPER_COEFFICIENTS) in {tuple(p) for p in self.grid},
            "paper_point": paper_point_verdict(
                frame, None if choice is None else choice.chosen, self.config.seed, dataset.get("n_val")
            ),
            "best": None if choice is None else chosen_record(choice),
            "top": None if choice is None else choice.top(),
            "tie": None if choice is None else choice.tie,
            "tie_rule": TIE_RULE,
        }
        if choice is not None:
            write_coefficients(out / "coefficients.yaml", summary, self.baseline, study.study_name)
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        title = f"{study.study_name}: proxy accuracy, phi={self.phi:g}"
        from scaling.plots import plot_grid  # matplotlib loads when a figure is drawn, not when a command starts

        plot_grid(first_pass, out / "grid.png", PAPER_COEFFICIENTS, title=title)
        return summary

    def describe(self, summary: dict[str, Any]) -> str:
        return describe_grid(summary, self.phi)


@dataclass(frozen=True)
class GridResult(StudyRun):
    """A finished (or stopped) grid: ``best`` is the chosen point, ``triple`` its (alpha, beta, gamma)."""

    @property
    def triple(self) -> tuple[float, float, float]:
        if self.best is None:
            raise ValueError(f"no point of study {self.study!r} was fully trained, so there is no best triple")
        return self.best["alpha"], self.best["beta"], self.best["gamma"]


def run_grid(
    baseline: Genotype | str,
    config: GridConfig | None = None,
    *,
    study: StudySettings | None = None,
    worker: WorkerSettings | None = None,
    out: str | Path = "runs/api/grid",
    progress: Progress | None = None,
) -> GridResult:
    """Grid-search compound coefficients for ``baseline`` at ``config.phi``; what ``python -m scaling.grid`` runs."""
    job = GridJob(resolve_spec(baseline), config or GridConfig())
    run = run_study(job, study=study, worker=worker, out=out, progress=progress)
    return GridResult(run.study, run.summary, run.status, run.out)
