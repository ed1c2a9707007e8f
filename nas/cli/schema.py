"""The commands' config schema: one dataclass per config group, registered in Hydra's ConfigStore.

Each section of a command's config is the library's own settings dataclass (``dataset``:
:class:`~nas.proxy.datasets.DatasetSpec`, ``proxy``: :class:`~nas.proxy.recipe.ProxyConfig`,
``target``: :class:`~search_spaces.cost.Target`, ``objective``: :class:`~nas.search.objective.Reward`,
``search``: :class:`~nas.search.settings.SearchSettings`, ``study``:
:class:`~nas.studies.storage.StudySettings`, ...); a command's schema is the settings its library
call takes plus the command's own fields (the SPEC it is given, device, threads, progress).  The
YAML files under ``conf/`` are presets over these schemas, so Hydra itself refuses a key the
schema does not have, and a value of the wrong type.  :func:`typed` turns the composed config into
the schema's objects, once, at the edge.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from nas.deploy.export import ExportSettings, NetworkSettings
from nas.proxy.task import TaskConfig
from nas.screening.pool import PrescreenSettings
from nas.search.settings import SearchConfig
from nas.studies.storage import StudySettings
from nas.studies.workers import WorkerSettings
from nas.supernet.settings import SupernetSettings
from search_spaces.spec import split_scheme

TRAIN_MODES = ("proxy", "final")


def _conf_dir() -> Path:
    """``conf/`` beside the packages in a source checkout, else the installed package ``effnas_conf``."""
    source = Path(__file__).resolve().parents[2] / "conf"
    if (source / "search.yaml").is_file():
        return source
    return Path(str(importlib.resources.files("effnas_conf")))


CONF_DIR = _conf_dir()


class UsageError(ValueError):
    """Bad input a user can fix; reported as one line, exit status 2."""


@dataclass(frozen=True)
class Space:
    """``space``: the reference genotype the MnasNet space is built around (a SPEC)."""

    reference: str = "efficientnet_b0"


@dataclass(frozen=True)
class OnDevice:
    """What every command that trains or scores has: where it runs, and whether it draws progress bars."""

    device: str = "auto"  # auto (CUDA when present; worker i takes GPU i mod count), cpu, cuda, cuda:N
    threads: int | None = None  # CPU threads (None: all cores, split between local workers)
    progress: bool = True


@dataclass(frozen=True)
class SharedStudy(OnDevice):
    """What every study command has: the study, and this worker's place among those sharing it."""

    study: StudySettings = field(default_factory=StudySettings)
    worker: int = 0  # this worker's index among `workers` on one study
    workers: int | None = None  # None: 1, or the sweep's count (worker=0,1,2,3 or joblib's n_jobs)

    def worker_settings(self) -> WorkerSettings:
        return WorkerSettings(self.device, self.threads, self.worker, 1 if self.workers is None else self.workers)


@dataclass(frozen=True)
class SearchCommand(SearchConfig, SharedStudy):
    """``python -m nas.search`` (conf/search.yaml)."""

    space: Space = field(default_factory=Space)


@dataclass(frozen=True)
class TrainMode:
    """``train``: the proxy task's quick score, or final training (``train=final``) with its resume."""

    mode: str = "proxy"
    resume: bool = False

    def __post_init__(self) -> None:
        if self.mode not in TRAIN_MODES:
            raise ValueError(f"train.mode must be one of {', '.join(TRAIN_MODES)}, got {self.mode!r}")


@dataclass(frozen=True)
class TrainCommand(TaskConfig, OnDevice):
    """``python -m nas.train`` (conf/train.yaml)."""

    model: str = "efficientnet_b0"
    train: TrainMode = field(default_factory=TrainMode)
    study: StudySettings = field(default_factory=StudySettings)


@dataclass(frozen=True)
class PrescreenCommand(TaskConfig, OnDevice):
    """``python -m nas.prescreen`` (conf/prescreen.yaml)."""

    space: Space = field(default_factory=Space)
    study: StudySettings = field(default_factory=StudySettings)
    prescreen: PrescreenSettings = field(default_factory=PrescreenSettings)
    # One thread: scoring is small batches and Python, which more threads barely speed up on an
    # idle machine and slow down many times over on a busy one (benchmarks/results/threads.json).
    threads: int | None = 1


@dataclass(frozen=True)
class SupernetCommand(TaskConfig, OnDevice):
    """``python -m nas.supernet`` (conf/supernet.yaml)."""

    space: Space = field(default_factory=Space)
    study: StudySettings = field(default_factory=StudySettings)
    supernet: SupernetSettings = field(default_factory=SupernetSettings)
    checkpoint: str | None = None  # null: the supernet of these settings in supernet.store (trained or continued)


@dataclass(frozen=True)
class ExportCommand(ExportSettings, NetworkSettings):
    """``python -m nas.export`` (conf/export.yaml)."""

    model: str | None = None
    checkpoint: str | None = None
    study: StudySettings = field(default_factory=StudySettings)


def store_schema(config_name: str, schema: type) -> None:
    """Register ``schema`` as ``<config_name>_schema``, the first entry of that config's defaults list.

    Frozen dataclasses become read-only nodes, and Hydra must merge the presets and the command
    line into them: the nodes are made writable (the objects :func:`typed` makes stay frozen).
    """
    node = OmegaConf.structured(schema)
    _writable(node)
    ConfigStore.instance().store(name=f"{config_name}_schema", node=node)


def _writable(node: DictConfig) -> None:
    OmegaConf.set_readonly(node, None)
    for key in node:
        child = node[key]
        if isinstance(child, DictConfig):
            _writable(child)


def typed(cfg: DictConfig) -> Any:
    """The composed config as its schema's objects (their own checks run here: ``ValueError`` on bad values)."""
    _refuse_added_keys(cfg, "")
    return OmegaConf.to_object(cfg)


def _refuse_added_keys(node: DictConfig, path: str) -> None:
    """Hydra lets ``+section.key=...`` add a key the schema lacks; the schema's object could not hold it."""
    schema = OmegaConf.get_type(node)
    names = [f.name for f in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else None
    for key in node:
        here = f"{path}.{key}" if path else str(key)
        if names is not None and key not in names:
            raise UsageError(unknown_setting(here, names))
        child = node[key]
        if isinstance(child, DictConfig):
            _refuse_added_keys(child, here)


def composed(config_name: str, overrides: Sequence[str] = ()) -> Any:
    """A command's config as that command sees it (its schema's objects), for scripts and tests."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return typed(compose(config_name, overrides=list(overrides)))


def unknown_setting(key: str, names: list[str]) -> str:
    """``unknown setting 'a.b': did you mean a.c? a has: ...`` (the keys of the section that was meant)."""
    parent, _, leaf = key.rpartition(".")
    close = difflib.get_close_matches(leaf, names, n=1)
    where = parent or "the config"
    hint = f"did you mean {parent + '.' if parent else ''}{close[0]}? " if close else ""
    return f"unknown setting {key!r}: {hint}{where} has: {', '.join(names)}"


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


if not OmegaConf.has_resolver("slug"):  # the run folders' names: ${slug:${space.reference}}
    OmegaConf.register_new_resolver("slug", slug)
for _name, _schema in (
    ("search", SearchCommand),
    ("train", TrainCommand),
    ("prescreen", PrescreenCommand),
    ("supernet", SupernetCommand),
    ("export", ExportCommand),
):
    store_schema(_name, _schema)
