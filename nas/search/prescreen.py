"""The search's pre-screen: zero-cost scores decide what is trained first (and, optionally, what is proposed).

Warm-up: when the study is created, ``pool`` distinct genotypes are scored once and stored with
the study (attribute ``prescreen_pool``), and the ``top`` of them are enqueued as its first trials
(after the reference).  Move proposals: with the random or rl sampler and ``k > 1``, every
trial trains the best of ``k`` proposals by the same score.  Every trained candidate's scores
are recorded with its trial, so ``trials.csv`` shows what the pre-screen predicted.
"""

from __future__ import annotations

import time
from typing import Any

import optuna

from nas.screening.pool import sample_pool, scored_rows
from nas.screening.ranking import best_of, members, pool_frame
from nas.screening.scorer import Scorer
from nas.screening.scores import MODEL_SCORES
from nas.search.settings import SearchPrescreen
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace

POOL_ATTR = "prescreen_pool"
RANK_ATTR = "prescreen_rank"
TRIAL_SCORES = tuple(MODEL_SCORES)  # params and flops are recorded with every trial already


def warm_up(
    study: optuna.Study,
    space: MnasNetSpace,
    scorer: Scorer,
    settings: SearchPrescreen,
    seed: int,
    max_flops: float | None,
) -> str:
    """Score the pool (once per study), store it with the study, enqueue its top; returns what it did."""
    stored = study.user_attrs.get(POOL_ATTR)
    if stored is not None:
        return f"pre-screen: the study's pool of {len(stored['rows'])} was scored by {stored['score']} before"
    pool = prescreen_pool(space, settings, seed, scorer, max_flops)
    names = list(members(settings.score))
    start = time.perf_counter()
    frame = pool_frame(list(scored_rows(scorer, pool, names)), names, settings.score)
    seconds = time.perf_counter() - start
    order = frame.sort_values("rank", kind="stable").index[: settings.top]
    for i in order:
        attrs = {name: float(frame.at[i, name]) for name in names if name in TRIAL_SCORES}
        attrs[RANK_ATTR] = int(frame.at[i, "rank"])
        study.enqueue_trial(space.encode(pool[i]), user_attrs=attrs, skip_if_exists=True)
    study.set_user_attr(
        POOL_ATTR,
        {
            "score": settings.score,
            "seconds": round(seconds, 2),
            "columns": list(frame.columns),
            "rows": frame.values.tolist(),
        },
    )
    rate = 60 * len(frame) / seconds if seconds > 0 else float("inf")
    return (
        f"pre-screen: scored {len(frame)} candidates by {settings.score} in {seconds:.1f} s ({rate:.0f}/min); "
        f"the top {len(order)} follow the reference as the first trials"
    )


def proposal_chooser(space: MnasNetSpace, scorer: Scorer, ranking: str, max_flops: float | None = None) -> Any:
    """``choose`` for :class:`~nas.screening.proposals.BestOfK`: the proposal ranked best by ``ranking``.

    Proposals above ``max_flops`` are chosen only when all are (the trial then records why it stopped).
    """

    def choose(proposals: list[dict[str, Any]]) -> int:
        genotypes = [space.decode(p) for p in proposals]
        allowed = [i for i, g in enumerate(genotypes) if max_flops is None or scorer.score(g, "flops") <= max_flops]
        allowed = allowed or list(range(len(genotypes)))
        table = {name: [scorer.score(genotypes[i], name) for i in allowed] for name in members(ranking)}
        return allowed[best_of(table, ranking)]

    return choose


def record_scores(trial: optuna.Trial, genotype: Genotype, scorer: Scorer, ranking: str) -> None:
    """The zero-cost scores of a trial's candidate as its attributes (a warm-up trial has them already)."""
    for name in members(ranking):
        if name in TRIAL_SCORES and name not in trial.user_attrs:
            trial.set_user_attr(name, scorer.score(genotype, name))


def prescreen_pool(
    space: MnasNetSpace, settings: SearchPrescreen, seed: int, scorer: Scorer, max_flops: float | None
) -> list[Genotype]:
    """The pool a search with ``seed`` scores (within ``max_flops`` when set)."""
    accept = None if max_flops is None else (lambda g: scorer.score(g, "flops") <= max_flops)
    return sample_pool(space, settings.pool, seed, accept)
