from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from scaling.compound import PAPER_COEFFICIENTS, flops_constraint, parse_phi
from scaling.grid import main as grid_main
from scaling.grid import rewrite_phi_flag
from scaling.grid_points import GridSettings, axis, feasible_grid, point_key
from scaling.grid_seeds import choose, standings

TINY_GRID = [
    "proxy=tiny",
    "proxy.train_size=256",
    "proxy.epochs=1",
    "grid.step=0.1",
    "grid.alpha_max=1.2",
    "grid.beta_max=1.1",
    "grid.gamma_max=1.2",
    "grid.rule=constraint",  # the paper's rule and one seed: the cost rule and the seed rounds have their own tests
    "grid.max_seeds=1",
    "threads=2",
    "progress=false",
    "target.min_run_time=0.05",
    "target.warmup=1",
]


def test_axis_has_no_float_drift():
    assert axis(1.3, 0.05) == [1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3]
    assert axis(1.0, 0.1) == [1.0]


def test_default_grid_costs_the_points_near_the_constraint_and_holds_the_paper_point():
    grid = feasible_grid(GridSettings())
    assert len(grid) == 73 and tuple(PAPER_COEFFICIENTS) in grid
    assert all(abs(flops_constraint(*p) - 2) <= 0.3 + 1e-12 for p in grid)
    papers_rule = feasible_grid(GridSettings(rule="constraint"))
    assert len(papers_rule) == 29 and tuple(PAPER_COEFFICIENTS) in papers_rule
    assert all(abs(flops_constraint(*p) - 2) <= 0.1 + 1e-12 for p in papers_rule)
    assert feasible_grid(GridSettings(rule="both")) == papers_rule  # both: the constraint's points, then the cost


def test_paper_sized_grid_has_63_points():
    grid = feasible_grid(GridSettings(alpha_max=1.4, beta_max=1.3, gamma_max=1.3, rule="constraint", tolerance=0.1))
    assert len(grid) == 63 and (1.2, 1.1, 1.15) in grid


def test_no_feasible_point_says_which_settings_would_work():
    with pytest.raises(ValueError) as err:
        feasible_grid(GridSettings(step=0.1, rule="constraint", tolerance=0.05))
    message = str(err.value)
    assert message.startswith("no feasible grid point")
    tolerance = float(message.split("grid.tolerance>=")[1].split()[0])
    assert feasible_grid(GridSettings(step=0.1, rule="constraint", tolerance=tolerance))
    with pytest.raises(ValueError, match=r"grid.band>=0.\d+ would include"):
        feasible_grid(GridSettings(step=0.1, band=0.05))
    with pytest.raises(ValueError, match="raise grid.alpha_max/beta_max/gamma_max"):
        feasible_grid(GridSettings(alpha_max=1.0, beta_max=1.0, gamma_max=1.1, band=0.05))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"step": 0}, "grid.step must be a number > 0"),
        ({"step": -0.1}, "grid.step must be a number > 0"),
        ({"alpha_max": 0.9}, "grid.alpha_max must be a number >= 1"),
        ({"gamma_max": 0.5}, "grid.gamma_max must be a number >= 1"),
        ({"pruner": "asha"}, "unknown grid.pruner"),
        ({"rule": "paper"}, "unknown grid.rule 'paper'; allowed: cost, constraint, both"),
        ({"cost": "params"}, "unknown grid.cost 'params'; allowed: flops, latency"),
        ({"cost_tolerance": 0}, "grid.cost_tolerance must be a number > 0"),
        ({"cost_tolerance": -0.1}, "grid.cost_tolerance must be a number > 0"),
        ({"band": -1}, "grid.band must be a number >= 0"),
        ({"max_seeds": 0}, "grid.max_seeds must be an integer >= 1"),
        ({"top": 0}, "grid.top must be an integer >= 1"),
    ],
)
def test_bad_grid_settings(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        GridSettings(**kwargs)


def test_phi_parsing_and_flag_rewriting():
    assert parse_phi("1.5") == 1.5 and parse_phi(2) == 2.0
    for bad in (0, -1, "abc", None, True, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="phi must be a number > 0"):
            parse_phi(bad)
    assert rewrite_phi_flag(["--phi", "1", "baseline=x"]) == ["baseline=x", "phi=1"]
    assert rewrite_phi_flag(["-m", "--phi=1,2", "grid.step=0.1"]) == ["-m", "grid.step=0.1", "phi=1,2"]
    assert rewrite_phi_flag(["--phi", "1", "-m", "worker=0,1"]) == ["-m", "worker=0,1", "phi=1"]
    with pytest.raises(ValueError, match="--phi needs a value"):
        rewrite_phi_flag(["--phi"])


def test_point_keys_are_plain_and_readable():
    assert point_key((1.2, 1.1, 1.15)) == "1.2,1.1,1.15"


def grid_args(tmp_path, *extra, run="run"):
    return [*TINY_GRID, f"study.storage=sqlite:///{tmp_path / 'studies.db'}", f"hydra.run.dir={tmp_path / run}", *extra]


@pytest.mark.slow
@pytest.mark.timing
def test_grid_cli_end_to_end_and_resume(cli, tmp_path):
    result = cli("scaling.grid", "--phi", "1", *grid_args(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "2 points (" in result.stdout
    assert "on 256 validation images" in result.stdout and "\nNote: 256 validation images cannot" in result.stdout
    out = tmp_path / "run"
    grid = pd.read_csv(out / "grid.csv")
    assert len(grid) == 2
    for _, row in grid.iterrows():
        assert abs(row["alpha"] * row["beta"] ** 2 * row["gamma"] ** 2 - 2) <= 0.1 + 1e-9
        assert row["constraint"] == pytest.approx(row["alpha"] * row["beta"] ** 2 * row["gamma"] ** 2)
        assert (row["d"], row["w"], row["r"]) == pytest.approx((row["alpha"], row["beta"], row["gamma"]))
        assert row["proxy_resolution"] == round(32 * row["r"])
        assert row["resolution"] == round(224 * row["r"])  # the member's own input size
        assert row["target_resolution"] == round(224 * row["r"])
        assert row["expected_ratio"] == 2.0 and 1.5 < row["flops_ratio"] < 3.5
        assert row["latency_ms"] > 0 and row["latency_ratio"] > 1.0  # about twice B0's work on the same CPU
    assert sorted(zip(grid["alpha"], grid["beta"], grid["gamma"], strict=True)) == [(1.1, 1.1, 1.2), (1.2, 1.1, 1.2)]
    # Both points round to the same network (ceil on layers), so it is trained once.
    assert grid["duplicate_of"].notna().sum() == 1
    assert grid["val_acc"].nunique() == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["phi"] == 1 and summary["n_points"] == 2
    assert set(summary["best"]) >= {"alpha", "beta", "gamma", "val_acc"}
    coefficients = (out / "coefficients.yaml").read_text()
    assert f"alpha: {summary['best']['alpha']}" in coefficients
    assert "baseline_genotype:" in coefficients and "- ir_r2_k3_s2_e6_c24_se0.25" in coefficients
    assert (out / "grid.png").stat().st_size > 5_000

    again = cli("scaling.grid", "--phi", "1", *grid_args(tmp_path, run="run2"))
    assert again.returncode == 0, again.stderr
    assert "resumed, 2/2 started" in again.stdout
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "run2" / "grid.csv"), grid)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--phi", "0"], "phi must be a number > 0"),
        (["--phi", "abc"], "phi: Value 'abc' of type 'str' could not be converted to Float"),
        (["--phi"], "--phi needs a value"),
        (["--phi", "1", "grid.step=0"], "grid.step must be a number > 0"),
        (["--phi", "1", "grid.tolerance=0.0001"], "no feasible grid point"),
        (["--phi", "1", "grid.beta_max=0.8"], "grid.beta_max must be a number >= 1"),
        (["--phi", "1", "grid.cost_tolerance=0"], "grid.cost_tolerance must be a number > 0"),
        (["--phi", "1", "grid.max_seeds=0"], "grid.max_seeds must be an integer >= 1"),
        (["--phi", "1", "grid.rule=cost", "grid.cost=latency", "latency=false"], "grid.cost=latency judges points"),
        (["--phi", "1", "target.device=cuda:0"], "target.device 'cuda:0' is not present here"),
        (["--phi", "1", "baseline=efficientnet_b42"], "unknown SPEC"),
        (["--phi", "1", "study.storage=postgresql://x@127.0.0.1:9/none"], "cannot reach study.storage"),
    ],
)
def test_grid_bad_input(tmp_path, args, fragment, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["scaling.grid", *grid_args(tmp_path), *args])
    with pytest.raises(SystemExit) as exit_info:
        grid_main()
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], lines
    assert not (tmp_path / "run" / "grid.csv").exists()


def test_grid_bad_input_from_the_real_command(cli, tmp_path):
    result = cli("scaling.grid", "--phi", "-1", *grid_args(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == "python -m scaling.grid: error: phi must be a number > 0, got -1.0"


@pytest.mark.slow
def test_a_sweep_at_phi_2_with_the_flag_after_the_overrides(cli, tmp_path):
    """``scaling.grid <overrides> -m --phi 2``: the flag may stand anywhere; members scale by alpha**2, ..."""
    one_point = ["grid.alpha_max=1.1", "grid.gamma_max=1.1", "grid.tolerance=0.4", "latency=false"]
    args = [*TINY_GRID, *one_point, f"study.storage=sqlite:///{tmp_path / 'studies.db'}"]
    result = cli("scaling.grid", *args, "-m", "--phi", "2", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert result.returncode == 0, result.stderr
    (row,) = pd.read_csv(next((tmp_path / "sweep").glob("*/grid.csv"))).to_dict("records")
    assert (row["alpha"], row["beta"], row["gamma"]) == (1.1, 1.1, 1.1)
    assert (row["d"], row["w"], row["r"]) == pytest.approx((1.1**2, 1.1**2, 1.1**2))
    assert row["target_resolution"] == round(224 * 1.1**2) and row["proxy_resolution"] == round(32 * 1.1**2)
    assert row["expected_ratio"] == 4.0 and row["val_acc"] > 0
    assert (row["flops"], row["params"]) == (1_356_223_824, 10_957_020)  # B0 x 1.21 (d, w, r) at 224 x 1.21 px
    assert row["flops_ratio"] == pytest.approx(1_356_223_824 / 399_352_864, rel=1e-12)
    summary = json.loads(next((tmp_path / "sweep").glob("*/summary.json")).read_text())
    assert summary["phi"] == 2 and summary["best"]["flops_ratio"] == pytest.approx(row["flops_ratio"])


def test_equal_accuracy_at_one_seed_goes_to_the_lower_cost_and_a_pruned_point_is_never_chosen():
    rows = [
        {
            "number": 0,
            "state": "COMPLETE",
            "alpha": 1.2,
            "beta": 1.1,
            "gamma": 1.15,
            "val_acc": 0.80,
            "flops_ratio": 2.1,
        },
        {
            "number": 1,
            "state": "COMPLETE",
            "alpha": 1.1,
            "beta": 1.2,
            "gamma": 1.1,
            "val_acc": 0.80,
            "flops_ratio": 1.9,
        },
        {"number": 2, "state": "PRUNED", "alpha": 1.3, "beta": 1.0, "gamma": 1.2, "val_acc": 0.90, "flops_ratio": 1.0},
        {
            "number": 3,
            "state": "COMPLETE",
            "alpha": 1.0,
            "beta": 1.2,
            "gamma": 1.2,
            "val_acc": 0.79,
            "flops_ratio": 1.8,
        },
    ]
    settings = GridSettings(max_seeds=1)
    assert choose(standings(pd.DataFrame(rows), 0), settings, 0, None).chosen.row["number"] == 1
    assert choose(standings(pd.DataFrame(rows[2:3]), 0), settings, 0, None) is None
