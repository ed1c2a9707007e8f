"""The folder-loading benchmark on a few hundred images: decode, cached load, rebuild, uint8 and float splits."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks import folder_loading
from nas.proxy.data import float_budget_for

TINY = ["--n", "300", "--train-size", "150", "--val-size", "50"]


@pytest.mark.slow
def test_records_loading_and_splits_and_reuses_a_folder(results_dir, tmp_path):
    folder = tmp_path / "images"
    args = [*TINY, "--folder", str(folder), "--skip-train"]
    folder_loading.main(args)
    record = json.loads((results_dir / "folder_loading.json").read_text())
    assert record["command"] == "python -m benchmarks.folder_loading " + " ".join(args)
    assert record["images"] == 300 and record["write"]["images"] == 300 and record["image_size"] == [96, 80]
    load = record["load"]
    assert load["train_shape"] == [240, 3, 64, 64] and load["test_images"] == 60
    assert load["cached"]["seconds"] < load["first"]["seconds"]
    assert all(load[k]["memmap"] for k in ("first", "cached", "after_touch"))
    assert load["first"]["cache_bytes"] >= 300 * 3 * 64 * 64
    assert load["first"]["peak_rss_self_mib"] > 0 and load["first"]["peak_rss_children_mib"] >= 0
    splits = record["splits"]
    assert splits["float_budget_bytes"] == float_budget_for(torch.device("cpu"))
    for res in (32, 64):
        figures = splits[f"{res}px"]
        assert figures["default"]["dtype"] == "float32" and figures["uint8"]["dtype"] == "uint8"
        assert figures["uint8"]["bytes"] == (150 + 50 + 60) * 3 * res * res
        assert figures["bytes_ratio"] == 4.0
    assert record["training"] is None
    stamps = {p: p.stat().st_mtime_ns for p in folder.rglob("*.jpg")}
    folder_loading.main(args)  # the folder is reused as it is, its modification times restored
    again = json.loads((results_dir / "folder_loading.json").read_text())
    assert again["write"] is None and again["images"] == 300 and again["folder"] == str(folder)
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.jpg")} == stamps


@pytest.mark.slow
def test_trains_the_reference_on_float_and_uint8_splits(results_dir):
    folder_loading.main([*TINY, "--proxy-train-size", "100", "--train-repeats", "1"])
    training = json.loads((results_dir / "folder_loading.json").read_text())["training"]
    assert training["float"]["dtype"] == "float32" and training["uint8"]["dtype"] == "uint8"
    assert training["float"]["images_per_s"] > 0 and training["uint8"]["images_per_s"] > 0
    ratio = training["uint8"]["images_per_s"] / training["float"]["images_per_s"]
    assert training["uint8_over_float"] == pytest.approx(ratio, abs=0.01)
    assert 0 <= training["float"]["val_acc"] <= 1 and 0 <= training["uint8"]["val_acc"] <= 1


def test_bad_sizes_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        folder_loading.main(["--n", "0"])
    assert exit_info.value.code == 2
    assert "must be >= 1" in capsys.readouterr().err
