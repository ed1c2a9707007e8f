"""Architecture search on a proxy task: the Python API (``run_search``, ``train_genotype``) and its types.

Names are imported on first use, so ``import nas`` stays cheap and ``python -m nas.<command>`` loads
only what that command needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "run_search": "nas.api",
    "train_genotype": "nas.api",
    "SearchResult": "nas.api",
    "SearchSettings": "nas.search_study",
    "SearchJob": "nas.search_study",
    "Reward": "nas.objective",
    "DatasetSpec": "nas.proxy.datasets",
    "DataSizes": "nas.proxy.data",
    "ProxyConfig": "nas.proxy.recipe",
    "ProxyResult": "nas.proxy.trainer",
    "WorkerSettings": "nas.cli.workers",
    "StorageSettings": "nas.studies.storage",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nas' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
