"""The default-runs benchmark on tiny settings: both commands really run, the record says what they found."""

from __future__ import annotations

import json

import pytest

from benchmarks import defaults

TINY = ["proxy=tiny", "proxy.train_size=256", "proxy.epochs=1", "dataset=digits", "threads=2"]
ONE_POINT = ["grid.step=0.1", "grid.alpha_max=1.1", "grid.beta_max=1.1", "grid.gamma_max=1.0", "grid.tolerance=0.7"]
ONE_POINT += ["grid.rule=constraint", "grid.max_seeds=1"]


@pytest.mark.slow
def test_records_the_search_then_the_grid_and_keeps_both(results_dir):
    search_args = ["--only", "search", "--", *TINY, "search.n_trials=2"]
    defaults.main(search_args)
    record = json.loads((results_dir / "defaults.json").read_text())
    search = record["search"]
    assert search["command"] == "python -m benchmarks.defaults " + " ".join(search_args)
    assert search["run"].startswith("python -m nas.search study.storage=sqlite:///")
    assert {"commit", "machine", "time"} <= search.keys()
    assert search["seconds"] > 0 and search["n_trials"] == 2
    assert search["best"]["reward"] > 0 and len(search["best"]["blocks"]) == 7
    assert search["reference"]["name"] == "efficientnet_b0"
    assert any(line.startswith("Best of 2 trials") for line in search["output_tail"])

    defaults.main(["--only", "grid", "--", *TINY, *ONE_POINT])
    record = json.loads((results_dir / "defaults.json").read_text())
    assert record["search"] == search  # --only grid keeps the search's record
    grid = record["grid"]
    assert grid["run"].startswith("python -m scaling.grid --phi 1 study.storage=sqlite:///")
    assert grid["n_points"] == 1 and grid["phi"] == 1
    assert (grid["best"]["alpha"], grid["best"]["beta"], grid["best"]["gamma"]) == (1.1, 1.1, 1.0)
    assert 0 < grid["best"]["val_acc"] <= 1


@pytest.mark.slow
def test_a_failing_command_records_nothing(results_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        defaults.main(["--only", "search", "--", "proxy.nope=1"])
    assert "nas.search exited with status 2; nothing recorded for search" in str(exit_info.value)
    assert not (results_dir / "defaults.json").exists()


def test_only_accepts_the_two_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        defaults.main(["--only", "family"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'family'" in capsys.readouterr().err


def test_a_pipeline_section_keeps_its_wall_clock_beside_the_stage_times(results_dir, monkeypatch):
    summary = {"pipeline": "tiny", "dataset": {"name": "digits"}, "stages": {}, "seconds": {"search": 1.5}}
    ran = {"run": "python -m scaling.pipeline pipeline=tiny", "seconds": 9.5, "output_tail": [], "summary": summary}
    monkeypatch.setattr(defaults, "run_command", lambda which, overrides, scratch: ran)
    defaults.main(["--only", "pipeline_tiny"])
    section = json.loads((results_dir / "defaults.json").read_text())["pipeline_tiny"]
    assert section["seconds"] == 9.5 and section["stage_seconds"] == {"search": 1.5}
