"""Studies: create or resume one (checking it is the same experiment), count and tabulate trials."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

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
    for key, value in identity.items():
        study.set_user_attr(key, value)
    return study, True


def check_identity(study: optuna.Study, identity: Mapping[str, Any], directions: list[str]) -> None:
    """``ValueError`` naming what differs between a stored study and this run."""
    stored = study.user_attrs
    for key, value in identity.items():
        if key in stored and stored[key] != value:
            raise ValueError(
                f"study {study.study_name!r} exists with a different {key} ({_short(stored[key])} vs {_short(value)}); "
                "choose another study.name or delete that study"
            )
        if key not in stored and study.trials:
            raise ValueError(f"study {study.study_name!r} exists but was not made by this command (no {key} recorded)")
    names = [d.name.lower() for d in study.directions]
    if names != directions:
        raise ValueError(f"study {study.study_name!r} exists with directions {names}, this run needs {directions}")


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


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
