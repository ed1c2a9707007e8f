"""``python -m scaling.compare baseline=SPEC``: compound scaling against single-dimension scaling.

For each phi, every method scales the baseline to the same FLOPs target, ``2**phi`` times
the baseline's: depth only (``d = 2**phi``), width only (``w = 2**(phi/2)``), resolution only
(``r = 2**(phi/2)``) and compound (``alpha**phi, beta**phi, gamma**phi``).  Each model is
proxy-trained and the accuracies are plotted against FLOPs, as in EfficientNet's Figure 8 and
Table 3.  Rows are written to ``compare.csv`` as they finish.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from omegaconf import DictConfig
from tqdm import tqdm

from nas import config as conf
from nas.app import hydra_entry, run_dir
from nas.train import ProxyConfig, resolve_device, train_proxy
from scaling.compound import compound_multipliers, scale
from scaling.family import parse_coefficients, parse_phis
from scaling.plots import plot_compare
from search_spaces.codec import format_blocks
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


def run(cfg: DictConfig) -> pd.DataFrame:
    baseline = resolve_spec(cfg.baseline)
    coefficients = parse_coefficients(cfg.coefficients)
    phis = parse_phis(cfg.phis)
    methods = list(cfg.methods)
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    proxy = conf.fields_of(ProxyConfig, cfg.proxy)
    sizes = conf.data_sizes(cfg.proxy)
    target = conf.target(cfg.target)
    device = resolve_device(cfg.device)
    conf.set_threads(cfg.threads)
    raw = conf.raw_dataset(cfg.dataset)
    sizes = conf.fit_sizes(sizes, len(raw.train_labels))  # once, not per resolution
    plan = [("baseline", 0.0, (1.0, 1.0, 1.0))]
    plan += [(m, phi, method_multipliers(m, phi, coefficients)) for phi in phis for m in methods]
    _, base_flops = target.cost(baseline)
    out = run_dir()
    rows: list[dict[str, Any]] = []
    data_cache: dict[int, Any] = {}
    print(f"{len(plan)} models: the baseline {baseline.name}, then {', '.join(methods)} at phi {phis}", flush=True)
    for method, phi, (d, w, r) in tqdm(plan, unit="model", disable=not cfg.progress):
        genotype = scale(baseline, depth=d, width=w, resolution=r)
        params, flops = target.cost(genotype, r)
        resolution = round(sizes.resolution * r)
        if resolution not in data_cache:
            data_cache[resolution] = conf.proxy_data(raw, sizes, device, resolution)
        start = time.perf_counter()
        result = train_proxy(genotype, data_cache[resolution], proxy, cfg.seed)
        rows.append(
            {
                "method": method,
                "phi": phi,
                "d": d,
                "w": w,
                "r": r,
                "resolution": resolution,
                "target_resolution": round(target.resolution * r),
                "params": params,
                "flops": flops,
                "flops_ratio": flops / base_flops,
                "expected_ratio": 2**phi,
                "val_acc": result.val_acc if result.ok else None,
                "seconds": round(time.perf_counter() - start, 1),
                "reason": result.reason,
                "blocks": ",".join(format_blocks(genotype)),
            }
        )
        pd.DataFrame(rows).to_csv(out / "compare.csv", index=False)  # nothing finished is lost
    frame = pd.DataFrame(rows)
    plot_compare(frame, out / "compare.png", f"Scaling {baseline.name}: same FLOPs, different methods")
    table = frame.pivot_table(index="phi", columns="method", values="val_acc", aggfunc="first")
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"-> {out / 'compare.csv'}, {out / 'compare.png'}")
    return frame


main = hydra_entry(PROG, "compare", run)

if __name__ == "__main__":
    main()
