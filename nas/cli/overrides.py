"""A command line's Hydra overrides, checked up front: one line naming the problem, never a traceback.

Hydra reports a bad override with several lines and exit status 1; our users get one line
naming the problem and what is allowed.  So the overrides are composed once up front (cheap,
no side effects); only then does Hydra run the job.
"""

from __future__ import annotations

import difflib
import importlib.resources
import os
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


def _conf_dir() -> Path:
    """``conf/`` beside the packages in a source checkout, else the installed package ``effnas_conf``."""
    source = Path(__file__).resolve().parents[2] / "conf"
    if (source / "search.yaml").is_file():
        return source
    return Path(str(importlib.resources.files("effnas_conf")))


CONF_DIR = _conf_dir()
_HYDRA_FLAGS_WITH_VALUE = {
    "--config-name", "-cn", "--config-path", "-cp", "--config-dir", "-cd", "--package", "-p", "--cfg", "-c",
}  # fmt: skip


class UsageError(ValueError):
    """Bad input a user can fix; reported as one line, exit status 2."""


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
        cfg = _compose(config_name, single)
    except (HydraException, OmegaConfBaseException) as err:
        raise UsageError(_unknown_key(config_name, parsed) or _hydra_message(err)) from None
    run_dir = None if multirun else _run_dir(cfg)
    if run_dir is not None:  # Hydra creates it before the job runs, and reports failing to as a traceback
        check_writable_folder(run_dir)


def _compose(config_name: str, overrides: list[str]) -> DictConfig:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3", job_name="check"):
        return compose(config_name, overrides=overrides, return_hydra_config=True)


def _unknown_key(config_name: str, parsed: list[Override]) -> str | None:
    """If an override sets a key the config does not have, say so and list the keys that exist."""
    groups = [o.input_line for o in parsed if "." not in o.get_key_element() and not o.is_sweep_override()]
    try:
        cfg = _compose(config_name, groups)
    except (HydraException, OmegaConfBaseException):
        return None
    for override in parsed:
        key = override.get_key_element()
        if key.startswith(("+", "~", "hydra.")) or "." not in key or OmegaConf.select(cfg, key) is not None:
            continue
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent)
        if not isinstance(node, DictConfig) or leaf in node:
            continue
        close = difflib.get_close_matches(leaf, list(node), n=1)
        hint = f"did you mean {parent}.{close[0]}? " if close else ""
        return f"unknown setting {key!r}: {hint}{parent} has: {', '.join(map(str, node))}"
    return None


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


def infer_workers(argv: Sequence[str]) -> list[str]:
    """The command line with ``workers=N`` added when a sweep starts N workers and ``workers`` is not given.

    N is the number of swept ``worker`` values (``worker=0,1,2,3``, ``worker=range(8)``), else the
    joblib launcher's ``n_jobs``.  An explicit ``workers=`` wins; a bad line is left for
    :func:`check_overrides` to report.
    """
    argv = list(argv)
    overrides = _overrides_only(argv)
    if not any(a in ("-m", "--multirun") for a in argv):
        return argv
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return argv
    keys = {o.get_key_element().lstrip("+~"): o for o in parsed}
    if "workers" in keys:
        return argv
    worker = keys.get("worker")
    if worker is not None and worker.is_sweep_override():
        return [*argv, f"workers={len(list(worker.sweep_string_iterator()))}"]
    launcher, n_jobs = keys.get("hydra/launcher"), keys.get("hydra.launcher.n_jobs")
    if launcher is not None and launcher.value() == "joblib" and n_jobs is not None and not n_jobs.is_sweep_override():
        return [*argv, f"workers={n_jobs.value()}"]
    return argv


def _run_dir(cfg: DictConfig) -> Path | None:
    """The run directory Hydra will create (None when it does not resolve here).

    Resolved before Hydra runs (a ``${now:...}`` part may differ by a second): enough to tell whether
    the folder can be created at all.
    """
    try:
        return Path(str(OmegaConf.select(cfg, "hydra.run.dir", throw_on_resolution_failure=True))).expanduser()
    except (HydraException, OmegaConfBaseException, ValueError):
        return None


def check_writable_folder(path: Path) -> None:
    """``UsageError`` when ``path`` cannot be created or written: its nearest existing ancestor is a file or read-only."""
    ancestor = path.absolute()
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"output folder {path} cannot be created: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {path} is not writable: {ancestor} is read-only for this user")
