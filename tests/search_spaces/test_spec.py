"""SPEC strings: names, files and block strings; a study reference is left to the commands."""

from __future__ import annotations

import pytest

from search_spaces.codec import save_genotype
from search_spaces.genotype import Genotype
from search_spaces.references import reference
from search_spaces.spec import resolve_spec, split_scheme


def test_schemes_are_split_from_names_but_drive_letters_and_blocks_are_not_schemes():
    assert split_scheme("search:my-study") == ("search", "my-study")
    assert split_scheme(" grid: g ") == ("grid", "g")
    assert split_scheme("C:/runs/best.yaml") is None
    assert split_scheme("ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24") is None
    assert split_scheme("efficientnet_b0") is None


def test_a_study_reference_is_refused_here_with_where_it_is_taken():
    with pytest.raises(ValueError, match=r"SPEC 'search:x' names a study: a command resolves it .* nas.best_genotype"):
        resolve_spec("search:x")
    with pytest.raises(ValueError, match="unknown SPEC 'magic:x'"):
        resolve_spec("magic:x")


def test_a_genotype_file_whose_name_looks_like_a_scheme_is_still_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_genotype(reference("mobilenet_v2"), tmp_path / "search:old.yaml")
    assert resolve_spec("search:old.yaml") == reference("mobilenet_v2")
    assert isinstance(resolve_spec("ds_r1_k3_s1_e1_c16"), Genotype)
