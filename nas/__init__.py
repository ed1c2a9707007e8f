"""Architecture search on a proxy task: the Python API (``run_search``, ``train_genotype``) and its types.

Names are imported on first use, so ``import nas`` stays cheap and ``python -m nas.<command>`` loads
only what that command needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

_EXPORTS = {
    "run_search": "nas.api",
    "train_genotype": "nas.api",
    "SearchResult": "nas.api",
    "SearchSettings": "nas.search.job",
    "SearchJob": "nas.search.job",
    "Reward": "nas.search.objective",
    "LatencySource": "nas.search.latency",
    "DatasetSpec": "nas.proxy.datasets",
    "DataSizes": "nas.proxy.data",
    "ProxyConfig": "nas.proxy.recipe",
    "ProxyResult": "nas.proxy.trainer",
    "WorkerSettings": "nas.studies.workers",
    "StorageSettings": "nas.studies.storage",
}
__all__ = sorted(_EXPORTS)


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each exported name from its module on first use."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__


__getattr__ = lazy_exports("nas", _EXPORTS)
