"""``grid:STUDY``: the best (alpha, beta, gamma) of a grid study, the triple its ``coefficients.yaml`` holds.

The scaling commands resolve a ``coefficients`` value here, at their edge, before any library
function sees it: a grid study becomes the coefficients it found, anything else is parsed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import optuna

from nas.studies.identity import VERSION_ATTR, upgrade
from nas.studies.references import open_reference
from scaling.coefficients import Coefficients, genotype_signature, parse_coefficients
from scaling.grid_points import GridSettings
from scaling.grid_seeds import choose, standings
from scaling.grid_study import BASELINE_NAME_ATTR, grid_frame
from scaling.grid_summary import N_VAL_ATTR
from search_spaces.references import REFERENCES, reference
from search_spaces.spec import split_scheme


def resolve_coefficients(value: Any, storage: str | None = None) -> Coefficients:
    """A command's ``coefficients``: ``grid:STUDY`` (its best point, in ``storage``), a file, or three numbers."""
    text = str(value).strip() if not isinstance(value, (list, tuple)) else ""
    scheme = split_scheme(text) if text else None
    if scheme is None or Path(text).expanduser().exists():
        return parse_coefficients(value)
    if scheme[0] != "grid" or not scheme[1]:
        raise ValueError(f"coefficients {text!r}: the study reference they take is grid:STUDY (a grid study)")
    return best_coefficients(scheme[1], storage=storage)


def best_coefficients(name: str, *, storage: str | None = None) -> Coefficients:
    """The best point of grid study ``name`` in ``storage`` (a URL; None: the default), with its baseline."""
    study = open_reference(name, "grid", storage)
    settings, seed = stored_choice(study)
    frame = grid_frame(study)
    choice = choose(standings(frame, seed), settings, seed, study.user_attrs.get(N_VAL_ATTR))
    if choice is None:
        raise ValueError(f"grid study {name!r} has no fully trained point yet; run it further")
    best = choice.chosen.row
    signature = study.user_attrs.get("baseline")
    baseline = tuple(signature) if isinstance(signature, list) else None
    return Coefficients(
        float(best["alpha"]),
        float(best["beta"]),
        float(best["gamma"]),
        baseline=baseline,
        baseline_name=study.user_attrs.get(BASELINE_NAME_ATTR) or _reference_named(baseline),
        source=f"grid study {name!r}",
    )


def stored_choice(study: optuna.Study) -> tuple[GridSettings, int]:
    """The grid settings and seed a study was run with (an older study's read in today's form)."""
    stored = upgrade({"grid": study.user_attrs.get("grid") or {}}, study.user_attrs.get(VERSION_ATTR))["grid"]
    known = {f.name for f in dataclasses.fields(GridSettings)}
    settings = GridSettings(**{k: v for k, v in stored.items() if k in known and v is not None})
    return settings, int(study.user_attrs.get("seed", 0))


def _reference_named(signature: tuple[object, ...] | None) -> str | None:
    """The reference model whose signature this is (an older study records no baseline name)."""
    for known in REFERENCES:
        if signature is not None and list(signature) == genotype_signature(reference(known)):
            return known
    return None
