"""The throughput benchmark on a few steps: both loops run and the record holds their figures."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repeats", "0"], "--repeats and --steps must be >= 1, got 0 and 40"),
        (["--variant", "amp=maybe"], "proxy.amp: Value 'maybe' is not a valid bool"),
        (["--variant", "amp=false,colour=red"], "unknown setting 'proxy.colour': proxy has: resolution,"),
        (["--variant", "epochs=0"], "proxy.epochs must be an integer >= 1, got 0"),
    ],
)
def test_bad_arguments_are_one_line(results_dir, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        proxy_throughput.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_variants_train_with_their_settings_and_the_first_round_is_not_timed(results_dir, monkeypatch):
    speeds, seen = itertools.count(100.0, 100.0), []

    def fake_proxy(genotype, data, config, seed):
        seen.append((config.amp, config.channels_last))
        return SimpleNamespace(images_per_s=next(speeds))

    monkeypatch.setattr(proxy_throughput, "train_proxy", fake_proxy)
    monkeypatch.setattr(proxy_throughput, "plain_loop_images_per_s", lambda *a: next(speeds))
    args = ["--steps", "2", "--batch-size", "8", "--dataset", "digits", "--device", "cpu", "--repeats", "2"]
    proxy_throughput.main([*args, "--variant", "amp=false,channels_last=false"])
    record = json.loads((results_dir / "proxy_throughput.json").read_text())
    # untimed: plain 100, proxy 200; then plain 300, proxy 400, variant 500; plain 600, proxy 700, variant 800
    assert seen == [(True, None)] * 2 + [(False, False), (True, None), (False, False)]
    assert record["plain_images_per_s_runs"] == [300.0, 600.0] and record["proxy_images_per_s_runs"] == [400.0, 700.0]
    assert record["variants"]["amp=false,channels_last=false"]["runs"] == [500.0, 800.0]
