"""The ``python -m search_spaces.show`` CLI, run as a user would."""

from __future__ import annotations

import json

import pytest

from search_spaces.codec import save_genotype
from search_spaces.flops import estimate_flops
from search_spaces.references import reference
from search_spaces.show import main

# B0's published counts (tests/search_spaces/reference_counts.json): 5,288,548 parameters and
# 0.3994 GFLOPs; ours are exact and pinned in test_references.py.
B0_PARAMS, B0_FLOPS, B0_PUBLISHED_FLOPS = 5_288_548, 399_352_864, 0.3994e9


def test_json_b0_matches_the_reference(cli):
    result = cli("search_spaces.show", "efficientnet_b0", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["params"] == B0_PARAMS
    assert info["flops"] == info["flops_estimate"] == B0_FLOPS
    assert abs(info["flops"] - B0_PUBLISHED_FLOPS) / B0_PUBLISHED_FLOPS < 2e-4
    assert info["flops_method"] == "fvcore"
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


def test_huge_resolution_is_counted_without_a_trace(cli):
    # Tracing B0 at 20,000 px would need ~40 GB of activations; the analytic count needs none.
    result = cli("search_spaces.show", "efficientnet_b0", "--resolution", "20000", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["params"] == B0_PARAMS
    assert info["flops_method"] == "analytic"
    assert info["flops"] == info["flops_estimate"] == estimate_flops(reference("efficientnet_b0"), 20000).total
    assert sum(info["flops_by_stage"].values()) == info["flops"]
    assert result.stderr == ""


def test_huge_width_is_counted_without_building_the_weights(cli):
    # 9.5 billion parameters (38 GB in float32): counted on the meta device, FLOPs analytically.
    result = cli("search_spaces.show", "efficientnet_b0", "--width", "50", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "params 9,508,992,800" in result.stdout
    assert "counted analytically: too large to trace" in result.stdout
    assert result.stderr == ""


def test_genotype_file(tmp_path, capsys):
    path = save_genotype(reference("mnasnet_a1"), tmp_path / "a1.yaml")
    assert main([str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 3_887_038


def exit_status(argv: list[str]) -> int | str | None:
    """What ``main`` exits with: its return value, or the code of a ``SystemExit`` (argparse's errors)."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


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
        (["efficientnet_b0", "--width", "wide"], "invalid float value: 'wide'"),
        (["efficientnet_b0", "--resolution", "big"], "invalid int value: 'big'"),
        (["efficientnet_b0", "--colour"], "unrecognized arguments: --colour"),
        (["efficientnet_b0", "--width", "1e9"], "channels wide; costs are counted up to 16,777,216"),
        (["efficientnet_b0", "--depth", "1000"], "16,000 layers; costs are counted up to 1,000"),
    ],
)
def test_bad_input_is_one_line_exit_two(args, fragment, capsys):
    assert exit_status(args) == 2
    out, err = capsys.readouterr()
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert out == ""


def test_bad_input_from_the_real_command(cli, tmp_path):
    unreadable = tmp_path / "g.yaml"
    unreadable.write_text("blocks: {not: a list of strings}\n")
    result = cli("search_spaces.show", str(unreadable))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_too_big_to_count_from_the_real_command(cli):
    result = cli("search_spaces.show", "efficientnet_b0", "--width", "1e9", "--json", timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m search_spaces.show: error: a layer of the network is 1,280,000,000,000 channels wide; "
        "costs are counted up to 16,777,216"
    ]
    assert result.stdout == ""
