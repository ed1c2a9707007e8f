"""search:STUDY: the search's best genotype, as the commands resolve it (nas.train, search_spaces.show, ...)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import optuna
import pytest

import nas.train
from nas.cli.references import resolve_model
from nas.cli.schema import slug
from nas.search.best import best_genotype, search_reference
from nas.search.job import space_identity
from nas.studies.storage import DEFAULT_STORAGE
from nas.studies.study import open_study
from search_spaces import show
from search_spaces.codec import format_blocks, load_genotype
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference
from search_spaces.spec import resolve_spec

TINY = ["dataset=digits", "proxy=tiny", "proxy.train_size=256", "proxy.epochs=1", "threads=2", "progress=false"]


@pytest.mark.slow
def test_the_best_of_a_search_is_the_genotype_its_best_yaml_holds(tiny_studies):
    written = load_genotype(tiny_studies.best_yaml)
    found = best_genotype(tiny_studies.search, storage=tiny_studies.storage)
    assert found == written and found.name == written.name == f"{tiny_studies.search}_best"
    assert resolve_model(f"search:{tiny_studies.search}", tiny_studies.storage) == written
    with pytest.raises(ValueError, match="names a study: a command resolves it"):  # the library takes genotypes
        resolve_spec(f"search:{tiny_studies.search}")


def test_a_search_study_without_its_recorded_reference_is_rebuilt_from_its_identity():
    """Studies made before searches recorded their whole reference: the identity's blocks, stem, head, activation."""
    storage = optuna.storages.InMemoryStorage()

    def old_study(name: str, genotype: Genotype) -> optuna.Study:
        identity = {"command": "nas.search", "space": space_identity(mnasnet_space(genotype))}
        sampler, pruner = optuna.samplers.RandomSampler(), optuna.pruners.NopPruner()
        return open_study(storage, name, ["maximize"], sampler, pruner, identity)[0]

    b0 = reference("efficientnet_b0")
    rebuilt = search_reference(old_study("b0", b0))
    assert rebuilt == b0 and rebuilt.name == "efficientnet_b0"
    custom = replace(b0, stem=24, activation="relu")
    assert search_reference(old_study("custom", custom)) == custom


@pytest.mark.slow
def test_train_cli_trains_the_searchs_best(cli, tiny_studies, tmp_path):
    out = tmp_path / "train"
    args = [f"model=search:{tiny_studies.search}", f"study.storage={tiny_studies.storage}", f"hydra.run.dir={out}"]
    result = cli("nas.train", *args, *TINY)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    written = load_genotype(tiny_studies.best_yaml)
    assert summary["status"] == "ok"
    assert summary["model"] == written.name and summary["blocks"] == format_blocks(written)


@pytest.mark.slow
def test_train_cli_with_an_unknown_study_is_one_line(tiny_studies, tmp_path, monkeypatch, capsys):
    args = ["model=search:nope", f"study.storage={tiny_studies.storage}", f"hydra.run.dir={tmp_path}", *TINY]
    monkeypatch.setattr(sys, "argv", ["nas.train", *args])
    with pytest.raises(SystemExit) as exit_info:
        nas.train.main()
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("python -m nas.train: error: no study 'nope' in ")
    assert f"'{tiny_studies.search}' (search, " in line and not (tmp_path / "summary.json").exists()


@pytest.mark.slow
def test_show_takes_a_search_study_and_its_storage(tiny_studies, capsys):
    assert show.main([f"search:{tiny_studies.search}", "--storage", tiny_studies.storage, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    written = load_genotype(tiny_studies.best_yaml)
    assert info["name"] == written.name and info["blocks"] == format_blocks(written)
    assert show.main(["search:nope", "--storage", tiny_studies.storage]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("python -m search_spaces.show: error: no study 'nope' in ")


def test_show_looks_in_the_study_commands_default_storage(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        show.main(["--help"])
    assert DEFAULT_STORAGE in " ".join(capsys.readouterr().out.split())  # what --storage's help promises
    monkeypatch.chdir(tmp_path)  # no runs/studies.db here
    assert show.main(["search:mine"]) == 2
    err = capsys.readouterr().err
    assert "study storage sqlite:///runs/studies.db does not exist" in err and len(err.strip().splitlines()) == 1


def test_run_directories_name_the_study():
    assert slug("search:search-efficientnet_b0-digits-tpe-soft-seed0-1234abcd") == (
        "search-efficientnet_b0-digits-tpe-soft-seed0-1234abcd"
    )
    assert slug("search:my study") == "search-my-study"
    assert slug("runs/search/x/best.yaml") == "best" and slug("efficientnet_b0") == "efficientnet_b0"
