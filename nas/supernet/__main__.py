"""``python -m nas.supernet``: train the weight-sharing supernet of a space on the proxy task; rank a pool with it.

Without ``checkpoint=``, the supernet of these settings is looked up in ``supernet.store`` by its
identity (space, dataset fingerprint, proxy, supernet training settings, seed): trained when
missing, continued when it was stopped (Ctrl-C, SIGTERM or a kill), reused when finished.  With
``supernet.pool=N``, N sampled candidates are scored with it and ranked: ``scores.csv`` and
``summary.json`` in the run directory, as ``nas.prescreen`` writes them, with a ``supernet`` column.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from nas.cli.app import hydra_entry, run_dir
from nas.cli.references import resolve_model
from nas.cli.schema import SupernetCommand
from nas.proxy.data import ProxyDataCache
from nas.proxy.device import use_device
from nas.proxy.stopping import check_stop, guarded
from nas.screening.pool import sample_pool
from nas.supernet.evaluation import SubnetScorer
from nas.supernet.ranking import scored_rows, write_scores
from nas.supernet.store import obtain_supernet
from nas.supernet.training import SupernetRun, Trained
from search_spaces.mnasnet import mnasnet_space

PROG = "python -m nas.supernet"


def run(cfg: SupernetCommand) -> dict[str, Any]:
    settings = cfg.supernet
    space = mnasnet_space(resolve_model(cfg.space.reference, cfg.study.storage))
    device = use_device(cfg.device, cfg.threads)
    raw = cfg.dataset.load(cfg.proxy.sizes.resolution)
    data = ProxyDataCache(raw, cfg.proxy.sizes, device).at()
    job = SupernetRun(space, data, cfg.proxy, settings, cfg.seed, cfg.dataset.identity(raw))
    print(
        f"supernet of the space around {space.reference.name}: {job.total_steps} steps of the sandwich rule "
        f"(largest, smallest, {settings.random_subnets} random) on {len(data.train)} images of {data.name} "
        f"at {data.resolution}px, width {cfg.proxy.width}, on {device}",
        flush=True,
    )
    trained: list[Trained] = []
    bar = tqdm(total=job.total_steps, unit="step", desc="supernet", disable=not cfg.progress)

    def step(done: int, total: int, loss: float) -> None:
        bar.n = done
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        bar.refresh()

    def train() -> None:
        with bar:
            trained.append(obtain_supernet(job, cfg.checkpoint or "auto", Path(settings.store), step)[0])

    _, status = guarded(train, lambda: None, "the supernet's checkpoint keeps every step so far", tell)
    if status:
        sys.exit(status)
    net = trained[0]
    print(
        f"supernet trained: {net.steps} steps in {net.seconds:.0f} s; last epoch's loss "
        f"{net.history[-1]['loss'] if net.history else float('nan'):.4f}",
        flush=True,
    )
    if settings.pool == 0:
        return {"steps": net.steps, "seconds": net.seconds}
    return rank_pool(cfg, job, net)


def rank_pool(cfg: SupernetCommand, job: SupernetRun, net: Trained) -> dict[str, Any]:
    """Score ``supernet.pool`` sampled members with the supernet; Ctrl-C keeps those scored so far."""
    scorer = SubnetScorer(net.net, job.data, job.settings, cfg.proxy)
    pool = sample_pool(job.space, cfg.supernet.pool, cfg.seed)
    rows: list[dict[str, Any]] = []
    out = run_dir()

    def work() -> None:
        for row in tqdm(scored_rows(scorer, pool, cfg.target), total=len(pool), unit="cand", disable=not cfg.progress):
            rows.append(row)
            check_stop()

    meta = {"supernet_steps": net.steps, "supernet_seconds": round(net.seconds, 1)}
    summary, status = guarded(
        work, lambda: write_scores(rows, scorer, out, meta), "the candidates scored so far are kept", tell
    )
    print(f"ranked {summary['candidates']} candidates ({summary['subnets_per_minute']} per minute); outputs: {out}")
    if status:
        sys.exit(status)
    return summary


def tell(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


main = hydra_entry(PROG, "supernet", run)

if __name__ == "__main__":
    main()
