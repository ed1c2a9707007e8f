"""Scoring genotypes without training them: a pool, its zero-cost scores, and a ranking.

:class:`Scorer` builds each genotype at the proxy's width (and memory format) for the proxy data's classes and
channels (a fresh, seeded initialisation per score: scores change the model), scores it on one
fixed minibatch of the proxy's training images, and times every score, model construction
included.  ``params`` and ``flops`` are the cost at the target input (FLOPs by the analytic count
that equals fvcore's, as tracing each candidate would take longer than every other score together).

A ranking is by one score, by a score negated (``-snip``: the lowest first, for a score that
ranks this space backwards), or by ``vote``: the mean of the candidates' ranks under each score of
:data:`~nas.screening.scores.VOTE`.  Higher is better everywhere; a score that is NaN or infinite ranks last.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata
from tqdm import tqdm

from nas.proxy.data import ProxyData
from nas.proxy.recipe import ProxyConfig
from nas.screening.scores import MODEL_SCORES, SCORES, VOTE
from search_spaces.build import build
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.flops import estimate_flops, genotype_params
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace

RANKINGS = (*SCORES, "vote", *(f"-{name}" for name in SCORES))


def check_score_names(names: Iterable[str], setting: str, allowed: Sequence[str] = SCORES) -> list[str]:
    """``names`` as a list, or a ``ValueError`` naming the unknown one and what is allowed."""
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in allowed:
            raise ValueError(f"unknown {setting} {name!r}; allowed: {', '.join(allowed)}")
    if not names:
        raise ValueError(f"{setting} is empty; allowed: {', '.join(allowed)}")
    return names


def members(ranking: str) -> tuple[str, ...]:
    """The scores a ranking needs: ``vote``'s members, or the score itself (``-name``: ``name``)."""
    return VOTE if ranking == "vote" else (ranking.removeprefix("-"),)


class Scorer:
    """Zero-cost scores of genotypes on one seeded minibatch of ``data``'s training split."""

    def __init__(
        self, data: ProxyData, proxy: ProxyConfig, target: Target, batch_size: int = 64, seed: int = 0
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
            raise ValueError(f"the scoring batch size must be an integer >= 2, got {batch_size!r}")
        generator = torch.Generator().manual_seed(seed)
        index = torch.randperm(len(data.train), generator=generator)[:batch_size].to(data.train.device)
        self.memory_format = proxy.memory_format  # as the trainer's: 4x faster for a forward and backward pass here
        self.inputs = data.train.batch(index).contiguous(memory_format=self.memory_format)
        self.targets = data.train.labels.index_select(0, index)
        self.data, self.width, self.depth, self.target, self.seed = data, proxy.width, proxy.depth, target, seed
        self.seconds: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self._known: dict[tuple[Genotype, str], float] = {}  # a proposal chosen, then trained, is scored once

    def score(self, genotype: Genotype, name: str) -> float:
        """One score of ``genotype``; NaN when its model cannot be built or scored (said on the console)."""
        if (genotype, name) in self._known:
            return self._known[genotype, name]
        start = time.perf_counter()
        try:
            value = self._score(genotype, name)
        except (RuntimeError, ValueError) as err:
            print(f"{name} of {format_blocks(genotype)}: {err}; scored NaN", flush=True)
            value = math.nan
        self.seconds[name] += time.perf_counter() - start
        self.counts[name] += 1
        self._known[genotype, name] = value
        return value

    def _score(self, genotype: Genotype, name: str) -> float:
        if name == "params":
            return float(genotype_params(genotype, self.target.num_classes, self.target.in_chans))
        if name == "flops":
            counted_at = {"in_chans": self.target.in_chans, "num_classes": self.target.num_classes}
            return float(estimate_flops(genotype, self.target.resolution, **counted_at).total)
        cuda = [self.inputs.device] if self.inputs.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):  # the same initialisation every time; the caller's stream untouched
            torch.manual_seed(self.seed)
            model = build(
                genotype,
                width=self.width,
                depth=self.depth,
                num_classes=self.data.num_classes,
                in_chans=self.data.in_chans,
                dropout=0.0,
                drop_connect=0.0,
            ).to(self.inputs.device, memory_format=self.memory_format)
            return MODEL_SCORES[name](model, self.inputs, self.targets)

    def scores(self, genotype: Genotype, names: Iterable[str]) -> dict[str, float]:
        return {name: self.score(genotype, name) for name in names}

    def per_minute(self) -> dict[str, float]:
        """Candidates per minute for each score measured so far, model construction included."""
        return {n: 60 * self.counts[n] / s for n, s in self.seconds.items() if s > 0}


def per_minute_of(rates: Mapping[str, float], names: Iterable[str]) -> float:
    """Candidates per minute when each candidate gets every score in ``names``."""
    return 1.0 / sum(1.0 / rates[n] for n in names)


def ranking_values(table: Mapping[str, Sequence[float]], ranking: str) -> np.ndarray:
    """The value to sort by (higher is better): the score (negated for ``-name``), or ``vote``'s mean rank."""
    if ranking != "vote":
        sign = -1.0 if ranking.startswith("-") else 1.0
        return _finite(sign * np.asarray(table[ranking.removeprefix("-")], dtype=float))
    return np.mean([rankdata(_finite(table[name])) for name in VOTE], axis=0)


def ranks(values: Sequence[float]) -> np.ndarray:
    """1 for the best (highest) value; ties share the better rank."""
    return rankdata(-_finite(values), method="min").astype(int)


def _finite(values: Sequence[float]) -> np.ndarray:
    out = np.asarray(values, dtype=float)
    return np.where(np.isfinite(out), out, -np.inf)


def best_of(table: Mapping[str, Sequence[float]], ranking: str) -> int:
    """The index of the best candidate in ``table`` under ``ranking`` (the first of ties)."""
    return int(np.argmax(ranking_values(table, ranking)))


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


def scored_rows(
    scorer: Scorer, genotypes: Sequence[Genotype], names: Sequence[str], progress: bool = True
) -> Iterator[dict[str, Any]]:
    """``{"blocks": ..., score: value, ...}`` for each genotype in turn, with a progress bar."""
    bar = tqdm(genotypes, unit="cand", disable=not progress, desc="scoring")
    try:
        for genotype in bar:
            yield {"blocks": ",".join(format_blocks(genotype)), **scorer.scores(genotype, names)}
    finally:
        bar.close()


def pool_frame(rows: Sequence[Mapping[str, Any]], names: Sequence[str], ranking: str) -> pd.DataFrame:
    """``blocks``, the scores ``names``, then ``rank`` under ``ranking`` (1 = best); rows in their order."""
    needed = list(dict.fromkeys([*names, *members(ranking)]))
    frame = pd.DataFrame(list(rows), columns=["blocks", *needed])
    frame["rank"] = ranks(ranking_values(frame, ranking)) if len(frame) else []
    return frame[["blocks", *names, "rank"]]
