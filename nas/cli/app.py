"""What every Hydra entry point shares: bad input as one line and exit status 2, typed config, run dirs.

Hydra reports a bad override with several lines and exit status 1; our users get one line
naming the problem and status 2.  So the overrides are composed once up front (cheap, no
side effects); only then does Hydra run the job.  Errors raised by our own code inside the
job (``ValueError``, ``FileNotFoundError``) are turned into the same one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import functools
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
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
        raise UsageError(_hydra_message(err)) from None
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
        raise UsageError(_hydra_message(err)) from None


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


def _hydra_message(err: BaseException) -> str:
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


def hydra_entry(
    prog: str,
    config_name: str,
    task: Callable[[DictConfig], Any],
    resolvers: Mapping[str, Callable[..., Any]] | None = None,
) -> Callable[[], Any]:
    """Wrap ``task`` as a Hydra app whose bad input is one line and exit status 2.

    ``resolvers`` are OmegaConf resolvers the config needs, registered when the command starts.
    """
    import hydra

    @hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")
    def _app(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except USER_ERRORS as err:
            fail(prog, err)
        except KeyboardInterrupt:  # before any work was guarded (e.g. while loading data): nothing to save
            print(f"{prog}: interrupted", file=sys.stderr, flush=True)
            sys.exit(130)

    @functools.wraps(task)
    def main() -> Any:
        quiet_libraries()
        for name, resolver in (resolvers or {}).items():
            if not OmegaConf.has_resolver(name):
                OmegaConf.register_new_resolver(name, resolver)
        _stacks_on_sigusr1()
        try:
            check_overrides(config_name, sys.argv[1:])
        except UsageError as err:
            fail(prog, err)
        return _app()

    return main


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


def run_dir() -> Path:
    """The job's output directory (``hydra.run.dir``, or the sweep's subdir under ``-m``)."""
    return Path(HydraConfig.get().runtime.output_dir)


def to_container(cfg: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def plain(value: Any) -> Any:
    """A config value as plain Python (an OmegaConf list or dict becomes a list or dict)."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def typed(cls: type, section: Mapping[str, Any] | DictConfig, **extra: Any) -> Any:
    """An instance of dataclass ``cls`` from the keys of a config section that it has (plain values)."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = OmegaConf.to_container(section, resolve=True) if isinstance(section, DictConfig) else dict(section)
    return cls(**{k: v for k, v in values.items() if k in names}, **extra)
