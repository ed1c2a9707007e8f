"""The ``python -m search_spaces.show`` CLI, run as a user would."""

from __future__ import annotations

import json

import pytest

from search_spaces.codec import save_genotype
from search_spaces.references import reference
from search_spaces.show import main


def test_json_b0_matches_the_reference(cli):
    result = cli("search_spaces.show", "efficientnet_b0", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["params"] == 5_288_548
    assert abs(info["flops"] - 399.4e6) / 399.4e6 < 0.005
    assert info["name"] == "efficientnet_b0"
    assert info["resolution"] == 224 and info["num_classes"] == 1000
    assert info["blocks"][1] == "ir_r2_k3_s2_e6_c24_se0.25"
    assert result.stderr == ""


def test_table_looks_like_table_one(capsys):
    assert main(["efficientnet_b0"]) == 0
    out = capsys.readouterr().out
    assert "params 5,288,548" in out
    assert "MBConv6, k5x5" in out and "112x112" in out and "Conv1x1 & Pooling & FC" in out
    lines = [line for line in out.splitlines() if line[:1].isdigit()]
    assert len(lines) == 9


def test_block_strings_and_options(capsys):
    spec = "ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24_se0.25"
    assert main([spec, "--json", "--width", "2", "--depth", "1.5", "--resolution", "64", "--num-classes", "10"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["blocks"] == ["ds_r2_k3_s1_e1_c32", "ir_r3_k3_s2_e6_c48_se0.25"]
    assert (info["resolution"], info["num_classes"], info["stem"], info["head"]) == (64, 10, 64, 2560)


def test_genotype_file(tmp_path, capsys):
    path = save_genotype(reference("mnasnet_a1"), tmp_path / "a1.yaml")
    assert main([str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 3_887_038


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["efficientnet_b9"], "unknown SPEC 'efficientnet_b9'"),
        (["ir_r2_k3_s2_e6_c24_zz"], "bad token 'zz'"),
        (["efficientnet_b0", "--width", "0"], "width multiplier must be a positive number"),
        (["efficientnet_b0", "--depth", "-1"], "depth multiplier must be a positive number"),
        (["efficientnet_b0", "--resolution", "31"], "resolution must be an integer >= 32"),
        (["missing/genotype.yaml"], "cannot read genotype file"),
        (["efficientnet_b0", "--num-classes", "0"], "--num-classes must be >= 1"),
        (["efficientnet_b0", "--width", "wide"], "invalid float value"),
    ],
)
def test_bad_input_is_one_line_exit_two(args, fragment, capsys):
    with pytest.raises(SystemExit) if "--width" in args and "wide" in args else _no_raise():
        code = main(args)
        assert code == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_input_from_the_real_command(cli, tmp_path):
    unreadable = tmp_path / "g.yaml"
    unreadable.write_text("blocks: {not: a list of strings}\n")
    result = cli("search_spaces.show", str(unreadable))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
