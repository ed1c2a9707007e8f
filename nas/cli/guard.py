"""Run the work, then write the outputs whatever happened: the exit status says what that was."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from nas.proxy.stopping import RunStopped, StopRequested, ignore_stop_signals, stop_requests

INTERRUPTED = 130  # the shell's status for SIGINT; StopRequested.status gives 143 for SIGTERM


def guarded(
    prog: str,
    work: Callable[[], None],
    write_outputs: Callable[[], Any],
    on_stop: str = "the running trial is marked failed and queued again",
) -> tuple[Any, int]:
    """Run ``work``; whatever happens, write the outputs. Returns (outputs, exit status).

    Ctrl-C (SIGINT) gives status 130 and SIGTERM 143 (what SLURM sends at a time limit or on
    preemption), each after ``work`` stopped at a safe point; a ``RunStopped`` gives status 1
    with its one-line reason.  Further signals while the outputs are written are ignored, so
    they are never left half-written.
    """
    status = 0
    with stop_requests():
        try:
            work()
        except KeyboardInterrupt as err:
            status = err.status if isinstance(err, StopRequested) else INTERRUPTED
            name = "SIGTERM" if status == 143 else "Ctrl-C"
            print(f"{prog}: interrupted ({name}); {on_stop}; writing outputs", file=sys.stderr, flush=True)
        except RunStopped as err:
            print(f"{prog}: stopped: {err}", file=sys.stderr, flush=True)
            status = 1
        ignore_stop_signals()
        outputs = write_outputs()
    return outputs, status
