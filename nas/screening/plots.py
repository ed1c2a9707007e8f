"""How zero-cost scores agree with one another (a matplotlib figure, written to a file)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd


def plot_score_agreement(frame: pd.DataFrame, path: Path, title: str) -> None:
    """Kendall's tau between every pair of score columns of ``frame``: which scores rank alike."""
    tau = frame.corr(method="kendall").to_numpy()
    names = list(frame.columns)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(names), 0.6 + 0.7 * len(names)))
    image = ax.imshow(tau, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{tau[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="Kendall tau")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
