"""The exact command lines that reproduce each pipeline stage on its own.

A stage's command is its module, the study references that chain it to the stages before, and
every setting where the pipeline's value differs from that command's own default config, so
running it finds (and resumes) the very study the pipeline made.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from hydra import compose
from omegaconf import OmegaConf

Groups = Mapping[str, Any]


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists (and tuples, as lists) stay values."""
    if isinstance(node, tuple):
        return {prefix: list(node)}
    if not isinstance(node, Mapping):
        return {prefix: node}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def override_value(value: Any) -> str:
    """A value in Hydra's override grammar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if text and all(c.isalnum() or c in "_-./:@" for c in text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def changed(groups: Groups, defaults: Mapping[str, Any]) -> list[str]:
    """``key=value`` for every leaf of ``groups`` that differs from (or is missing in) ``defaults``."""
    ours, theirs = flatten(groups), flatten(defaults)
    return [f"{k}={override_value(v)}" for k, v in ours.items() if k not in theirs or theirs[k] != v]


def stage_command(
    module: str, config_name: str, choices: Sequence[str], groups: Groups, fixed: Sequence[str] = ()
) -> str:
    """``python -m module`` with the group ``choices`` (``dataset=folder``), ``fixed`` overrides
    and every value of ``groups`` that differs from the command's composed defaults."""
    defaults = OmegaConf.to_container(compose(config_name=config_name, overrides=list(choices)), resolve=False)
    overrides = [*choices, *fixed, *changed(groups, _subset(defaults, groups))]
    return " ".join(["python", "-m", module, *(shlex.quote(o) for o in overrides)])


def _subset(defaults: Any, groups: Groups) -> dict[str, Any]:
    return {k: defaults.get(k) for k in groups if isinstance(defaults, dict) and k in defaults}


def plain_groups(
    config: Mapping[str, Any], keys: Mapping[str, str], nested: Sequence[str] = ("proxy", "phi")
) -> dict[str, Any]:
    """A stage's groups from the pipeline's config (as plain data), ``{stage key: pipeline key}``.

    ``nested`` keys are the pipeline's own additions inside a stage's group (``search.proxy``,
    ``grid.phi``): they are not part of that group in the stage's command.
    """
    groups: dict[str, Any] = {}
    for stage_key, pipeline_key in keys.items():
        value: Any = config
        for part in pipeline_key.split("."):
            value = value[part]
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in nested}
        groups[stage_key] = value
    return groups
