"""Ranking a pool with the supernet (``python -m nas.supernet supernet.pool=N``): ``scores.csv`` as the pre-screen writes it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from nas.supernet.evaluation import SubnetScorer
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype


def scored_rows(scorer: SubnetScorer, pool: Iterable[Genotype], target: Target) -> Iterable[dict[str, Any]]:
    """One row per member: blocks, params and FLOPs at the target input, the supernet's score and its parts."""
    for genotype in pool:
        score = scorer(genotype)
        params, flops = target.cost(genotype)
        yield {
            "blocks": ",".join(format_blocks(genotype)),
            "params": params,
            "flops": flops,
            "supernet": score.value(scorer.settings.score),
            "supernet_accuracy": score.accuracy,
            "supernet_loss": score.loss,
        }


def write_scores(
    rows: list[dict[str, Any]], scorer: SubnetScorer, out: Path, meta: Mapping[str, Any]
) -> dict[str, Any]:
    """``scores.csv`` (best first, with ``rank``) and ``summary.json`` of the members scored so far."""
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=["blocks", "params", "flops", "supernet", "supernet_accuracy", "supernet_loss"])
    frame["rank"] = frame["supernet"].rank(ascending=False, method="first").astype("Int64")
    frame = frame.sort_values("rank", kind="stable")
    frame.to_csv(out / "scores.csv", index=False)
    summary = {
        **meta,
        "candidates": len(frame),
        "score": scorer.settings.score,
        "subnets_per_minute": scorer.per_minute,
        "top": frame.head(5).to_dict("records"),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary
