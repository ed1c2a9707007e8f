"""``python -m scaling.grid --phi 1``: Optuna grid search over compound-scaling coefficients.

Only the feasible triples, ``|alpha * beta**2 * gamma**2 - 2| <= tolerance``, are handed to
Optuna's ``GridSampler`` (as one categorical parameter ``point``), so no infeasible trial is
ever created.  Each point scales the baseline by ``d = alpha**phi``, ``w = beta**phi``,
``r = gamma**phi`` with the reference rounding, trains it on the proxy at
``round(proxy.resolution * r)`` and counts its FLOPs at ``target.resolution * r``.  On CPU a
successive-halving pruner stops weak points after the first epoch (``grid.pruner``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from nas import config as conf
from nas.app import guarded, hydra_entry, run_dir, to_container
from nas.data import ProxyData
from nas.study import (
    FINISHED,
    StorageSettings,
    claimed_by,
    find_result,
    open_storage,
    open_study,
    report_epoch,
    reuse_result,
    run_trials,
    trials_frame,
)
from nas.train import ProxyConfig, resolve_device, train_proxy
from scaling.compound import PAPER_COEFFICIENTS, compound_multipliers, flops_constraint, scale
from scaling.plots import plot_grid
from search_spaces.codec import format_blocks
from search_spaces.genotype import Genotype
from search_spaces.spec import resolve_spec

PROG = "python -m scaling.grid"
GRID_COLUMNS = [
    "alpha",
    "beta",
    "gamma",
    "constraint",
    "d",
    "w",
    "r",
    "resolution",
    "target_resolution",
    "params",
    "flops",
    "flops_ratio",
    "expected_ratio",
    "val_acc",
    "seconds",
    "duplicate_of",
    "reason",
]
PRUNERS = ("successive_halving", "none")


@dataclass(frozen=True)
class GridSettings:
    alpha_max: float = 1.3
    beta_max: float = 1.2
    gamma_max: float = 1.2
    step: float = 0.05
    tolerance: float = 0.1
    pruner: str = "successive_halving"

    def __post_init__(self) -> None:
        if not _is_number(self.step) or self.step <= 0:
            raise ValueError(f"grid.step must be a number > 0, got {self.step!r}")
        for name in ("alpha_max", "beta_max", "gamma_max"):
            value = getattr(self, name)
            if not _is_number(value) or value < 1:
                raise ValueError(f"grid.{name} must be a number >= 1, got {value!r}")
        if not _is_number(self.tolerance) or self.tolerance < 0:
            raise ValueError(f"grid.tolerance must be a number >= 0, got {self.tolerance!r}")
        if self.pruner not in PRUNERS:
            raise ValueError(f"unknown grid.pruner {self.pruner!r}; allowed: {', '.join(PRUNERS)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def axis(maximum: float, step: float) -> list[float]:
    """``1, 1 + step, ...`` up to ``maximum`` inclusive, free of float drift."""
    count = math.floor((maximum - 1) / step + 1e-9) + 1
    return [round(1 + i * step, 10) for i in range(count)]


def feasible_grid(settings: GridSettings) -> list[tuple[float, float, float]]:
    """Every (alpha, beta, gamma) on the grid with ``|alpha * beta**2 * gamma**2 - 2| <= tolerance``."""
    points = [
        (a, b, g)
        for a in axis(settings.alpha_max, settings.step)
        for b in axis(settings.beta_max, settings.step)
        for g in axis(settings.gamma_max, settings.step)
        if abs(flops_constraint(a, b, g) - 2) <= settings.tolerance + 1e-12
    ]
    if not points:
        raise ValueError(no_feasible_point_message(settings))
    return points


def no_feasible_point_message(settings: GridSettings) -> str:
    """Say that no point is feasible, and which settings would give some."""
    a, b, g = (axis(m, settings.step) for m in (settings.alpha_max, settings.beta_max, settings.gamma_max))
    best = min(((x, y, z) for x in a for y in b for z in g), key=lambda p: abs(flops_constraint(*p) - 2))
    gap = abs(flops_constraint(*best) - 2)
    hint = f"grid.tolerance>={math.ceil(gap * 1000) / 1000:g} would include {best}"
    if flops_constraint(a[-1], b[-1], g[-1]) < 2 - settings.tolerance:
        hint += " (or raise grid.alpha_max/beta_max/gamma_max: their product reaches only "
        hint += f"{flops_constraint(a[-1], b[-1], g[-1]):.3f})"
    return (
        f"no feasible grid point: no alpha*beta^2*gamma^2 within {settings.tolerance} of 2 "
        f"(step {settings.step}, maxima {settings.alpha_max}/{settings.beta_max}/{settings.gamma_max}); {hint}"
    )


def point_key(point: tuple[float, float, float]) -> str:
    return ",".join(f"{v:g}" for v in point)


def parse_point(key: str) -> tuple[float, float, float]:
    a, b, g = (float(v) for v in key.split(","))
    return a, b, g


def parse_phi(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"phi must be a number > 0, got {value!r}") from None
    if not _is_number(value) or value <= 0:
        raise ValueError(f"phi must be a number > 0, got {value!r}")
    return float(value)


class PointEvaluator:
    """The Optuna objective of the grid: scale, count, train, record."""

    def __init__(
        self,
        baseline: Genotype,
        phi: float,
        proxy: ProxyConfig,
        sizes: conf.DataSizes,
        dataset: Any,
        target: conf.Target,
        device: torch.device,
        seed: int,
        grid: Sequence[tuple[float, float, float]],
    ) -> None:
        self.baseline, self.phi, self.proxy = baseline, phi, proxy
        self.target, self.device, self.seed = target, device, seed
        self.grid = list(grid)
        self.baseline_flops = target.cost(baseline)[1]
        self._raw = conf.raw_dataset(dataset)
        self.sizes = conf.fit_sizes(sizes, len(self._raw.train_labels))  # once, not per resolution
        self._data: dict[int, ProxyData] = {}

    def data_at(self, resolution: int) -> ProxyData:
        """Proxy data at one resolution (prepared once; points share a handful of resolutions)."""
        if resolution not in self._data:
            self._data[resolution] = conf.proxy_data(self._raw, self.sizes, self.device, resolution)
        return self._data[resolution]

    def __call__(self, trial: optuna.Trial) -> float:
        key = trial.suggest_categorical("point", [point_key(p) for p in self.grid])
        alpha, beta, gamma = parse_point(key)
        d, w, r = compound_multipliers(alpha, beta, gamma, self.phi)
        genotype = scale(self.baseline, depth=d, width=w, resolution=r)
        params, flops = self.target.cost(genotype, r)
        resolution = round(self.sizes.resolution * r)
        attrs = {
            "point": key,
            "alpha": alpha,
            "beta": beta,
            "gamma": gamma,
            "constraint": flops_constraint(alpha, beta, gamma),
            "d": d,
            "w": w,
            "r": r,
            "resolution": resolution,
            "target_resolution": round(self.target.resolution * r),
            "params": params,
            "flops": flops,
            "flops_ratio": flops / self.baseline_flops,
            "expected_ratio": 2**self.phi,
            "blocks": format_blocks(genotype),
            # Rounding maps several points to the same network (ceil on layers): train it once.
            "model": ",".join(format_blocks(genotype)) + f"@{resolution}px",
        }
        for name, value in attrs.items():
            trial.set_user_attr(name, value)
        previous = find_result(trial.study, "model", attrs["model"], exclude=trial.number)
        if previous is not None:
            return reuse_result(trial, previous, ("val_acc", "seconds"))
        running = claimed_by(trial.study, "model", attrs["model"], trial.number)
        if running is not None:
            trial.set_user_attr("reason", f"same model as running trial {running.number}")
            raise optuna.TrialPruned("another worker is training this model")

        def on_epoch(epoch: int, val_acc: float) -> None:
            trial.set_user_attr("val_acc", val_acc)
            if report_epoch(trial, epoch, self.proxy.epochs, val_acc):
                trial.set_user_attr("reason", f"pruned after epoch {epoch + 1} at val_acc {val_acc:.4f}")
                raise optuna.TrialPruned()

        result = train_proxy(genotype, self.data_at(resolution), self.proxy, self.seed, on_epoch=on_epoch)
        trial.set_user_attr("seconds", round(result.seconds, 2))
        if not result.ok:
            trial.set_user_attr("reason", result.reason)
            return math.nan
        trial.set_user_attr("val_acc", result.val_acc)
        return result.val_acc


def points_left(study: optuna.Study, grid: Sequence[tuple[float, float, float]]) -> int:
    """Grid points no trial has finished and no worker is running (0: this worker is done)."""
    states = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL, *FINISHED)
    taken = {t.params.get("point") for t in study.get_trials(deepcopy=False, states=states)}
    return sum(point_key(p) not in taken for p in grid)


def best_point(frame: pd.DataFrame) -> pd.Series | None:
    """Highest validation accuracy among fully trained points; ties go to fewer FLOPs."""
    done = frame[(frame["state"] == "COMPLETE") & frame["val_acc"].notna()]
    if done.empty:
        return None
    return done.sort_values(["val_acc", "flops"], ascending=[False, True]).iloc[0]


def write_outputs(
    study: optuna.Study, out: Path, phi: float, grid: Sequence, baseline: Genotype, storage: str
) -> dict[str, Any]:
    """grid.csv, coefficients.yaml, grid.png and summary.json in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    frame = trials_frame(study.get_trials(deepcopy=False), GRID_COLUMNS)
    frame.to_csv(out / "grid.csv", index=False)
    best = best_point(frame)
    summary: dict[str, Any] = {
        "study": study.study_name,
        "storage": storage,
        "baseline": baseline.name,
        "baseline_blocks": format_blocks(baseline),
        "phi": phi,
        "n_points": len(grid),
        "n_trials": len(frame),
        "n_complete": int((frame["state"] == "COMPLETE").sum()),
        "n_pruned": int((frame["state"] == "PRUNED").sum()),
        "paper_point_in_grid": tuple(PAPER_COEFFICIENTS) in {tuple(p) for p in grid},
        "best": None,
    }
    if best is not None:
        chosen = {
            k: float(best[k]) for k in ("alpha", "beta", "gamma", "val_acc", "flops", "flops_ratio", "constraint")
        }
        chosen["trial"] = int(best["number"])
        summary["best"] = chosen
        coefficients = {
            "alpha": chosen["alpha"],
            "beta": chosen["beta"],
            "gamma": chosen["gamma"],
            "phi": phi,
            "val_acc": chosen["val_acc"],
            "flops_ratio": chosen["flops_ratio"],
            "baseline": baseline.name,
            "study": study.study_name,
        }
        (out / "coefficients.yaml").write_text(OmegaConf.to_yaml(coefficients))
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_grid(frame, out / "grid.png", PAPER_COEFFICIENTS, title=f"{study.study_name}: proxy accuracy, phi={phi:g}")
    return summary


def run(cfg: DictConfig) -> dict[str, Any]:
    phi = parse_phi(cfg.phi)
    settings = conf.fields_of(GridSettings, cfg.grid)
    grid = feasible_grid(settings)
    baseline = resolve_spec(cfg.baseline)
    proxy = conf.fields_of(ProxyConfig, cfg.proxy)
    sizes = conf.data_sizes(cfg.proxy)
    target = conf.target(cfg.target)
    if not 0 <= cfg.worker < cfg.workers:
        raise ValueError(f"worker must be in [0, {cfg.workers - 1}] for workers={cfg.workers}, got {cfg.worker}")
    device = resolve_device(conf.worker_device(cfg.device, cfg.worker))
    conf.set_threads(conf.worker_threads(cfg.threads, cfg.workers))
    storage_settings = conf.fields_of(StorageSettings, {**cfg.study, "url": cfg.study.storage})
    storage = open_storage(storage_settings)
    # Every worker uses the same grid seed: GridSampler's choices then never overshoot the grid.
    sampler = optuna.samplers.GridSampler({"point": [point_key(p) for p in grid]}, seed=cfg.seed)
    pruner = (
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
        if settings.pruner == "successive_halving"
        else optuna.pruners.NopPruner()
    )
    identity = {
        "command": "scaling.grid",
        "baseline": [*format_blocks(baseline), baseline.stem, baseline.head, baseline.activation],
        "phi": phi,
        "grid": dataclasses.asdict(settings),
        "target": dataclasses.asdict(target),
    }
    study, created = open_study(storage, cfg.study.name, ["maximize"], sampler, pruner, identity)
    left = points_left(study, grid)
    print(
        f"{len(grid)} feasible points (alpha<={settings.alpha_max}, beta<={settings.beta_max}, "
        f"gamma<={settings.gamma_max}, step {settings.step}, |alpha*beta^2*gamma^2-2|<={settings.tolerance}); "
        f"phi={phi:g}; baseline {baseline.name}; study {study.study_name!r} on {storage_settings.url} "
        f"({'new' if created else 'resumed'}, {len(grid) - left} done or running); pruner {settings.pruner}; device {device}",
        flush=True,
    )
    evaluator = PointEvaluator(baseline, phi, proxy, sizes, cfg.dataset, target, device, cfg.seed, grid)
    out = run_dir()
    (out / "config.json").write_text(json.dumps(to_container(cfg), indent=2) + "\n")

    def status() -> str | None:
        best = best_point(trials_frame(study.get_trials(deepcopy=False), GRID_COLUMNS))
        return (
            None
            if best is None
            else f"best {point_key((best['alpha'], best['beta'], best['gamma']))} acc {best['val_acc']:.4f}"
        )

    summary, code = guarded(
        PROG,
        lambda: run_trials(study, evaluator, lambda: points_left(study, grid), len(grid), cfg.progress, status),
        lambda: write_outputs(study, out, phi, grid, baseline, storage_settings.url),
    )
    best = summary["best"]
    if best:
        print(
            f"best of {summary['n_complete']} fully trained points: alpha={best['alpha']:g}, beta={best['beta']:g}, "
            f"gamma={best['gamma']:g} (constraint {best['constraint']:.3f}), val_acc {best['val_acc']:.4f}, "
            f"{best['flops_ratio']:.2f}x the baseline's FLOPs (2**phi = {2**phi:g}) -> {out / 'coefficients.yaml'}"
        )
    else:
        print("no point was fully trained yet")
    if code:
        sys.exit(code)
    return summary


def rewrite_phi_flag(argv: Sequence[str]) -> list[str]:
    """``--phi X`` / ``--phi=X`` -> the Hydra override ``phi=X`` (so it works beside ``-m``)."""
    result, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--phi":
            if i + 1 >= len(argv):
                raise ValueError("--phi needs a value, e.g. --phi 1")
            result.append(f"phi={argv[i + 1]}")
            i += 2
            continue
        if arg.startswith("--phi="):
            arg = "phi=" + arg[len("--phi=") :]
        result.append(arg)
        i += 1
    return result


def _slug(value: Any) -> str:
    """A study-name-friendly form of a SPEC (a file path becomes its stem)."""
    text = str(value)
    if "/" in text or text.endswith((".yaml", ".yml", ".json")):
        text = Path(text).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:60]


if not OmegaConf.has_resolver("slug"):
    OmegaConf.register_new_resolver("slug", _slug)

_hydra_main = hydra_entry(PROG, "grid", run)


def main() -> Any:
    from nas.app import fail

    try:
        sys.argv[1:] = rewrite_phi_flag(sys.argv[1:])
    except ValueError as err:
        fail(PROG, err)
    return _hydra_main()


if __name__ == "__main__":
    main()
