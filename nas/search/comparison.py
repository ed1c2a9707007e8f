"""Searches compared: their best reward against the number of trials, grouped by strategy (``nas.report``).

Each run directory is one written by ``nas.search`` (``summary.json``, ``trials.csv`` and
``config.json``); a sweep directory is searched for them.  Runs are grouped by strategy (the
sampler), and for each the best reward found against the number of trials is tabulated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Run directories (holding summary.json and trials.csv) at or under ``paths``."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if (path / "summary.json").is_file():
            runs.append(path)
        else:
            runs.extend(sorted(p.parent for p in path.rglob("summary.json") if (p.parent / "trials.csv").is_file()))
    if not runs:
        raise FileNotFoundError(f"no search run (summary.json + trials.csv) under {', '.join(map(str, paths))}")
    return list(dict.fromkeys(runs))


def best_so_far(trials: pd.DataFrame) -> list[float]:
    """Running maximum of the reward over trials in order (pruned/failed trials keep the best)."""
    values, best = [], float("-inf")
    for _, row in trials.sort_values("number").iterrows():
        if row["state"] == "COMPLETE" and pd.notna(row.get("reward")):
            best = max(best, float(row["reward"]))
        values.append(best if best != float("-inf") else float("nan"))
    return values


def compare(runs: Sequence[Path]) -> tuple[pd.DataFrame, dict[str, list[list[float]]]]:
    """One row per run, and the best-so-far curves by strategy: the sampler, and the dataset when runs differ in it.

    Rewards on different datasets are not comparable: such runs are never pooled into one curve.
    """
    rows, run_curves = [], []
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        config = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else {}
        curve = best_so_far(pd.read_csv(run / "trials.csv"))
        run_curves.append([v for v in curve if v == v] or [float("nan")])
        best = summary.get("best") or {}
        rows.append(
            {
                "run": str(run),
                "study": summary.get("study"),
                "dataset": (summary.get("dataset") or {}).get("name", "?"),
                "sampler": config.get("search", {}).get("sampler", "?"),
                "seed": config.get("seed"),
                "trials": summary.get("n_trials"),
                "best_reward": best.get("reward"),
                "best_val_acc": best.get("val_acc"),
                "best_mflops": (best.get("flops") or 0) / 1e6 or None,
                "reward_at_half": curve[len(curve) // 2 - 1] if len(curve) >= 2 else None,
            }
        )
    table = pd.DataFrame(rows)
    several = table["dataset"].nunique() > 1
    curves: dict[str, list[list[float]]] = {}
    for row, curve in zip(rows, run_curves, strict=True):
        label = f"{row['sampler']} on {row['dataset']}" if several else row["sampler"]
        curves.setdefault(label, []).append(curve)
    return table, curves


def common_depth(runs: Sequence[Path]) -> int:
    """How many leading path parts all ``runs`` share (one run: its parent's)."""
    parts = [Path(r).resolve().parts for r in runs]
    depth = 0
    while all(len(p) > depth for p in parts) and len({p[depth] for p in parts}) == 1:
        depth += 1
    return depth if len(runs) > 1 else depth - 1
