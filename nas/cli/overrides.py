"""What Hydra cannot say in one line or at all: its errors as one line, a sweep's worker count, a run folder.

Hydra checks the command line against the schema and reports a problem over several lines with
exit status 1 (the config search path, a hint to set HYDRA_FULL_ERROR); our users get one line
naming the problem and what is allowed.  Two things Hydra does not do are here too: a sweep over
``worker`` tells each worker how many there are, and a run folder that cannot be created is
named, instead of Hydra's traceback.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from nas.cli.schema import unknown_setting

_HYDRA_FLAGS_WITH_VALUE = {
    "--config-name", "-cn", "--config-path", "-cp", "--config-dir", "-cd", "--package", "-p", "--cfg", "-c",
    "--experimental-rerun",
}  # fmt: skip
_INFO = ("--info", "-i")
_INFO_TOPICS = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}


def config_error(err: BaseException) -> str:
    """Hydra's (or OmegaConf's) report of a bad command line or config, as one line."""
    cause = err.__cause__ if err.__cause__ is not None else err
    key = getattr(cause, "full_key", None)
    schema = getattr(cause, "object_type", None)
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and key and dataclasses.is_dataclass(schema):
        return unknown_setting(str(key), [f.name for f in dataclasses.fields(schema)])
    if isinstance(cause, ValidationError) and key:
        return f"{key}: {str(cause).splitlines()[0]}"
    return _hydra_message(err)


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


def folder_error(err: OSError) -> str:
    """Why the run folder Hydra tried to make (``err.filename``) cannot be made."""
    path = Path(str(err.filename or "."))
    ancestor = path.absolute()
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"output folder {path} cannot be created: {ancestor} is not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"output folder {path} is not writable: {ancestor} is read-only for this user"
    return f"output folder {path} cannot be created: {err.strerror or err}"


def flags_first(argv: Sequence[str]) -> list[str]:
    """Hydra's flags (with their values) first, then the overrides in their order.

    Hydra's parser takes the overrides in one run: ``a=1 -m b=2`` would leave ``b=2`` unread
    ("unrecognized arguments"); the documentation lets ``-m`` and ``--phi`` stand anywhere.
    """
    flags, overrides = _split(argv)
    return flags + overrides


def overrides_only(argv: Sequence[str]) -> list[str]:
    """The ``key=value`` overrides of a command line (Hydra's flags and their values left out)."""
    return _split(argv)[1]


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    flags, overrides, i = [], [], 0
    while i < len(argv):
        arg, following = argv[i], argv[i + 1] if i + 1 < len(argv) else None
        takes_value = arg in _HYDRA_FLAGS_WITH_VALUE or (arg in _INFO and following in _INFO_TOPICS)
        if takes_value and following is not None:
            flags += [arg, following]
            i += 2
            continue
        (flags if arg.startswith("-") else overrides).append(arg)
        i += 1
    return flags, overrides


def infer_workers(argv: Sequence[str]) -> list[str]:
    """The command line with ``workers=N`` added when a sweep starts N workers and ``workers`` is not given.

    N is the number of swept ``worker`` values (``worker=0,1,2,3``, ``worker=range(8)``), else the
    joblib launcher's ``n_jobs``.  An explicit ``workers=`` wins; a bad line is left for Hydra to report.
    """
    argv = list(argv)
    if not any(a in ("-m", "--multirun") for a in argv):
        return argv
    try:
        parsed = OverridesParser.create().parse_overrides(overrides_only(argv))
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
