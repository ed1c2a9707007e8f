"""``benchmarks/cuda.sh``, the script a lent GPU runs, run here with a stand-in Python that logs its calls."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess

import pytest

from benchmarks.common import ROOT

SCRIPT = ROOT / "benchmarks" / "cuda.sh"
STEPS = ["tests", "throughput", "latency", "final", "search"]


def run_script(tmp_path, fail="", **env):
    log = tmp_path / "calls.log"
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\ncase "$*" in *"{fail or "@none@"}"*) exit 1;; esac\n')
    fake.chmod(0o755)
    result = subprocess.run(
        ["bash", str(SCRIPT), "records"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": str(fake), "DEVICE": "cpu", "SMOKE": "1", "KEEP": str(tmp_path / "keep"), **env},
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_every_step_runs_a_module_that_exists_and_records_go_to_the_callers_folder(tmp_path):
    result, calls = run_script(tmp_path)
    assert result.returncode == 0, result.stderr
    modules = [m for call in calls for m in re.findall(r"^-m ([\w.]+)", call)]
    assert modules[:2] == ["pytest", "benchmarks.proxy_throughput"] and modules[-1] == "benchmarks.defaults"
    assert all(importlib.util.find_spec(m) is not None for m in modules), modules
    assert all(f"--results-dir {tmp_path / 'records'}" in c for c in calls if "--results-dir" in c)
    assert [line.split(":")[0] for line in result.stdout.splitlines() if "exit 0" in line] == [
        "== tests",
        "== throughput",
        "== latency-b1",
        "== latency-b64",
        "== final",
        "== search",
    ]


def test_a_failed_step_fails_the_script_and_the_others_still_run(tmp_path):
    result, calls = run_script(tmp_path, fail="benchmarks.final_training", STEPS="final search")
    assert result.returncode == 1
    assert [re.findall(r"-m ([\w.]+)", c)[0] for c in calls[1:]] == ["benchmarks.final_training", "benchmarks.defaults"]


@pytest.mark.parametrize("steps", ["tests bogus", "final,search"])
def test_an_unknown_step_is_one_line_and_runs_nothing(tmp_path, steps):
    result, calls = run_script(tmp_path, STEPS=steps)
    assert result.returncode == 2 and calls == []
    assert result.stderr.count("\n") == 1 and f"allowed: {' '.join(STEPS)}" in result.stderr
