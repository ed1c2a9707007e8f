"""What every Hydra entry point shares: bad input as one line and exit status 2, run dirs.

Hydra reports a bad override with several lines and exit status 1; our users get one line
naming the problem and status 2.  So the overrides are composed once up front (cheap, no
side effects); only then does Hydra run the job.  Errors raised by our own code inside the
job (``ValueError``, ``FileNotFoundError``) are turned into the same one line.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
USER_ERRORS = (ValueError, FileNotFoundError)
_HYDRA_FLAGS_WITH_VALUE = {"--config-name", "-cn", "--config-path", "-cp", "--config-dir", "-cd", "--package", "-p"}


class UsageError(ValueError):
    """Bad input a user can fix; reported as one line, exit status 2."""


def fail(prog: str, message: object) -> NoReturn:
    """Print ``prog: error: message`` as one line on stderr and exit with status 2."""
    text = " ".join(str(message).split())
    print(f"{prog}: error: {text}", file=sys.stderr, flush=True)
    sys.exit(2)


def check_overrides(config_name: str, argv: Sequence[str]) -> None:
    """Compose the config with the command line's overrides; raise ``UsageError`` on a bad one.

    Sweeps (``a=1,2`` with ``-m``) are checked with their first value.
    """
    overrides = [a for a in _overrides_only(argv)]
    if not overrides:
        return
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise UsageError(_first_line(err)) from None
    multirun = any(a in ("-m", "--multirun") for a in argv)
    single = []
    for override in parsed:
        text = override.input_line
        if override.is_sweep_override():
            if not multirun:
                key = override.get_key_element()
                raise UsageError(
                    f"ambiguous value in {text!r}: write {key}=[a,b] for a list, {key}='a,b' for a string, or add -m to sweep"
                )
            first = next(iter(override.sweep_string_iterator()))
            text = f"{override.get_key_element()}={first}"
        single.append(text)
    try:
        with initialize_config_dir(str(CONF_DIR), version_base="1.3", job_name="check"):
            compose(config_name, overrides=single, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as err:
        raise UsageError(_first_line(err)) from None


def _overrides_only(argv: Sequence[str]) -> list[str]:
    result, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _HYDRA_FLAGS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            result.append(arg)
    return result


def _first_line(err: BaseException) -> str:
    """Hydra's multi-line message as one line (option lists joined with commas)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    cause = err.__cause__
    if cause is not None and str(cause).strip():
        lines.append(str(cause).strip().splitlines()[0])
    out: list[str] = []
    listing = False
    for line in lines:
        if line.startswith("Config search path"):
            break
        if listing and " " not in line:
            out[-1] += (" " if out[-1].endswith(":") else ", ") + line
            continue
        listing = line.endswith(":")
        out.append(line)
    return "; ".join(out[:4]) or type(err).__name__


def hydra_entry(prog: str, config_name: str, task: Callable[[DictConfig], Any]) -> Callable[[], Any]:
    """Wrap ``task`` as a Hydra app whose bad input is one line and exit status 2."""
    import hydra

    @hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")
    def _app(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except USER_ERRORS as err:
            fail(prog, err)

    @functools.wraps(task)
    def main() -> Any:
        quiet_libraries()
        try:
            check_overrides(config_name, sys.argv[1:])
        except UsageError as err:
            fail(prog, err)
        return _app()

    return main


def quiet_libraries() -> None:
    """Optuna's experimental-feature warnings and INFO logs would drown our own progress lines."""
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


class RunStopped(RuntimeError):
    """A run that cannot go on (e.g. too many failures in a row): outputs are still written."""


def guarded(prog: str, work: Callable[[], None], write_outputs: Callable[[], Any]) -> tuple[Any, int]:
    """Run ``work``; whatever happens, write the outputs. Returns (outputs, exit status).

    Ctrl-C gives status 130 (Optuna has already marked the running trial failed), a
    ``RunStopped`` status 1 with its one-line reason; a second Ctrl-C while the outputs are
    being written is ignored so they are not left half-written.
    """
    import signal

    status = 0
    try:
        work()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; the running trial is marked failed, writing outputs", file=sys.stderr, flush=True)
        status = 130
    except RunStopped as err:
        print(f"{prog}: stopped: {err}", file=sys.stderr, flush=True)
        status = 1
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        outputs = write_outputs()
    finally:
        signal.signal(signal.SIGINT, previous)
    return outputs, status


def run_dir() -> Path:
    """The job's output directory (``hydra.run.dir``, or the sweep's subdir under ``-m``)."""
    return Path(HydraConfig.get().runtime.output_dir)


def to_container(cfg: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
