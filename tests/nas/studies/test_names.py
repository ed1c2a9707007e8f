"""Default study names, pinned: the names the code before versioned identities gave these experiments.

A name is a hash of the experiment's identity; resuming a study by its default name is how a
command finds its own study again, so none of these may change when a setting is added.
(Latency studies are left out here: their identity names this machine's CPU.)
"""

from __future__ import annotations

import pytest

import scaling.schema  # noqa: F401  (registers the scaling commands' schemas)
from nas.cli.schema import composed
from nas.search.job import SearchJob
from scaling.compare_study import CompareJob
from scaling.grid_study import GridJob
from search_spaces.spec import resolve_spec

OLD_GRID_PROXY = ("proxy.train_size=4000", "proxy.width=0.5")  # proxy=grid before 12,000 and 24,000 images

PINNED = {
    ("search", ()): "search-efficientnet_b0-fashion_mnist-tpe-soft-seed0-92f6a0f0",
    ("search", ("dataset=digits", "proxy=tiny")): "search-efficientnet_b0-digits-tpe-soft-seed0-ecf957f7",
    (
        "search",
        ("objective=hard", "search.sampler=random"),
    ): "search-efficientnet_b0-fashion_mnist-random-hard-seed0-b67f0ce5",
    (
        "search",
        ("objective=multi", "search.sampler=nsga2"),
    ): "search-efficientnet_b0-fashion_mnist-nsga2-multi-seed0-1acc913a",
    ("search", ("search.max_latency_ms=20",)): "search-efficientnet_b0-fashion_mnist-tpe-soft-seed0-92f6a0f0",
    ("search", ("search.prescreen.score=-snip",)): "search-efficientnet_b0-fashion_mnist-tpe-soft-seed0-8d296bab",
    ("search", ("space=mobilenet_v2",)): "search-mobilenet_v2-fashion_mnist-tpe-soft-seed0-d1bfeb06",
    (
        "grid",
        ("grid.rule=constraint", "grid.max_seeds=1", *OLD_GRID_PROXY),
    ): "grid-efficientnet_b0-phi1-fashion_mnist-953628d6",
    (
        "grid",
        ("phi=2", "dataset=digits", "grid.rule=constraint", "grid.max_seeds=1", *OLD_GRID_PROXY),
    ): "grid-efficientnet_b0-phi2-digits-eb02a980",
    ("compare", OLD_GRID_PROXY): "compare-efficientnet_b0-fashion_mnist-3febeaad",
    # the same with compare.equal_cost=false: its nominal networks, its name from before equal cost
    ("compare", (*OLD_GRID_PROXY, "compare.equal_cost=false")): "compare-efficientnet_b0-fashion_mnist-abf698ee",
    (
        "compare",
        ("phis=[1]", "methods=[depth,width]", *OLD_GRID_PROXY),
    ): "compare-efficientnet_b0-fashion_mnist-5719f0f5",
}


@pytest.mark.parametrize(("command", "overrides"), list(PINNED))
def test_an_experiment_keeps_its_default_study_name(command, overrides):
    cfg = composed(command, overrides)
    if command == "search":
        job = SearchJob(resolve_spec(cfg.space.reference), cfg)
    elif command == "grid":
        job = GridJob(resolve_spec(cfg.baseline), cfg)
    else:
        job = CompareJob(resolve_spec(cfg.baseline), tuple(cfg.coefficients), cfg)
    assert job.default_name() == PINNED[command, overrides]
