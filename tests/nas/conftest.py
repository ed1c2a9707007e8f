"""What the nas tests share: the space around B0 and tiny digits splits for fake or real training."""

from __future__ import annotations

import pytest

from nas.proxy.data import prepare
from nas.proxy.datasets import load_dataset
from nas.proxy.trainer import ProxyConfig
from nas.search.job import Evaluator, SearchSettings
from nas.search.objective import Reward
from search_spaces.cost import Target
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
        proxy = ProxyConfig(epochs=2, batch_size=64, width=0.25)
        return Evaluator(space, data, proxy, Target(), Reward(), SearchSettings(**settings), seed=0)

    return make
