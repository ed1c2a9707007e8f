"""Phrases the supernet's paragraphs quote, rebuilt from their records (for test_quoted_figures)."""

from __future__ import annotations

from typing import Any


def interval(values: list[float]) -> str:
    return f"[{values[0]:+.3f}, {values[1]:+.3f}]"


def supernet_row(r: dict[str, Any]) -> str:
    return (
        f"trained in {r['train_cost_ratio']:.1f} B0 proxy trainings, scores {r['subnets_per_minute']:.0f} candidates "
        f"a minute; ranks the {r['n']} held-out bank members at τ {r['tau']:+.3f} {interval(r['tau_interval'])}"
    )


def supernet_held_out(r: dict[str, Any]) -> str:
    return (
        f"On the {r['n']} held-out members: τ-b **{r['tau']:+.3f} {interval(r['tau_interval'])}** against the "
        f"two-seed label, short of the 0.5 target; the proxy's seed 0 against seed 1 reaches "
        f"{r['tau_ceiling']:+.3f} {interval(r['tau_ceiling_interval'])}, the parameter count "
        f"{r['tau_params']:+.3f} {interval(r['tau_params_interval'])}"
    )


def setting_row(r: dict[str, Any], index: int) -> str:
    s = r["settings"][index]
    return f"| {s['train_cost_ratio']:.1f} | {s['tuning']['accuracy']['tau']:+.3f} |"


def scoring_setting(r: dict[str, Any], index: int) -> str:
    s = r["settings"][index]
    return (
        f"{s['tuning']['accuracy']['tau']:+.3f} / {s['tuning']['loss']['tau']:+.3f} at {s['subnets_per_minute']:,.0f}"
    )


LABELS = {
    "random": "random search",
    "tpe": "TPE",
    "tpe+prescreen": "TPE + pre-screen",
    "tpe+supernet": "TPE + supernet trained in the budget",
    "tpe+trained_supernet": "TPE + stored supernet",
}
VERDICTS = {"beats": "**beats**", "ties within noise with": "tie", "does not beat": "does not beat"}


def _difference(p: dict[str, Any]) -> str:
    low, high = p["interval_95"]
    return f"{p['mean']:+.4f} [{low:+.4f}, {high:+.4f}]"


def search_pair(r: dict[str, Any], pair: str) -> str:
    """One paired comparison of equal-time searches (supernet or zero-cost record), as the README words it."""
    first, second = pair.split(" vs ")
    p = r["search"]["paired"][pair]
    return f"{LABELS[first]} against {LABELS[second]} {_difference(p)} over {p['n']} seeds"


def supernet_search_row(r: dict[str, Any], method: str) -> str:
    """A method's row of the equal-time table: best reward, trials, and its pairs with random and TPE."""
    m = r["search"]["methods"][method]
    cells = [method, f"{m['mean_best_reward']:.4f} ± {m['std_best_reward']:.4f}", f"{m['mean_trials']:.1f}"]
    for other in ("random", "tpe"):
        p = r["search"]["paired"].get(f"{method} vs {other}")
        cells.append(f"{_difference(p)} {VERDICTS[p['verdict']]}" if p else "")
    return " ".join(("| " + " | ".join(cells) + " |").split())  # an empty cell is "| |"
