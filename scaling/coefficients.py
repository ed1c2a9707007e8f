"""Compound coefficients (alpha, beta, gamma) as the grid writes them, and the baseline they belong to."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from search_spaces.codec import format_blocks
from search_spaces.genotype import BN_EPS, Genotype
from search_spaces.spec import split_scheme


def genotype_signature(genotype: Genotype) -> list[Any]:
    """What makes two baselines the same network: blocks, stem, head, activation, bn_eps if not default (not its name)."""
    signature = [*format_blocks(genotype), genotype.stem, genotype.head, genotype.activation]
    return signature if genotype.bn_eps == BN_EPS else [*signature, genotype.bn_eps]


@dataclass(frozen=True)
class Coefficients:
    """A triple, and (when read from a grid's ``coefficients.yaml``) the baseline it was found for."""

    alpha: float
    beta: float
    gamma: float
    baseline: tuple[Any, ...] | None = None  # genotype_signature of that baseline
    baseline_name: str | None = None
    source: str | None = None  # the file (or grid study) it came from

    @property
    def triple(self) -> tuple[float, float, float]:
        return self.alpha, self.beta, self.gamma

    def describe(self) -> str:
        return f"alpha={self.alpha:g}, beta={self.beta:g}, gamma={self.gamma:g}"

    def check_baseline(self, genotype: Genotype) -> None:
        """``ValueError`` when these coefficients were found for another baseline than ``genotype``."""
        if self.baseline is None or list(self.baseline) == genotype_signature(genotype):
            return
        found_for = f"baseline {self.baseline_name!r}" if self.baseline_name else "another baseline"
        raise ValueError(
            f"{self.source} holds coefficients found for {found_for}, not for {genotype.name!r} "
            f"(another network); scale that baseline, or pass coefficients=[{self.alpha:g},{self.beta:g},{self.gamma:g}] "
            "to apply the triple anyway"
        )


def parse_coefficients(value: Any) -> Coefficients:
    """A coefficients file (alpha, beta, gamma keys), a string ``a,b,g`` or a list of three.

    A grid study (``grid:STUDY`` on a command line) is resolved at the command edge
    (``scaling.grid_reference.resolve_coefficients``); here it is refused in one line.
    """
    if isinstance(value, (list, tuple)):
        return _checked(value, value)
    text = str(value).strip()
    path = Path(text).expanduser()
    if split_scheme(text) is not None and not path.exists():
        raise ValueError(
            f"coefficients {text!r} name a study: a command resolves grid:STUDY (in its study.storage); "
            "in Python, scaling.best_coefficients(STUDY, storage=URL)"
        )
    if not (path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file()):
        return _checked([v for v in text.strip("[]()").split(",") if v.strip()], value)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise FileNotFoundError(f"cannot read coefficients file {text!r}: {err.strerror}") from None
    except yaml.YAMLError:
        raise ValueError(f"coefficients file {text!r} is not valid YAML") from None
    if not isinstance(data, dict) or not all(k in data for k in ("alpha", "beta", "gamma")):
        raise ValueError(f"coefficients file {text!r} must hold alpha, beta and gamma")
    signature = data.get("baseline_genotype")
    return _checked(
        [data["alpha"], data["beta"], data["gamma"]],
        value,
        baseline=tuple(signature) if isinstance(signature, list) else None,
        baseline_name=data.get("baseline"),
        source=text,
    )


def _checked(items: Any, value: Any, **recorded: Any) -> Coefficients:
    try:
        alpha, beta, gamma = (float(v) for v in items)
    except (TypeError, ValueError):
        raise ValueError(
            f"coefficients must be a coefficients.yaml or three numbers alpha,beta,gamma, got {value!r}"
        ) from None
    for name, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        if not math.isfinite(v) or v < 1:
            raise ValueError(f"coefficient {name} must be a number >= 1, got {v!r}")
    return Coefficients(alpha, beta, gamma, **recorded)
