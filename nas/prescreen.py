"""``python -m nas.prescreen``: score a pool of untrained candidates with zero-cost proxies, rank them.

Samples ``prescreen.pool`` distinct genotypes from the space, scores each with ``prescreen.scores``
on one minibatch of the proxy's data (``nas.screening``), and writes ``scores.csv`` (``blocks``,
one column per score, ``rank``), ``scores.png`` (how the scores agree) and ``summary.json``
(candidates per minute for every score and for the vote) in the run directory.  Ctrl-C keeps the
candidates scored so far.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from nas.cli.app import hydra_entry, run_dir
from nas.cli.references import resolve_model
from nas.cli.schema import PrescreenCommand
from nas.proxy.data import ProxyDataCache
from nas.proxy.device import use_device
from nas.proxy.stopping import check_stop, guarded
from nas.screening.pool import sample_pool, scored_rows, write_outputs
from nas.screening.ranking import members
from nas.screening.scorer import Scorer
from search_spaces.mnasnet import mnasnet_space

PROG = "python -m nas.prescreen"


def run(cfg: PrescreenCommand) -> dict[str, Any]:
    settings, proxy = cfg.prescreen, cfg.proxy
    space = mnasnet_space(resolve_model(cfg.space.reference, cfg.study.storage))
    device = use_device(cfg.device, cfg.threads)
    raw = cfg.dataset.load(cfg.proxy.sizes.resolution)
    data = ProxyDataCache(raw, proxy.sizes, device).at()
    scorer = Scorer(data, proxy, cfg.target, settings.batch_size, cfg.seed)
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
        bar = tqdm(total=len(pool), unit="cand", disable=not cfg.progress, desc="scoring")
        with bar:
            for row in scored_rows(scorer, pool, needed):
                rows.append(row)
                bar.update(1)
                check_stop()

    def write() -> dict[str, Any]:
        return write_outputs(rows, settings, scorer, out, dataclasses.asdict(cfg), cfg.dataset.describe(raw))

    summary, status = guarded(work, write, "the candidates scored so far are kept", tell)
    print(describe(summary, out))
    if status:
        sys.exit(status)
    return summary


def tell(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def describe(summary: dict[str, Any], out: Path) -> str:
    rates = ", ".join(f"{k} {v:,.0f}" for k, v in summary["candidates_per_minute"].items())
    lines = [f"scored {summary['candidates']} candidates; candidates per minute: {rates}"]
    for row in summary["top"][:3]:
        lines.append(f"  rank {row['rank']}: {row['blocks']}")
    lines.append(f"outputs: {out} (scores.csv, scores.png, summary.json)")
    return "\n".join(lines)


main = hydra_entry(PROG, "prescreen", run)

if __name__ == "__main__":
    main()
