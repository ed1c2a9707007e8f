"""Study references on a command line, resolved at the edge: ``search:STUDY`` to a genotype.

Every command that takes a SPEC (``space.reference``, ``model``, ``baseline``) resolves it here,
looking a ``search:STUDY`` up in the command's ``study.storage``, before any library function
sees it: the library takes genotypes.
"""

from __future__ import annotations

from pathlib import Path

from nas.search.best import best_genotype
from search_spaces.genotype import Genotype
from search_spaces.spec import resolve_spec, split_scheme

SCHEMES = ("search",)


def resolve_model(spec: str | Genotype, storage: str | None = None) -> Genotype:
    """The genotype ``spec`` names; ``search:STUDY`` is that search study's best in ``storage`` (a URL; None: the default)."""
    if isinstance(spec, Genotype):
        return spec
    text = str(spec).strip()
    scheme = split_scheme(text)
    if scheme is None or Path(text).expanduser().exists():
        return resolve_spec(text)
    kind, name = scheme
    if kind not in SCHEMES:
        known = ", ".join(f"{s}:NAME" for s in SCHEMES)
        raise ValueError(f"unknown SPEC scheme {kind!r} in {text}; known schemes: {known}")
    if not name:
        raise ValueError(f"SPEC {kind}: names nothing; write {kind}:NAME")
    return best_genotype(name, storage=storage)
