"""The ``supernet`` settings: how the supernet is trained, and how its subnets are scored."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from nas.supernet.evolution import Evolution

SCORES = ("accuracy", "loss")
TRAINING_FIELDS = ("epochs", "random_subnets", "distill", "lr", "progressive")
"""What changes the trained weights: the checkpoint's identity holds these, the scoring settings not."""
NOT_RANKING = (*TRAINING_FIELDS, "save_every", "pool", "store")
"""What does not change how a search ranks with a given supernet (where it is kept, what a command ranks)."""


def _check_int(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"supernet.{name} must be an integer >= {least}, got {value!r}")


@dataclass(frozen=True)
class SupernetSettings:
    """``supernet``: the sandwich rule's training budget, subnet scoring, and a pool to rank."""

    epochs: int = 8  # passes over the proxy's training images, every step training several subnets
    random_subnets: int = 1  # sandwich rule: the largest, the smallest and this many random subnets per step
    distill: bool = True  # in-place distillation: all but the largest learn the largest's soft labels
    lr: float | None = None  # peak learning rate (null: the proxy's)
    progressive: bool = (
        False  # Once-for-All's progressive shrinking (nas.supernet.progressive); off: the sandwich throughout
    )
    save_every: int = 50  # steps between checkpoints (one is also written after every epoch and on a stop)
    recalibration: int = 64  # training images whose statistics each subnet's BatchNorm gets before scoring
    eval_images: int = 125  # validation images (a fixed part of the split) every subnet is scored on
    score: str = "accuracy"  # what ranks subnets: accuracy, or loss (lower is better)
    pool: int = 0  # python -m nas.supernet: rank this many sampled candidates too (scores.csv); 0: none
    candidates: int = 5000  # a search with it: members the evolution scores (Once-for-All's evolutionary search)
    population: int = 100
    parents: int = 25  # the fittest members each generation keeps
    mutation: float = 0.1  # chance that a mutant redraws each decision
    top: int = 5  # a search with it: the fittest members trained stand-alone as the study's first trials
    store: str = "runs/supernets"  # where supernets are kept by identity (search.supernet=auto finds its own here)

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1)
        _check_int("random_subnets", self.random_subnets, 0)
        _check_int("save_every", self.save_every, 1)
        _check_int("recalibration", self.recalibration, 1)
        _check_int("eval_images", self.eval_images, 1)
        _check_int("pool", self.pool, 0)
        _check_int("top", self.top, 1)
        self.evolution  # noqa: B018  (checks the evolution's settings)
        if self.lr is not None and not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"supernet.lr must be a number > 0 or null (the proxy's), got {self.lr!r}")
        if not isinstance(self.progressive, bool):
            raise ValueError(f"supernet.progressive must be true or false, got {self.progressive!r}")
        if self.score not in SCORES:
            raise ValueError(f"supernet.score must be one of {', '.join(SCORES)}, got {self.score!r}")

    @property
    def evolution(self) -> Evolution:
        return Evolution(self.candidates, self.population, self.parents, self.mutation)

    def identity(self) -> dict[str, Any]:
        """The settings that decide the trained weights (``progressive`` only when on: older supernets keep theirs)."""
        kept = {k: v for k, v in dataclasses.asdict(self).items() if k in TRAINING_FIELDS}
        if not self.progressive:
            del kept["progressive"]
        return kept

    def ranking_identity(self) -> dict[str, Any]:
        """The settings that decide how a search ranks with the supernet: scoring and evolution."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in NOT_RANKING}
