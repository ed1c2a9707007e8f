"""``python -m scaling.compare baseline=SPEC``: compound scaling against single-dimension scaling.

For each phi, every method scales the baseline to the same FLOPs target, ``2**phi`` times
the baseline's: depth only (``d = 2**phi``), width only (``w = 2**(phi/2)``), resolution only
(``r = 2**(phi/2)``) and compound (``alpha**phi, beta**phi, gamma**phi``).  Each model is
proxy-trained and the accuracies are plotted against FLOPs, as in EfficientNet's Figure 8 and
Table 3.  Rows are written to ``compare.csv`` as they finish.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig
from tqdm import tqdm

from nas.cli.app import hydra_entry, plain, proxy_task, run_dir
from nas.cli.guard import guarded
from nas.cli.workers import WorkerSettings
from nas.proxy.data import ProxyDataCache
from nas.proxy.trainer import ProxyConfig, train_proxy
from scaling.candidate import scaled_candidate
from scaling.coefficients import parse_coefficients
from scaling.compound import compound_multipliers, parse_phis
from scaling.plots import plot_compare
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.spec import resolve_spec

PROG = "python -m scaling.compare"
METHODS = ("depth", "width", "resolution", "compound")


def method_multipliers(method: str, phi: float, coefficients: tuple[float, float, float]) -> tuple[float, float, float]:
    """(d, w, r) that multiply FLOPs by about ``2**phi`` with one method."""
    budget = 2.0**phi
    if method == "depth":
        return budget, 1.0, 1.0
    if method == "width":
        return 1.0, budget**0.5, 1.0
    if method == "resolution":
        return 1.0, 1.0, budget**0.5
    if method == "compound":
        return tuple(compound_multipliers(*coefficients, phi))  # type: ignore[return-value]
    raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")


def compare_methods(
    baseline: Genotype,
    plan: Sequence[tuple[str, float, tuple[float, float, float]]],
    data: ProxyDataCache,
    proxy: ProxyConfig,
    target: Target,
    seed: int,
    out: Path,
    progress: bool = True,
) -> tuple[pd.DataFrame, int]:
    """Train each (method, phi, multipliers) of ``plan``; rows go to ``compare.csv`` as they finish.

    Returns (the table, exit status): a stop signal ends training, the finished rows are kept.
    """
    rows: list[dict[str, Any]] = []

    def work() -> None:
        for method, phi, multipliers in tqdm(plan, unit="model", disable=not progress):
            member = scaled_candidate(baseline, phi, multipliers, target, data.sizes.resolution)
            start = time.perf_counter()
            result = train_proxy(member.genotype, data.at(member.proxy_resolution), proxy, seed)
            row = {"method": method, **member.row(), "val_acc": result.val_acc if result.ok else None}
            row.update(seconds=round(time.perf_counter() - start, 1), reason=result.reason)
            rows.append(row)
            pd.DataFrame(rows).to_csv(out / "compare.csv", index=False)  # nothing finished is lost

    def write() -> pd.DataFrame:
        frame = pd.DataFrame(rows)
        if len(frame):
            plot_compare(frame, out / "compare.png", f"Scaling {baseline.name}: same FLOPs, different methods")
        return frame

    return guarded(PROG, work, write, on_stop="the finished models are kept in compare.csv")


def run(cfg: DictConfig) -> pd.DataFrame:
    baseline = resolve_spec(cfg.baseline)
    coefficients = parse_coefficients(plain(cfg.coefficients)).triple
    phis = parse_phis(plain(cfg.phis))
    methods = [str(m) for m in plain(cfg.methods)]
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    task = proxy_task(cfg)
    proxy, target = task["proxy"], task["target"]
    device = WorkerSettings(cfg.device, cfg.threads).start()
    data = ProxyDataCache(task["dataset"].load(), task["sizes"], device)
    plan = [("baseline", 0.0, (1.0, 1.0, 1.0))]
    plan += [(m, phi, method_multipliers(m, phi, coefficients)) for phi in phis for m in methods]
    out = run_dir()
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(plan)} models: the baseline {baseline.name}, then {', '.join(methods)} at phi {phis}", flush=True)
    frame, status = compare_methods(baseline, plan, data, proxy, target, cfg.seed, out, cfg.progress)
    if len(frame):
        table = frame.pivot_table(index="phi", columns="method", values="val_acc", aggfunc="first")
        print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"-> {out / 'compare.csv'}, {out / 'compare.png'}")
    if status:
        sys.exit(status)
    return frame


main = hydra_entry(PROG, "compare", run)

if __name__ == "__main__":
    main()
