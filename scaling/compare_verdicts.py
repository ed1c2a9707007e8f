"""What a comparison may say: where scale pays, which models tie with the best, judged beyond noise.

Every model of a comparison is scored on the same validation images, so where each trial kept
its per-image outcomes (``val_outcomes``) two models are compared image by image
(:func:`nas.proxy.noise.pair_margin`); otherwise by the unpaired sampling noise of both
accuracies.  The outcomes are also written beside ``compare.csv`` (``outcomes.npz``, one boolean
array per run), so comparisons over seeds can pair them too.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nas.proxy.noise import pack_outcomes, pair_margin, unpack_outcomes, verdict
from nas.studies.protocol import OUTCOMES
from scaling.equal_cost import METHODS

OUTCOMES_FILE = "outcomes.npz"


def run_key(method: str, phi: float) -> str:
    return f"{method}@{phi:g}"


def outcomes_of(row: pd.Series) -> np.ndarray | None:
    """A row's per-image outcomes (None where its trial kept none)."""
    value = row.get(OUTCOMES)
    return unpack_outcomes(value) if isinstance(value, str) and value else None


def _beats(high: pd.Series, low: pd.Series, n_val: int | None) -> str:
    """``high``'s verdict against ``low`` (rows with ``val_acc`` and, where kept, outcomes)."""
    a, b = float(high["val_acc"]), float(low["val_acc"])
    return verdict(a, b, pair_margin(a, b, n_val, outcomes_of(high), outcomes_of(low)))


def flat_steps(frame: pd.DataFrame, n_val: int | None) -> list[str]:
    """Where a method's accuracy does not rise with phi beyond noise (``width 1->2``); empty: scale pays.

    Each step (the baseline to the first phi, then phi to phi) must be beaten beyond noise.  Where
    scale does not pay, a comparison measures under-training or noise, not scaling, and names no winner.
    """
    trained = frame.dropna(subset=["val_acc"])
    base = trained[trained["method"] == "baseline"]
    flat = []
    for method in [m for m in METHODS if m in set(trained["method"])]:
        rows = trained[trained["method"] == method].sort_values("phi")
        steps = [(0.0, base.iloc[0])] if len(base) else []
        steps += [(float(row["phi"]), row) for _, row in rows.iterrows()]
        for (low_phi, low), (high_phi, high) in itertools.pairwise(steps):
            if _beats(high, low, n_val) != "beats":
                flat.append(f"{method} {low_phi:g}->{high_phi:g}")
    return flat


def best_ties(frame: pd.DataFrame, n_val: int | None) -> tuple[pd.Series | None, list[str] | None]:
    """The best run's row and the keys of the runs that tie with it within noise (None: noise unknown).

    Noise is known from the split size, or from every run's per-image outcomes.
    """
    trained = frame.dropna(subset=["val_acc"]).sort_values(["val_acc", "flops"], ascending=[False, True])
    if not len(trained):
        return None, None
    top = trained.iloc[0]
    if not n_val and not all(outcomes_of(row) is not None for _, row in trained.iterrows()):
        return top, None
    ties = [
        run_key(row["method"], row["phi"])
        for _, row in trained.iloc[1:].iterrows()
        if _beats(top, row, n_val) == "ties within noise with"
    ]
    return top, ties


def cannot_judge(flat: Sequence[str]) -> str:
    """The one sentence a comparison says instead of naming a winner."""
    return (
        "Scaling cannot be judged on this proxy: accuracy does not rise with phi beyond noise at "
        f"{', '.join(flat)}; no method is named best."
    )


def write_outcomes(frame: pd.DataFrame, path: Path) -> None:
    """``outcomes.npz``: each run's per-image validation outcomes (runs that kept none are left out)."""
    arrays = {
        run_key(row["method"], row["phi"]): outcomes
        for _, row in frame.iterrows()
        if (outcomes := outcomes_of(row)) is not None
    }
    np.savez_compressed(path, **arrays)


def read_outcomes(path: Path) -> dict[str, np.ndarray]:
    """The arrays :func:`write_outcomes` wrote (empty when the file is missing)."""
    if not path.exists():
        return {}
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def with_outcomes(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``compare.csv``'s rows with the outcomes ``outcomes.npz`` kept for them (a ``val_outcomes`` column)."""
    arrays = read_outcomes(path)
    keys = [run_key(m, p) for m, p in zip(frame["method"], frame["phi"], strict=True)]
    return frame.assign(**{OUTCOMES: [pack_outcomes(arrays[k]) if k in arrays else None for k in keys]})
