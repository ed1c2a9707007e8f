"""The search at equal wall-clock: random, TPE, the RL controller, and TPE / RL with the pre-screen.

Each run is the real search (``nas.search.job.SearchJob``: reference first, median pruning, the
default proxy) on an in-memory study, started with a clock: no trial starts after ``budget``
seconds, and only trials finished within it count.  The pre-screened variants spend part of the
same budget scoring their pool.  Runs are interleaved seed by seed, so a slower stretch of the
machine falls on every method alike.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna

from benchmarks.zero_cost_data import Task
from nas.search.job import SearchJob
from nas.search.settings import SearchConfig, SearchPrescreen, SearchSettings

METHODS = ("random", "tpe", "rl", "tpe+prescreen", "rl+prescreen")


def method_settings(method: str, prescreen: SearchPrescreen, base: SearchSettings) -> SearchSettings:
    """``base`` with ``method``'s sampler, and the pre-screen for ``+prescreen`` (no trial limit: the clock is)."""
    sampler, _, screened = method.partition("+")
    if sampler not in ("random", "tpe", "rl") or screened not in ("", "prescreen"):
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if not screened:
        prescreen = SearchPrescreen()
    elif sampler == "tpe":  # TPE proposes by its own model: the warm-up only
        prescreen = dataclasses.replace(prescreen, k=1)
    return dataclasses.replace(base, sampler=sampler, n_trials=10**6, prescreen=prescreen)


def timed_search(task: Task, method: str, seed: int, budget: float, prescreen: SearchPrescreen) -> dict[str, Any]:
    """One search of ``method`` for ``budget`` seconds: its best reward in time and its curve."""
    config = SearchConfig(
        task.dataset, task.proxy, task.target, seed, method_settings(method, prescreen, task.search), task.reward
    )
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
    best = max((r for _, r in in_time), default=float("nan"))
    return {
        "best_reward": best,
        "trials_in_time": len(in_time),
        "trials_started": len(study.trials),
        "curve": [[round(t, 1), round(r, 5)] for t, r in in_time],
    }


def best_so_far(curve: Sequence[Sequence[float]], budget: float, step: float) -> list[float]:
    """The best reward reached by each multiple of ``step`` seconds (NaN before the first)."""
    times = np.arange(step, budget + step / 2, step)
    out = []
    for t in times:
        rewards = [r for s, r in curve if s <= t]
        out.append(max(rewards) if rewards else float("nan"))
    return out


def compare_searches(
    task: Task, methods: Sequence[str], seeds: Sequence[int], budget: float, prescreen: SearchPrescreen
) -> dict[str, Any]:
    """Every method with every seed for ``budget`` seconds; per method the seeds' results and their spread."""
    runs: dict[str, dict[str, Any]] = {m: {} for m in methods}
    for seed in seeds:
        for method in methods:
            result = timed_search(task, method, seed, budget, prescreen)
            runs[method][str(seed)] = result
            print(
                f"[search] {method} seed {seed}: best reward {result['best_reward']:.4f} "
                f"({result['trials_in_time']} trials in {budget:.0f} s)",
                flush=True,
            )
    summary = {}
    for method, by_seed in runs.items():
        best = np.array([r["best_reward"] for r in by_seed.values()], dtype=float)
        summary[method] = {
            "mean_best_reward": round(float(np.nanmean(best)), 5),
            "std_best_reward": round(float(np.nanstd(best, ddof=1)) if len(best) > 1 else 0.0, 5),
            "min_best_reward": round(float(np.nanmin(best)), 5),
            "max_best_reward": round(float(np.nanmax(best)), 5),
            "mean_trials": round(float(np.mean([r["trials_in_time"] for r in by_seed.values()])), 1),
            "seeds_without_result": int(np.isnan(best).sum()),  # left out of the mean: none trained in time
            "seeds": by_seed,
        }
    return summary
