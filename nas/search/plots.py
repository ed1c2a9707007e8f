"""Figures of a search and of a comparison of searches (matplotlib, written to files)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nas.search.objective import Reward


def fitted(title: str, fig: Any, fontsize: float = 12.0) -> str:
    """``title`` broken into lines that fit ``fig``'s width (a study name has no spaces: it breaks where it must)."""
    width_px = fig.get_figwidth() * 72.0  # in points, as the font size is
    per_line = max(20, int(0.9 * width_px / (0.6 * fontsize)))  # about 0.6 em per character
    return "\n".join(textwrap.wrap(title, per_line, break_on_hyphens=True)) or title


def pareto_front(flops: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both fewer FLOPs and higher accuracy."""
    order = np.lexsort((-acc, flops))
    front, best = [], -np.inf
    for i in order:
        if acc[i] > best:
            front.append(i)
            best = acc[i]
    return np.array(front, dtype=int)


def plot_search(frame: pd.DataFrame, path: Path, reward: Reward, reference: dict[str, Any], title: str) -> None:
    """Accuracy against FLOPs for every trial, reward iso-lines, the reference, the Pareto front.

    With latencies recorded (``latency_ms``), a second panel shows accuracy against latency.
    """
    panels = [("flops", 1e6, "MFLOPs at the target input")]
    if "latency_ms" in frame and frame["latency_ms"].notna().any():
        panels.append(("latency_ms", 1.0, "latency on the target device (ms)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 5), squeeze=False)
    for ax, (column, scale, label) in zip(axes[0], panels, strict=False):
        on_cost = (column == "latency_ms") == reward.on_latency
        _accuracy_panel(ax, frame, column, scale, reward if on_cost else None, reference)
        ax.set_xlabel(label)
    fig.suptitle(fitted(title, fig))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _accuracy_panel(
    ax: Any, frame: pd.DataFrame, column: str, scale: float, reward: Reward | None, reference: dict[str, Any]
) -> None:
    """One panel: accuracy against ``column`` (divided by ``scale``); iso-lines when ``reward`` is on it."""
    done = frame.dropna(subset=[column, "val_acc"])
    styles = {"COMPLETE": ("o", "tab:blue"), "PRUNED": ("x", "tab:gray"), "FAIL": ("v", "tab:red")}
    for state, (marker, colour) in styles.items():
        part = done[done["state"] == state]
        if len(part):
            label = {"COMPLETE": "trained", "PRUNED": "pruned (partial acc.)", "FAIL": "failed"}[state]
            ax.scatter(part[column] / scale, part["val_acc"], marker=marker, color=colour, label=label, alpha=0.8)
    complete = done[done["state"] == "COMPLETE"]
    if len(complete):
        cost, acc = complete[column].to_numpy(float), complete["val_acc"].to_numpy(float)
        front = pareto_front(cost, acc)
        ax.step(cost[front] / scale, acc[front], where="post", color="tab:green", marker="s", ms=11, mfc="none")
        ax.plot([], [], color="tab:green", marker="s", mfc="none", label="Pareto front")
    if len(done) and reward is not None and not reward.multi_objective:
        _iso_lines(ax, done, column, scale, reward)
    if reference.get("val_acc") is not None and reference.get(column) is not None:
        ax.scatter(
            [reference[column] / scale],
            [reference["val_acc"]],
            marker="*",
            s=250,
            color="tab:red",
            zorder=5,
            label=f"reference ({reference['name']})",
        )
    ax.set_xscale("log")
    ax.set_ylabel("proxy validation accuracy")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # an empty study has nothing to label
        ax.legend(loc="lower right", fontsize=8)


def _iso_lines(ax: Any, done: pd.DataFrame, column: str, scale: float, reward: Reward) -> None:
    rewards = done["reward"].dropna() if "reward" in done else pd.Series(dtype=float)
    if not len(rewards):
        return
    lo, hi = done[column].min() / scale * 0.8, done[column].max() / scale * 1.25
    xs = np.geomspace(max(lo, 1e-3), hi, 200)
    alpha, beta = reward.exponents
    target = reward.target / scale
    for level in np.quantile(rewards, [0.25, 0.5, 0.9, 1.0]):
        exponent = np.where(xs <= target, alpha, beta)
        ax.plot(xs, level / (xs / target) ** exponent, ":", color="tab:orange", lw=1)
    ax.plot([], [], ":", color="tab:orange", label="reward iso-lines")


def plot_best_so_far(
    curves: dict[str, list[list[float]]],
    path: Path,
    ylabel: str = "best reward so far",
    xlabel: str = "trials",
    step: float = 1.0,
) -> None:
    """One line per strategy (mean over its runs, band = min..max) against trials (or ``step``-second ticks)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, runs in sorted(curves.items()):
        length = max(len(r) for r in runs)
        padded = np.array([r + [r[-1]] * (length - len(r)) for r in runs if r], dtype=float)
        x = np.arange(1, length + 1) * step
        ax.plot(x, padded.mean(0), label=f"{label} ({len(runs)} run{'s' if len(runs) > 1 else ''})")
        if len(runs) > 1:
            ax.fill_between(x, padded.min(0), padded.max(0), alpha=0.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
