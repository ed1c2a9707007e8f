"""Study references (SCHEME:STUDY): found in a storage, or one line that lists the studies it holds."""

from __future__ import annotations

import re
import shutil

import optuna
import pytest

from nas.studies.references import LISTED, open_reference, study_kind
from nas.studies.study import open_study


@pytest.fixture
def storage(tiny_studies, tmp_path) -> str:
    """A copy of the tiny studies' storage that a test may add studies to."""
    shutil.copy(tiny_studies.db, tmp_path / "studies.db")
    return f"sqlite:///{tmp_path / 'studies.db'}"


def add_study(storage: str, name: str, identity: dict, states=()) -> optuna.Study:
    """A study opened as the commands open theirs (no heartbeat: no worker runs it), one trial per state."""
    opened = optuna.storages.RDBStorage(storage)
    study, _ = open_study(
        opened, name, ["maximize"], optuna.samplers.RandomSampler(), optuna.pruners.NopPruner(), identity
    )
    for state in states:
        trial = study.ask()
        study.tell(trial, 0.5 if state == optuna.trial.TrialState.COMPLETE else None, state=state)
    return study


def complete(storage: str, name: str) -> int:
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


def test_a_reference_opens_the_study_of_its_kind(tiny_studies):
    study = open_reference(tiny_studies.search, "search", tiny_studies.storage)
    assert study.study_name == tiny_studies.search
    assert open_reference(tiny_studies.grid, "grid", tiny_studies.storage).user_attrs["command"] == "scaling.grid"


def test_kinds_come_from_the_recorded_command_else_the_default_name():
    assert study_kind("mine", {"command": "nas.search"}) == "search"
    assert study_kind("mine", {"command": "scaling.grid"}) == "grid"
    assert study_kind("grid-b0-phi1-digits-12345678", {}) == "grid"
    assert study_kind("mine", {}) == "unknown"


def test_an_unknown_study_lists_the_studies_there(tiny_studies):
    with pytest.raises(ValueError) as err:
        open_reference("nope", "search", tiny_studies.storage)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"no study 'nope' in {tiny_studies.storage}; studies there: ")
    assert (
        f"'{tiny_studies.search}' (search, {complete(tiny_studies.storage, tiny_studies.search)} complete)" in message
    )
    assert f"'{tiny_studies.grid}' (grid, {complete(tiny_studies.storage, tiny_studies.grid)} complete)" in message


def test_a_study_of_the_other_kind_is_refused(tiny_studies):
    grid, search = re.escape(tiny_studies.grid), re.escape(tiny_studies.search)
    with pytest.raises(
        ValueError, match=rf"'{grid}' in .* is a grid study; search:{grid} needs a search study; studies"
    ):
        open_reference(tiny_studies.grid, "search", tiny_studies.storage)
    with pytest.raises(
        ValueError, match=rf"'{search}' in .* is a search study; grid:{search} needs a grid study; studies"
    ):
        open_reference(tiny_studies.search, "grid", tiny_studies.storage)


def test_a_study_without_a_complete_trial_is_refused(storage):
    fail, pruned = optuna.trial.TrialState.FAIL, optuna.trial.TrialState.PRUNED
    add_study(storage, "search-nothing-yet", {"command": "nas.search"}, [fail, pruned])
    with pytest.raises(ValueError) as err:
        open_reference("search-nothing-yet", "search", storage)
    message = str(err.value)
    assert "search study 'search-nothing-yet'" in message and "has no complete trial yet (1 fail, 1 pruned)" in message
    assert "'search-nothing-yet' (search, 0 complete)" in message and "(grid, " in message


def test_a_study_of_another_program_is_not_a_reference(storage):
    add_study(storage, "someone-elses", {}, [optuna.trial.TrialState.COMPLETE])
    with pytest.raises(ValueError, match="'someone-elses' in .* is not a study of effnas; search:someone-elses needs"):
        open_reference("someone-elses", "search", storage)


def test_a_long_list_of_studies_is_cut_short(storage):
    for i in range(LISTED + 2):
        add_study(storage, f"grid-extra{i}", {"command": "scaling.grid"})
    with pytest.raises(ValueError) as err:
        open_reference("nope", "search", storage)
    message = str(err.value)
    assert message.endswith(" and 4 more")  # 2 + LISTED + 2 studies, LISTED shown
    assert message.index("(search, ") < message.index("(grid, ")  # the kind asked for comes first


def test_a_missing_or_bad_storage_is_one_line(tmp_path):
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    with pytest.raises(ValueError, match=r"study storage sqlite:///.*none.db does not exist \(no file "):
        open_reference("x", "search", missing)
    assert not (tmp_path / "none.db").exists()  # looking up never creates a storage
    with pytest.raises(ValueError, match="'not-a-url' is not a database URL"):
        open_reference("x", "search", "not-a-url")
    with pytest.raises(ValueError, match="cannot reach study.storage"):
        open_reference("x", "search", "postgresql://nobody@127.0.0.1:9/none")
