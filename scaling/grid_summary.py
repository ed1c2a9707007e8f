"""What a finished grid says: its opening line, the chosen point's record, ``coefficients.yaml``, the plain-words ending."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from nas.proxy.noise import interval_text, small_split_note
from scaling.coefficients import genotype_signature
from scaling.compound import PAPER_COEFFICIENTS
from scaling.grid_points import GridSettings, point_key
from scaling.grid_seeds import TIE_RULE, Choice, Standing, most_retrains, standings, verdict_between
from search_spaces.genotype import Genotype

N_VAL_ATTR = "n_val"
"""The study attribute holding the validation split's size (how a one-seed tie is judged, e.g. for ``grid:STUDY``)."""


def grid_opening(settings: GridSettings, n_points: int, phi: float) -> str:
    """The line a grid opens with: which points, which rule, which seed rounds."""
    s = settings
    axes = f"alpha<={s.alpha_max}, beta<={s.beta_max}, gamma<={s.gamma_max}, step {s.step}"
    line = f"{n_points} points ({axes}, |alpha*beta^2*gamma^2-2|<={s.enumerated:g})"
    if s.by_cost:
        line += f"; trained when their real {s.cost} is within {s.cost_tolerance:.0%} of {2**phi:g}x the baseline's"
    if s.rule == "both":
        line += f" and |alpha*beta^2*gamma^2-2|<={s.tolerance:g}"
    if s.max_seeds > 1:
        line += (
            f"; then the best {s.top} trained again, up to {s.max_seeds} seeds ({most_retrains(s)} trainings at most)"
        )
    return f"{line}; phi={phi:g}; pruner {s.pruner}"


def points_in(frame: pd.DataFrame, state: str) -> int:
    """How many distinct points have a trial in ``state``."""
    return len(frame[frame["state"] == state].drop_duplicates(["alpha", "beta", "gamma"]))


def feasible_points(frame: pd.DataFrame) -> int:
    """How many distinct points the rule found feasible (a grid from before the rule: every point)."""
    points = frame.drop_duplicates(["alpha", "beta", "gamma"])
    return int(points["feasible"].fillna(True).astype(bool).sum())


def paper_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The trials of the paper's (1.2, 1.1, 1.15) in a grid's table, first pass first."""
    return frame[
        (frame["alpha"].round(4) == PAPER_COEFFICIENTS[0])
        & (frame["beta"].round(4) == PAPER_COEFFICIENTS[1])
        & (frame["gamma"].round(4) == PAPER_COEFFICIENTS[2])
    ]


def paper_point_verdict(
    frame: pd.DataFrame, chosen: Standing | None = None, seed: int = 0, n_val: int | None = None
) -> dict[str, Any] | None:
    """The paper's (1.2, 1.1, 1.15) in this grid: its constraint, real cost ratio, feasibility and why (None: absent).

    Where both it and ``chosen`` (another network) were trained, ``against_chosen`` holds the chosen
    point's verdict on it over the seeds both have (:func:`~scaling.grid_seeds.verdict_between`).
    """
    rows = paper_rows(frame)
    if rows.empty:
        return None
    row = rows.iloc[0]
    known = {k: row.get(k) for k in ("constraint", "cost_ratio", "feasible", "reason")}
    record = {k: None if pd.isna(v) else (bool(v) if k == "feasible" else v) for k, v in known.items()}
    paper = standings(frame, seed).get(point_key(PAPER_COEFFICIENTS))
    if chosen is not None and paper is not None and paper.key != chosen.key:
        record["against_chosen"] = verdict_between(chosen, paper, n_val)
    return record


def against_words(judged: Mapping[str, Any]) -> str:
    """``beats it (+0.0120 proxy accuracy over the 2 seeds both were trained at, image by image)``."""
    seeds = "at the seed" if judged["seeds"] == 1 else f"over the {judged['seeds']} seeds"
    how = ", image by image" if judged["paired"] else ""
    return f"{judged['verdict']} it ({judged['gap']:+.4f} proxy accuracy {seeds} both were trained at{how})"


def chosen_record(choice: Choice) -> dict[str, Any]:
    """``summary.json``'s ``best``: the chosen point's first-pass record, ``val_acc`` its mean over seeds."""
    row, chosen = choice.chosen.row, choice.chosen
    keys = ("alpha", "beta", "gamma", "flops", "flops_ratio", "latency_ms", "latency_ratio", "constraint", "cost_ratio")
    record: dict[str, Any] = {k: None if row.get(k) is None else float(row[k]) for k in keys}
    interval = chosen.interval
    record.update(
        val_acc=round(chosen.mean, 6),
        interval=None if interval is None else [round(v, 5) for v in interval],
        seeds=len(chosen.accs),
        tie=choice.tie,
        trial=int(row["number"]),
    )
    return record


def write_coefficients(path: Path, summary: dict[str, Any], baseline: Genotype, study: str) -> None:
    """``coefficients.yaml``: the chosen triple (what the family reads), its evidence, and the top points."""
    best = summary["best"]
    data: dict[str, Any] = {k: best[k] for k in ("alpha", "beta", "gamma")}
    data.update(phi=summary["phi"], val_acc=best["val_acc"], interval=best["interval"], seeds=best["seeds"])
    data.update(tie=summary["tie"], tie_rule=TIE_RULE, flops_ratio=best["flops_ratio"], cost_ratio=best["cost_ratio"])
    data.update(baseline=baseline.name, baseline_genotype=genotype_signature(baseline), study=study, top=summary["top"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def describe_grid(summary: dict[str, Any], phi: float) -> str:
    """The plain-words ending: the chosen point with its interval and seeds, the tie, the paper's point."""
    best, n_val = summary["best"], summary["dataset"].get("n_val")
    lines = [] if best else ["no point was fully trained yet"]
    if best:
        latency = f", {best['latency_ratio']:.2f}x its latency" if best.get("latency_ratio") is not None else ""
        spread = interval_text(best["val_acc"], n_val) if best["interval"] is None else ""
        if best["interval"] is not None:
            spread = f" [{best['interval'][0]:.4f}, {best['interval'][1]:.4f}] over {best['seeds']} seeds"
        lines.append(
            f"chosen of {summary['n_complete']} fully trained points: alpha={best['alpha']:g}, beta={best['beta']:g}, "
            f"gamma={best['gamma']:g} (constraint {best['constraint']:.3f}), val_acc {best['val_acc']:.4f}{spread}, "
            f"{best['flops_ratio']:.2f}x the baseline's FLOPs{latency} (2**phi = {2**phi:g}) -> coefficients.yaml"
        )
        lines.append(tie_sentence(summary))
    paper = summary.get("paper_point") or {}
    if paper.get("feasible") is False:
        lines.append(f"The paper's point (1.2, 1.1, 1.15) was {paper['reason']}.")
    if paper.get("against_chosen"):
        lines.append(
            f"Against the paper's point (1.2, 1.1, 1.15), the chosen {against_words(paper['against_chosen'])}."
        )
    note = small_split_note(n_val)
    return "\n".join(lines + ([note] if note else []))


def tie_sentence(summary: dict[str, Any]) -> str:
    """Whether the chosen point is separated from the rest of the top, in one sentence."""
    best = tuple(summary["best"][k] for k in ("alpha", "beta", "gamma"))
    others = [t for t in summary["top"] if t["tie"] and (t["alpha"], t["beta"], t["gamma"]) != best]
    if not summary["tie"]:
        return "It is better than the runner-up beyond noise."
    named = ", ".join(f"({t['alpha']:g}, {t['beta']:g}, {t['gamma']:g})" for t in others)
    return f"It ties within noise with {named}; {TIE_RULE}."
