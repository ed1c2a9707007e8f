"""A search study's best: its trial, and its genotype (the network ``best.yaml`` holds, and ``search:STUDY`` names)."""

from __future__ import annotations

import dataclasses

import optuna

from nas.studies.references import open_reference
from search_spaces.codec import genotype_from_dict, parse_blocks
from search_spaces.genotype import Genotype
from search_spaces.references import REFERENCES, reference

REFERENCE_ATTR = "reference_genotype"
"""The study attribute a search records its reference genotype in (all of it: resolution, dropout too)."""


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """Highest reward among COMPLETE trials (multi-objective: highest accuracy on the front)."""
    complete = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)) if t.values]
    if not complete:
        return None
    if len(study.directions) > 1:
        front = study.best_trials
        return max(front, key=lambda t: (t.values[0], -t.values[1])) if front else None
    return max(complete, key=lambda t: (t.values[0], -t.number))


def best_genotype(name: str, *, storage: str | None = None) -> Genotype:
    """The best genotype of search study ``name`` in ``storage`` (a URL; None: the default storage)."""
    study = open_reference(name, "search", storage)
    best = best_trial(study)
    if best is None:  # a multi-objective study whose front is empty
        raise ValueError(f"search study {name!r} has no best trial yet")
    return searched_genotype(study, best)


def searched_genotype(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> Genotype:
    """A search trial's genotype as ``best.yaml`` writes it: the reference with the trial's blocks."""
    blocks = parse_blocks(trial.user_attrs["blocks"])
    return dataclasses.replace(search_reference(study), blocks=blocks, name=f"{study.study_name}_best")


def search_reference(study: optuna.Study) -> Genotype:
    """The reference a search study was run around.

    Searches record it whole (``reference_genotype``); for an older study it is rebuilt from the
    identity (blocks, stem, head, activation): the reference model those match, else those with
    the genotype defaults.
    """
    recorded = study.user_attrs.get(REFERENCE_ATTR)
    if isinstance(recorded, dict):
        return genotype_from_dict(recorded)
    space = study.user_attrs.get("space")
    if not isinstance(space, dict) or "reference" not in space:
        raise ValueError(f"search study {study.study_name!r} records no reference genotype")
    blocks = parse_blocks(space["reference"])
    stem, head, activation = space.get("stem_head_act", (32, 1280, "silu"))
    for known in REFERENCES:
        candidate = reference(known)
        if (candidate.blocks, candidate.stem, candidate.head, candidate.activation) == (blocks, stem, head, activation):
            return candidate
    return Genotype(blocks, stem=stem, head=head, activation=activation, name="reference")
