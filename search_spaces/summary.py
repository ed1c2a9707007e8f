"""A genotype described: its stage table (EfficientNet's Table 1), parameters and FLOPs (what ``search_spaces.show`` prints)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from search_spaces.codec import genotype_to_dict
from search_spaces.flops import count_flops, estimate_flops, genotype_params, stage_input_sizes
from search_spaces.genotype import Genotype
from search_spaces.rounding import apply_multipliers


def scaled_genotype(genotype: Genotype, width: float, depth: float, resolution: int | None) -> Genotype:
    """The genotype as ``show`` reports it: multipliers applied, resolution set."""
    scaled = apply_multipliers(genotype, width, depth)
    return replace(scaled, resolution=scaled.resolution if resolution is None else resolution)


def describe(genotype: Genotype, num_classes: int = 1000, in_chans: int = 3) -> dict[str, Any]:
    """Everything ``show`` reports about a genotype at its own resolution, as a JSON-ready dict."""
    counted = count_flops(genotype, genotype.resolution, in_chans, num_classes)
    return {
        **genotype_to_dict(genotype),
        "num_classes": num_classes,
        "in_chans": in_chans,
        "params": genotype_params(genotype, num_classes, in_chans),
        "flops": counted.total,
        "flops_estimate": estimate_flops(
            genotype, genotype.resolution, in_chans=in_chans, num_classes=num_classes
        ).total,
        "flops_by_stage": counted.stage_dict(),
        "flops_method": counted.method,
        "zero_cost_ops": list(counted.skipped),
    }


def stage_table(genotype: Genotype, info: dict[str, Any]) -> str:
    """EfficientNet Table 1 style: stage, operator, input resolution, channels, layers, FLOPs."""
    sizes = stage_input_sizes(genotype, genotype.resolution)
    flops = info["flops_by_stage"]
    rows = [("1", "Conv3x3", sizes[0], genotype.stem, 1, flops["stem"])]
    for i, block in enumerate(genotype.blocks):
        rows.append(
            (str(i + 2), block.operator, sizes[i + 1], block.out_channels, block.repeats, flops[f"stage{i + 1}"])
        )
    last = str(len(genotype.blocks) + 2)
    rows.append((last, "Conv1x1 & Pooling & FC", sizes[-1], genotype.head, 1, flops["head"]))
    header = ("Stage", "Operator", "Resolution", "Channels", "Layers", "MFLOPs")
    body = [(stage, op, f"{size}x{size}", str(ch), str(n), f"{f / 1e6:.1f}") for stage, op, size, ch, n, f in rows]
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    # Past the trace limits the count is the analytic one: say so rather than compare it with itself.
    if info["flops_method"] == "analytic":
        flops_note = "counted analytically: too large to trace"
    else:
        flops_note = f"analytic {info['flops_estimate'] / 1e9:.4f} G"
    summary = (
        f"{info['name']}: {info['resolution']}px, {info['num_classes']} classes, {info['in_chans']} input channels\n"
        f"params {info['params']:,}   FLOPs {info['flops'] / 1e9:.4f} G ({flops_note})"
    )
    return "\n".join([summary, "", *lines])
