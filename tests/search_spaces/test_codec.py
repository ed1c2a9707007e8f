from __future__ import annotations

import json

import pytest

from search_spaces.codec import (
    format_block,
    genotype_from_dict,
    genotype_to_dict,
    load_genotype,
    parse_block,
    parse_blocks,
    save_genotype,
)
from search_spaces.genotype import BlockSpec, Genotype
from search_spaces.references import REFERENCES, reference

B0_STRINGS = [
    "ds_r1_k3_s1_e1_c16_se0.25",
    "ir_r2_k3_s2_e6_c24_se0.25",
    "ir_r2_k5_s2_e6_c40_se0.25",
    "ir_r3_k3_s2_e6_c80_se0.25",
    "ir_r3_k5_s1_e6_c112_se0.25",
    "ir_r4_k5_s2_e6_c192_se0.25",
    "ir_r1_k3_s1_e6_c320_se0.25",
]


def test_parse_block_fields():
    block = parse_block("ir_r2_k5_s2_e6_c40_se0.25")
    assert block == BlockSpec("ir", repeats=2, kernel=5, stride=2, expand=6, out_channels=40, se_ratio=0.25)


@pytest.mark.parametrize("text", [*B0_STRINGS, "cn_r1_k3_s2_e1_c32_noskip", "ds_r2_k5_s1_e1_c24_poolskip"])
def test_canonical_strings_round_trip(text):
    assert format_block(parse_block(text)) == text


def test_tokens_in_any_order_and_defaults():
    assert parse_block("ds_c16_s1_k3_r1") == parse_block("ds_r1_k3_s1_e1_c16")
    assert parse_block("ir_r1_k3_s1_e6_c16_noskip").skip == "none"
    assert parse_block("ir_r1_k3_s1_e6_c16_poolskip").skip == "pool"
    assert parse_block("ir_r1_k3_s1_e6_c16").se_ratio == 0.0


@pytest.mark.parametrize("name", list(REFERENCES))
def test_every_reference_round_trips_through_strings_and_files(name, tmp_path):
    genotype = reference(name)
    assert genotype_from_dict(genotype_to_dict(genotype)) == genotype
    for suffix in (".yaml", ".json"):
        path = save_genotype(genotype, tmp_path / f"g{suffix}", metrics={"val_acc": 0.5})
        loaded = load_genotype(path)
        assert loaded == genotype
        assert hash(loaded) == hash(genotype)
        assert loaded.name == name


def test_genotype_is_frozen_and_hashable():
    g = Genotype(parse_blocks(",".join(B0_STRINGS)))
    with pytest.raises(AttributeError):
        g.stem = 16  # type: ignore[misc]
    assert len({g, Genotype(parse_blocks(B0_STRINGS))}) == 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ir_r2_k3_s2_e6_c24_x5", "bad token 'x5'"),
        ("zz_r2_k3_s2_e6_c24", "op 'zz' is not one of cn, ds, ir"),
        ("ir_r2_k4_s2_e6_c24", "kernel 4 is not one of"),
        ("ir_r2_k3_s3_e6_c24", "stride 3 is not one of"),
        ("ir_r0_k3_s2_e6_c24", "repeats must be >= 1"),
        ("ir_r2_k3_s2_e6", "lacks cN"),
        ("ds_r1_k3_s1_e6_c16", "needs op 'ir'"),
        ("ir_r2_k3_s2_e6_c24_sex", "bad token 'sex'"),
        ("ir_r2_k3_s2_e6_c24_se1.5", "SE ratio must be in [0, 1]"),
        ("ir_r2_r3_k3_s2_e6_c24", "sets repeats twice"),
    ],
)
def test_bad_block_strings_name_the_problem(text, fragment):
    with pytest.raises(ValueError) as err:
        parse_block(text)
    assert fragment in str(err.value)
    assert text in str(err.value)


def test_bad_token_lists_allowed_tokens():
    with pytest.raises(ValueError, match=r"allowed: rN \(layers\), kN \(kernel\)"):
        parse_block("ir_r2_q9_s2_e6_c24")


def test_genotype_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot read genotype file"):
        load_genotype(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("blocks: [ir_r1_k9_s1_e6_c16]\n")
    with pytest.raises(ValueError, match="kernel 9"):
        load_genotype(bad)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"blocks": B0_STRINGS, "colour": "red"}))
    with pytest.raises(ValueError, match="unknown genotype keys"):
        load_genotype(unknown)
    broken = tmp_path / "broken.yaml"
    broken.write_text("blocks: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_genotype(broken)


def test_genotype_validation():
    with pytest.raises(ValueError, match="resolution must be an integer >= 32"):
        Genotype(parse_blocks(B0_STRINGS), resolution=16)
    with pytest.raises(ValueError, match="activation"):
        Genotype(parse_blocks(B0_STRINGS), activation="gelu")
    with pytest.raises(ValueError, match="at least one block"):
        Genotype(())
