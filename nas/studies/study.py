"""Studies: create or resume one (checking it is the same experiment), count and tabulate trials."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from nas.studies.identity import VERSION, VERSION_ATTR, name_form, upgrade

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    directions: list[str],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    identity: Mapping[str, Any],
) -> tuple[optuna.Study, bool]:
    """Create the study, or resume it if ``identity`` (space, objective, ...) matches.

    Returns (study, created).  A mismatch is a ``ValueError`` and leaves the study untouched.
    A new study records ``identity`` key by key, and the identity's version.
    """
    identity = json.loads(json.dumps(identity))  # what the storage would give back
    try:
        existing = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        existing = None
    if existing is not None:
        check_identity(existing, identity, directions)
        return existing, False
    try:
        study = optuna.create_study(
            study_name=name, storage=storage, directions=directions, sampler=sampler, pruner=pruner
        )
    except optuna.exceptions.DuplicatedStudyError:  # another worker created it just now
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
        check_identity(study, identity, directions)
        return study, False
    study.set_user_attr(VERSION_ATTR, VERSION)  # first: a worker reading a half-written identity knows its version
    for key, value in identity.items():
        study.set_user_attr(key, value)
    return study, True


def check_identity(study: optuna.Study, identity: Mapping[str, Any], directions: list[str]) -> None:
    """``ValueError`` naming every field that differs between a stored study (in today's form) and this run."""
    attrs = study.user_attrs
    stored = {k: v for k, v in attrs.items() if k in identity}
    if stored:  # else nothing is recorded yet (another worker is creating the study)
        stored = upgrade(stored, attrs.get(VERSION_ATTR))
    missing = [key for key in identity if key not in stored]
    if missing and study.trials:
        raise ValueError(
            f"study {study.study_name!r} exists but records no {', '.join(missing)}: it was made by another command "
            f"or an older version; {_NEW_STUDY}"
        )
    differ = _differences(stored, {k: v for k, v in identity.items() if k in stored})
    if differ:
        shown = "; ".join(f"{path}: {_short(old)} stored, {_short(new)} now" for path, old, new in differ[:4])
        more = f" (and {len(differ) - 4} more)" if len(differ) > 4 else ""
        raise ValueError(f"study {study.study_name!r} is another experiment: {shown}{more}; {_NEW_STUDY}")
    names = [d.name.lower() for d in study.directions]
    if names != directions:
        raise ValueError(f"study {study.study_name!r} exists with directions {names}, this run needs {directions}")


_NEW_STUDY = "leave study.name unset (each experiment then gets its own study) or choose another study.name"


def _differences(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted path, stored, now) for every leaf where two JSON values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            here = f"{path}.{key}" if path else str(key)
            found += _differences(old.get(key), new.get(key), here)
        return found
    return [] if old == new else [(path, old, new)]


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def experiment_name(command: str, readable: Sequence[Any], identity: Mapping[str, Any]) -> str:
    """``command-readable-parts-hash``: the default study name of one experiment.

    The hash covers the whole identity (in its name form: a field added later leaves the names of
    experiments that do not use it as they were), so two experiments never share a default name and
    the same command on the same data always finds its own study again.
    """
    parts = [re.sub(r"[^A-Za-z0-9_.]+", "_", str(p)).strip("_")[:40] for p in readable]
    hashed = json.dumps(name_form(identity), sort_keys=True, default=str)
    digest = hashlib.sha256(hashed.encode()).hexdigest()[:8]
    return "-".join([command, *[p for p in parts if p], digest])


def count_finished(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def count_started(study: optuna.Study) -> int:
    """Finished trials plus those other workers are running now."""
    return len(study.get_trials(deepcopy=False, states=(*FINISHED, TrialState.RUNNING)))


def last_failure(study: optuna.Study) -> str:
    """The reason recorded by the study's latest failed trial."""
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    return failed[-1].user_attrs.get("reason", "unknown") if failed else "unknown"


def trials_frame(trials: Iterable[FrozenTrial], columns: list[str]) -> pd.DataFrame:
    """One row per trial: number, state, then the named user attributes (NaN where missing)."""
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.name}
        for column in columns:
            value = t.user_attrs.get(column)
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            row[column] = value
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["number", "state", *columns])
    return frame.sort_values("number").reset_index(drop=True)


class StudyCache:
    """Results kept as the study's attributes (e.g. measured latencies): shared by its workers and resumes."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study

    def get(self, key: str) -> Any:
        return self.study.user_attrs.get(key)

    def __setitem__(self, key: str, value: Any) -> None:
        self.study.set_user_attr(key, value)
