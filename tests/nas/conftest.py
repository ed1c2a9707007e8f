"""What the nas tests share: the space around B0 and tiny digits splits for fake or real training."""

from __future__ import annotations

import pytest

from nas.proxy.data import prepare
from nas.proxy.datasets import load_dataset
from nas.proxy.recipe import ProxyConfig
from nas.search.job import Evaluator
from nas.search.settings import SearchConfig, SearchSettings
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference


@pytest.fixture(scope="session")
def space():
    return mnasnet_space(reference("efficientnet_b0"))


@pytest.fixture(scope="session")
def data():
    return prepare(load_dataset("digits"), 32, 256, 128, 128)


@pytest.fixture(scope="session")
def make_evaluator():
    """The search's objective on tiny settings (training is usually replaced by a fake)."""

    def make(space, data, **settings) -> Evaluator:
        config = SearchConfig(proxy=ProxyConfig(epochs=2, batch_size=64, width=0.25), search=SearchSettings(**settings))
        return Evaluator(space, data, config, config.objective)

    return make
