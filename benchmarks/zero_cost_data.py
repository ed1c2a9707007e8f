"""The trained candidates of ``benchmarks.zero_cost``: sampled, proxy-trained once, cached on disk.

Every candidate is trained with the search's default proxy (``conf/search.yaml``), seed 0 and,
for the tuning candidates, seed 1 as well (the proxy's agreement with itself is the ceiling any
score can reach).  Results are cached in ``runs/benchmarks/zero_cost/trained.json`` keyed by the
proxy, the data and the candidate, so a rerun (or an interrupted one) trains only what is missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import ROOT
from nas.cli.references import resolve_model
from nas.cli.schema import composed
from nas.proxy.data import DataSizes, ProxyData, ProxyDataCache
from nas.proxy.datasets import DatasetSpec
from nas.proxy.device import use_device
from nas.proxy.recipe import ProxyConfig
from nas.proxy.trainer import train_proxy
from nas.search.objective import Reward
from nas.search.settings import SearchSettings
from search_spaces.codec import format_blocks
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace, mnasnet_space

CACHE = ROOT / "runs" / "benchmarks" / "zero_cost" / "trained.json"


@dataclass
class Task:
    """The search's default task and settings, as ``nas.search`` composes them (plus ``overrides``)."""

    cfg: Any
    proxy: ProxyConfig
    target: Target
    reward: Reward
    space: MnasNetSpace
    search: SearchSettings
    cache: ProxyDataCache
    dataset: DatasetSpec
    sizes: DataSizes
    device: torch.device

    @property
    def data(self) -> ProxyData:
        return self.cache.at()

    def key(self) -> str:
        """What a cached accuracy depends on besides the candidate and the seed."""
        identity = {"proxy": self.proxy.identity(), "sizes": dataclasses.asdict(self.cache.sizes)}
        identity["dataset"] = self.cfg.dataset.name
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


def load_task(overrides: Sequence[str] = ()) -> Task:
    cfg = composed("search", overrides)
    device = use_device(cfg.device, cfg.threads)
    return Task(
        cfg=cfg,
        proxy=cfg.proxy,
        target=cfg.target,
        reward=cfg.objective,
        space=mnasnet_space(resolve_model(cfg.space.reference, cfg.study.storage)),
        search=cfg.search,
        cache=ProxyDataCache(cfg.dataset.load(), cfg.proxy.sizes, device),
        dataset=cfg.dataset,
        sizes=cfg.proxy.sizes,
        device=device,
    )


class TrainedCache:
    """Proxy results by (task key, blocks, seed), kept in a JSON file written after every training."""

    def __init__(self, path: Path = CACHE) -> None:
        # Proxy training is deterministic on CPU for a seed, so a cached accuracy is what training again would give.
        self.path = path
        self.rows: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}

    def result(self, task: Task, genotype: Genotype, seed: int) -> dict[str, Any]:
        """``val_acc`` (0 for a failed run), ``seconds`` and ``cached`` for ``genotype`` trained with ``seed``."""
        key = f"{task.key()}|{','.join(format_blocks(genotype))}|{seed}"
        if key in self.rows:
            return {**self.rows[key], "cached": True}
        start = time.perf_counter()
        result = train_proxy(genotype, task.data, task.proxy, seed=seed)
        row = {"val_acc": result.val_acc if result.ok else 0.0, "seconds": time.perf_counter() - start}
        self.rows[key] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.rows, indent=1) + "\n")
        tmp.replace(self.path)
        return {**row, "cached": False}


def train_candidates(
    task: Task, genotypes: Sequence[Genotype], seeds: Sequence[int], cache: TrainedCache, label: str
) -> list[dict[str, Any]]:
    """One row per candidate: blocks, flops, params, ``val_acc`` (seed 0), ``val_acc_seed1``..., reward."""
    rows = []
    for i, genotype in enumerate(genotypes):
        params, flops = task.target.cost(genotype)
        row: dict[str, Any] = {"blocks": format_blocks(genotype), "params": params, "flops": flops}
        for seed in seeds:
            result = cache.result(task, genotype, seed)
            suffix = "" if seed == seeds[0] else f"_seed{seed}"
            row[f"val_acc{suffix}"] = result["val_acc"]
            row[f"train_seconds{suffix}"] = round(result["seconds"], 2)
        row["reward"] = task.reward(row["val_acc"], flops)
        rows.append(row)
        print(f"[{label} {i + 1}/{len(genotypes)}] val_acc {row['val_acc']:.4f} reward {row['reward']:.4f}", flush=True)
    return rows
