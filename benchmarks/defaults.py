"""The default runs a new user starts with: wall clock and what they found.

Runs ``python -m nas.search`` (what ``make search`` runs), ``python -m scaling.grid --phi 1``,
``python -m scaling.pipeline`` and its smoke run (``pipeline=tiny``) as subprocesses, each on a
fresh SQLite storage and run directory in a temporary folder, and records their wall-clock
seconds, trial counts and results (the best genotype and its reward; the best coefficient triple
and its accuracy; each pipeline stage) in ``benchmarks/results/defaults.json``; the pipeline's
report and its pictures are kept in ``benchmarks/results/pipeline_report/``.  About 17 minutes on
2 CPU cores (the pipeline about 10 of them).  Overrides after ``--`` go to every command run,
e.g. a cheap smoke run::

    python -m benchmarks.defaults --only search -- proxy=tiny search.n_trials=2

``--only`` updates one section of an existing record and keeps the others.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import (
    add_record_options,
    command_line,
    measurement_start,
    provenance,
    results_path,
    stoppable,
)

PROG = "defaults"
COMMANDS = {
    "search": ["nas.search"],
    "grid": ["scaling.grid", "--phi", "1"],
    "pipeline": ["scaling.pipeline"],
    "pipeline_tiny": ["scaling.pipeline", "pipeline=tiny"],  # the smoke run the docs time
}
REPORT_FILES = ("report.md", "search/search.png", "grid/grid.png", "family/family.png", "compare/compare.png")
TAIL_LINES = 12


def run_command(which: str, overrides: Sequence[str], scratch: Path) -> dict[str, Any]:
    """Run one default command in ``scratch`` and return its wall clock, exit status and last lines."""
    out = scratch / which
    args = [
        *COMMANDS[which],
        f"study.storage=sqlite:///{scratch / f'{which}.db'}",
        f"hydra.run.dir={out}",
        "progress=false",
        *overrides,
    ]
    print(f"$ {shlex.join(['python', '-m', *args])}", flush=True)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    start = time.perf_counter()
    with stoppable([sys.executable, "-m", *args], stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            tail.append(line.rstrip("\n"))
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{PROG}: error: {args[0]} exited with status {proc.returncode}; nothing recorded for {which}")
    return {
        "run": shlex.join(["python", "-m", *args]),
        "seconds": round(seconds, 1),
        "output_tail": list(tail),
        "summary": json.loads((out / "summary.json").read_text()),
    }


def keep_report(out: Path, kept: Path, scratch: Path) -> None:
    """Copy the pipeline's report and pictures next to the record (scratch paths made relative)."""
    for name in REPORT_FILES:
        target = kept / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".md"):
            target.write_text((out / name).read_text().replace(str(scratch), "<scratch>"))
        else:
            target.write_bytes((out / name).read_bytes())


def search_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """What a search found: counts, the best genotype and the reference it is measured against."""
    keys = ("study", "objective", "n_trials", "n_complete", "n_pruned", "n_failed", "n_trained")
    return {**{k: summary.get(k) for k in keys}, "best": summary.get("best"), "reference": summary.get("reference")}


def grid_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """What a grid found: counts, the rule, the chosen triple, the top points over seeds, the paper's point."""
    keys = ("study", "baseline", "phi", "rule", "cost", "n_points", "n_feasible", "n_trials", "n_complete")
    keys += ("n_pruned", "n_retrained", "paper_point_in_grid", "paper_point", "best", "top", "tie")
    return {k: summary.get(k) for k in keys}


def pipeline_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """Each pipeline stage's study, best and seconds, and the dataset (the wall clock stays ``seconds``)."""
    return {**{k: summary.get(k) for k in ("pipeline", "dataset", "stages")}, "stage_seconds": summary.get("seconds")}


FIGURES = {
    "search": search_figures,
    "grid": grid_figures,
    "pipeline": pipeline_figures,
    "pipeline_tiny": pipeline_figures,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=tuple(COMMANDS), help="run one of the commands")
    add_record_options(parser, "defaults.json")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides passed to every command run (after --)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    path = results_path("defaults", args.results_dir)
    record = json.loads(path.read_text()) if path.is_file() else {}
    command = command_line("benchmarks.defaults", argv)
    for which in [args.only] if args.only else list(COMMANDS):
        start = measurement_start(args.results_dir, args.allow_dirty)
        with tempfile.TemporaryDirectory(prefix=f"bench-defaults-{which}-") as scratch:
            ran = run_command(which, args.overrides, Path(scratch))
            if which == "pipeline":
                keep_report(Path(scratch) / which, path.parent / "pipeline_report", Path(scratch))
        record[which] = {
            **provenance(command, start),
            "run": ran["run"],
            "overrides": args.overrides,
            "seconds": ran["seconds"],
            **FIGURES[which](ran["summary"]),
            "output_tail": ran["output_tail"],
        }
        print(f"{which}: {ran['seconds']:.1f} s", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n")  # after each command: a later failure keeps it
        print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
