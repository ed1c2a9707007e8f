"""SPEC strings, as every CLI takes them: a reference name, a genotype file, or block strings.

A command also takes ``search:STUDY`` (the best genotype of a search study): a study reference,
which the command edge resolves (``nas.cli.references``) before any library function sees it.
Here such a SPEC is refused in one line that says where it is taken.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from search_spaces.codec import load_genotype, parse_blocks
from search_spaces.genotype import OPS, Genotype
from search_spaces.references import REFERENCES, reference

SPEC_HELP = (
    "a reference name ("
    + ", ".join(REFERENCES)
    + "), a genotype file (.yaml/.json), comma-separated block strings such as "
    "'ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24_se0.25', or search:STUDY (the best genotype of that search study "
    "in the study storage)"
)

# Two or more characters before the colon: a Windows drive letter (C:) is never a scheme.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9_]+):(.*)", re.DOTALL)


def resolve_spec(spec: str | Path | Genotype) -> Genotype:
    """Turn a SPEC into a genotype; ``ValueError``/``FileNotFoundError`` say what was wrong."""
    if isinstance(spec, Genotype):
        return spec
    text = str(spec).strip()
    if text in REFERENCES:
        return reference(text)
    path = Path(text).expanduser()
    scheme = split_scheme(text)
    if scheme is not None and scheme[0] == "search" and not path.exists():
        raise ValueError(
            f"SPEC {text!r} names a study: a command resolves it (in its study.storage, e.g. "
            f"python -m nas.train model={text}); in Python, nas.best_genotype({scheme[1]!r}, storage=URL)"
        )
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
