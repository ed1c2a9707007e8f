"""Block strings <-> genotypes, and genotype files (YAML or JSON).

Block-string grammar (one stage per string, tokens joined by ``_``)::

    OP_rR_kK_sS_eE_cC[_seX][_noskip|_poolskip]

    OP      cn (regular conv), ds (depthwise-separable), ir (MBConv / inverted residual)
    rR      layers in the stage (R >= 1)
    kK      kernel size, K in 1, 3, 5, 7
    sS      stride of the stage's first layer, S in 1, 2
    eE      expansion ratio (integer; 1 for cn and ds, which may omit it)
    cC      output channels
    seX     squeeze-and-excitation ratio of the block's input channels (default 0: none)
    noskip  no residual; poolskip: average-pooling shortcut; default: identity residual
            where input and output shapes match

Example: ``ir_r2_k3_s2_e6_c24_se0.25`` is EfficientNet-B0's second stage.
``format_block`` writes the canonical form (op, r, k, s, e, c, then se and skip only when
not default); ``parse_block`` accepts the tokens after the op in any order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from search_spaces.genotype import BN_EPS, OPS, BlockSpec, Genotype

ALLOWED_TOKENS = (
    "rN (layers), kN (kernel), sN (stride), eN (expansion), cN (channels), seX (SE ratio), noskip, poolskip"
)
_INT_TOKENS = {"r": "repeats", "k": "kernel", "s": "stride", "e": "expand", "c": "out_channels"}
_SKIP_TOKENS = {"noskip": "none", "poolskip": "pool"}
_GENOTYPE_KEYS = ("name", "blocks", "stem", "head", "activation", "resolution", "dropout", "drop_connect", "bn_eps")
_FLOAT_KEYS = ("dropout", "drop_connect", "bn_eps")
_OMITTED_AT_DEFAULT = {"bn_eps": BN_EPS}
"""Keys written only when they differ from the default, so files from before them stay as they were."""


def format_block(block: BlockSpec) -> str:
    """Canonical block string of ``block``."""
    parts = [
        block.op,
        f"r{block.repeats}",
        f"k{block.kernel}",
        f"s{block.stride}",
        f"e{block.expand}",
        f"c{block.out_channels}",
    ]
    if block.se_ratio > 0:
        parts.append(f"se{block.se_ratio!r}")
    if block.skip != "id":
        parts.append({v: k for k, v in _SKIP_TOKENS.items()}[block.skip])
    return "_".join(parts)


def parse_block(text: str) -> BlockSpec:
    """Parse one block string; raises ``ValueError`` naming the bad token and the allowed ones."""
    text = text.strip()
    op, *tokens = text.split("_")
    if op not in OPS:
        raise ValueError(f"block string {text!r}: op {op!r} is not one of {', '.join(OPS)}")
    fields: dict[str, Any] = {}
    for token in tokens:
        key, value = _parse_token(text, token)
        if key in fields:
            raise ValueError(f"block string {text!r}: token {token!r} sets {key} twice")
        fields[key] = value
    missing = [f"{t}N" for t, name in _INT_TOKENS.items() if t != "e" and name not in fields]
    if missing:
        raise ValueError(f"block string {text!r} lacks {', '.join(missing)}; a block needs {ALLOWED_TOKENS}")
    fields.setdefault("expand", 1)
    try:
        return BlockSpec(op=op, **fields)
    except ValueError as err:
        raise ValueError(f"block string {text!r}: {err}") from None


def _parse_token(text: str, token: str) -> tuple[str, Any]:
    if token in _SKIP_TOKENS:
        return "skip", _SKIP_TOKENS[token]
    if token.startswith("se"):
        try:
            return "se_ratio", float(token[2:])
        except ValueError:
            pass
    elif token[:1] in _INT_TOKENS and token[1:].isdigit():
        return _INT_TOKENS[token[0]], int(token[1:])
    raise ValueError(f"block string {text!r}: bad token {token!r}; allowed: {ALLOWED_TOKENS}")


def parse_blocks(text: str | Iterable[str]) -> tuple[BlockSpec, ...]:
    """Parse comma-separated block strings (or an iterable of them)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    items = [s for s in (str(i).strip() for i in items) if s]
    if not items:
        raise ValueError("no block strings given; expected e.g. 'ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24'")
    return tuple(parse_block(s) for s in items)


def format_blocks(genotype: Genotype) -> list[str]:
    return [format_block(b) for b in genotype.blocks]


def genotype_to_dict(genotype: Genotype) -> dict[str, Any]:
    """Plain, JSON/YAML-ready form of a genotype (``bn_eps`` only when it is not the default)."""
    data: dict[str, Any] = {
        "name": genotype.name,
        "blocks": format_blocks(genotype),
        "stem": genotype.stem,
        "head": genotype.head,
        "activation": genotype.activation,
        "resolution": genotype.resolution,
        "dropout": genotype.dropout,
        "drop_connect": genotype.drop_connect,
    }
    for key, default in _OMITTED_AT_DEFAULT.items():
        if getattr(genotype, key) != default:
            data[key] = getattr(genotype, key)
    return data


def genotype_from_dict(data: Mapping[str, Any]) -> Genotype:
    """Inverse of :func:`genotype_to_dict`; a nested ``genotype:`` key and ``metrics`` are allowed."""
    if "genotype" in data and isinstance(data["genotype"], Mapping):
        data = data["genotype"]
    unknown = sorted(set(data) - set(_GENOTYPE_KEYS) - {"metrics"})
    if unknown:
        raise ValueError(f"unknown genotype keys {unknown}; allowed: {', '.join(_GENOTYPE_KEYS)}")
    if "blocks" not in data:
        raise ValueError("a genotype needs 'blocks': a list of block strings")
    kwargs = {k: data[k] for k in _GENOTYPE_KEYS if k in data and k != "blocks"}
    for key in _FLOAT_KEYS:
        if key in kwargs:
            kwargs[key] = _as_float(key, kwargs[key])
    return Genotype(blocks=parse_blocks(data["blocks"]), **kwargs)


def _as_float(key: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"genotype key {key!r} must be a number, got {value!r}") from None


def save_genotype(genotype: Genotype, path: str | Path, metrics: Mapping[str, Any] | None = None) -> Path:
    """Write a genotype (and optional metrics) as YAML, or JSON when the suffix is ``.json``."""
    path = Path(path)
    data = genotype_to_dict(genotype)
    if metrics:
        data["metrics"] = dict(metrics)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(data, indent=2) + "\n")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load_genotype(path: str | Path) -> Genotype:
    """Read a genotype file written by :func:`save_genotype` (YAML or JSON)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise FileNotFoundError(f"cannot read genotype file {str(path)!r}: {err.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"genotype file {str(path)!r} is not valid YAML/JSON: {str(err).splitlines()[0]}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"genotype file {str(path)!r} must hold a mapping with 'blocks'")
    try:
        genotype = genotype_from_dict(data)
    except ValueError as err:
        raise ValueError(f"genotype file {str(path)!r}: {err}") from None
    if "name" not in data:
        genotype = replace(genotype, name=path.stem)
    return genotype
