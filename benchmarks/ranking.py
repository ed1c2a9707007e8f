"""Rank agreement with bootstrap intervals, and the choice of a ranking, for the benchmarks on the bank."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

STATISTICS: dict[str, Callable[..., Any]] = {"tau": kendalltau, "rho": spearmanr}
"""Kendall's tau-b and Spearman's rho (scipy's defaults: tau-b accounts for ties)."""


def resamples(n: int, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` bootstrap resamples (indices with replacement) of ``n`` items."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, n) for _ in range(count)]


def correlations(
    x: Sequence[float], y: Sequence[float], samples: list[np.ndarray], label: str, stats: Sequence[str] = ("tau", "rho")
) -> dict[str, Any]:
    """``<stat>_<label>`` and ``<stat>_<label>_95`` (a bootstrap 95% interval) for each of ``stats``."""
    x = np.where(np.isfinite(x), x, -np.inf)
    y = np.asarray(y, dtype=float)
    out: dict[str, Any] = {}
    for stat in stats:
        fn = STATISTICS[stat]
        value = float(fn(x, y)[0])
        with warnings.catch_warnings():  # a resample of few candidates can be constant: its NaN is left out
            warnings.simplefilter("ignore")
            boot = np.array([fn(x[i], y[i])[0] for i in samples], dtype=float)
        low, high = np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any() else (np.nan, np.nan)
        out[f"{stat}_{label}"] = round(value, 3)
        out[f"{stat}_{label}_95"] = [round(float(low), 3), round(float(high), 3)]
    return out


def best_ranking(taus: dict[str, float], signed: Sequence[str]) -> str:
    """The name with the highest tau; each of ``signed`` may also be chosen negated (``-name``)."""
    candidates = dict(taus)
    candidates.update({f"-{name}": -taus[name] for name in signed if name in taus})
    return max(candidates, key=lambda name: candidates[name] if np.isfinite(candidates[name]) else -np.inf)
