"""``python -m nas.report RUN_DIRS...``: compare searches, e.g. the jobs of a Hydra sweep.

Each run directory is one written by ``nas.search`` (``summary.json``, ``trials.csv`` and
``config.json``); a sweep directory is searched for them.  Runs are grouped by strategy
(the sampler), and for each the best reward found against the number of trials is tabulated
and plotted (mean over seeds, band from worst to best).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from nas.search.plots import plot_best_so_far

PROG = "python -m nas.report"


def find_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Run directories (holding summary.json and trials.csv) at or under ``paths``."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if (path / "summary.json").is_file():
            runs.append(path)
        else:
            runs.extend(sorted(p.parent for p in path.rglob("summary.json") if (p.parent / "trials.csv").is_file()))
    if not runs:
        raise FileNotFoundError(f"no search run (summary.json + trials.csv) under {', '.join(map(str, paths))}")
    return list(dict.fromkeys(runs))


def best_so_far(trials: pd.DataFrame) -> list[float]:
    """Running maximum of the reward over trials in order (pruned/failed trials keep the best)."""
    values, best = [], float("-inf")
    for _, row in trials.sort_values("number").iterrows():
        if row["state"] == "COMPLETE" and pd.notna(row.get("reward")):
            best = max(best, float(row["reward"]))
        values.append(best if best != float("-inf") else float("nan"))
    return values


def compare(runs: Sequence[Path]) -> tuple[pd.DataFrame, dict[str, list[list[float]]]]:
    rows, curves = [], {}
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        config = json.loads((run / "config.json").read_text()) if (run / "config.json").is_file() else {}
        sampler = config.get("search", {}).get("sampler", "?")
        curve = best_so_far(pd.read_csv(run / "trials.csv"))
        curves.setdefault(sampler, []).append([v for v in curve if v == v] or [float("nan")])
        best = summary.get("best") or {}
        rows.append(
            {
                "run": str(run),
                "study": summary.get("study"),
                "sampler": sampler,
                "seed": config.get("seed"),
                "trials": summary.get("n_trials"),
                "best_reward": best.get("reward"),
                "best_val_acc": best.get("val_acc"),
                "best_mflops": (best.get("flops") or 0) / 1e6 or None,
                "reward_at_half": curve[len(curve) // 2 - 1] if len(curve) >= 2 else None,
            }
        )
    return pd.DataFrame(rows), curves


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="search run directories or a sweep directory")
    parser.add_argument("--out", type=Path, help="where report.csv and report.png go (default: the common parent)")
    args = parser.parse_args(argv)
    try:
        runs = find_runs(args.runs)
        table, curves = compare(runs)
    except (FileNotFoundError, ValueError, KeyError, json.JSONDecodeError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    out = args.out or Path(*Path(runs[0]).resolve().parts[: _common_depth(runs)])
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "report.csv", index=False)
    plot_best_so_far(curves, out / "report.png")
    by_sampler = table.groupby("sampler").agg(
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


def _common_depth(runs: Sequence[Path]) -> int:
    parts = [Path(r).resolve().parts for r in runs]
    depth = 0
    while all(len(p) > depth for p in parts) and len({p[depth] for p in parts}) == 1:
        depth += 1
    return depth if len(runs) > 1 else depth - 1


if __name__ == "__main__":
    sys.exit(main())
