"""Figures of the scaling commands: the grid's heat maps, the family, the method comparison."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from nas.search.plots import fitted


def plot_grid(frame: pd.DataFrame, path: Path, paper: Sequence[float], title: str) -> None:
    """One heat map of accuracy over (beta, gamma) per alpha; the paper's triple is starred."""
    points = frame.dropna(subset=["alpha", "beta", "gamma"])
    alphas = sorted(points["alpha"].unique()) or [1.0]
    fig, axes = plt.subplots(1, len(alphas), figsize=(3.2 * len(alphas) + 1, 3.4), squeeze=False)
    betas = sorted(points["beta"].unique())
    gammas = sorted(points["gamma"].unique())
    complete = points[points["state"] == "COMPLETE"]
    finite = complete["val_acc"].dropna()
    vmin, vmax = (finite.min(), finite.max()) if len(finite) else (0, 1)
    image = None
    for ax, alpha in zip(axes[0], alphas, strict=True):
        cells = np.full((len(gammas), len(betas)), np.nan)
        for _, row in complete[complete["alpha"] == alpha].iterrows():
            cells[gammas.index(row["gamma"]), betas.index(row["beta"])] = row["val_acc"]
        image = ax.imshow(cells, origin="lower", cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
        for (gi, bi), value in np.ndenumerate(cells):
            if not np.isnan(value):
                ax.text(bi, gi, f"{value:.3f}", ha="center", va="center", fontsize=6, color="white")
        # Stopped points sit on empty (white) cells: dark marks, with the accuracy they stopped at.
        for _, row in points[(points["alpha"] == alpha) & (points["state"] != "COMPLETE")].iterrows():
            x, y = betas.index(row["beta"]), gammas.index(row["gamma"])
            if str(row.get("feasible")) == "False":  # costed, not trained
                ax.plot(x, y, ".", color="0.6", ms=4)
                continue
            ax.plot(x, y + 0.12, "x", color="0.35", ms=5)
            if pd.notna(row["val_acc"]):
                ax.text(x, y - 0.18, f"{row['val_acc']:.3f}", ha="center", va="center", fontsize=5, color="0.35")
        if np.isclose(alpha, paper[0]) and paper[1] in betas and paper[2] in gammas:
            ax.plot(
                betas.index(paper[1]), gammas.index(paper[2]), "*", color="red", ms=14, label="paper (1.2, 1.1, 1.15)"
            )
            ax.legend(loc="upper right", fontsize=7)
        ax.set_xticks(range(len(betas)), [f"{b:g}" for b in betas], fontsize=7)
        ax.set_yticks(range(len(gammas)), [f"{g:g}" for g in gammas], fontsize=7)
        ax.set_xlabel("beta (width)")
        ax.set_title(f"alpha = {alpha:g}", fontsize=9)
    axes[0][0].set_ylabel("gamma (resolution)")
    if image is not None:
        fig.colorbar(
            image,
            ax=axes[0].tolist(),
            label="proxy val. accuracy (x: stopped early, at that epoch's accuracy; dot: infeasible)",
        )
    fig.suptitle(fitted(title, fig, 10), fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_family(frame: pd.DataFrame, path: Path, title: str) -> None:
    """FLOPs, params and (when measured) latency against phi, log scale, with the ideal 2**phi growth of FLOPs."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    base_flops = frame["flops"].iloc[0] / frame["flops_ratio"].iloc[0]
    ax.semilogy(frame["phi"], frame["flops"] / 1e9, "o-", label="GFLOPs")
    ax.semilogy(frame["phi"], base_flops * 2.0 ** frame["phi"] / 1e9, ":", color="gray", label="baseline x 2**phi")
    ax.semilogy(frame["phi"], frame["params"] / 1e6, "s-", label="params (M)")
    if "latency_ms" in frame and frame["latency_ms"].notna().all():
        ax.semilogy(frame["phi"], frame["latency_ms"], "^-", label="latency (ms)")
    for _, row in frame.iterrows():
        ax.annotate(
            f"{row['resolution']}px",
            (row["phi"], row["flops"] / 1e9),
            fontsize=7,
            xytext=(3, -10),
            textcoords="offset points",
        )
    ax.set_xlabel("phi")
    _finish(fig, ax, path, title)


def plot_compare(frame: pd.DataFrame, path: Path, title: str, x: str = "flops") -> None:
    """Accuracy against FLOPs (or measured latency), one line per scaling method (EfficientNet Figure 8)."""
    column, scale, label = COMPARE_AXES[x]
    frame = frame.dropna(subset=[column])  # models of a resumed comparison that were not timed
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    base = frame[frame["method"] == "baseline"]
    for method, part in frame[frame["method"] != "baseline"].groupby("method", sort=False):
        part = pd.concat([base, part]).sort_values(column)
        ax.plot(part[column] / scale, part["val_acc"], "o-", label=method)
    ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("proxy validation accuracy")
    _finish(fig, ax, path, title.replace("same FLOPs", "same FLOPs, plotted by latency") if x == "latency" else title)


COMPARE_AXES = {
    "flops": ("flops", 1e9, "GFLOPs at the target input"),
    "latency": ("latency_ms", 1.0, "measured latency on the target device (ms)"),
}


def _finish(fig: plt.Figure, ax: plt.Axes, path: Path, title: str) -> None:
    """Title, grid and legend, then write the figure and free it."""
    ax.set_title(fitted(title, fig))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
