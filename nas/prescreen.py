"""``python -m nas.prescreen``: score a pool of untrained candidates with zero-cost proxies, rank them.

Samples ``prescreen.pool`` distinct genotypes from the space, scores each with ``prescreen.scores``
on one minibatch of the proxy's data (``nas.screening``), and writes ``scores.csv`` (``blocks``,
one column per score, ``rank``), ``scores.png`` (how the scores agree) and ``summary.json``
(candidates per minute for every score and for the vote) in the run directory.  Ctrl-C keeps the
candidates scored so far.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

from nas.cli.app import hydra_entry, plain, proxy_task, run_dir, to_container
from nas.cli.guard import guarded
from nas.proxy.data import ProxyDataCache
from nas.proxy.stopping import check_stop
from nas.screening.scorer import (
    RANKINGS,
    Scorer,
    check_score_names,
    members,
    per_minute_of,
    pool_frame,
    sample_pool,
    scored_rows,
)
from nas.screening.scores import SCORES, VOTE
from nas.search.plots import plot_score_agreement
from nas.studies.workers import WorkerSettings
from search_spaces.mnasnet import mnasnet_space
from search_spaces.spec import resolve_spec

PROG = "python -m nas.prescreen"


@dataclass(frozen=True)
class PrescreenSettings:
    pool: int = 1000
    scores: tuple[str, ...] = SCORES
    rank_by: str = "vote"
    batch_size: int = 64
    max_flops: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.pool, bool) or not isinstance(self.pool, int) or self.pool < 1:
            raise ValueError(f"prescreen.pool must be an integer >= 1, got {self.pool!r}")
        object.__setattr__(self, "scores", tuple(check_score_names(self.scores, "prescreen.scores score")))
        check_score_names(self.rank_by, "prescreen.rank_by", RANKINGS)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(f"prescreen.batch_size must be an integer >= 2, got {self.batch_size!r}")
        if self.max_flops is not None and not self.max_flops > 0:
            raise ValueError(f"prescreen.max_flops must be > 0 or null, got {self.max_flops!r}")


def run(cfg: DictConfig) -> dict[str, Any]:
    settings = PrescreenSettings(**{k: plain(v) for k, v in cfg.prescreen.items()})
    space = mnasnet_space(resolve_spec(cfg.space.reference, storage=cfg.study.storage))
    task = proxy_task(cfg)
    proxy, target = task["proxy"], task["target"]
    device = WorkerSettings(cfg.device, cfg.threads).start()
    raw = task["dataset"].load()
    data = ProxyDataCache(raw, task["sizes"], device).at()
    scorer = Scorer(data, proxy, target, settings.batch_size, cfg.seed)
    cap = settings.max_flops
    accept = None if cap is None else (lambda g: scorer.score(g, "flops") <= cap)
    pool = sample_pool(space, settings.pool, cfg.seed, accept)
    if len(pool) < settings.pool:
        print(f"the space holds only {len(pool)} distinct candidates that fit; scoring those", flush=True)
    needed = list(dict.fromkeys([*settings.scores, *members(settings.rank_by)]))
    print(
        f"scoring {len(pool)} candidates around {space.reference.name} with {', '.join(needed)} on "
        f"{settings.batch_size} images of {data.name} at {data.resolution}px, width {proxy.width}, on {device}",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    out = run_dir()

    def work() -> None:
        for row in scored_rows(scorer, pool, needed, cfg.progress):
            rows.append(row)
            check_stop()

    def write() -> dict[str, Any]:
        return write_outputs(rows, settings, scorer, out, to_container(cfg), task["dataset"].describe(raw))

    summary, status = guarded(PROG, work, write, on_stop="the candidates scored so far are kept")
    print(describe(summary, out))
    if status:
        sys.exit(status)
    return summary


def write_outputs(
    rows: list[dict[str, Any]],
    settings: PrescreenSettings,
    scorer: Scorer,
    out: Any,
    config: dict[str, Any],
    dataset: dict[str, Any],
) -> dict[str, Any]:
    """``scores.csv``, ``scores.png`` and ``summary.json`` of the candidates scored so far."""
    out.mkdir(parents=True, exist_ok=True)
    frame = pool_frame(rows, settings.scores, settings.rank_by)
    frame.sort_values("rank", kind="stable").to_csv(out / "scores.csv", index=False)
    if len(frame) > 1:
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


def describe(summary: dict[str, Any], out: Any) -> str:
    rates = ", ".join(f"{k} {v:,.0f}" for k, v in summary["candidates_per_minute"].items())
    lines = [f"scored {summary['candidates']} candidates; candidates per minute: {rates}"]
    for row in summary["top"][:3]:
        lines.append(f"  rank {row['rank']}: {row['blocks']}")
    lines.append(f"outputs: {out} (scores.csv, scores.png, summary.json)")
    return "\n".join(lines)


main = hydra_entry(PROG, "prescreen", run)

if __name__ == "__main__":
    main()
