"""Compound scaling against single-dimension scaling, as a study: one (method, phi) per trial.

For each phi, every method scales the baseline to the same FLOPs target, ``2**phi`` times
the baseline's: depth only (``d = 2**phi``), width only (``w = 2**(phi/2)``), resolution only
(``r = 2**(phi/2)``) and compound (``alpha**phi, beta**phi, gamma**phi``); with
``compare.equal_cost`` (the default) a method whose rounded network misses that by more than
``compare.cost_tolerance`` is moved along its own direction until it holds it
(:mod:`scaling.equal_cost`).  Each model is
proxy-trained through the one trial protocol, so a comparison resumes where it stopped, shares
its work between workers and never trains one network twice (compound and resolution-only can
round to the same network).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch

from nas.proxy.data import ProxyDataCache
from nas.proxy.noise import interval_text, small_split_note
from nas.proxy.recipe import ProxyConfig
from nas.proxy.task import TaskConfig
from nas.proxy.trainer import train_proxy
from nas.studies.job import Started, StudyJob
from nas.studies.protocol import OUTCOMES, TrialProtocol
from nas.studies.run import Progress, StudyRun, run_study
from nas.studies.storage import StudySettings
from nas.studies.study import StudyCache, experiment_name, trials_frame
from nas.studies.workers import WorkerSettings
from scaling.candidate import MEMBER_COLUMNS, TRAINED_COLUMNS, scaled_candidate
from scaling.coefficients import genotype_signature
from scaling.compare_verdicts import OUTCOMES_FILE, best_ties, cannot_judge, flat_steps, run_key, write_outcomes
from scaling.compound import PAPER_COEFFICIENTS, parse_phis
from scaling.equal_cost import METHODS, check_methods, equal_cost_multipliers, method_direction, moved
from scaling.grid_points import GridSettings, check_tolerance
from scaling.grid_study import GRID_PROXY
from scaling.grid_trial import keys_left
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import LatencyMeter
from search_spaces.spec import resolve_spec

PLOT_AXES = ("flops", "latency")
COMPARE_COLUMNS = ["method", "phi", *MEMBER_COLUMNS, *TRAINED_COLUMNS, "blocks"]


@dataclass(frozen=True)
class CompareSettings:
    """``compare``: how the comparison is drawn."""

    x: str = "flops"  # the plot's axis: flops, or latency (the measured one)
    equal_cost: bool = True  # move a method whose rounded network misses 2**phi x the FLOPs back to it
    cost_tolerance: float = 0.1  # how far a real FLOPs ratio may lie from 2**phi (as a fraction of it)

    def __post_init__(self) -> None:
        if self.x not in PLOT_AXES:
            raise ValueError(f"compare.x {self.x!r} is not one of {', '.join(PLOT_AXES)}")
        check_tolerance(self.cost_tolerance, "compare.cost_tolerance")


@dataclass(frozen=True)
class CompareConfig(TaskConfig):
    """Everything a comparison reads: the proxy task, the phis and methods, and whether latency is measured."""

    proxy: ProxyConfig = field(default_factory=lambda: GRID_PROXY)
    phis: Any = (1.0, 2.0)  # a list of phis (or the text 1,2)
    methods: tuple[str, ...] = METHODS
    latency: bool = True  # measure each model's latency on target.device (latency_ms, latency_ratio)
    compare: CompareSettings = field(default_factory=CompareSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "phis", tuple(parse_phis(self.phis)))
        object.__setattr__(self, "methods", check_methods(list(self.methods)))
        if self.compare.x == "latency" and not self.latency:
            raise ValueError("compare.x=latency needs latency measured (latency=true)")


@dataclass
class CompareJob(StudyJob):
    """The baseline, then every method at every phi: what :func:`run_compare` runs."""

    baseline: Genotype
    coefficients: tuple[float, float, float] = PAPER_COEFFICIENTS
    config: CompareConfig = field(default_factory=CompareConfig)
    max_failures: int = GridSettings().max_failures

    def __post_init__(self) -> None:
        self.coefficients = tuple(self.coefficients)  # type: ignore[assignment]
        self.plan = [("baseline", 0.0)] + [(m, phi) for phi in self.config.phis for m in self.config.methods]
        self.keys = [run_key(m, phi) for m, phi in self.plan]
        self.directions = ["maximize"]
        self.protocol = TrialProtocol("model", ("val_acc", "seconds"), self.config.proxy.epochs, self.max_failures)
        self.fitted: dict[str, tuple[float, float, float]] = {}

    def multipliers(self, key: str) -> tuple[str, float, tuple[float, float, float]]:
        """The run's method, phi and (d, w, r): at equal real cost with ``compare.equal_cost``."""
        method, phi = self.plan[self.keys.index(key)]
        if method == "baseline":
            return method, phi, (1.0, 1.0, 1.0)
        if key not in self.fitted:
            direction, settings = method_direction(method, self.coefficients), self.config.compare
            self.fitted[key] = (
                equal_cost_multipliers(self.baseline, direction, phi, self.config.target, settings.cost_tolerance)
                if settings.equal_cost
                else direction(phi)
            )
        return method, phi, self.fitted[key]

    def largest_multiplier(self) -> float:
        return max(self.multipliers(key)[2][2] for key in self.keys)

    def identity(self) -> dict[str, Any]:
        return {
            "command": "scaling.compare",
            "baseline": genotype_signature(self.baseline),
            "coefficients": list(self.coefficients),
            "runs": self.keys,
            "moved": self.moved_runs() or None,  # a moved run trains another network than the nominal one
            **self.task_identity(),
        }

    def default_name(self) -> str:
        return experiment_name("compare", [self.baseline.name, self.config.dataset.name], self.identity())

    def sampler(self, worker: int, device: torch.device) -> optuna.samplers.BaseSampler:
        return optuna.samplers.GridSampler({"run": self.keys}, seed=self.config.seed)

    def pruner(self) -> optuna.pruners.BasePruner:
        return optuna.pruners.NopPruner()  # every model is trained in full: the comparison is the point

    def start(self, study: optuna.Study, created: bool, device: torch.device) -> Started:
        config = self.config
        meter = LatencyMeter(config.target, StudyCache(study)) if config.latency else None
        data = ProxyDataCache(self.raw, config.proxy.sizes, device)

        def evaluate(trial: optuna.Trial) -> float:
            method, phi, multipliers = self.multipliers(trial.suggest_categorical("run", self.keys))
            resolution = data.sizes.resolution
            member = scaled_candidate(self.baseline, phi, multipliers, config.target, resolution, latency=meter)
            row = {k: v for k, v in member.row().items() if k != "name"}
            for name, value in {"method": method, **row}.items():
                trial.set_user_attr(name, value)
            split = data.at(member.proxy_resolution)
            return self.protocol.run(
                trial,
                member.model_key,
                lambda on_epoch: train_proxy(member.genotype, split, config.proxy, config.seed, on_epoch=on_epoch),
                lambda val_acc: (val_acc, {}),
            )

        phis = ", ".join(f"{p:g}" for p in config.phis)
        opening = f"{len(self.plan)} models: the baseline {self.baseline.name}, then {', '.join(config.methods)} at phi {phis}"
        return Started("\n".join([opening, *self.moves()]), evaluate)

    def moved_runs(self) -> dict[str, list[float]]:
        """The runs moved off their nominal multipliers to hold equal real cost, and their (d, w, r)."""
        runs = {}
        for key, (method, phi) in zip(self.keys[1:], self.plan[1:], strict=True):
            fitted = self.multipliers(key)[2]
            if tuple(fitted) != tuple(method_direction(method, self.coefficients)(phi)):
                runs[key] = [round(v, 6) for v in fitted]
        return runs

    def moves(self) -> list[str]:
        """One line per moved run: its nominal and its fitted multipliers, and what each costs."""
        target, tolerance = self.config.target, self.config.compare.cost_tolerance
        plan = dict(zip(self.keys, self.plan, strict=True))
        lines = []
        for key in self.moved_runs():
            method, phi = plan[key]
            nominal = method_direction(method, self.coefficients)(phi)
            lines.append(moved(key, phi, nominal, self.multipliers(key)[2], self.baseline, target, tolerance))
        return lines

    def remaining(self, study: optuna.Study) -> int:
        return keys_left(study, "run", self.keys)

    def total(self) -> int:
        return len(self.plan)

    def table(self, study: optuna.Study) -> pd.DataFrame:
        """One row per finished model, in plan order."""
        frame = trials_frame(study.get_trials(deepcopy=False), [*COMPARE_COLUMNS, OUTCOMES])
        frame = frame[frame["state"] == "COMPLETE"].drop_duplicates(["method", "phi"], keep="last")
        order = {key: i for i, key in enumerate(self.keys)}
        frame = frame.assign(
            _order=[order.get(run_key(m, p), -1) for m, p in zip(frame["method"], frame["phi"], strict=False)]
        )
        return frame.sort_values("_order").drop(columns=["_order"]).reset_index(drop=True)

    def write_outputs(self, study: optuna.Study, out: Path, storage_url: str) -> dict[str, Any]:
        """compare.csv, outcomes.npz, compare.png and summary.json in ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        frame = self.table(study)
        frame.drop(columns=[OUTCOMES]).to_csv(out / "compare.csv", index=False)
        write_outcomes(frame, out / OUTCOMES_FILE)
        if len(frame):
            title = f"Scaling {self.baseline.name}: same FLOPs, different methods"
            from scaling.plots import plot_compare  # matplotlib loads when a figure is drawn

            plot_compare(frame, out / "compare.png", title, self.config.compare.x)
        dataset = self.config.dataset.describe(self.raw, self.config.proxy.sizes)
        top, ties = best_ties(frame, dataset.get("n_val"))
        accuracies = {
            run_key(m, p): float(a) for m, p, a in zip(frame["method"], frame["phi"], frame["val_acc"], strict=False)
        }
        best = None
        if top is not None:
            best = {"method": top["method"], "phi": float(top["phi"]), "val_acc": float(top["val_acc"])}
        summary = {
            "study": study.study_name,
            "storage": storage_url,
            "dataset": dataset,
            "baseline": self.baseline.name,
            "coefficients": list(self.coefficients),
            "n_models": len(self.plan),
            "n_trained": len(frame),
            "val_acc": accuracies,
            "best": best,
            "ties": ties,
            "flat_steps": flat_steps(frame, dataset.get("n_val")) if len(frame) else [],
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary

    def describe(self, summary: dict[str, Any]) -> str:
        if not summary["n_trained"]:
            return "no model was trained yet"
        n_val = summary["dataset"].get("n_val")
        accuracies = summary["val_acc"]
        lines = [f"{summary['n_trained']} of {summary['n_models']} models trained (proxy validation accuracy):"]
        lines += [f"  {key:<16} {acc:.4f}{interval_text(acc, n_val)}" for key, acc in accuracies.items()]
        if summary.get("flat_steps"):
            lines.append(cannot_judge(summary["flat_steps"]))
        elif summary["best"] and summary.get("ties") is not None and len(accuracies) > 1:
            top, ties = run_key(summary["best"]["method"], summary["best"]["phi"]), summary["ties"]
            lines.append(
                f"  {top} is best" + (f"; ties within noise with {', '.join(ties)}" if ties else " beyond noise")
            )
        note = small_split_note(n_val)
        return "\n".join(lines + ([note] if note else []))


def run_compare(
    baseline: Genotype | str,
    coefficients: tuple[float, float, float] = PAPER_COEFFICIENTS,
    config: CompareConfig | None = None,
    *,
    study: StudySettings | None = None,
    worker: WorkerSettings | None = None,
    out: str | Path = "runs/api/compare",
    progress: Progress | None = None,
) -> StudyRun:
    """Compound (by ``coefficients``) against single-dimension scaling of ``baseline``; what ``scaling.compare`` runs."""
    job = CompareJob(resolve_spec(baseline), tuple(coefficients), config or CompareConfig())  # type: ignore[arg-type]
    return run_study(job, study=study, worker=worker, out=out, progress=progress)
