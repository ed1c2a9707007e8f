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
