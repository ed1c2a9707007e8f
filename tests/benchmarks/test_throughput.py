"""The throughput benchmark on a few steps: both loops run and the record holds their figures."""

from __future__ import annotations

import json

import pytest

from benchmarks import proxy_throughput


@pytest.mark.slow
def test_measures_both_loops_and_records_the_command(results_dir):
    args = ["--steps", "3", "--batch-size", "32", "--width", "0.25", "--dataset", "digits", "--device", "cpu"]
    args += ["--repeats", "2", "--variant", "channels_last=false"]
    proxy_throughput.main(args)
    record = json.loads((results_dir / "proxy_throughput.json").read_text())
    assert record["command"] == "python -m benchmarks.proxy_throughput " + " ".join(args)
    assert record["plain_images_per_s"] > 0 and record["proxy_images_per_s"] > 0
    assert record["speedup"] == pytest.approx(record["proxy_images_per_s"] / record["plain_images_per_s"], abs=0.02)
    assert record["machine"]["torch"]
    assert len(record["plain_images_per_s_runs"]) == len(record["proxy_images_per_s_runs"]) == 2
    variant = record["variants"]["channels_last=false"]
    assert len(variant["runs"]) == 2 and variant["images_per_s"] > 0


def test_bad_repeats_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        proxy_throughput.main(["--repeats", "0"])
    assert exit_info.value.code == 2
    assert "--repeats and --steps must be >= 1" in capsys.readouterr().err


def test_a_variant_must_name_proxy_settings(capsys):
    with pytest.raises(SystemExit) as exit_info:
        proxy_throughput.main(["--variant", "amp=false,colour=red"])
    assert exit_info.value.code == 2
    assert "--variant 'amp=false,colour=red': expected KEY=VALUE[,KEY=VALUE] with KEY a proxy setting" in (
        capsys.readouterr().err
    )
