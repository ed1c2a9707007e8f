"""The compound-scaling grid as a study: one feasible point per trial, scaled, costed, trained.

Only feasible triples are handed to Optuna's ``GridSampler`` (as one categorical parameter
``point``), so no infeasible trial is ever created.  Each point scales the baseline by
``d = alpha**phi``, ``w = beta**phi``, ``r = gamma**phi`` with the reference rounding, trains it
on the proxy at ``round(proxy.resolution * r)`` and counts its FLOPs at ``target.resolution * r``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch
import yaml

from nas.proxy.data import ProxyDataCache
from nas.proxy.noise import interval_text, small_split_note
from nas.proxy.recipe import ProxyConfig
from nas.proxy.task import TaskConfig
from nas.proxy.trainer import train_proxy
from nas.studies.job import Started, StudyJob
from nas.studies.protocol import TrialProtocol
from nas.studies.run import Progress, StudyRun, run_study
from nas.studies.storage import StudySettings
from nas.studies.study import FINISHED, StudyCache, experiment_name, trials_frame
from nas.studies.workers import WorkerSettings
from scaling.candidate import MEMBER_COLUMNS, TRAINED_COLUMNS, scaled_candidate
from scaling.coefficients import genotype_signature
from scaling.compound import PAPER_COEFFICIENTS, check_phi, compound_multipliers, flops_constraint
from scaling.grid_points import GridSettings, Point, feasible_grid, parse_point, point_key
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter
from search_spaces.spec import resolve_spec

GRID_COLUMNS = ["alpha", "beta", "gamma", "constraint", *MEMBER_COLUMNS, *TRAINED_COLUMNS]


GRID_PROXY = ProxyConfig(epochs=3, train_size=4000)
"""The scaling commands' proxy (``conf/proxy/grid.yaml``): each point costs 2**phi times the baseline."""

BASELINE_NAME_ATTR = "baseline_name"
"""The study attribute a grid records its baseline's name in (the identity holds the network, not its name)."""


class PointEvaluator:
    """The grid's Optuna objective: take a point, scale the baseline; the protocol does the rest."""

    def __init__(
        self,
        baseline: Genotype,
        phi: float,
        proxy: ProxyConfig,
        data: ProxyDataCache,
        target: Target,
        seed: int,
        grid: Sequence[Point],
        protocol: TrialProtocol,
        latency: LatencyMeter | None = None,
    ) -> None:
        self.baseline, self.phi, self.proxy, self.data = baseline, phi, proxy, data
        self.target, self.seed, self.grid, self.protocol = target, seed, list(grid), protocol
        self.latency = latency

    def __call__(self, trial: optuna.Trial) -> float:
        key = trial.suggest_categorical("point", [point_key(p) for p in self.grid])
        alpha, beta, gamma = parse_point(key)
        multipliers = compound_multipliers(alpha, beta, gamma, self.phi)
        resolution = self.data.sizes.resolution
        member = scaled_candidate(self.baseline, self.phi, multipliers, self.target, resolution, latency=self.latency)
        attrs = {
            "point": key,
            "alpha": alpha,
            "beta": beta,
            "gamma": gamma,
            "constraint": flops_constraint(alpha, beta, gamma),
            **{k: v for k, v in member.row().items() if k not in ("name", "phi", "blocks")},
            "blocks": member.blocks,
        }
        for name, value in attrs.items():
            trial.set_user_attr(name, value)
        data = self.data.at(member.proxy_resolution)
        return self.protocol.run(
            trial,
            member.model_key,
            lambda on_epoch: train_proxy(member.genotype, data, self.proxy, self.seed, on_epoch=on_epoch),
            lambda val_acc: (val_acc, {}),
        )


def points_left(study: optuna.Study, grid: Sequence[Point]) -> int:
    """Grid points no trial has finished, failed in training or is running (0: this worker is done)."""
    return keys_left(study, "point", [point_key(p) for p in grid])


def keys_left(study: optuna.Study, param: str, keys: Sequence[str]) -> int:
    """Values of the categorical ``param`` that no trial has finished, failed in training or is running.

    A value whose trial was interrupted or lost its worker is left, so it is trained again.  A
    running trial that has not suggested ``param`` yet (another worker's trial, just created)
    holds one of the values left, so it is counted too: otherwise a second worker would see that
    value free, create one trial too many, and train some value twice.
    """
    taken, pending = set(), 0
    for t in study.get_trials(deepcopy=False):
        key = t.params.get(param, t.system_attrs.get("fixed_params", {}).get(param))
        failed_here = t.state == optuna.trial.TrialState.FAIL and "reason" in t.user_attrs
        if t.state == optuna.trial.TrialState.RUNNING and key is None:
            pending += 1
        elif t.state in (*FINISHED, optuna.trial.TrialState.RUNNING) or (
            failed_here and not t.user_attrs.get("interrupted")
        ):
            taken.add(key)
    return max(0, sum(key not in taken for key in keys) - pending)


def best_point(frame: pd.DataFrame) -> pd.Series | None:
    """Highest validation accuracy among fully trained points; ties go to fewer FLOPs."""
    done = frame[(frame["state"] == "COMPLETE") & frame["val_acc"].notna()]
    if done.empty:
        return None
    return done.sort_values(["val_acc", "flops"], ascending=[False, True]).iloc[0]


@dataclass(frozen=True)
class GridConfig(TaskConfig):
    """Everything a grid reads: the proxy task, ``phi``, ``grid``, and whether each point's latency is measured."""

    proxy: ProxyConfig = field(default_factory=lambda: GRID_PROXY)
    phi: float = 1.0  # also --phi on the command line
    grid: GridSettings = field(default_factory=GridSettings)
    latency: bool = True  # measure each point's latency on target.device (latency_ms, latency_ratio)

    def __post_init__(self) -> None:
        object.__setattr__(self, "phi", check_phi(self.phi))


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

    def start(self, study: optuna.Study, created: bool, device: torch.device) -> Started:
        if created:
            study.set_user_attr(BASELINE_NAME_ATTR, self.baseline.name)
        meter = LatencyMeter(self.target, StudyCache(study)) if self.config.latency else None
        config, data = self.config, ProxyDataCache(self.raw, self.config.proxy.sizes, device)
        evaluator = PointEvaluator(
            self.baseline, self.phi, config.proxy, data, self.target, config.seed, self.grid, self.protocol, meter
        )
        s = self.settings
        opening = (
            f"{len(self.grid)} feasible points (alpha<={s.alpha_max}, beta<={s.beta_max}, gamma<={s.gamma_max}, "
            f"step {s.step}, |alpha*beta^2*gamma^2-2|<={s.tolerance}); phi={self.phi:g}; "
            f"baseline {self.baseline.name}; pruner {s.pruner}"
        )
        return Started(opening, evaluator)

    def remaining(self, study: optuna.Study) -> int:
        return points_left(study, self.grid)

    def total(self) -> int:
        return len(self.grid)

    def status(self, study: optuna.Study) -> str | None:
        best = best_point(trials_frame(study.get_trials(deepcopy=False), GRID_COLUMNS))
        if best is None:
            return None
        return f"best {point_key((best['alpha'], best['beta'], best['gamma']))} acc {best['val_acc']:.4f}"

    def write_outputs(self, study: optuna.Study, out: Path, storage_url: str) -> dict[str, Any]:
        """grid.csv, coefficients.yaml, grid.png and summary.json in ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        frame = trials_frame(study.get_trials(deepcopy=False), GRID_COLUMNS)
        frame.to_csv(out / "grid.csv", index=False)
        summary: dict[str, Any] = {
            "study": study.study_name,
            "storage": storage_url,
            "dataset": self.config.dataset.describe(self.raw, self.config.proxy.sizes),
            "baseline": self.baseline.name,
            "baseline_blocks": format_blocks(self.baseline),
            "phi": self.phi,
            "n_points": len(self.grid),
            "n_trials": len(frame),
            "n_complete": int((frame["state"] == "COMPLETE").sum()),
            "n_pruned": int((frame["state"] == "PRUNED").sum()),
            "paper_point_in_grid": tuple(PAPER_COEFFICIENTS) in {tuple(p) for p in self.grid},
            "best": self._write_best(best_point(frame), study.study_name, out),
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        title = f"{study.study_name}: proxy accuracy, phi={self.phi:g}"
        from scaling.plots import plot_grid  # matplotlib loads when a figure is drawn, not when a command starts

        plot_grid(frame, out / "grid.png", PAPER_COEFFICIENTS, title=title)
        return summary

    def _write_best(self, best: pd.Series | None, study_name: str, out: Path) -> dict[str, Any] | None:
        """The chosen point (None if none finished), also written as ``coefficients.yaml``."""
        if best is None:
            return None
        keys = (
            "alpha",
            "beta",
            "gamma",
            "val_acc",
            "flops",
            "flops_ratio",
            "latency_ms",
            "latency_ratio",
            "constraint",
        )
        chosen: dict[str, Any] = {k: None if pd.isna(best[k]) else float(best[k]) for k in keys}
        chosen["trial"] = int(best["number"])
        coefficients = {k: chosen[k] for k in ("alpha", "beta", "gamma")}
        coefficients.update(phi=self.phi, val_acc=chosen["val_acc"], flops_ratio=chosen["flops_ratio"])
        coefficients.update(baseline=self.baseline.name, baseline_genotype=genotype_signature(self.baseline))
        coefficients.update(study=study_name)
        (out / "coefficients.yaml").write_text(yaml.safe_dump(coefficients, sort_keys=False))
        return chosen

    def describe(self, summary: dict[str, Any]) -> str:
        best = summary["best"]
        if not best:
            return "no point was fully trained yet"
        latency = f", {best['latency_ratio']:.2f}x its latency" if best.get("latency_ratio") is not None else ""
        n_val = summary["dataset"].get("n_val")
        line = (
            f"best of {summary['n_complete']} fully trained points: alpha={best['alpha']:g}, beta={best['beta']:g}, "
            f"gamma={best['gamma']:g} (constraint {best['constraint']:.3f}), val_acc {best['val_acc']:.4f}"
            f"{interval_text(best['val_acc'], n_val)}, "
            f"{best['flops_ratio']:.2f}x the baseline's FLOPs{latency} (2**phi = {2**self.phi:g}) -> coefficients.yaml"
        )
        note = small_split_note(n_val)
        return line + (f"\n{note}" if note else "")


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
