"""What a genotype costs: FLOPs counted by fvcore, and an analytic estimate without a model.

Convention (the papers' and fvcore's): one fused multiply-add is one FLOP.  Convolutions,
the classifier, BatchNorm (inference: 2 per element), the head's global pooling and the
pooling shortcut (1 per input element) count; activations, sigmoid gates, the SE global mean,
element-wise products and residual additions count as zero, as in fvcore's defaults and the
reference counts.  Those zero-cost ops are registered explicitly below, so the count
says what it leaves out instead of warning on the console.

Tracing runs the real model, weights and activations in memory (fvcore's jit trace does not run
on PyTorch's meta device).  Where that would need more than ``TRACE_LIMIT_BYTES`` (a huge
resolution or width) or take long (more than ``TRACE_MAX_LAYERS`` layers), :func:`count_flops`
gives the analytic count of :func:`estimate_flops` instead, which equals fvcore's on every model
the tests check, and says so in ``FlopCount.method``.  Parameters are counted on a model built on
the meta device (shapes only, no storage), so they cost nothing at any width.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from fvcore.nn import FlopCountAnalysis
from fvcore.nn.jit_handles import elementwise_flop_counter

from search_spaces.blocks import se_channels
from search_spaces.build import build, count_params
from search_spaces.genotype import Genotype, Layer, layers
from search_spaces.rounding import apply_multipliers

TRACE_LIMIT_BYTES = 2**30
"""Largest estimated memory for an fvcore trace; beyond it :func:`count_flops` counts analytically."""

TRACE_COPIES = (2, 3)
"""Float32 copies of the weights and of the largest feature map a trace holds at its peak (measured
here: B0 at 1,600 and 2,400 px, at width 8 and at depth 30; a trace near the limit takes ~5 s)."""

TRACE_MAX_LAYERS = 100
"""Deepest network :func:`count_flops` traces (B7 has 55 layers); tracing time grows faster than the
depth (B0 at 64 px, depth 5, 10 and 20: 2, 12 and 33 s here), so deeper ones are counted analytically."""

MAX_LAYERS = 1000
"""Most layers a network may have for its cost to be counted (B0 at depth 1000, 16,000 layers, took
40 s to build here, even without storage)."""

MAX_CHANNELS = 2**24
"""Most channels one layer (or the classifier) may have; far wider, weight shapes overflow PyTorch's
64-bit sizes (B0 at width 1e9 does)."""

_ACTIVATION_OPS = {"silu": "aten::silu_", "relu": "aten::relu_", "relu6": "aten::hardtanh_"}
"""The traced op of each activation (the builder's activations are in-place)."""

ZERO_COST_OPS = (
    "aten::silu",
    "aten::silu_",
    "aten::relu",
    "aten::relu_",
    "aten::hardtanh",
    "aten::hardtanh_",
    "aten::sigmoid",
    "aten::mul",
    "aten::mul_",
    "aten::add",
    "aten::add_",
    "aten::div",
    "aten::mean",
    "aten::dropout",
    "aten::bernoulli_",
)


@dataclass(frozen=True)
class FlopCount:
    """Total FLOPs, the per-stage split (``stem``, ``stage1``.., ``head``) and ops counted as zero.

    ``method`` is ``"fvcore"`` for a traced count, ``"analytic"`` for one derived from the genotype.
    """

    total: int
    by_stage: tuple[tuple[str, int], ...]
    skipped: tuple[str, ...] = ()
    method: str = "fvcore"

    def stage_dict(self) -> dict[str, int]:
        return dict(self.by_stage)


def count_flops(
    genotype: Genotype,
    resolution: int | None = None,
    in_chans: int = 3,
    num_classes: int = 1000,
    width: float = 1.0,
    depth: float = 1.0,
) -> FlopCount:
    """fvcore's count of the built network at ``1 x in_chans x resolution x resolution``.

    Cached on (genotype, input, multipliers): a repeated genotype is never traced twice.  A network
    too large to trace (``TRACE_LIMIT_BYTES``, ``TRACE_MAX_LAYERS``) gets the equal analytic count.
    """
    resolution = _check_resolution(genotype.resolution if resolution is None else resolution)
    return _count_flops_cached(genotype, resolution, in_chans, num_classes, float(width), float(depth))


@functools.lru_cache(maxsize=4096)
def _count_flops_cached(
    genotype: Genotype, resolution: int, in_chans: int, num_classes: int, width: float, depth: float
) -> FlopCount:
    scaled = apply_multipliers(genotype, width, depth)
    weights = _params_cached(genotype, num_classes, in_chans, width, depth)
    if scaled.num_layers > TRACE_MAX_LAYERS or trace_bytes(scaled, resolution, in_chans, weights) > TRACE_LIMIT_BYTES:
        return estimate_flops(
            genotype, resolution, in_chans=in_chans, num_classes=num_classes, width=width, depth=depth
        )
    model = build(genotype, width, depth, num_classes=num_classes, in_chans=in_chans).eval()
    inputs = torch.zeros(1, in_chans, resolution, resolution)
    zero_cost_seen: set[str] = set()
    analysis = (
        FlopCountAnalysis(model, inputs)
        .set_op_handle(**{op: _zero_cost(op, zero_cost_seen) for op in ZERO_COST_OPS})
        .set_op_handle("aten::avg_pool2d", elementwise_flop_counter(1, 0))
        .unsupported_ops_warnings(False)
        .uncalled_modules_warnings(False)
        .tracer_warnings("none")
    )
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        total = int(analysis.total())
        per_module = analysis.by_module()
        unsupported = set(analysis.unsupported_ops())
    stages = [("stem", int(per_module["stem"]))]
    stages += [(f"stage{i + 1}", int(per_module[f"stages.{i}"])) for i in range(len(genotype.blocks))]
    stages.append(("head", total - sum(v for _, v in stages)))
    return FlopCount(total=total, by_stage=tuple(stages), skipped=tuple(sorted(zero_cost_seen | unsupported)))


def _zero_cost(op: str, seen: set[str]):
    """A handle that counts ``op`` as zero FLOPs and remembers that it occurred."""

    def handle(inputs, outputs) -> int:
        seen.add(op)
        return 0

    return handle


def estimate_flops(genotype: Genotype, resolution: int | None = None, **counted_at: Any) -> FlopCount:
    """The same count as :func:`count_flops` (same arguments), derived from the genotype alone (no model built)."""
    in_chans, num_classes = counted_at.get("in_chans", 3), counted_at.get("num_classes", 1000)
    width, depth = counted_at.get("width", 1.0), counted_at.get("depth", 1.0)
    unknown = set(counted_at) - {"in_chans", "num_classes", "width", "depth"}
    if unknown:
        raise TypeError(f"estimate_flops() got unexpected arguments {sorted(unknown)}")
    size = _check_resolution(genotype.resolution if resolution is None else resolution)
    g = apply_multipliers(genotype, width, depth)
    plan = layers(g)
    stem_out = _out_size(size, 3, 2)
    stem = _conv_bn(in_chans, g.stem, 3, 1, stem_out)
    per_stage = [0] * len(g.blocks)
    size = stem_out
    for layer in plan:
        flops, size = _layer_flops(layer.spec, layer.in_channels, layer.stride, size)
        per_stage[layer.stage] += flops
    last = g.blocks[-1].out_channels
    head = _conv_bn(last, g.head, 1, 1, size) + g.head * size * size + g.head * num_classes
    stages = [("stem", stem)] + [(f"stage{i + 1}", f) for i, f in enumerate(per_stage)] + [("head", head)]
    total = sum(f for _, f in stages)
    return FlopCount(total=total, by_stage=tuple(stages), skipped=_zero_cost_ops(g, plan), method="analytic")


def _zero_cost_ops(genotype: Genotype, plan: list[Layer]) -> tuple[str, ...]:
    """The ops an fvcore trace of ``genotype`` would count as zero (the tests hold it to the trace)."""
    ops = {_ACTIVATION_OPS[genotype.activation], "aten::dropout"}
    if any(layer.spec.se_ratio > 0 for layer in plan):
        ops |= {"aten::mean", "aten::sigmoid", "aten::mul"}
    if any(_has_shortcut(layer) for layer in plan):
        ops.add("aten::add")
    return tuple(sorted(ops))


def _has_shortcut(layer: Layer) -> bool:
    spec = layer.spec
    return spec.skip == "pool" or (spec.skip == "id" and layer.stride == 1 and layer.in_channels == spec.out_channels)


def _layer_flops(spec, cin: int, stride: int, size: int) -> tuple[int, int]:
    out = _out_size(size, spec.kernel, stride)
    cout = spec.out_channels
    se = 0
    if spec.op == "cn":
        body = _conv_bn(cin, cout, spec.kernel, 1, out)
        se_width = cout
    elif spec.op == "ds":
        body = _conv_bn(cin, cin, spec.kernel, cin, out) + _conv_bn(cin, cout, 1, 1, out)
        se_width = cin
    else:
        mid = cin * spec.expand
        expand = _conv_bn(cin, mid, 1, 1, size) if spec.expand != 1 else 0
        body = expand + _conv_bn(mid, mid, spec.kernel, mid, out) + _conv_bn(mid, cout, 1, 1, out)
        se_width = mid
    if spec.se_ratio > 0:
        reduced = se_channels(cin, spec.se_ratio)
        se = 2 * se_width * reduced
    shortcut = 0
    if spec.skip == "pool":
        shortcut = cin * size * size
        if cin != cout:
            shortcut += _conv_bn(cin, cout, 1, 1, out)
    return body + se + shortcut, out


def _conv_bn(cin: int, cout: int, kernel: int, groups: int, out: int) -> int:
    """A conv producing ``out x out`` maps, plus its inference BatchNorm (2 FLOPs per element)."""
    return out * out * cout * (cin // groups) * kernel * kernel + 2 * cout * out * out


def _out_size(size: int, kernel: int, stride: int) -> int:
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 32:
        raise ValueError(f"resolution must be an integer >= 32, got {resolution!r}")
    return resolution


def gflops(flops: int) -> float:
    return flops / 1e9


def relative_error(estimate: float, exact: float) -> float:
    return abs(estimate - exact) / exact if exact else math.inf


def stage_input_sizes(genotype: Genotype, resolution: int) -> list[int]:
    """Feature-map side at the stem's input, at each stage's input, and at the head's input."""
    size = _out_size(_check_resolution(resolution), 3, 2)
    sizes = [resolution, size]
    for spec in genotype.blocks:
        size = _out_size(size, spec.kernel, spec.stride)
        sizes.append(size)
    return sizes


def genotype_params(genotype: Genotype, num_classes: int = 1000, in_chans: int = 3) -> int:
    """Parameter count of the built genotype (cached, like the FLOP count; built without storage)."""
    return _params_cached(genotype, num_classes, in_chans, 1.0, 1.0)


@functools.lru_cache(maxsize=4096)
def _params_cached(genotype: Genotype, num_classes: int, in_chans: int, width: float, depth: float) -> int:
    check_countable(apply_multipliers(genotype, width, depth), in_chans, num_classes)
    # On the meta device parameters have shapes but no storage: a 10-billion-parameter width costs
    # nothing, and the count is the built model's own.
    with torch.device("meta"):
        return count_params(build(genotype, width, depth, num_classes=num_classes, in_chans=in_chans))


def check_countable(genotype: Genotype, in_chans: int = 3, num_classes: int = 1000) -> Genotype:
    """``ValueError`` naming the limit if ``genotype`` (multipliers applied) is too big to build at all."""
    if genotype.num_layers > MAX_LAYERS:
        raise ValueError(f"the network has {genotype.num_layers:,} layers; costs are counted up to {MAX_LAYERS:,}")
    widest = max(_widths(genotype, in_chans, num_classes))
    if widest > MAX_CHANNELS:
        raise ValueError(
            f"a layer of the network is {widest:,} channels wide; costs are counted up to {MAX_CHANNELS:,}"
        )
    return genotype


def _widths(genotype: Genotype, in_chans: int, num_classes: int) -> list[int]:
    """Every channel count of the network: input, stem, each layer's widest point, head, classes."""
    inner = [layer.in_channels * layer.spec.expand for layer in layers(genotype)]
    return [in_chans, genotype.stem, *inner, *(b.out_channels for b in genotype.blocks), genotype.head, num_classes]


def trace_bytes(genotype: Genotype, resolution: int, in_chans: int, params: int) -> int:
    """Estimated peak memory of an fvcore trace of ``genotype`` (multipliers applied) with ``params`` weights."""
    weight_copies, feature_map_copies = TRACE_COPIES
    return 4 * (weight_copies * params + feature_map_copies * largest_feature_map(genotype, resolution, in_chans))


def largest_feature_map(genotype: Genotype, resolution: int, in_chans: int = 3) -> int:
    """Values in the largest activation of one ``resolution`` image (multipliers applied)."""
    size = _out_size(resolution, 3, 2)
    largest = max(in_chans * resolution * resolution, genotype.stem * size * size)
    for layer in layers(genotype):
        spec = layer.spec
        out = _out_size(size, spec.kernel, layer.stride)
        widest = layer.in_channels * spec.expand
        largest = max(largest, widest * size * size, spec.out_channels * out * out)
        size = out
    return max(largest, genotype.head * size * size)
