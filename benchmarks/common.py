"""What the benchmark scripts share: where figures go and what each record says about its making.

Every benchmark writes ``benchmarks/results/<name>.json``: its figures plus the exact command
line, the git commit (``+dirty`` when the work tree had uncommitted changes), the machine and
the time.  Tests point :data:`RESULTS_DIR` (or ``--results-dir``) at a temporary folder.  A
benchmark refuses to start a record for the committed ``benchmarks/results/`` from a work tree
with uncommitted changes; ``--allow-dirty`` lets it, and the record says ``allow_dirty: true``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from nas.cli.app import fail, quiet_libraries
from nas.cli.overrides import config_error
from nas.cli.schema import UsageError
from search_spaces.device import cpu_model

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
COMMITTED_RESULTS = RESULTS_DIR
"""The folder the repository commits records in (tests move :data:`RESULTS_DIR`, never this)."""


def add_record_options(parser: argparse.ArgumentParser, record: str) -> None:
    """``--results-dir`` and ``--allow-dirty``, the options every benchmark's record takes."""
    parser.add_argument("--results-dir", type=Path, help=f"where {record} goes (default benchmarks/results)")
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="record into benchmarks/results from uncommitted code (the record says allow_dirty: true)",
    )


def command_line(module: str, argv: Sequence[str]) -> str:
    """The command as a reader would type it: ``python -m benchmarks.NAME ARGS``."""
    return shlex.join(["python", "-m", module, *argv])


def git_commit(root: Path = ROOT) -> str | None:
    """``git rev-parse --short HEAD``, plus ``+dirty`` if tracked files differ from it; None outside git."""
    try:
        head = _git(root, "rev-parse", "--short", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def code_state(root: Path = ROOT) -> str | None:
    """:func:`git_commit`, plus a hash of the uncommitted changes when dirty: what kept work is keyed by.

    Work kept to be continued (studies, finished searches) must never be continued by other code,
    and ``+dirty`` alone names every uncommitted state alike.
    """
    commit = git_commit(root)
    if commit is None or not commit.endswith("+dirty"):
        return commit
    diff = subprocess.run(["git", "diff", "HEAD"], cwd=root, capture_output=True, check=True).stdout
    return f"{commit}-{hashlib.sha256(diff).hexdigest()[:8]}"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def machine() -> dict[str, Any]:
    """The software and hardware a figure was measured on."""
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): how busy the machine was."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def measurement_start(results_dir: Path | None = None, allow_dirty: bool = False) -> dict[str, Any]:
    """Commit, time and load when a measurement begins: the code measured is what was checked out then.

    A record for the committed results folder is refused here, before anything is measured, when
    tracked files have uncommitted changes, unless ``allow_dirty`` (then the record says so).
    """
    commit = git_commit()
    dirty = commit is not None and commit.endswith("+dirty")
    folder = (results_dir or RESULTS_DIR).resolve()
    if dirty and not allow_dirty and folder == COMMITTED_RESULTS.resolve():
        raise SystemExit(
            f"benchmark: error: the work tree has uncommitted changes ({commit}), and a record in "
            f"{folder} must name the code it measured: commit first, or pass --allow-dirty"
        )
    start = {"commit": commit, "started": now(), "load_start": load_average()}
    return {**start, "allow_dirty": True} if dirty and allow_dirty else start


def provenance(command: str, start: dict[str, Any] | None = None) -> dict[str, Any]:
    """Command, commit, machine, times and load: what a record needs so a reader can rerun and judge it.

    ``start`` is :func:`measurement_start`'s answer from when the measurement began (default: now).
    """
    start = start or measurement_start()
    return {
        "command": command,
        "commit": start["commit"],
        "machine": machine(),
        "started": start["started"],
        "time": now(),
        "load_average": {"start": start["load_start"], "end": load_average()},
        **({"allow_dirty": True} if start.get("allow_dirty") else {}),
    }


def results_path(name: str, results_dir: Path | None = None) -> Path:
    return (results_dir or RESULTS_DIR) / f"{name}.json"


def write_figures(
    name: str,
    figures: dict[str, Any],
    command: str,
    results_dir: Path | None = None,
    start: dict[str, Any] | None = None,
) -> Path:
    """Write ``figures`` with their provenance as ``<results_dir>/<name>.json``; return the path."""
    path = results_path(name, results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**provenance(command, start), **figures}, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def keep(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` whole or not at all: a kill while writing leaves the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, default=str) + "\n")
    os.replace(partial, path)


def kept_with(path: Path | None, kept_as: dict[str, Any]) -> dict[str, Any] | None:
    """What :func:`keep` stored at ``path`` when it was kept with the same ``kept_as`` entries, else None."""
    if path is None or not path.is_file():
        return None
    stored = json.loads(path.read_text())
    same = {k: stored.get(k) for k in kept_as} == json.loads(json.dumps(kept_as, default=str))
    return stored if same else None


def run_benchmark(
    prog: str,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    measure: Callable[[argparse.Namespace], None],
) -> None:
    """The benchmarks' command skeleton: parse, refuse a dirty record before measuring, ``measure(args)``.

    ``args.command`` and ``args.start`` are set for the record; bad input or config is one line and exit 2.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.command = command_line(f"benchmarks.{prog}", argv)
    args.start = measurement_start(args.results_dir, args.allow_dirty)
    quiet_libraries()
    try:
        measure(args)
    except (HydraException, OmegaConfBaseException) as err:
        fail(prog, config_error(err))
    except (UsageError, ValueError, FileNotFoundError) as err:
        fail(prog, err)


@contextlib.contextmanager
def stoppable(argv: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen]:
    """``argv`` from the repository root in its own session; a stop signal to this process is passed on once.

    Ctrl-C or a time limit's SIGTERM reaches a whole process group, and a command's second signal
    stops it at once, without its outputs.  In its own session the child hears the signal only
    through this process, once: it stops at its next safe point and writes its outputs, and this
    process waits for it (rather than dying and leaving it running) before reporting its status.
    """
    with stoppable_all([argv], **popen) as (child,):
        yield child


@contextlib.contextmanager
def stoppable_all(argvs: Sequence[Sequence[str]], **popen: Any) -> Iterator[list[subprocess.Popen]]:
    """:func:`stoppable` for several commands at once: a stop signal reaches each one's process group once.

    A signal heard while they are being started also reaches those started after it; an error
    here (a command that cannot start, a failure while reading them) stops the ones started.
    """
    children: list[subprocess.Popen] = []
    heard: list[int] = []

    def signal_group(child: subprocess.Popen, signum: int) -> None:
        if child.poll() is None:  # the group: a make or a launcher passes nothing on to its own children
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signum)

    def forward(signum: int, _frame: Any) -> None:
        heard.append(signum)
        for child in children:
            signal_group(child, signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with contextlib.ExitStack() as stack:  # leaving waits for each child
            try:
                for argv in argvs:
                    child = stack.enter_context(subprocess.Popen(list(argv), cwd=ROOT, start_new_session=True, **popen))
                    children.append(child)
                    for signum in heard[:1]:  # started after the stop: it hears it too, once
                        signal_group(child, signum)
                yield children
            except BaseException:
                for child in children:
                    signal_group(child, signal.SIGTERM)
                raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
