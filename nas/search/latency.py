"""Latency in the search: measured once per study and device (cached in its storage), or predicted.

``objective.latency=measured`` times each candidate on ``target.device``
(:mod:`search_spaces.latency.measure`); the result is kept as a study attribute keyed by the
genotype, input, device, threads, batch and torch version, so workers and resumes never time one
genotype twice.  ``predicted`` sums the space's lookup table (:mod:`search_spaces.latency.table`),
built on first use and kept under ``runs/latency/``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import optuna

from nas.studies.study import StudyCache
from search_spaces.cost import Target
from search_spaces.genotype import Genotype
from search_spaces.latency.measure import Latency, LatencyMeter
from search_spaces.latency.table import LatencyTable, build_table, default_table_path
from search_spaces.mnasnet import MnasNetSpace

log = logging.getLogger(__name__)
TABLE_ROOT = Path("runs/latency")
LATENCY_COLUMNS = ["latency_ms", "latency_iqr_ms"]


def existing_table(space: MnasNetSpace, target: Target, path: str | None) -> tuple[LatencyTable | None, Path]:
    """The lookup table at ``path`` (None: the default one) checked for this space and device, or None if absent."""
    file = Path(path) if path is not None else default_table_path(space, target, TABLE_ROOT)
    if not file.exists():
        return None, file
    table = LatencyTable.load(file)
    table.check(space, target, file)
    return table, file


class LatencyCost:
    """A genotype's latency as the search uses it: the meter's measurement or the table's prediction."""

    def __init__(self, meter: LatencyMeter, table: LatencyTable | None = None) -> None:
        self.meter, self.table = meter, table

    def __call__(self, genotype: Genotype) -> Latency:
        if self.table is None:
            return self.meter(genotype)
        return Latency(self.table.predict(genotype), 0.0, 0)

    def record(self, trial: optuna.Trial, genotype: Genotype) -> float:
        """Latency of ``genotype`` in milliseconds as recorded with ``trial`` (the reward uses exactly that)."""
        latency = self(genotype)
        stored = round(latency.median_ms, 4)
        trial.set_user_attr("latency_ms", stored)
        if self.table is None:
            trial.set_user_attr("latency_iqr_ms", round(latency.iqr_ms, 4))
        return stored

    def describe(self) -> str:
        target = self.meter.target
        how = "measured" if self.table is None else "predicted by the lookup table"
        return (
            f"latency {how} on {target.latency_identity()['device']}, {target.threads} thread(s), "
            f"batch {target.batch_size}"
        )


def open_table(
    space: MnasNetSpace, target: Target, path: str | None, progress: bool = False, meter: LatencyMeter | None = None
) -> tuple[LatencyTable, Path]:
    """The lookup table at ``path`` (None: the default one), checked; built and saved there when absent."""
    table, file = existing_table(space, target, path)
    if table is None:
        log.info("building the latency table of this space on %s (once per device): %s", target.device, file)
        table = build_table(space, target, progress=progress, meter=meter)
        table.save(file)
    return table, file


def latency_cost(
    study: optuna.Study, space: MnasNetSpace, target: Target, source: str, path: str | None, table: LatencyTable | None
) -> LatencyCost:
    """The search's latency cost (``source``: measured or predicted), measurements cached in ``study``.

    ``path``: the lookup table's file (None: the default one); ``table``: the one already read, if any.
    """
    meter = LatencyMeter(target, StudyCache(study))
    if source == "measured":
        return LatencyCost(meter)
    if table is None:
        table, _ = open_table(space, target, path, meter=meter)
    return LatencyCost(meter, table)
