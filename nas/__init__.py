"""Architecture search on a proxy task: the Python API (``run_search``, ``train_genotype``) and its types.

The package is in rooms, one per capability: ``proxy`` (the proxy task: data, recipe, trainer),
``studies`` (Optuna studies: storage, identity, the one trial protocol, the worker loop),
``search`` (the search: space sampling, samplers, reward, its study, outputs), ``screening``
(zero-cost scores, pools, proposals), ``deploy`` (final training, the model file, export) and
``cli`` (the command edge).  Names are imported on first use, so ``import nas`` stays cheap and
``python -m nas.<command>`` loads only what that command needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

_EXPORTS = {
    "run_search": "nas.search.run",
    "SearchResult": "nas.search.run",
    "SearchConfig": "nas.search.settings",
    "SearchSettings": "nas.search.settings",
    "SearchPrescreen": "nas.search.settings",
    "SearchJob": "nas.search.job",
    "Reward": "nas.search.objective",
    "best_genotype": "nas.search.best",
    "train_genotype": "nas.proxy.task",
    "TaskConfig": "nas.proxy.task",
    "DatasetSpec": "nas.proxy.datasets",
    "DataSizes": "nas.proxy.data",
    "ProxyConfig": "nas.proxy.recipe",
    "ProxyResult": "nas.proxy.trainer",
    "Progress": "nas.studies.run",
    "StudyRun": "nas.studies.run",
    "StudySettings": "nas.studies.storage",
    "WorkerSettings": "nas.studies.workers",
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
