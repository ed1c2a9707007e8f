"""FBNet-style latency predictor: a per-layer lookup table, summed, plus a fitted overhead.

Every distinct layer configuration of a space (op, expansion, kernel, SE ratio, skip as built,
input and output channels, stride, input side, activation) is timed alone at its input shape the
way a whole genotype is (:func:`~search_spaces.latency.measure.time_module`); so are the stem and
every possible head.  A genotype's prediction is the sum of its entries plus ``constant_ms +
per_layer_ms * layers``, fitted by least squares on measured members of the space: what timing
layers alone leaves out (dispatch between layers, caches).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn
from tqdm import tqdm

from search_spaces.blocks import Block, ConvBNAct
from search_spaces.cost import Target
from search_spaces.genotype import BlockSpec, Genotype, layers
from search_spaces.latency.measure import LatencyMeter, time_module
from search_spaces.mnasnet import CONV_OPS, MnasNetSpace

TABLE_VERSION = 1
MIN_SHARE = 0.5  # the least part of its entries' sum a prediction keeps (see LatencyTable.fitted)
BUILD_COMMAND = "python -m search_spaces.latency build"


@dataclass(frozen=True)
class Entry:
    """One timed piece of a network: its key, how to build it, the shape of its input."""

    key: str
    make: Callable[[], nn.Module]
    shape: tuple[int, ...]


def space_key(space: MnasNetSpace) -> str:
    """A short hash of what makes a space's layers: the reference's frame and every choice."""
    ref = space.reference
    described = {"frame": [ref.stem, ref.head, ref.activation], "choices": space.distributions()}
    described["strides"] = [b.stride for b in space.blocks]
    return hashlib.sha1(json.dumps(described, sort_keys=True, default=list).encode()).hexdigest()[:16]


def _side(size: int, stride: int) -> int:
    return (size - 1) // stride + 1  # 'same' padding with an odd kernel


def layer_key(spec: BlockSpec, in_channels: int, stride: int, size: int, activation: str) -> str:
    shortcut = spec.skip == "pool" or (spec.skip == "id" and stride == 1 and in_channels == spec.out_channels)
    skip = spec.skip if shortcut else "none"  # an identity that cannot apply builds as no skip
    return (
        f"{spec.op}{spec.expand}_k{spec.kernel}_se{spec.se_ratio:g}_{skip}_"
        f"{in_channels}-{spec.out_channels}_s{stride}_{size}px_{activation}"
    )


def _stem_entry(genotype: Genotype, target: Target, batch: int) -> Entry:
    r, act = target.resolution, genotype.activation
    key = f"stem_{target.in_chans}-{genotype.stem}_{r}px_{act}"
    return Entry(
        key, lambda: ConvBNAct(target.in_chans, genotype.stem, 3, 2, activation=act), (batch, target.in_chans, r, r)
    )


def _head_entry(genotype: Genotype, target: Target, channels: int, size: int, batch: int) -> Entry:
    act, head, classes = genotype.activation, genotype.head, target.num_classes

    def make() -> nn.Module:
        conv = ConvBNAct(channels, head, 1, activation=act)
        return nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(head, classes))

    return Entry(f"head_{channels}-{head}-{classes}_{size}px_{act}", make, (batch, channels, size, size))


def _layer_entry(spec: BlockSpec, cin: int, stride: int, size: int, act: str, batch: int) -> Entry:
    key = layer_key(spec, cin, stride, size, act)
    return Entry(key, lambda: Block(dataclasses.replace(spec, repeats=1), cin, stride, act), (batch, cin, size, size))


def genotype_entries(genotype: Genotype, target: Target, batch: int = 1) -> list[Entry]:
    """The stem, every layer and the head of ``genotype`` at the target input, in order."""
    size = _side(target.resolution, 2)
    entries = [_stem_entry(genotype, target, batch)]
    for layer in layers(genotype):
        entries.append(_layer_entry(layer.spec, layer.in_channels, layer.stride, size, genotype.activation, batch))
        size = _side(size, layer.stride)
    entries.append(_head_entry(genotype, target, genotype.blocks[-1].out_channels, size, batch))
    return entries


def space_entries(space: MnasNetSpace, target: Target, batch: int = 1) -> list[Entry]:
    """Every distinct entry any member of ``space`` is made of (each key once)."""
    ref = space.reference
    found: dict[str, Entry] = {}
    stem = _stem_entry(ref, target, batch)
    found[stem.key] = stem
    size, inputs = _side(target.resolution, 2), (ref.stem,)
    for choices in space.blocks:
        out = _side(size, choices.stride)
        for op_name, kernel, se, skip, filters in itertools.product(
            choices.ops, choices.kernels, choices.se_ratios, choices.skips, choices.filters
        ):
            op, expand = CONV_OPS[op_name]
            spec = BlockSpec(op, 1, kernel, choices.stride, expand, filters, se, skip)
            candidates = [(cin, choices.stride, size) for cin in inputs]
            if max(choices.layers) > 1:
                candidates.append((filters, 1, out))
            for cin, stride, side in candidates:
                entry = _layer_entry(spec, cin, stride, side, ref.activation, batch)
                found.setdefault(entry.key, entry)
        size, inputs = out, choices.filters
    for channels in inputs:
        head = _head_entry(ref, target, channels, size, batch)
        found[head.key] = head
    return list(found.values())


@dataclass
class LatencyTable:
    """Per-entry milliseconds for one space, target input and device, and the fitted overhead."""

    space: str
    target: dict[str, Any]
    measured_on: dict[str, Any]
    entries: dict[str, float]
    constant_ms: float = 0.0
    per_layer_ms: float = 0.0
    build_seconds: float = 0.0
    calibration: list[dict[str, Any]] = field(default_factory=list)
    version: int = TABLE_VERSION

    def entry_sum(self, genotype: Genotype) -> float:
        batch = self.measured_on["batch_size"]
        total = 0.0
        for entry in genotype_entries(genotype, Target(**self.target), batch):
            if entry.key not in self.entries:
                raise ValueError(f"layer {entry.key} is not in this latency table: the genotype is not of its space")
            total += self.entries[entry.key]
        return total

    def predict(self, genotype: Genotype) -> float:
        """Predicted milliseconds per batch of ``genotype``."""
        return self.fitted(self.entry_sum(genotype), genotype.num_layers)

    def fitted(self, entry_sum_ms: float, num_layers: int) -> float:
        """The entries' sum plus the fitted overhead of a network of ``num_layers`` layers.

        Timing noise can fit a negative overhead (the members measured faster than their entries'
        sum); extrapolated to a small member it could reach zero or below, a latency no reward can
        take, so a prediction keeps at least ``MIN_SHARE`` of the entries' sum.
        """
        overhead = self.constant_ms + self.per_layer_ms * num_layers
        return max(entry_sum_ms + overhead, MIN_SHARE * entry_sum_ms)

    def check(self, space: MnasNetSpace, target: Target, path: Path | str) -> None:
        """``ValueError`` (one line) when this table was built for another space, input or device."""
        wanted = target.latency_identity()
        for name in ("device", "threads", "batch_size", "torch"):
            if self.measured_on.get(name) != wanted[name]:
                raise ValueError(
                    f"latency table {path} was built for {name} {self.measured_on.get(name)!r}, not {wanted[name]!r}; "
                    f"rebuild it with {BUILD_COMMAND}"
                )
        if self.space != space_key(space):
            raise ValueError(
                f"latency table {path} was built for another search space; rebuild it with {BUILD_COMMAND}"
            )
        if self.target != target.input():
            raise ValueError(f"latency table {path} was built for target {self.target}, not {target.input()}")

    def save(self, path: Path | str) -> Path:
        """Write the table atomically (a reader never sees half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(dataclasses.asdict(self), indent=1) + "\n")
        os.replace(partial, path)
        return path

    @classmethod
    def load(cls, path: Path | str) -> LatencyTable:
        try:
            data = json.loads(Path(path).read_text())
            if data.get("version") != TABLE_VERSION:
                raise ValueError(f"version {data.get('version')!r}, not {TABLE_VERSION}")
            return cls(**data)
        except (OSError, ValueError, TypeError) as err:
            raise ValueError(f"cannot read latency table {path}: {' '.join(str(err).split())}") from None


def default_table_path(space: MnasNetSpace, target: Target, root: Path | str) -> Path:
    """``root/<reference>-<device>-<hash>.json``: one file per space, target input and device."""
    described = [space_key(space), target.input(), target.latency_identity()]
    digest = hashlib.sha1(json.dumps(described, sort_keys=True).encode()).hexdigest()[:12]
    device = target.device.replace(":", "")
    return Path(root) / f"{space.reference.name}-{device}-t{target.threads}-b{target.batch_size}-{digest}.json"


def time_entries(entries: list[Entry], target: Target, progress: bool = True) -> Iterator[tuple[str, float]]:
    """(key, milliseconds) of every entry, with a progress bar."""
    for entry in tqdm(entries, unit="layer", desc="latency table", disable=not progress):
        yield entry.key, time_module(entry.make(), entry.shape, target).median_ms


def build_table(
    space: MnasNetSpace,
    target: Target,
    calibration: int = 20,
    seed: int = 0,
    progress: bool = True,
    meter: LatencyMeter | None = None,
    entry_time: float = 0.05,
) -> LatencyTable:
    """Time every entry of ``space``, then fit the overhead on ``calibration`` measured members.

    Entries are timed for ``entry_time`` seconds each after one warm-up run (a table sums
    thousands of them); the calibration members as ``target`` says, through ``meter`` if given.
    """
    if isinstance(calibration, bool) or not isinstance(calibration, int) or calibration < 2:
        raise ValueError(
            f"calibration must be an integer >= 2 (members measured to fit the overhead), got {calibration!r}"
        )
    start = time.perf_counter()
    quick = dataclasses.replace(target, min_run_time=min(entry_time, target.min_run_time), warmup=1)
    entries = dict(time_entries(space_entries(space, target, target.batch_size), quick, progress))
    table = LatencyTable(space_key(space), target.input(), target.latency_identity(), entries)
    meter = meter or LatencyMeter(target)
    rng = np.random.default_rng(seed)
    members = [space.reference] + [space.sample(rng) for _ in range(calibration - 1)]
    rows = [
        {"layers": g.num_layers, "entry_sum_ms": table.entry_sum(g), "measured_ms": meter(g).median_ms}
        for g in tqdm(members, unit="member", desc="calibration", disable=not progress)
    ]
    table.constant_ms, table.per_layer_ms = fit_overhead(rows)
    table.calibration = rows
    table.build_seconds = round(time.perf_counter() - start, 1)
    return table


def fit_overhead(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """(constant, per-layer) milliseconds that the entries' sums miss, by least squares.

    A negative per-layer term (few members, layer counts that barely vary) would only fit noise:
    then a constant alone is fitted.
    """
    residual = np.array([r["measured_ms"] - r["entry_sum_ms"] for r in rows])
    design = np.array([[1.0, r["layers"]] for r in rows])
    (constant, per_layer), *_ = np.linalg.lstsq(design, residual, rcond=None)
    if per_layer < 0:
        return float(residual.mean()), 0.0
    return float(constant), float(per_layer)
