"""Architectures as data: genotypes, their codec, the builder, FLOPs, references and spaces."""

from search_spaces.build import build, count_params
from search_spaces.codec import format_block, load_genotype, parse_block, parse_blocks, save_genotype
from search_spaces.cost import Cost, Target
from search_spaces.flops import count_flops, estimate_flops
from search_spaces.genotype import BlockSpec, Genotype
from search_spaces.references import reference
from search_spaces.spec import resolve_spec

__all__ = [
    "BlockSpec",
    "Cost",
    "Genotype",
    "Target",
    "build",
    "count_flops",
    "count_params",
    "estimate_flops",
    "format_block",
    "load_genotype",
    "parse_block",
    "parse_blocks",
    "reference",
    "resolve_spec",
    "save_genotype",
]
