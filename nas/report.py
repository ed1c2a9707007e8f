"""``python -m nas.report RUN_DIRS...``: compare searches, e.g. the jobs of a Hydra sweep.

Each run directory is one written by ``nas.search`` (``summary.json``, ``trials.csv`` and
``config.json``); a sweep directory is searched for them.  Runs are grouped by dataset and
strategy (the sampler), and for each the best reward found against the number of trials is
tabulated and plotted (mean over seeds, band from worst to best): rewards on two datasets are
never averaged together.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from nas.cli.plain import OneLineParser
from nas.search.comparison import common_depth, compare, find_runs
from nas.search.plots import plot_best_so_far

PROG = "python -m nas.report"


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="search run directories or a sweep directory")
    parser.add_argument("--out", type=Path, help="where report.csv and report.png go (default: the common parent)")
    args = parser.parse_args(argv)
    try:
        runs = find_runs(args.runs)
        table, curves = compare(runs)
    except (FileNotFoundError, ValueError, KeyError, json.JSONDecodeError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    out = args.out or Path(*Path(runs[0]).resolve().parts[: common_depth(runs)])
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "report.csv", index=False)
    plot_best_so_far(curves, out / "report.png")
    datasets = sorted(table["dataset"].unique())
    if len(datasets) > 1:
        print(
            f"runs on {len(datasets)} datasets ({', '.join(datasets)}): each dataset's runs are compared on their own"
        )
    by_sampler = table.groupby(["dataset", "sampler"]).agg(
        runs=("run", "count"),
        trials=("trials", "mean"),
        best_reward=("best_reward", "mean"),
        max_reward=("best_reward", "max"),
    )
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(table.drop(columns=["run"]).to_string(index=False))
        print()
        print(by_sampler.to_string())
    print(f"\nwrote {out / 'report.csv'} and {out / 'report.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
