"""benchmarks.suite on one small test file: both pytest passes of the real make target are timed."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmarks import suite


def test_reads_pytest_closing_lines():
    lines = ["....\n", "637 passed, 1 skipped in 413.57s (0:06:53)\n", "== 7 passed, 638 deselected in 35.80s ==\n"]
    assert suite.pytest_passes(lines) == [
        {"passed": 637, "skipped": 1, "seconds": 413.57},
        {"passed": 7, "deselected": 638, "seconds": 35.8},
    ]
    assert suite.pytest_passes(["1 failed, 2 passed in 3.00s"]) == [{"failed": 1, "passed": 2, "seconds": 3.0}]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_times_the_quick_tier_on_one_file(results_dir):
    suite.main(["--targets", "test-fast", "--", "tests/search_spaces/test_spec.py"])
    record = json.loads((results_dir / "suite.json").read_text())
    assert record["command"] == "python -m benchmarks.suite --targets test-fast -- tests/search_spaces/test_spec.py"
    run = record["test-fast"]
    assert run["run"] == "make test-fast PYTEST_ARGS=tests/search_spaces/test_spec.py"
    # the parallel pass ran the file's tests; the timing pass found none there, which is not a failure
    assert run["returncode"] == 0 and [p.get("passed") for p in run["passes"]] == [3, None]
    assert run["passes"][1]["deselected"] == 3
    assert 0 < run["test_seconds"] <= run["wall_seconds"]
