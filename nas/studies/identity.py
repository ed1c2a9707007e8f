"""A study's identity, versioned: what makes two runs the same experiment, and how older studies read today.

A job describes its experiment whole (``StudyJob.identity``: every setting that changes what is
trained or how it is scored, and None for a part that is switched off).  A new study stores that
with ``identity_version`` = :data:`VERSION`.  A study of an earlier version (version 1: before
identities carried one) stored its identity without the fields added since: each was absent while
it had the value every run had before it existed.  :data:`LATER_FIELDS` lists those fields, in the groups they were
added in; this table is the one place that knows the history:

* :func:`upgrade` reads a stored identity in today's form (a missing field at its earlier value);
* :func:`name_form` is what a default study name hashes: the identity without the groups still at
  their earlier values, so the same experiment keeps its name when a field is added.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from search_spaces.genotype import BN_EPS

VERSION = 5
VERSION_ATTR = "identity_version"
LATER_FIELDS: tuple[dict[str, Any], ...] = (
    {"space.bn_eps": BN_EPS},  # a genotype's BatchNorm epsilon (timm's networks)
    {"objective.cost": "flops", "objective.target_latency_ms": None},  # latency as the reward's cost
    {"latency": None},  # where a latency cost is measured
    {"strategy.prescreen": None},  # zero-cost pre-screening
    {"proxy.schedule": "one_cycle"},  # the cosine schedule of final training
    {"proxy.ema_decay": 0.0},  # the weight average
    {"strategy.supernet": None},  # a search's weight-sharing supernet (version 3)
    # the grid's real-cost rule and seed rounds (version 4)
    {"grid.rule": "constraint", "grid.band": None, "grid.cost": None, "grid.cost_tolerance": None},
    {"grid.top": None, "grid.max_seeds": 1},
    {"moved": None},  # the runs a comparison moved to equal real cost (version 5)
)
_ABSENT = object()


def _parent(tree: dict[str, Any], path: str) -> tuple[Any, str]:
    """The mapping holding ``path``'s last key (or None when a part of the way is missing), and that key."""
    *way, leaf = path.split(".")
    node: Any = tree
    for key in way:
        node = node.get(key) if isinstance(node, Mapping) else None
    return (node if isinstance(node, dict) else None), leaf


def upgrade(stored: Mapping[str, Any], version: int | None) -> dict[str, Any]:
    """A stored identity in today's form: for an older study, each later field it lacks at its earlier value."""
    current = copy.deepcopy(dict(stored))
    if version is not None and version >= VERSION:
        return current
    for group in LATER_FIELDS:
        for path, earlier in group.items():
            node, leaf = _parent(current, path)
            if node is not None and leaf not in node:
                node[leaf] = copy.deepcopy(earlier)
    return current


def name_form(identity: Mapping[str, Any]) -> dict[str, Any]:
    """``identity`` without the later fields whose whole group still has its earlier values (what names hash)."""
    form = copy.deepcopy(dict(identity))
    for group in LATER_FIELDS:
        places = {path: _parent(form, path) for path in group}
        if all(node is not None and node.get(leaf, _ABSENT) == group[path] for path, (node, leaf) in places.items()):
            for node, leaf in places.values():
                del node[leaf]
    return form
