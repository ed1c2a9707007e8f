"""Stopping a long run cleanly on Ctrl-C (SIGINT) or a scheduler's SIGTERM.

Python's default SIGINT handler raises ``KeyboardInterrupt`` wherever the main thread happens
to be, storage code included: an exception landing inside a database transaction or the pool's
bookkeeping can leave a connection holding SQLite's write lock, and the heartbeat thread then
waits on that lock while the run looks deaf to Ctrl-C.  Inside :func:`stop_requests` a signal
only records the request; the run raises :class:`StopRequested` at the next safe point (a
training step, between trials), outside any storage call.  A second signal stops at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
INTERRUPTED = 130  # the shell's status for SIGINT; StopRequested.status gives 143 for SIGTERM
_requested: list[int] = []


class RunStopped(RuntimeError):
    """A run that cannot go on (e.g. too many failures in a row): outputs are still written."""


class StopRequested(KeyboardInterrupt):
    """A stop signal arrived; ``status`` is the shell's exit status for it (130, 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def status(self) -> int:
        return 128 + self.signum


def check_stop() -> None:
    """Raise :class:`StopRequested` if a stop signal has arrived (a safe point to stop at)."""
    if _requested:
        raise StopRequested(_requested[0])


def _request(signum: int, _frame: FrameType | None) -> None:
    if _requested:
        raise StopRequested(_requested[0])  # asked twice: stop now, wherever we are
    _requested.append(signum)


@contextmanager
def stop_requests() -> Iterator[None]:
    """Within this block, SIGINT and SIGTERM request a stop at the next :func:`check_stop`.

    The handlers are set whatever the process inherited: a job started in the background by a
    non-interactive shell inherits SIGINT *ignored*, and Python then never raises
    ``KeyboardInterrupt`` (that is how a Ctrl-C test once hung in a backgrounded suite).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. joblib's threads)
        return
    _requested.clear()
    previous = {s: signal.signal(s, _request) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def ignore_stop_signals() -> None:
    """From now until :func:`stop_requests` ends, ignore SIGINT and SIGTERM (outputs are being written)."""
    if threading.current_thread() is threading.main_thread():
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)


def guarded(
    work: Callable[[], None],
    write_outputs: Callable[[], Any],
    on_stop: str = "the running trial is marked failed and queued again",
    tell: Callable[[str], None] = lambda text: None,
) -> tuple[Any, int]:
    """Run ``work``; whatever happens, write the outputs. Returns (outputs, exit status).

    Ctrl-C (SIGINT) gives status 130 and SIGTERM 143 (what SLURM sends at a time limit or on
    preemption), each after ``work`` stopped at a safe point; a ``RunStopped`` gives status 1.
    ``tell`` hears why, before the outputs are written.  Further signals while they are written
    are ignored, so they are never left half-written.
    """
    status = 0
    with stop_requests():
        try:
            work()
        except KeyboardInterrupt as err:
            status = err.status if isinstance(err, StopRequested) else INTERRUPTED
            name = "SIGTERM" if status == 143 else "Ctrl-C"
            tell(f"interrupted ({name}); {on_stop}; writing outputs")
        except RunStopped as err:
            tell(f"stopped: {err}")
            status = 1
        ignore_stop_signals()
        outputs = write_outputs()
    return outputs, status
