"""The search at equal wall-clock: random, TPE, the RL controller, TPE / RL with the pre-screen, TPE with a supernet.

Each run is the real search (``nas.search.job.SearchJob``: reference first, median pruning, the
default proxy) on an in-memory study, started with a clock: no trial starts after ``budget``
seconds, and only trials finished within it count.  The pre-screened variants spend part of the
same budget scoring their pool; ``tpe+supernet`` trains its supernet and ranks the space inside the
budget too, ``tpe+trained_supernet`` only ranks (the supernet was trained before: train once,
search many).  Runs are interleaved seed by seed, so a slower stretch of the
machine falls on every method alike, and methods are compared seed by seed (a paired test).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from scipy.stats import ttest_1samp

from benchmarks.common import code_state, keep, kept_with
from benchmarks.task import Task
from nas.proxy.noise import verdict
from nas.search.job import SearchJob
from nas.search.settings import SearchConfig, SearchPrescreen, SearchSettings
from nas.search.supernet import RANKING_ATTR
from nas.supernet.settings import SupernetSettings

METHODS = ("random", "tpe", "rl", "tpe+prescreen", "rl+prescreen", "tpe+supernet", "tpe+trained_supernet")
DEFAULT_METHODS = ("random", "tpe", "tpe+prescreen")
ADDONS = ("", "prescreen", "supernet", "trained_supernet")


@dataclass(frozen=True)
class SupernetPlan:
    """How the supernet methods get theirs: ``+supernet`` trains one per run, from nothing, inside its
    budget; ``+trained_supernet`` uses the one already trained at ``trained`` (train once, search many)."""

    settings: SupernetSettings
    trained: Path | None = None


def method_settings(
    method: str, prescreen: SearchPrescreen, base: SearchSettings, plan: SupernetPlan | None = None
) -> SearchSettings:
    """``base`` with ``method``'s sampler, and its pre-screen or supernet (no trial limit: the clock is)."""
    sampler, _, addon = method.partition("+")
    if sampler not in ("random", "tpe", "rl") or addon not in ADDONS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if addon != "prescreen":
        prescreen = SearchPrescreen()
    elif sampler == "tpe":  # TPE proposes by its own model: the warm-up only
        prescreen = dataclasses.replace(prescreen, k=1)
    supernet = "none"
    if addon in ("supernet", "trained_supernet"):
        if plan is None or (addon == "trained_supernet" and plan.trained is None):
            raise ValueError(f"method {method!r} needs a supernet plan")
        supernet = "auto" if addon == "supernet" else str(plan.trained)
    return dataclasses.replace(base, sampler=sampler, n_trials=10**6, prescreen=prescreen, supernet=supernet)


def timed_search(
    task: Task,
    method: str,
    seed: int,
    budget: float,
    prescreen: SearchPrescreen,
    bank: dict[str, Any],
    plan: SupernetPlan | None = None,
) -> dict[str, Any]:
    """One search of ``method`` for ``budget`` seconds: its best reward in time, its trials and curve."""
    settings = method_settings(method, prescreen, task.search, plan)
    with tempfile.TemporaryDirectory() as scratch:  # +supernet trains its own, from nothing, inside the budget
        supernet = SupernetSettings() if plan is None else dataclasses.replace(plan.settings, store=scratch)
        config = SearchConfig(task.dataset, task.proxy, task.target, seed, settings, task.reward, supernet)
        return _timed(task, config, budget, bank)


def _timed(task: Task, config: SearchConfig, budget: float, bank: dict[str, Any]) -> dict[str, Any]:
    job = SearchJob(task.space.reference, config)
    job.data(task.device)  # loading and preparing the data is not the search's time
    study = optuna.create_study(directions=job.directions, sampler=job.sampler(0, task.device), pruner=job.pruner())
    finished: list[tuple[float, float]] = []  # (seconds since the start, reward) of each trained candidate

    def note(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            finished.append((time.perf_counter() - start, float(trial.values[0])))

    start = time.perf_counter()
    objective = job.start(study, True, task.device).objective
    while time.perf_counter() - start < budget:
        study.optimize(objective, n_trials=1, callbacks=[note], gc_after_trial=False)
    in_time = [(t, r) for t, r in finished if t <= budget]
    members = {",".join(r["blocks"]) for r in bank["candidates"]}
    trained = [t.user_attrs.get("blocks") for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {
        "best_reward": max((r for _, r in in_time), default=float("nan")),
        "trials_in_time": len(in_time),
        "trials_started": len(study.trials),
        "bank_members_trained": sum(_joined(b) in members for b in trained),
        "trials": [[round(t, 1), round(r, 5)] for t, r in in_time],
        "curve": improvements(in_time),
        "supernet": warm_up_cost(study),
    }


def warm_up_cost(study: optuna.Study) -> dict[str, Any] | None:
    """Where a supernet search's time went before its first trial (None without a supernet):
    ``seconds`` in all (obtaining the supernet and ranking), the candidates ranked and their rate."""
    ranking = study.user_attrs.get(RANKING_ATTR)
    if ranking is None:
        return None
    return {k: ranking[k] for k in ("seconds", "supernet_seconds", "candidates", "subnets_per_minute")}


def _joined(blocks: str | Sequence[str] | None) -> str:
    return blocks if isinstance(blocks, str) or blocks is None else ",".join(blocks)


def improvements(trials: Sequence[tuple[float, float]]) -> list[list[float]]:
    """The best-so-far curve: (seconds, best reward) at every trial that raised it."""
    curve, best = [], -np.inf
    for t, reward in trials:
        if reward > best:
            best = reward
            curve.append([round(t, 1), round(reward, 5)])
    return curve


def best_so_far(curve: Sequence[Sequence[float]], budget: float, step: float) -> list[float]:
    """The best reward reached by each multiple of ``step`` seconds (NaN before the first)."""
    times = np.arange(step, budget + step / 2, step)
    out = []
    for t in times:
        rewards = [r for s, r in curve if s <= t]
        out.append(max(rewards) if rewards else float("nan"))
    return out


def compare_searches(
    task: Task,
    methods: Sequence[str],
    seeds: Sequence[int],
    budget: float,
    prescreen: SearchPrescreen,
    bank: dict[str, Any],
    plan: SupernetPlan | None = None,
    kept: Path | None = None,
) -> dict[str, Any]:
    """Every method with every seed for ``budget`` seconds: per method its seeds and spread; paired tests.

    With ``kept`` (a JSON file), every finished search (one method at one seed) is stored there with
    ``kept_as`` (the commit and settings), so a stopped benchmark continues with the next search
    rather than losing a seed's hours; a file of another commit or other settings is started afresh.
    """
    kept_as = {"commit": code_state(), "methods": list(methods), "budget": budget, "prescreen": vars(prescreen)}
    runs = load_kept(kept, kept_as, methods)
    for seed in seeds:
        for method in methods:
            if str(seed) in runs[method]:
                print(f"[search] {method} seed {seed}: kept from {kept}", flush=True)
                continue
            result = timed_search(task, method, seed, budget, prescreen, bank, plan)
            runs[method][str(seed)] = result
            print(
                f"[search] {method} seed {seed}: best reward {result['best_reward']:.4f} "
                f"({result['trials_in_time']} trials in {budget:.0f} s)",
                flush=True,
            )
            if kept is not None:
                keep(kept, {**kept_as, "runs": runs})
    runs = {m: {str(s): runs[m][str(s)] for s in seeds} for m in methods}
    summary = {}
    for method, by_seed in runs.items():
        best = np.array([r["best_reward"] for r in by_seed.values()], dtype=float)
        found = best[np.isfinite(best)]
        summary[method] = {
            "mean_best_reward": round(float(found.mean()), 5) if len(found) else None,
            "std_best_reward": round(float(found.std(ddof=1)), 5) if len(found) > 1 else None,
            "min_best_reward": round(float(found.min()), 5) if len(found) else None,
            "max_best_reward": round(float(found.max()), 5) if len(found) else None,
            "mean_trials": round(float(np.mean([r["trials_in_time"] for r in by_seed.values()])), 1),
            "seeds_without_result": int(np.isnan(best).sum()),  # left out of the mean: none trained in time
            "seeds": by_seed,
        }
    pairs = [(a, b) for i, a in enumerate(methods) for b in methods[:i]]
    return {"methods": summary, "paired": {f"{a} vs {b}": paired(runs[a], runs[b]) for a, b in pairs}}


def load_kept(path: Path | None, kept_as: dict[str, Any], methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The searches a stopped run finished, when ``path`` was written by the same commit and settings."""
    stored = kept_with(path, kept_as)
    return {m: dict(stored["runs"].get(m, {})) if stored else {} for m in methods}


def paired(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """``first`` minus ``second`` seed by seed: mean, 95% t-interval, paired t-test p, and the verdict.

    ``first`` beats ``second`` only when the whole interval is above zero (``nas.proxy.noise.verdict``).
    """
    diffs = np.array([first[s]["best_reward"] - second[s]["best_reward"] for s in first if s in second], dtype=float)
    diffs = diffs[np.isfinite(diffs)]
    out: dict[str, Any] = {"n": len(diffs), "differences": [round(float(d), 5) for d in diffs]}
    if len(diffs) < 2:
        return {**out, "mean": None, "interval_95": None, "p": None, "verdict": "too few seeds"}
    if np.ptp(diffs) == 0:  # identical differences: no spread to test
        low = high = float(diffs[0])
        p = 0.0 if low else 1.0
    else:
        test = ttest_1samp(diffs, 0.0)
        low, high = test.confidence_interval(0.95)
        p = float(test.pvalue)
    mean = float(diffs.mean())
    return {
        **out,
        "mean": round(mean, 5),
        "interval_95": [round(float(low), 5), round(float(high), 5)],
        "p": round(p, 4),
        "verdict": verdict(mean, 0.0, mean - low),  # the t-interval is symmetric about the mean
    }
