"""What every Hydra entry point shares: bad input as one line and exit status 2, typed config, run dirs.

The overrides are checked before Hydra runs the job (``nas.cli.overrides``); errors raised by
our own code inside the job (``ValueError``, ``FileNotFoundError``) become the same one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import faulthandler
import functools
import re
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf

from nas.cli.overrides import CONF_DIR, UsageError, check_overrides, infer_workers
from search_spaces.spec import split_scheme

USER_ERRORS = (ValueError, FileNotFoundError)


def fail(prog: str, message: object) -> NoReturn:
    """Print ``prog: error: message`` as one line on stderr and exit with status 2."""
    text = " ".join(str(message).split())
    print(f"{prog}: error: {text}", file=sys.stderr, flush=True)
    sys.exit(2)


def hydra_entry(
    prog: str,
    config_name: str,
    task: Callable[[DictConfig], Any],
    resolvers: Mapping[str, Callable[..., Any]] | None = None,
    workers: bool = False,
) -> Callable[[], Any]:
    """Wrap ``task`` as a Hydra app whose bad input is one line and exit status 2.

    ``resolvers`` are OmegaConf resolvers the config needs; ``workers``: the command has
    ``worker``/``workers`` settings, and a sweep's worker count is filled in when not given.
    """
    import hydra

    @hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")
    def _app(cfg: DictConfig) -> Any:
        quiet_libraries()  # again: a joblib worker process runs this, not main()
        try:
            return task(cfg)
        except USER_ERRORS as err:
            fail(prog, err)
        except KeyboardInterrupt:  # before any work was guarded (e.g. while loading data): nothing to save
            print(f"{prog}: interrupted", file=sys.stderr, flush=True)
            sys.exit(130)

    # Registered when the entry module is imported, not in main(): a joblib worker process imports
    # the module to run the job and resolves the config (e.g. the sweep subdir) before calling it.
    for name, resolver in {"slug": slug, **(resolvers or {})}.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)

    @functools.wraps(task)
    def main() -> Any:
        quiet_libraries()
        _stacks_on_sigusr1()
        if workers:
            sys.argv[1:] = infer_workers(sys.argv[1:])
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


def slug(value: Any) -> str:
    """A path-friendly form of a SPEC, for run directories (a file path becomes its stem).

    ``search:STUDY`` becomes ``search-STUDY``, or just ``STUDY`` when that already starts with ``search-``.
    """
    text = str(value)
    scheme = split_scheme(text)
    if scheme is not None and not Path(text).exists():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", scheme[1])
        return (name if name.startswith(f"{scheme[0]}-") else f"{scheme[0]}-{name}")[:80]
    if "/" in text or text.endswith((".yaml", ".yml", ".json")):
        text = Path(text).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:60]


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


def proxy_task(cfg: DictConfig, proxy: DictConfig | None = None) -> dict[str, Any]:
    """The proxy task a study command's config sets: ``proxy``, ``sizes``, ``target``, ``dataset``, ``seed``.

    ``proxy``: the proxy section when it is not ``cfg.proxy`` (the pipeline's ``search.proxy``, ...).
    """
    from nas.proxy.data import DataSizes
    from nas.proxy.datasets import DatasetSpec
    from nas.proxy.recipe import ProxyConfig
    from search_spaces.cost import Target

    return {
        "proxy": typed(ProxyConfig, cfg.proxy if proxy is None else proxy),
        "sizes": typed(DataSizes, cfg.proxy if proxy is None else proxy),
        "target": typed(Target, cfg.target),
        "dataset": typed(DatasetSpec, cfg.dataset),
        "seed": cfg.seed,
    }


def scaled_latency(cfg: DictConfig) -> Any:
    """The scaling commands' ``latency`` switch: where each model is timed (``target.*``), or None when off."""
    from search_spaces.latency.measure import LatencySettings

    return typed(LatencySettings, cfg.target) if cfg.latency else None
