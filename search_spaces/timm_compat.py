"""timm interoperability: any genotype as timm's ``arch_def``, and timm's weights in our models.

timm (``timm/models/_efficientnet_builder.py``) writes these networks as stages of block strings
that ``decode_arch_def`` parses and ``EfficientNetBuilder`` builds. Its notation looks like ours
but is not the same, so a genotype is translated layer by layer:

- an ``ir`` block with expansion 1 has no expansion conv here, while timm's ``ir`` always has one:
  it is timm's ``ds`` block (the same layers, the same weights);
- a ``cn`` block's default identity residual is timm's ``skip`` token (timm's ``cn`` has none by
  default); our ``noskip`` is timm's default there;
- the SE width is ``int(in * ratio)`` here and ``round(expanded * ratio / expansion)`` in timm; where
  the two differ, the token carries the exact ratio (reduced / input channels) and the stage is split
  into several block strings, as timm's stages allow;
- channels and layers are written final (the genotype's, scaled already): timm rebuilds them with
  no multiplier and no rounding (``round_chs_fn=int``, ``fix_stem=True``).

Three things have no timm counterpart, and a genotype using them is refused with ``ValueError``
naming the stage, its block string and the option: the pooling shortcut (``poolskip``),
squeeze-and-excitation on a ``cn`` block, and an expansion whose width ``in * e`` is not a
multiple of 8 (timm rounds it). Nothing here imports timm: an arch_def is data and weights are a
state dict; ``tests/search_spaces/test_timm_compat.py`` checks both against timm itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from search_spaces.blocks import se_channels
from search_spaces.codec import format_block
from search_spaces.genotype import Genotype, Layer, layers
from search_spaces.references import EFFICIENTNET_TABLE, reference
from search_spaces.rounding import round_filters

TIMM_NAMES: dict[str, str] = {
    **{name: name for name in EFFICIENTNET_TABLE},
    "mobilenet_v2": "mobilenetv2_100",
    "mnasnet_a1": "semnasnet_100",
    "mnasnet_b1": "mnasnet_100",
}
"""Our reference names -> the timm models that implement them."""

TIMM_BN_EPS = 1e-5
"""BatchNorm epsilon of timm's PyTorch-trained models (PyTorch's default); ``tf_*`` ports use 1e-3."""

_TIMM_ACTIVATIONS = {"silu": "silu", "relu": "relu", "relu6": "relu6"}
# A timm block's weighted parts in order: (conv, norm) pairs, and "se" where an SE goes.
_TIMM_PARTS: dict[str, tuple[tuple[str, str] | str, ...]] = {
    "cn": (("conv", "bn1"),),
    "ds": (("conv_dw", "bn1"), "se", ("conv_pw", "bn2")),
    "ir": (("conv_pw", "bn1"), ("conv_dw", "bn2"), "se", ("conv_pwl", "bn3")),
}
_SHOWN = 6  # keys listed per kind of mismatch in an error message


def timm_genotype(name: str) -> Genotype:
    """Reference ``name`` as timm builds it: the same network with PyTorch's BatchNorm epsilon."""
    if name not in TIMM_NAMES:
        raise ValueError(f"no timm model for {name!r}; known: {', '.join(TIMM_NAMES)}")
    return replace(reference(name), bn_eps=TIMM_BN_EPS)


def timm_problems(genotype: Genotype) -> list[str]:
    """Why ``genotype`` cannot be written in timm's notation, one entry per stage and option (empty: it can)."""
    problems = []
    for layer in layers(genotype):
        spec, where = layer.spec, f"stage {layer.stage + 1} {format_block(layer.spec)!r}"
        mid = layer.in_channels * spec.expand
        if spec.skip == "pool":
            problems.append(f"{where}: poolskip (pooling shortcut) has no timm counterpart")
        if spec.op == "cn" and spec.se_ratio > 0:
            problems.append(f"{where}: se{spec.se_ratio!r} on a cn block (timm's ConvBnAct has no SE)")
        if spec.op == "ir" and spec.expand > 1 and round_filters(mid, 1.0) != mid:
            problems.append(
                f"{where}: expanded width {mid} is not a multiple of 8 (timm makes it {round_filters(mid, 1.0)})"
            )
    return list(dict.fromkeys(problems))


def timm_arch_def(genotype: Genotype) -> dict[str, Any]:
    """timm's ``arch_def`` of ``genotype`` with the keyword arguments that rebuild it; ``ValueError`` if inexpressible."""
    problems = timm_problems(genotype)
    if problems:
        raise ValueError(f"genotype {genotype.name!r} cannot be written in timm's notation: {'; '.join(problems)}")
    plan = layers(genotype)
    stages = [_stage_strings([layer for layer in plan if layer.stage == i]) for i in range(len(genotype.blocks))]
    kwargs = {
        "stem_size": genotype.stem,
        "fix_stem": True,
        "num_features": genotype.head,
        "act_layer": _TIMM_ACTIVATIONS[genotype.activation],
        "pad_type": "",
        "drop_rate": genotype.dropout,
        "drop_path_rate": genotype.drop_connect,
    }
    return {"arch_def": stages, "kwargs": kwargs, "bn_args": {"eps": genotype.bn_eps}}


def _timm_op(layer: Layer) -> str:
    spec = layer.spec
    return "ds" if spec.op == "ir" and spec.expand == 1 else spec.op


def _layer_tokens(layer: Layer) -> tuple[str, ...]:
    """One layer's timm op and block-string tokens, without its repeats and stride."""
    spec, op = layer.spec, _timm_op(layer)
    tokens = [f"k{spec.kernel}"] + ([] if op == "cn" else [f"e{spec.expand}"]) + [f"c{spec.out_channels}"]
    if spec.se_ratio > 0:
        tokens.append(f"se{_timm_se_ratio(layer)!r}")
    if op == "cn" and spec.skip == "id":
        tokens.append("skip")
    elif op != "cn" and spec.skip == "none":
        tokens.append("noskip")
    return (op, *tokens)


def _timm_se_ratio(layer: Layer) -> float:
    """The ratio timm turns into our SE width: ours where it does, else reduced / input channels."""
    spec, cin = layer.spec, layer.in_channels
    reduced = se_channels(cin, spec.se_ratio)
    if round(cin * spec.expand * (spec.se_ratio / spec.expand)) == reduced:
        return spec.se_ratio
    return reduced / cin


def _stage_strings(stage: list[Layer]) -> list[str]:
    """A stage's block strings: equal consecutive layers share one string; the first carries the stride."""
    strings = []
    for index, (tokens, group) in enumerate(itertools.groupby(stage, key=_layer_tokens)):
        op, kernel, *rest = tokens
        stride = stage[0].stride if index == 0 else 1
        strings.append("_".join([op, f"r{len(list(group))}", kernel, f"s{stride}", *rest]))
    return strings


_REBUILD = (
    "# Rebuild with timm's EfficientNet (num_classes and in_chans are yours to choose):",
    "from functools import partial",
    "from torch import nn",
    "from timm.models._efficientnet_builder import decode_arch_def",
    "from timm.models.efficientnet import EfficientNet",
    "model = EfficientNet(decode_arch_def(arch_def), num_classes=1000, in_chans=3, round_chs_fn=int,"
    " norm_layer=partial(nn.BatchNorm2d, **bn_args), **kwargs)",
)


def timm_arch_text(genotype: Genotype) -> str:
    """A readable, runnable text (``timm.txt``): the arch_def, its arguments and how timm rebuilds it."""
    head = f"# genotype {genotype.name!r}: {len(genotype.blocks)} stages, input {genotype.resolution} px"
    problems = timm_problems(genotype)
    if problems:
        lines = [f"{head}, cannot be written as a timm arch_def:", *(f"#   {p}" for p in problems)]
        lines.append(
            "# timm's EfficientNet cannot build it: build it with search_spaces.build, or use the exported model."
        )
        return "\n".join(lines) + "\n"
    spec = timm_arch_def(genotype)
    lines = [
        f"{head}, in timm's notation (timm.models._efficientnet_builder).",
        "# Channels and layers are final: rebuild with no multipliers and no rounding (round_chs_fn=int).",
        "arch_def = [",
        *(f"    {stage!r}," for stage in spec["arch_def"]),
        "]",
        f"kwargs = {spec['kwargs']!r}",
        f"bn_args = {spec['bn_args']!r}  # BatchNorm momentum is a training choice (PyTorch's 0.1 here)",
        "",
        *_REBUILD,
    ]
    return "\n".join(lines) + "\n"


def timm_module_names(genotype: Genotype) -> dict[str, str]:
    """timm's module names -> ours, for every module with weights in ``genotype``'s model."""
    names = {"conv_stem": "stem.0", "bn1": "stem.1"}
    for layer in layers(genotype):
        ours = f"stages.{layer.stage}.{layer.index}.body"
        theirs = f"blocks.{layer.stage}.{layer.index}"
        parts = [p for p in _TIMM_PARTS[_timm_op(layer)] if p != "se" or layer.spec.se_ratio > 0]
        for index, part in enumerate(parts):
            if part == "se":
                names[f"{theirs}.se.conv_reduce"] = f"{ours}.{index}.reduce"
                names[f"{theirs}.se.conv_expand"] = f"{ours}.{index}.expand"
            else:
                names[f"{theirs}.{part[0]}"] = f"{ours}.{index}.0"
                names[f"{theirs}.{part[1]}"] = f"{ours}.{index}.1"
    names.update({"conv_head": "head.0", "bn2": "head.1", "classifier": "classifier"})
    return names


def timm_key_to_ours(key: str, names: Mapping[str, str]) -> str | None:
    """Our state-dict key for timm's ``key`` (module name + parameter), or None where there is none."""
    module, _, parameter = key.rpartition(".")
    return f"{names[module]}.{parameter}" if module in names else None


def load_timm_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], genotype: Genotype) -> None:
    """Load a timm model's state dict into ``model`` built from ``genotype``; ``ValueError`` lists what does not fit."""
    problems = timm_problems(genotype)
    if problems:
        raise ValueError(f"genotype {genotype.name!r} has no timm counterpart: {'; '.join(problems)}")
    names, ours = timm_module_names(genotype), model.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    unmatched, shapes = [], []
    for key, value in state_dict.items():
        target = timm_key_to_ours(key, names)
        if target is None or target not in ours:
            unmatched.append(key)
            continue
        if ours[target].shape != value.shape:
            shapes.append(f"{key} {tuple(value.shape)} vs {target} {tuple(ours[target].shape)}")
        mapped[target] = value
    missing = [key for key in ours if key not in mapped]
    reasons = [
        _listed("timm keys with no counterpart here", unmatched),
        _listed("keys here with no timm weight", missing),
        _listed("shape mismatches", shapes),
    ]
    if unmatched or missing or shapes:
        found = "; ".join(r for r in reasons if r)
        raise ValueError(f"timm state dict does not fit genotype {genotype.name!r}: {found}")
    model.load_state_dict(mapped)


def _listed(what: str, items: list[str]) -> str:
    if not items:
        return ""
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return f"{len(items)} {what}: {', '.join(items[:_SHOWN])}{more}"
