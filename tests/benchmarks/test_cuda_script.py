"""``benchmarks/cuda.sh``, the script a lent GPU runs: it parses, and every module it runs exists."""

from __future__ import annotations

import importlib.util
import re
import subprocess

from benchmarks.common import ROOT

SCRIPT = ROOT / "benchmarks" / "cuda.sh"


def test_the_script_parses_and_runs_modules_that_exist():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True).returncode == 0
    modules = set(re.findall(r'"\$py" -m ([\w.]+)', SCRIPT.read_text()))
    assert {"pytest", "benchmarks.proxy_throughput", "benchmarks.final_training", "benchmarks.defaults"} <= modules
    assert all(importlib.util.find_spec(m) is not None for m in modules), modules


def test_its_steps_are_the_ones_steps_can_name():
    text = SCRIPT.read_text()
    named = set(re.search(r"STEPS:-([\w ]+)\}", text).group(1).split())
    run = set(re.findall(r'^\s*step "?([a-z]+)', text, flags=re.MULTILINE))
    assert named == run == {"tests", "throughput", "latency", "final", "search"}
