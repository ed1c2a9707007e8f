"""Optuna storage: open (creating tables, surviving races), and one lock for creating trials.

The embedded default storage is SQLite under ``runs/`` (``RDBStorage``), not the journal file:
Optuna's ``JournalStorage`` has no heartbeat, so a trial whose worker was killed would stay
RUNNING for ever, while ``RDBStorage`` with a heartbeat marks it failed and retries it in the
next process.  SQLite's file locking lets several processes share one file (with a busy
timeout), and each transaction survives a killed process.  PostgreSQL uses the same code path.
"""

from __future__ import annotations

import fcntl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
from optuna.storages import BaseStorage, InMemoryStorage, RDBStorage, RetryHeartbeatStaleTrialCallback

DEFAULT_STORAGE = "sqlite:///runs/studies.db"
MEMORY = "memory"
"""A storage that lives as long as this process (what the Python API uses unless given one): nothing is written."""


@dataclass(frozen=True)
class StudySettings:
    """The ``study`` settings: which study, in which storage, and how a killed worker's trial is noticed."""

    name: str | None = None  # None: the experiment's own default name (readable parts + a hash of its identity)
    storage: str = DEFAULT_STORAGE  # sqlite:///PATH, postgresql://USER@HOST:PORT/DB for many machines, or memory
    heartbeat_interval: int = 10  # seconds between a running trial's heartbeats
    grace_period: int = 30  # a RUNNING trial without heartbeat for this long is failed and retried
    max_retry: int = 3  # retries of a trial whose worker died


def open_storage(settings: StudySettings) -> BaseStorage:
    """Open (creating tables if needed) an RDB storage, or one in memory; ``ValueError`` if malformed or unreachable."""
    if settings.storage == MEMORY:
        return InMemoryStorage()
    url = with_driver(settings.storage)
    shown = _redact(settings.storage)
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
    raise ValueError(f"cannot open study.storage {shown}: {error_line(last)}") from None


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
        raise ValueError(f"cannot reach study.storage {shown}: {error_line(err)}") from None


def _redact(url: str) -> str:
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def error_line(err: BaseException) -> str:
    """A database error's first line (the driver's own message when there is one)."""
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


_LOCAL_LOCKS: dict[str, threading.Lock] = {}


class TrialCreationLock:
    """Held by one worker of a study at a time while it counts the trials and creates the next.

    Counting ("are trials still missing?") and creating a trial are two storage calls; two
    workers racing for the last slot would both see it free and both create a trial.  This lock
    makes the pair atomic across workers: a ``flock`` beside a SQLite file (SQLite is shared by
    processes on one machine), a PostgreSQL advisory lock or a MySQL named lock on the database
    itself, and a process-wide lock for in-memory storage.  ``release`` may be called twice.
    """

    def __init__(self, storage: BaseStorage | None, study_name: str) -> None:
        self.study_name = study_name
        self._key = zlib.crc32(study_name.encode())  # a 32-bit key, as both advisory APIs accept
        self._engine = storage.engine if isinstance(storage, RDBStorage) else None
        backend = self._engine.url.get_backend_name() if self._engine is not None else "memory"
        database = self._engine.url.database if self._engine is not None else None
        self._path = f"{database}.lock" if backend == "sqlite" and database not in (None, "", ":memory:") else None
        self._backend = backend
        self._release: Callable[[], None] | None = None

    def acquire(self) -> None:
        if self._path is not None:
            handle = open(self._path, "a")  # noqa: SIM115  (held until release)
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._release = handle.close  # closing the file drops its flock
        elif self._backend in ("postgresql", "mysql"):
            self._release = self._lock_database()
        else:
            lock = _LOCAL_LOCKS.setdefault(self.study_name, threading.Lock())
            lock.acquire()
            self._release = lock.release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def _lock_database(self) -> Callable[[], None]:
        """Take the database's named lock on a connection of its own; returns how to give it back."""
        postgres = self._backend == "postgresql"
        key = self._key if postgres else str(self._key)
        connection = self._engine.connect()
        lock, unlock = (
            ("SELECT pg_advisory_lock(:k)", "SELECT pg_advisory_unlock(:k)")
            if postgres
            else ("SELECT GET_LOCK(:k, -1)", "SELECT RELEASE_LOCK(:k)")
        )
        connection.execute(sqlalchemy.text(lock), {"k": key})

        def release() -> None:
            connection.execute(sqlalchemy.text(unlock), {"k": key})
            connection.close()

        return release
