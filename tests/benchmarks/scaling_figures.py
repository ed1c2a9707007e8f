"""The compound-scaling records' phrases that the READMEs quote, rebuilt from the records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

TEXTURES = "folder:dataset.root=/work/main/runs/textures35,proxy.val_size=4000,methods=[compound]"
"""The colour dataset's key in ``scaling_textures.json`` (``python -m benchmarks.textures DIR --per-class 3500``)."""
TEXTURE_METHODS = "folder:dataset.root=/work/main/runs/textures35,proxy.val_size=4000"
"""The same folder's key in ``scaling_textures_methods.json`` (every method)."""


def scaling_row(r: dict[str, Any], method: str, dataset: str = "fashion_mnist") -> str:
    d = r["datasets"][dataset]
    cells = [
        f"{c['mean']:.4f} [{c['interval'][0]:.4f}, {c['interval'][1]:.4f}] ({c['flops_ratio']:.2f}×)"
        for c in (d["methods"][method][k] for k in ("1", "2"))
    ]
    verdicts = [d["rises"][method][k]["verdict"] for k in ("1>0", "2>1")]
    verdicts = [f"**{v}**" if v == "rises" else v for v in verdicts]
    return f"| {method} | {d['family']['0']['mean']:.4f} | {cells[0]} | {cells[1]} | {verdicts[0]} | {verdicts[1]} |"


def budget_family_record(r: dict[str, Any], epochs: int | None) -> dict[str, Any]:
    """The compound family's record at 12,000 images x ``epochs`` (None: the default ``proxy=grid``)."""
    key = "fashion_mnist:methods=[compound]"
    if epochs is not None:
        key = f"fashion_mnist:proxy.train_size=12000,proxy.epochs={epochs},methods=[compound]"
    return r["datasets"][key]


def budget_step(r: dict[str, Any], epochs: int | None, step: str) -> str:
    """A family step: ``+0.0126 [+0.0070, +0.0183]``."""
    return step_text(budget_family_record(r, epochs)["rises"]["compound"][step])


def step_text(rise: dict[str, Any]) -> str:
    low, high = rise["interval"]
    return f"{rise['difference']:+.4f} [{low:+.4f}, {high:+.4f}]".replace("-", "−")


def stability(r: dict[str, Any], dataset: str = "fashion_mnist") -> str:
    same, count = r["grid_stability"][dataset]["same"].split("/")
    return f"the same triple {same} times in {count}"


def chosen_triples(r: dict[str, Any], dataset: str = "fashion_mnist") -> str:
    """The grids' choices in order: ``(1.3, 1.05, 1.1), (1.0, 1.15, 1.15) and (1.0, 1.15, 1.2)``."""
    triples = [f"({', '.join(map(str, t))})" for t in r["grid_stability"][dataset]["triples"]]
    return ", ".join(triples[:-1]) + f" and {triples[-1]}"


def budget_family(r: dict[str, Any], epochs: int) -> str:
    return family_text(budget_family_record(r, epochs))


def family_text(dataset: dict[str, Any]) -> str:
    """The family's means and intervals at phi = 0, 1, 2: ``0.8642 [0.8590, 0.8693], …``."""
    cells = dataset["family"].values()
    return ", ".join(f"{c['mean']:.4f} [{c['interval'][0]:.4f}, {c['interval'][1]:.4f}]" for c in cells)


WIDTH = {0.5: "fashion_mnist:methods=[compound]", 0.25: "fashion_mnist:proxy.width=0.25,methods=[compound]"}
"""``scaling_width.json``'s datasets by proxy width (the family at equal real cost)."""
WIDER_DATA = "fashion_mnist:proxy.width=0.25,proxy.train_size=24000,methods=[compound]"
"""``scaling_width_images.json``'s dataset: width 0.25 on 24,000 training images."""
DEFAULT_FAMILY = "fashion_mnist:methods=[compound]"
"""The family on the default ``proxy=grid`` (``scaling_paired.json``'s dataset)."""


def paired_step(rise: dict[str, Any]) -> str:
    """A step as quoted, with its paired margin where it was judged image by image."""
    return step_text(rise) + (f" beyond a paired margin of {rise['margin']:.4f}" if rise.get("paired") else "")


def family_quotes(document: Path, name: str, key: str) -> list[tuple[Path, str, Callable[[dict[str, Any]], str]]]:
    """A family record's quoted phrases: its levels, and each step with its interval (and paired margin)."""
    steps = [
        (document, name, lambda r, k=k: paired_step(r["datasets"][key]["rises"]["compound"][k])) for k in ("1>0", "2>1")
    ]
    return [(document, name, lambda r: family_text(r["datasets"][key])), *steps]
