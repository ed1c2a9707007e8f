"""Do zero-cost scores rank this toolkit's candidates, and does pre-screening make the search better?

1. ``--candidates`` genotypes from the default space (``--space-seed``), each trained with the
   default proxy at seeds 0 and 1 (cached: ``benchmarks.zero_cost_data``) and scored with every
   zero-cost score.  For each score and the vote: Kendall's tau and Spearman's rho against the
   proxy's val_acc and against the reward, with bootstrap 95% intervals; beside them the proxy
   against itself across seeds (the ceiling).  The same for ``--holdout-seed``'s candidates,
   which were never looked at while choosing anything, reported separately.
2. Scoring rate: candidates per minute for every score and the vote, model construction included.
3. The search at equal wall-clock (``benchmarks.zero_cost_search``): random, TPE, RL, and TPE and
   RL pre-screened with the ranking that agreed best with the reward on the tuning candidates
   (a score, or a score negated when it ranks them backwards; never chosen on the held-out set).

    python -m benchmarks.zero_cost                      # ~80 min on 2 CPU cores, ~50 with the proxy runs cached
    python -m benchmarks.zero_cost --budget 60 --seeds 0 proxy=tiny

Writes ``benchmarks/results/zero_cost.json`` and ``zero_cost.png``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

from benchmarks.common import add_record_options, command_line, measurement_start, results_path, write_figures
from benchmarks.zero_cost_data import CACHE, TrainedCache, load_task, train_candidates
from benchmarks.zero_cost_search import METHODS, best_so_far, compare_searches
from nas.cli.app import fail, quiet_libraries
from nas.cli.schema import UsageError
from nas.screening.pool import sample_pool
from nas.screening.ranking import RANKINGS, ranking_values
from nas.screening.scorer import Scorer, per_minute_of
from nas.screening.scores import SCORES, VOTE
from nas.search.plots import plot_best_so_far
from nas.search.prescreen import SearchPrescreen

PROG = "zero_cost"
RANKED = (*SCORES, "vote")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--space-seed", type=int, default=0, help="the tuning candidates")
    parser.add_argument("--holdout-seed", type=int, default=1, help="candidates never looked at while tuning")
    parser.add_argument("--bootstrap", type=int, default=2000, help="resamples for the 95%% intervals")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="search seeds per method")
    parser.add_argument("--budget", type=float, default=180.0, help="seconds per search (the default search's time)")
    parser.add_argument(
        "--score",
        choices=[*RANKINGS, "auto"],
        default="auto",
        help="the pre-screen's ranking (auto: the best on tuning)",
    )
    parser.add_argument("--pool", type=int, default=200)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--k", type=int, default=4, help="proposals per RL trial with the pre-screen")
    parser.add_argument("--cache", type=Path, default=CACHE, help="cached proxy results")
    parser.add_argument("--name", default="zero_cost")
    add_record_options(parser, "the record")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/search.yaml")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.command = command_line("benchmarks.zero_cost", argv)
    args.start = measurement_start(args.results_dir, args.allow_dirty)
    quiet_libraries()
    try:
        measure(args)
    except (UsageError, ValueError, FileNotFoundError) as err:
        fail(PROG, err)


def measure(args: argparse.Namespace) -> None:
    if args.candidates < 4 or args.budget <= 0 or args.bootstrap < 100:
        raise UsageError(f"--candidates must be >= 4, --budget > 0, --bootstrap >= 100; got {vars(args)}")
    if args.space_seed == args.holdout_seed:
        raise UsageError("--holdout-seed must differ from --space-seed: the held-out candidates are others")
    task = load_task(args.overrides)
    cache = TrainedCache(args.cache)
    sets = {"tuning": (args.space_seed, (0, 1)), "held_out": (args.holdout_seed, (0,))}
    scorer = Scorer(task.data, task.proxy, task.target, seed=0)
    candidates, agreement = [], {}
    for label, (space_seed, seeds) in sets.items():
        genotypes = sample_pool(task.space, args.candidates, space_seed)
        rows = train_candidates(task, genotypes, seeds, cache, label)
        for row, genotype in zip(rows, genotypes, strict=True):
            row.update(scorer.scores(genotype, SCORES), set=label)
        candidates += rows
        agreement[label] = rank_agreement(rows, args.bootstrap, ceiling=len(seeds) > 1)
    rates = scorer.per_minute()
    rates["vote"] = per_minute_of(rates, VOTE)
    tuning = agreement["tuning"]
    score = args.score if args.score != "auto" else best_ranking(tuning["scores"])
    prescreen = SearchPrescreen(score=score, pool=args.pool, top=args.top, k=args.k)
    print_agreement(agreement, rates)
    print(f"pre-screen for the searches: {score} (pool {args.pool}, top {args.top}, k {args.k} for rl)", flush=True)
    search = compare_searches(task, args.methods, args.seeds, args.budget, prescreen)
    figures = {
        "candidates": candidates,
        "tau": {s: tuning["scores"][s]["tau_val_acc"] for s in RANKED},
        "candidates_per_minute": {k: round(v, 1) for k, v in rates.items()},
        "rank_agreement": agreement,
        "prescreen": {"score": score, "chosen_by": "auto" if args.score == "auto" else "--score", **vars(prescreen)},
        "search": {"budget_seconds": args.budget, "seeds": args.seeds, "methods": search},
        "settings": {
            k: getattr(args, k) for k in ("candidates", "space_seed", "holdout_seed", "bootstrap", "overrides")
        },
    }
    plot_searches(search, args.budget, results_path(args.name, args.results_dir).with_suffix(".png"))
    write_figures(args.name, figures, args.command, args.results_dir, args.start)


def best_ranking(scores: dict[str, dict[str, Any]]) -> str:
    """The ranking with the highest Kendall tau against the reward: a score, ``-score`` when it ranks backwards, or vote."""
    signed = {name: s["tau_reward"] for name, s in scores.items()}
    signed.update({f"-{name}": -s["tau_reward"] for name, s in scores.items() if name in SCORES})
    return max(signed, key=lambda name: signed[name] if np.isfinite(signed[name]) else -np.inf)


def rank_agreement(rows: list[dict[str, Any]], resamples: int, ceiling: bool) -> dict[str, Any]:
    """Kendall's tau and Spearman's rho of every score (and the vote) against val_acc and the reward."""
    table = {s: np.array([r[s] for r in rows], dtype=float) for s in SCORES}
    truths = {"val_acc": np.array([r["val_acc"] for r in rows]), "reward": np.array([r["reward"] for r in rows])}
    rng = np.random.default_rng(0)
    samples = [rng.integers(0, len(rows), len(rows)) for _ in range(resamples)]
    scores = {}
    for name in RANKED:
        values = ranking_values(table, name)
        scores[name] = {}
        for truth_name, truth in truths.items():
            scores[name].update(correlations(values, truth, samples, truth_name))
    out: dict[str, Any] = {"n": len(rows), "scores": scores}
    if ceiling:
        seed1 = np.array([r["val_acc_seed1"] for r in rows])
        out["ceiling"] = correlations(seed1, truths["val_acc"], samples, "val_acc")
    return out


def correlations(x: np.ndarray, y: np.ndarray, samples: list[np.ndarray], label: str) -> dict[str, Any]:
    """``tau_<label>``, ``rho_<label>`` and their bootstrap 95% intervals."""
    x = np.where(np.isfinite(x), x, -np.inf)
    out = {}
    for stat, fn in (("tau", kendalltau), ("rho", spearmanr)):
        value = float(fn(x, y)[0])
        with warnings.catch_warnings():  # a resample of few candidates can be constant: its NaN is left out
            warnings.simplefilter("ignore")
            boot = np.array([fn(x[i], y[i])[0] for i in samples], dtype=float)
        low, high = np.nanpercentile(boot, [2.5, 97.5])
        out[f"{stat}_{label}"] = round(value, 3)
        out[f"{stat}_{label}_95"] = [round(float(low), 3), round(float(high), 3)]
    return out


def print_agreement(agreement: dict[str, Any], rates: dict[str, float]) -> None:
    for label, part in agreement.items():
        print(f"{label} ({part['n']} candidates): Kendall tau against val_acc / reward [95% interval]")
        for name, s in part["scores"].items():
            rate = f"{rates[name]:8.0f}/min" if name in rates else ""
            print(
                f"  {name:9s} {s['tau_val_acc']:+.3f} {s['tau_val_acc_95']} / {s['tau_reward']:+.3f} "
                f"{s['tau_reward_95']}  {rate}"
            )
        if "ceiling" in part:
            print(
                f"  ceiling (proxy seed 0 vs 1): {part['ceiling']['tau_val_acc']:+.3f} {part['ceiling']['tau_val_acc_95']}"
            )


def plot_searches(search: dict[str, Any], budget: float, path: Path) -> None:
    step = max(1.0, budget / 60)
    curves = {m: [best_so_far(r["curve"], budget, step) for r in s["seeds"].values()] for m, s in search.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_best_so_far(curves, path, xlabel="seconds", step=step)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
