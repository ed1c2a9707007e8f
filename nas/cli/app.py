"""What every Hydra entry point shares: the schema, typed config, bad input as one line and exit status 2.

Hydra composes the config against the command's schema (``nas.cli.schema``) and refuses an
unknown key or a wrongly typed value itself; this module turns Hydra's multi-line report into one
line.  Errors raised by our own code inside the job (``ValueError``, ``FileNotFoundError``)
become the same one line.  The task receives the config as the schema's objects, never a
``DictConfig``.
"""

from __future__ import annotations

import contextlib
import faulthandler
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nas.cli.overrides import config_error, flags_first, folder_error, infer_workers
from nas.cli.schema import CONF_DIR, typed
from nas.studies.run import Progress, StudyRun

USER_ERRORS = (ValueError, FileNotFoundError)


def fail(prog: str, message: object) -> NoReturn:
    """Print ``prog: error: message`` as one line on stderr and exit with status 2."""
    text = " ".join(str(message).split())
    print(f"{prog}: error: {text}", file=sys.stderr, flush=True)
    sys.exit(2)


def hydra_entry(
    prog: str,
    config_name: str,
    task: Callable[[Any], Any],
    resolvers: Mapping[str, Callable[..., Any]] | None = None,
    workers: bool = False,
) -> Callable[[], Any]:
    """Wrap ``task`` as a Hydra app whose bad input is one line and exit status 2.

    ``task`` gets the composed config as its schema's object (``<config_name>_schema``, registered
    by ``nas.cli.schema`` or ``scaling.schema``).  ``resolvers`` are OmegaConf resolvers the config
    needs; ``workers``: the command has ``worker``/``workers`` settings, and a sweep's worker count
    is filled in when not given.
    """
    import hydra

    started: list[bool] = []  # the job began: an OSError before it is Hydra failing to make the run folder

    @hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")
    def _app(cfg: Any) -> Any:
        quiet_libraries()  # again: a joblib worker process runs this, not main()
        started.append(True)
        try:
            return task(typed(cfg))
        except USER_ERRORS as err:
            fail(prog, err)
        except KeyboardInterrupt:  # before any work was guarded (e.g. while loading data): nothing to save
            print(f"{prog}: interrupted", file=sys.stderr, flush=True)
            sys.exit(130)

    # Registered when the entry module is imported, not in main(): a joblib worker process imports
    # the module to run the job and resolves the config (e.g. the sweep subdir) before calling it.
    for name, resolver in (resolvers or {}).items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)

    @functools.wraps(task)
    def main() -> Any:
        quiet_libraries()
        _stacks_on_sigusr1()
        sys.argv[1:] = flags_first(sys.argv[1:])
        if workers:
            sys.argv[1:] = infer_workers(sys.argv[1:])
        started.clear()
        try:
            with _hydra_raises():
                return _app()
        except (HydraException, OmegaConfBaseException) as err:
            fail(prog, config_error(err))
        except OSError as err:
            if started:
                raise
            fail(prog, folder_error(err))

    return main


@contextlib.contextmanager
def _hydra_raises() -> Iterator[None]:
    """Hydra re-raises what it would print as several lines (the caller says it in one)."""
    previous = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous


def _stacks_on_sigusr1() -> None:
    """``kill -USR1 PID`` prints every thread's stack on stderr: what is a quiet run doing?"""
    with contextlib.suppress(AttributeError, ValueError, OSError):  # no SIGUSR1 (Windows), no real stderr
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)


def quiet_libraries() -> None:
    """Optuna's experimental-feature warnings and INFO logs would drown our own progress lines."""
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def console(prog: str, bar: bool = True) -> Progress:
    """A library run's progress as a command prints it: lines on stdout, why it stopped on stderr."""

    def line(text: str) -> None:
        try:
            print(text, flush=True)
        except BrokenPipeError:  # the reader went away (a killed parent, `| head`): the run goes on unheard
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def stopped(text: str) -> None:
        print(f"{prog}: {text}", file=sys.stderr, flush=True)

    return Progress(line, stopped, bar)


def finish(result: StudyRun) -> dict[str, Any]:
    """A study command's end: its summary, or the exit status of a run that was stopped."""
    if result.status:
        sys.exit(result.status)
    return result.summary


def run_dir() -> Path:
    """The job's output directory (``hydra.run.dir``, or the sweep's subdir under ``-m``)."""
    return Path(HydraConfig.get().runtime.output_dir)
