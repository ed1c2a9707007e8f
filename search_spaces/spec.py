"""SPEC strings, as every CLI takes them: a reference name, a genotype file, block strings, or SCHEME:NAME.

``SCHEME:NAME`` (e.g. ``search:STUDY``) is looked up through the entry points of the group
``effnas.spec_schemes``, declared by an installed package: this package resolves SPECs without
importing the code that knows about studies (``nas`` declares ``search``; see pyproject.toml).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import re
from collections.abc import Callable
from pathlib import Path

from search_spaces.codec import load_genotype, parse_blocks
from search_spaces.genotype import OPS, Genotype
from search_spaces.references import REFERENCES, reference

SCHEME_GROUP = "effnas.spec_schemes"
"""Entry-point group of SPEC schemes: ``NAME = "module:function"``, called as ``function(name, storage=URL)``."""

SPEC_HELP = (
    "a reference name ("
    + ", ".join(REFERENCES)
    + "), a genotype file (.yaml/.json), comma-separated block strings such as "
    "'ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24_se0.25', or search:STUDY (the best genotype of that search study "
    "in the study storage)"
)

# Two or more characters before the colon: a Windows drive letter (C:) is never a scheme.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9_]+):(.*)", re.DOTALL)

SpecResolver = Callable[..., Genotype]


def resolve_spec(spec: str | Path | Genotype, *, storage: str | None = None) -> Genotype:
    """Turn a SPEC into a genotype; ``ValueError``/``FileNotFoundError`` say what was wrong.

    ``storage`` is the study storage URL a ``SCHEME:NAME`` SPEC is looked up in (None: the
    resolver's default); other SPECs ignore it.
    """
    if isinstance(spec, Genotype):
        return spec
    text = str(spec).strip()
    if text in REFERENCES:
        return reference(text)
    path = Path(text).expanduser()
    scheme = split_scheme(text)
    if scheme is not None and not path.exists():
        return resolve_scheme(*scheme, storage=storage)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file() or "/" in text:
        return load_genotype(path)
    if text.split("_")[0] not in OPS:
        close = difflib.get_close_matches(text, REFERENCES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown SPEC {text!r}{hint}: expected {SPEC_HELP}")
    return Genotype(parse_blocks(text), name="custom")


def split_scheme(text: str) -> tuple[str, str] | None:
    """``("search", "STUDY")`` for ``search:STUDY``; None when ``text`` has no scheme."""
    match = _SCHEME.fullmatch(text.strip())
    return (match.group(1), match.group(2).strip()) if match else None


def spec_schemes() -> dict[str, importlib.metadata.EntryPoint]:
    """The SPEC schemes installed packages declare, by name."""
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for entry in importlib.metadata.entry_points(group=SCHEME_GROUP):
        found.setdefault(entry.name, entry)
    return found


def resolve_scheme(scheme: str, name: str, *, storage: str | None = None) -> Genotype:
    """The genotype ``SCHEME:NAME`` stands for, from the resolver registered for ``scheme``."""
    schemes = spec_schemes()
    if scheme not in schemes:
        known = ", ".join(f"{s}:NAME" for s in sorted(schemes)) or "none"
        raise ValueError(
            f"unknown SPEC scheme {scheme!r} in {scheme}:{name}; known schemes: {known} (schemes are entry points "
            f"{SCHEME_GROUP!r} of an installed package: install effnas with pip install -e . in its checkout)"
        )
    if not name:
        raise ValueError(f"SPEC {scheme}: names nothing; write {scheme}:NAME")
    entry = schemes[scheme]
    try:
        resolver: SpecResolver = entry.load()
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"SPEC scheme {scheme!r} points to {entry.value!r}, which cannot be loaded ({err}); reinstall the package"
        ) from None
    genotype = resolver(name, storage=storage)
    if not isinstance(genotype, Genotype):
        raise TypeError(f"SPEC scheme {scheme!r} ({entry.value}) returned {type(genotype).__name__}, not a Genotype")
    return genotype
