"""Python defaults equal the YAML defaults: the API and the commands run the same experiment."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from nas.cli.app import typed
from nas.cli.overrides import CONF_DIR
from nas.proxy.data import DataSizes
from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig
from nas.search.job import SearchSettings
from nas.search.objective import Reward
from nas.studies.storage import StorageSettings
from scaling.grid_points import GridSettings
from scaling.grid_study import GRID_PROXY, GRID_SIZES
from search_spaces.cost import Target


def composed(name: str, *overrides: str):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose(name, overrides=list(overrides))


@pytest.mark.parametrize(
    ("cls", "section"),
    [
        (ProxyConfig, "proxy"),
        (DataSizes, "proxy"),
        (SearchSettings, "search"),
        (Reward, "objective"),
        (Target, "target"),
        (DatasetSpec, "dataset"),
    ],
)
def test_search_defaults(cls, section):
    assert typed(cls, composed("search")[section]) == cls()


def test_grid_and_storage_defaults():
    grid = composed("grid", "phi=1")
    assert typed(GridSettings, grid.grid) == GridSettings()
    assert typed(ProxyConfig, grid.proxy) == GRID_PROXY
    assert typed(DataSizes, grid.proxy) == GRID_SIZES
    assert typed(StorageSettings, grid.study, url=grid.study.storage) == StorageSettings()


def test_prescreen_defaults():
    from nas.cli.app import plain
    from nas.prescreen import PrescreenSettings

    section = composed("prescreen").prescreen
    assert PrescreenSettings(**{k: plain(v) for k, v in section.items()}) == PrescreenSettings()
