"""A pool of candidates drawn from the space and scored without training (``python -m nas.prescreen``).

Draws ``pool`` distinct genotypes uniformly, scores each with :class:`~nas.screening.scorer.Scorer`,
and writes ``scores.csv`` (``blocks``, one column per score, ``rank``), ``scores.png`` (how the scores
agree) and ``summary.json`` (candidates per minute for every score and for the vote).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nas.screening.ranking import RANKINGS, check_score_names, pool_frame
from nas.screening.scorer import Scorer, per_minute_of
from nas.screening.scores import SCORES, VOTE
from search_spaces.codec import format_blocks
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace


@dataclass(frozen=True)
class PrescreenSettings:
    """The ``prescreen`` settings: how many candidates, which scores, the ranking, the minibatch, a FLOPs cap."""

    pool: int = 1000  # distinct genotypes sampled uniformly from the space
    scores: Any = SCORES  # score names (a list, or one name)
    rank_by: str = "vote"  # a score, -score (lowest first), or vote (the mean rank of synflow, naswot and snip)
    batch_size: int = 64  # images of the proxy's training split every score sees (one seeded minibatch)
    max_flops: float | None = None  # leave out candidates above this many FLOPs at the target input

    def __post_init__(self) -> None:
        if isinstance(self.pool, bool) or not isinstance(self.pool, int) or self.pool < 1:
            raise ValueError(f"prescreen.pool must be an integer >= 1, got {self.pool!r}")
        object.__setattr__(self, "scores", tuple(check_score_names(self.scores, "prescreen.scores score")))
        check_score_names(self.rank_by, "prescreen.rank_by", RANKINGS)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(f"prescreen.batch_size must be an integer >= 2, got {self.batch_size!r}")
        if self.max_flops is not None and not self.max_flops > 0:
            raise ValueError(f"prescreen.max_flops must be > 0 or null, got {self.max_flops!r}")


def sample_pool(
    space: MnasNetSpace, size: int, seed: int, accept: Callable[[Genotype], bool] | None = None
) -> list[Genotype]:
    """Up to ``size`` distinct genotypes drawn uniformly from ``space`` (and ``accept``-ed) with ``seed``."""
    rng = np.random.default_rng(seed)
    seen: dict[tuple[str, ...], Genotype] = {}
    for _ in range(20 * size):  # a small space, or a strict ``accept``, runs out of new members
        if len(seen) >= size:
            break
        genotype = space.sample(rng)
        key = tuple(format_blocks(genotype))
        if key not in seen and (accept is None or accept(genotype)):
            seen[key] = genotype
    return list(seen.values())


def scored_rows(scorer: Scorer, genotypes: Sequence[Genotype], names: Sequence[str]) -> Iterator[dict[str, Any]]:
    """``{"blocks": ..., score: value, ...}`` for each genotype in turn (a command wraps it in a progress bar)."""
    for genotype in genotypes:
        yield {"blocks": ",".join(format_blocks(genotype)), **scorer.scores(genotype, names)}


def write_outputs(
    rows: list[dict[str, Any]],
    settings: PrescreenSettings,
    scorer: Scorer,
    out: Path,
    config: Mapping[str, Any],
    dataset: Mapping[str, Any],
) -> dict[str, Any]:
    """``scores.csv``, ``scores.png`` and ``summary.json`` of the candidates scored so far."""
    out.mkdir(parents=True, exist_ok=True)
    frame = pool_frame(rows, settings.scores, settings.rank_by)
    frame.sort_values("rank", kind="stable").to_csv(out / "scores.csv", index=False)
    if len(frame) > 1:
        from nas.screening.plots import plot_score_agreement  # matplotlib loads when a figure is drawn

        plot_score_agreement(frame[[*settings.scores, "rank"]], out / "scores.png", f"{len(frame)} candidates")
    rates = scorer.per_minute()
    if all(n in rates for n in VOTE):
        rates["vote"] = per_minute_of(rates, VOTE)
    summary = {
        "candidates": len(frame),
        "pool": settings.pool,
        "rank_by": settings.rank_by,
        "candidates_per_minute": {k: round(v, 1) for k, v in rates.items()},
        "device": str(scorer.inputs.device),
        "dataset": dataset,
        "top": frame.sort_values("rank", kind="stable").head(10).to_dict(orient="records"),
        "config": config,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
