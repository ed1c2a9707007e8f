"""The config schema: Python defaults are the YAML presets, and Hydra refuses what the schema lacks, in one line."""

from __future__ import annotations

import dataclasses
import sys

import pytest
from hydra import compose, initialize_config_dir

import nas.search.__main__ as search
import scaling.schema  # noqa: F401  (registers the scaling commands' schemas)
from nas.cli.schema import CONF_DIR, typed
from nas.proxy.datasets import DatasetSpec
from nas.proxy.recipe import ProxyConfig
from nas.screening.pool import PrescreenSettings
from nas.search.objective import Reward
from nas.search.settings import SearchSettings
from nas.studies.storage import StudySettings
from scaling.grid_points import GridSettings
from scaling.grid_study import GRID_PROXY
from search_spaces.cost import Target

COMMANDS = ("search", "grid", "compare", "family", "train", "export", "prescreen", "pipeline")


def composed(name: str, *overrides: str):
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return typed(compose(name, overrides=list(overrides)))


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_config_becomes_its_schema_objects(name):
    cfg = composed(name)
    assert type(cfg).__name__.lower().startswith(name)
    assert dataclasses.is_dataclass(cfg) and dataclasses.asdict(cfg)  # what config.json records


def test_search_defaults_are_the_python_defaults():
    cfg = composed("search")
    assert (cfg.proxy, cfg.search, cfg.objective, cfg.target) == (ProxyConfig(), SearchSettings(), Reward(), Target())
    assert (cfg.dataset, cfg.study, cfg.seed) == (DatasetSpec(), StudySettings(), 0)


def test_grid_and_prescreen_defaults_are_the_python_defaults():
    grid = composed("grid")
    assert (grid.grid, grid.proxy, grid.phi) == (GridSettings(), GRID_PROXY, 1.0)
    assert composed("prescreen").prescreen == PrescreenSettings()


def _bad(monkeypatch, capsys, *overrides):
    monkeypatch.setattr(sys, "argv", ["nas.search", "progress=false", *overrides])
    with pytest.raises(SystemExit) as stopped:
        search.main()
    lines = capsys.readouterr().err.strip().splitlines()
    return stopped.value.code, lines


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("search.n_trial=3", "unknown setting 'search.n_trial': did you mean search.n_trials? search has: sampler, "),
        ("+search.n_trial=3", "unknown setting 'search.n_trial': did you mean search.n_trials?"),
        ("seeed=1", "unknown setting 'seeed': did you mean seed?"),
        ("+proxy.epoch=3", "unknown setting 'proxy.epoch': did you mean proxy.epochs?"),
        ("search.n_trials=many", "search.n_trials: Value 'many' of type 'str' could not be converted to Integer"),
        ("proxy.augment=maybe", "proxy.augment: Value 'maybe' is not a valid bool"),
        ("seed=1,2", "Ambiguous value for argument 'seed=1,2'"),
    ],
)
def test_hydra_refuses_what_the_schema_lacks_in_one_line(override, said, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, lines = _bad(monkeypatch, capsys, override)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("python -m nas.search: error: ") and said in lines[0], lines[0]
    assert not (tmp_path / "runs" / "studies.db").exists()  # refused before any storage is touched
