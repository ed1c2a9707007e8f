"""grid:STUDY (the best triple of a grid study) and search:STUDY baselines in the scaling commands."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import scaling.compare
import scaling.family
import scaling.grid
from scaling.coefficients import parse_coefficients
from scaling.grid_reference import best_coefficients, resolve_coefficients
from scaling.members import compound_family
from search_spaces.codec import load_genotype
from search_spaces.cost import Target
from search_spaces.references import reference


def test_the_best_of_a_grid_is_the_triple_its_coefficients_yaml_holds(tiny_studies):
    written = parse_coefficients(str(tiny_studies.coefficients_yaml))
    found = resolve_coefficients(f"grid:{tiny_studies.grid}", tiny_studies.storage)
    assert found == best_coefficients(tiny_studies.grid, storage=tiny_studies.storage)
    assert found.triple == written.triple
    assert (found.baseline, found.baseline_name) == (written.baseline, written.baseline_name)
    found.check_baseline(load_genotype(tiny_studies.best_yaml))  # the grid ran on search:<the search>
    with pytest.raises(ValueError, match=rf"grid study '{tiny_studies.grid}' holds coefficients found for baseline"):
        found.check_baseline(reference("mobilenet_v2"))


def test_coefficients_take_only_grid_studies(tiny_studies):
    with pytest.raises(ValueError, match="the study reference they take is grid:STUDY"):
        resolve_coefficients(f"search:{tiny_studies.search}", tiny_studies.storage)
    with pytest.raises(ValueError, match=rf"is a search study; grid:{tiny_studies.search} needs a grid study"):
        resolve_coefficients(f"grid:{tiny_studies.search}", tiny_studies.storage)
    with pytest.raises(ValueError, match="name a study: a command resolves grid:STUDY"):  # the library takes triples
        parse_coefficients(f"grid:{tiny_studies.grid}")


@pytest.mark.slow
def test_family_cli_scales_the_searchs_best_by_the_grids_best(cli, tiny_studies, tmp_path):
    out = tmp_path / "family"
    args = [f"baseline=search:{tiny_studies.search}", f"coefficients=grid:{tiny_studies.grid}", "phis=[1]"]
    result = cli("scaling.family", *args, f"study.storage={tiny_studies.storage}", f"hydra.run.dir={out}")
    assert result.returncode == 0, result.stderr
    baseline = load_genotype(tiny_studies.best_yaml)
    triple = parse_coefficients(str(tiny_studies.coefficients_yaml)).triple
    (_, expected) = compound_family(baseline, triple, [1.0], Target(), cost_tolerance=0.1)  # held to 2x FLOPs
    assert load_genotype(out / f"{baseline.name}_phi1.yaml") == expected.genotype
    assert pd.read_csv(out / "family.csv")["phi"].tolist() == [0, 1]


STUDY_COMMAND = ["dataset=digits", "progress=false"]  # what the training commands take beside study.storage


@pytest.mark.parametrize(
    ("module", "args", "fragment"),
    [
        (scaling.family, ["coefficients=grid:nope"], "no study 'nope' in "),
        (scaling.family, ["baseline=search:nope"], "no study 'nope' in "),
        (scaling.grid, ["--phi", "1", "baseline=search:nope", *STUDY_COMMAND], "no study 'nope' in "),
        (scaling.grid, ["--phi", "1", "baseline=grid:x", *STUDY_COMMAND], "unknown SPEC scheme 'grid' in grid:x; "),
        (scaling.compare, ["baseline=search:nope", *STUDY_COMMAND], "no study 'nope' in "),
        (scaling.compare, ["coefficients=grid:nope", *STUDY_COMMAND], "no study 'nope' in "),
    ],
)
def test_scaling_commands_refuse_a_bad_reference_in_one_line(
    tiny_studies, tmp_path, module, args, fragment, monkeypatch, capsys
):
    settings = [f"study.storage={tiny_studies.storage}", f"hydra.run.dir={tmp_path}"]
    monkeypatch.setattr(sys, "argv", [module.__name__, *args, *settings])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{module.PROG}: error: {fragment}")
    if fragment.startswith("no study"):
        assert "studies there: " in line
    assert not any(tmp_path.glob("*.csv"))
