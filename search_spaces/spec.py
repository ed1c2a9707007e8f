"""SPEC strings, as every CLI takes them: a reference name, a genotype file, or block strings."""

from __future__ import annotations

import difflib
from pathlib import Path

from search_spaces.codec import load_genotype, parse_blocks
from search_spaces.genotype import OPS, Genotype
from search_spaces.references import REFERENCES, reference

SPEC_HELP = (
    "a reference name ("
    + ", ".join(REFERENCES)
    + "), a genotype file (.yaml/.json), or comma-separated block strings such as "
    "'ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24_se0.25'"
)


def resolve_spec(spec: str | Path | Genotype) -> Genotype:
    """Turn a SPEC into a genotype; ``ValueError``/``FileNotFoundError`` say what was wrong."""
    if isinstance(spec, Genotype):
        return spec
    text = str(spec).strip()
    if text in REFERENCES:
        return reference(text)
    path = Path(text).expanduser()
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file() or "/" in text:
        return load_genotype(path)
    if text.split("_")[0] not in OPS:
        close = difflib.get_close_matches(text, REFERENCES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown SPEC {text!r}{hint}: expected {SPEC_HELP}")
    return Genotype(parse_blocks(text), name="custom")
