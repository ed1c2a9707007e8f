"""Studies named on a command line (``search:STUDY``, ``grid:STUDY``): found in a storage, or a one-line error.

A reference must name a study of the right kind with at least one complete trial; anything else
is a ``ValueError`` that lists the studies the storage does hold, so the user can pick one.
A study's kind is the command its identity records (``nas.search`` -> search, ``scaling.grid`` ->
grid), or, for a study without one, its default name's prefix (``search-…``, ``grid-…``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy
from optuna.trial import TrialState

from nas.studies.storage import DEFAULT_STORAGE, StudySettings, open_storage, with_driver

NAMED_KINDS = ("search", "grid")
"""Kinds a study without a recorded command is recognised by, from its default name's prefix."""

LISTED = 6
"""How many studies an error lists before saying how many more there are."""


@dataclass(frozen=True)
class StudyEntry:
    """One study of a storage, as an error lists it."""

    name: str
    kind: str  # search, grid, compare, ... or unknown
    complete: int

    def describe(self) -> str:
        return f"{self.name!r} ({self.kind}, {self.complete} complete)"


def study_kind(name: str, user_attrs: dict[str, object]) -> str:
    """``search``, ``grid``, ...: the command the study records (``nas.search``), else its name's prefix."""
    command = user_attrs.get("command")
    if isinstance(command, str):
        return command.rsplit(".", 1)[-1]
    prefix = name.split("-", 1)[0]
    return prefix if prefix in NAMED_KINDS else "unknown"


def open_reference(name: str, kind: str, storage: str | None = None) -> optuna.Study:
    """The study ``name`` of ``kind`` in ``storage`` (None: the default), with at least one complete trial."""
    url = storage or DEFAULT_STORAGE
    with warnings.catch_warnings():  # a lookup has no use for the heartbeat's experimental-feature warnings
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        opened = open_storage(StudySettings(storage=_existing(url)))
    shown = _redact(url)
    studies = {s.study_name: s for s in opened.get_all_studies()}
    if name not in studies:
        raise ValueError(f"no study {name!r} in {shown}; {_listing(opened, kind)}")
    found = study_kind(name, studies[name].user_attrs)
    if found != kind:
        what = f"a {found} study" if found != "unknown" else "not a study of effnas"
        raise ValueError(
            f"study {name!r} in {shown} is {what}; {kind}:{name} needs a {kind} study; {_listing(opened, kind)}"
        )
    study = optuna.load_study(study_name=name, storage=opened)
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        counts = ", ".join(f"{n} {state}" for state, n in _state_counts(study).items()) or "no trials"
        raise ValueError(
            f"{kind} study {name!r} in {shown} has no complete trial yet ({counts}); run it further, "
            f"or choose another: {_listing(opened, kind)}"
        )
    return study


def _existing(url: str) -> str:
    """``url``, unless it is a SQLite file that does not exist (opening it would create an empty one)."""
    try:
        parsed = sqlalchemy.engine.make_url(with_driver(url))
    except sqlalchemy.exc.ArgumentError:
        return url  # open_storage says what is wrong with it
    database = parsed.database
    local = parsed.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    if local and not Path(database).expanduser().is_file():
        raise ValueError(
            f"study storage {url} does not exist (no file {database}): run python -m nas.search or "
            "python -m scaling.grid first, or name the storage that holds the study"
        )
    return url


def _listing(storage: optuna.storages.BaseStorage, kind: str) -> str:
    """``studies there: 'a' (search, 3 complete), …`` with the studies of ``kind`` first."""
    studies = storage.get_all_studies()
    if not studies:
        return "the storage holds no study yet"
    ordered = sorted(studies, key=lambda s: study_kind(s.study_name, s.user_attrs) != kind)
    shown = []
    for study in ordered[:LISTED]:
        complete = storage.get_n_trials(storage.get_study_id_from_name(study.study_name), state=TrialState.COMPLETE)
        entry = StudyEntry(study.study_name, study_kind(study.study_name, study.user_attrs), complete)
        shown.append(entry.describe())
    more = f" and {len(studies) - LISTED} more" if len(studies) > LISTED else ""
    return f"studies there: {', '.join(shown)}{more}"


def _state_counts(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        state = trial.state.name.lower()
        counts[state] = counts.get(state, 0) + 1
    return counts


def _redact(url: str) -> str:
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url
