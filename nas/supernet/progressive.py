"""Progressive shrinking (Once-for-All): the decisions a step's subnets may vary in grow over training.

Trained from the start on every member at once, weights shared by many widths and depths are
pulled towards the mixture; Once-for-All trains the largest network first, then lets the kernel
vary, then the depth, then the width.  Here the steps fall into four equal parts: the largest
alone; kernel and SE free; layers and skip free too; and in the last part every decision (filters
and conv op as well), the plain sandwich rule.  Outside its free decisions a subnet is the largest.
"""

from __future__ import annotations

import dataclasses

from search_spaces.genotype import Genotype

STAGES: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"kernel", "se_ratio"}),
    frozenset({"kernel", "se_ratio", "repeats", "skip"}),
)
"""The decisions free in each part before the last (where all are)."""


def free_decisions(step: int, total_steps: int) -> frozenset[str] | None:
    """What step ``step`` of ``total_steps`` may vary: a set of ``BlockSpec`` fields, or None for everything."""
    part = 4 * step // max(total_steps, 1)
    return STAGES[part] if part < len(STAGES) else None


def within(genotype: Genotype, largest: Genotype, free: frozenset[str]) -> Genotype:
    """``genotype`` with every decision but the ``free`` ones set to the largest's."""
    blocks = tuple(
        dataclasses.replace(big, **{name: getattr(spec, name) for name in free})
        for spec, big in zip(genotype.blocks, largest.blocks, strict=True)
    )
    return dataclasses.replace(genotype, blocks=blocks)
