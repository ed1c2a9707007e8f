"""Optuna storage and studies: open, create or resume (checking they match), count, tabulate.

The embedded default storage is SQLite under ``runs/`` (``RDBStorage``), not the journal file:
Optuna's ``JournalStorage`` has no heartbeat, so a trial whose worker was killed would stay
RUNNING for ever, while ``RDBStorage`` with a heartbeat marks it failed and retries it in the
next process.  SQLite's file locking lets several processes share one file (with a busy
timeout), and each transaction survives a killed process.  PostgreSQL uses the same code path.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import sqlalchemy
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
DEFAULT_STORAGE = "sqlite:///runs/studies.db"


@dataclass(frozen=True)
class StorageSettings:
    url: str = DEFAULT_STORAGE
    heartbeat_interval: int = 10
    grace_period: int = 30
    max_retry: int = 3


def open_storage(settings: StorageSettings) -> RDBStorage:
    """Open (creating tables if needed) an RDB storage; ``ValueError`` if malformed or unreachable."""
    url = with_driver(settings.url)
    shown = _redact(settings.url)
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise ValueError(
            f"study.storage {url!r} is not a database URL; use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql"):
        raise ValueError(f"study.storage {url!r}: unsupported backend {backend!r}; allowed: sqlite, postgresql, mysql")
    engine_kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 120}}
    else:
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
        _check_reachable(url, shown, engine_kwargs)
    last: BaseException | None = None
    for attempt in range(5):
        try:
            storage = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=settings.heartbeat_interval,
                grace_period=settings.grace_period,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=settings.max_retry),
            )
            if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
                _serialize_sqlite_transactions(storage.engine)
            return storage
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as err:
            # Workers starting together on a new database race to create its tables: SQLite
            # reports a lock, PostgreSQL a duplicate type or table.  The loser retries and finds them.
            last = err
            time.sleep(0.5 * (attempt + 1))
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ModuleNotFoundError) as err:
            last = err
            break
    raise ValueError(f"cannot open study.storage {shown}: {_first_line(last)}") from None


def _serialize_sqlite_transactions(engine: sqlalchemy.engine.Engine) -> None:
    """Make every transaction on ``engine`` take SQLite's write lock when it begins.

    Python's sqlite3 starts a transaction only at the first write, so Optuna's read-then-update
    steps are not atomic across processes: two workers could both read a WAITING trial (the
    enqueued reference, a retried one) and both claim it.  ``BEGIN IMMEDIATE`` makes them take
    turns, as ``SELECT ... FOR UPDATE`` does on PostgreSQL (the busy timeout covers the wait).
    """

    @sqlalchemy.event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin_immediate(connection: sqlalchemy.engine.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while creating the tables predate the hooks


def with_driver(url: str) -> str:
    """``postgresql://`` means psycopg 3 (a dependency) unless a driver is named."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _check_reachable(url: str, shown: str, engine_kwargs: dict[str, Any]) -> None:
    try:
        engine = sqlalchemy.create_engine(url, **engine_kwargs)
        with engine.connect():
            pass
        engine.dispose()
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ModuleNotFoundError) as err:
        raise ValueError(f"cannot reach study.storage {shown}: {_first_line(err)}") from None


def _redact(url: str) -> str:
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


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


def find_result(study: optuna.Study, key_attr: str, key: Any, exclude: int) -> FrozenTrial | None:
    """A trained trial whose user attribute ``key_attr`` equals ``key`` (for dedupe).

    A COMPLETE one is preferred; otherwise one that trained and was pruned (it has ``val_acc``
    and a curve), never one pruned before training (a FLOPs cap, a worker standing down).
    """
    pruned = None
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        if trial.number == exclude or trial.user_attrs.get(key_attr) != key:
            continue
        if trial.state == TrialState.COMPLETE:
            return trial
        if pruned is None and "val_acc" in trial.user_attrs and trial.intermediate_values:
            pruned = trial
    return pruned


def reuse_result(trial: optuna.Trial, previous: FrozenTrial, attrs: Iterable[str]) -> float | tuple[float, ...]:
    """Make ``trial`` a copy of ``previous`` (same candidate): its ``attrs``, its values, or its pruning.

    Training is seeded and deterministic, so training again would repeat the same curve.
    """
    for name in attrs:
        trial.set_user_attr(name, previous.user_attrs.get(name))
    trial.set_user_attr("duplicate_of", previous.number)
    if previous.state == TrialState.PRUNED:
        for step, value in sorted(previous.intermediate_values.items()):
            trial.report(value, step)
        trial.set_user_attr("reason", f"same candidate as pruned trial {previous.number}")
        raise optuna.TrialPruned(f"same candidate as pruned trial {previous.number}")
    values = previous.values
    return values[0] if len(values) == 1 else tuple(values)


def report_epoch(trial: optuna.Trial, epoch: int, epochs: int, val_acc: float) -> bool:
    """Report an epoch's accuracy; True if the pruner stops the trial there.

    The step is the number of epochs trained (``epoch + 1``), so a pruner's ``min_resource=1``
    means one epoch.  The last epoch is never pruned: its result is the trial's value.
    """
    trial.report(val_acc, epoch + 1)
    return epoch + 1 < epochs and trial.should_prune()


def claimed_by(study: optuna.Study, key_attr: str, key: Any, number: int) -> FrozenTrial | None:
    """An earlier RUNNING trial (another worker's) already evaluating the same ``key``.

    Each trial records its key before checking, so of two workers that picked the same
    candidate at once, exactly the later-numbered one sees the other and stands down.
    """
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.number < number and trial.user_attrs.get(key_attr) == key:
            return trial
    return None


def run_trials(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    remaining: Callable[[], int],
    total: int,
    progress: bool = True,
    status: Callable[[], str | None] | None = None,
    check: Callable[[], None] | None = None,
) -> None:
    """Run one trial at a time while ``remaining()`` is positive (other workers count too).

    Optuna's ``optimize`` runs each trial, so heartbeats, FAIL on NaN and FAIL-then-re-raise
    on Ctrl-C behave as everywhere else in Optuna.  ``check`` may raise to stop the run.
    """
    _fail_stale_trials(study)  # a killed worker's trial is failed (and re-queued) before counting
    left = remaining()
    bar = tqdm(total=total, initial=max(0, total - left), unit="trial", disable=not progress, desc=study.study_name)
    try:
        while left > 0:
            study.optimize(objective, n_trials=1, gc_after_trial=False)
            _fail_stale_trials(study)
            left = remaining()
            bar.update(max(0, total - left) - bar.n)
            text = status() if status else None
            if text:
                bar.set_postfix_str(text)
            if check is not None:
                check()
    finally:
        bar.close()


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


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fail_stale_trials(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)
