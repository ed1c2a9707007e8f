"""The test suite's own time: ``make test`` (what CI runs) and ``make test-fast`` (the quick tier).

Runs each make target as a user would, in the checkout, printing what it prints, and records the
target's wall clock and, for each pytest pass it makes, pytest's closing line: the tests passed,
skipped or deselected and pytest's own seconds (collection and tests: the "test time").  About
10 minutes on 2 CPU cores.  Arguments after ``--`` go to every pytest pass (``PYTEST_ARGS``)::

    python -m benchmarks.suite                                  # both targets
    python -m benchmarks.suite --targets test-fast -- tests/search_spaces
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.common import add_record_options, command_line, measurement_start, stoppable, write_figures

PROG = "suite"
TARGETS = ("test", "test-fast")
# pytest's closing line, e.g. "637 passed, 1 skipped in 413.57s (0:06:53)"
CLOSING = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in ([\d.]+)s\b")


def pytest_passes(lines: Sequence[str]) -> list[dict[str, Any]]:
    """Each pytest pass's counts (passed, skipped, deselected, ...) and seconds, from its closing line."""
    passes = []
    for line in lines:
        found = CLOSING.match(line.strip())
        if found:
            counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", found[1])}
            passes.append({**counts, "seconds": float(found[2])})
    return passes


def run_target(target: str, pytest_args: Sequence[str]) -> dict[str, Any]:
    """``make TARGET`` in the checkout: its wall clock, exit status and pytest passes."""
    command = ["make", target, *([f"PYTEST_ARGS={shlex.join(pytest_args)}"] if pytest_args else [])]
    print(f"$ {shlex.join(command)}", flush=True)
    lines = []
    start = time.perf_counter()
    with stoppable(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    seconds = time.perf_counter() - start
    passes = pytest_passes(lines)
    return {
        "run": shlex.join(command),
        "returncode": proc.returncode,
        "wall_seconds": round(seconds, 1),
        "passes": passes,
        "test_seconds": round(sum(p["seconds"] for p in passes), 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS), help="make targets to time")
    add_record_options(parser, "suite.json")
    parser.add_argument("pytest_args", nargs="*", help="arguments for every pytest pass (after --)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    start = measurement_start(args.results_dir, args.allow_dirty)
    figures = {target: run_target(target, args.pytest_args) for target in args.targets}
    failed = [target for target, run in figures.items() if run["returncode"] != 0]
    if failed:
        raise SystemExit(f"{PROG}: error: make {' '.join(failed)} failed; nothing recorded")
    write_figures(PROG, figures, command_line("benchmarks.suite", argv), args.results_dir, start)
    for target, run in figures.items():
        print(f"make {target}: {run['test_seconds']:.1f} s of test time, {run['wall_seconds']:.1f} s in all")


if __name__ == "__main__":
    main()
