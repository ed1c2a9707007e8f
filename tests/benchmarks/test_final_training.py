"""The final-training and export-latency benchmarks on tiny settings: real runs, records with their figures."""

from __future__ import annotations

import json

import pytest

from benchmarks import export_latency, final_training

BLOCKS = ["ds_r1_k3_s1_e1_c16", "ir_r1_k3_s2_e6_c24", "ir_r1_k5_s2_e6_c40_se0.25", "ir_r1_k3_s2_e6_c80"]
TINY = ["proxy.epochs=1", "proxy.train_size=600", "proxy.val_size=300", "proxy.test_size=300", "proxy.width=0.25"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    (results / "defaults.json").write_text(json.dumps({"search": {"best": {"blocks": BLOCKS}}}))
    keep = tmp_path_factory.mktemp("final")
    final_training.main(["--keep", str(keep), "--results-dir", str(results), "--", "dataset=digits", *TINY])
    return keep, results


@pytest.mark.slow
def test_final_training_records_both_networks(trained, capsys):
    keep, results = trained
    record = json.loads((results / "final_training.json").read_text())
    assert set(record["runs"]) == {"efficientnet_b0", "search_best"}
    for run in record["runs"].values():
        assert 0.0 < run["test_acc"] <= 1.0 and run["epochs"] == 1 and len(run["history"]) == 1
        assert run["wall_seconds"] > 0 and run["run"].startswith("python -m nas.train")
    assert record["command"].startswith("python -m benchmarks.final_training")
    assert (keep / "search_best" / "model.pt").is_file()
    with pytest.raises(SystemExit) as exit_info:
        final_training.main(["--keep", str(keep), "--results-dir", str(results), "--", "dataset=digits", *TINY])
    assert exit_info.value.code == 2 and "holds an earlier run" in capsys.readouterr().err


def test_a_missing_defaults_record_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        final_training.main(["--defaults", str(tmp_path / "none.json"), "--results-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'none.json'} is missing: run python -m benchmarks.defaults --only search first" in err
    assert err.count("\n") == 1


@pytest.mark.slow
def test_export_latency_measures_parity_and_both_runtimes(trained):
    pytest.importorskip("onnxruntime")
    keep, results = trained
    model_file = str(keep / "search_best" / "model.pt")  # B0's export would take as long again: one shows the way
    timing = ["--min-run-time", "0.01", "--warmup", "1", "--threads", "1"]
    export_latency.main([model_file, *timing, "--results-dir", str(results)])
    record = json.loads((results / "export_latency.json").read_text())
    assert len(record["models"]) == 1 and record["min_run_time"] == 0.01
    for model in record["models"]:
        assert model["parity_max_abs_diff"] <= 1e-4
        assert set(model["latency"]) == {"32px", "224px"}
        assert all(v["torch_ms"] > 0 and v["onnxruntime_ms"] > 0 for v in model["latency"].values())
