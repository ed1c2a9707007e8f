"""The report's compound-coefficients section: the grid's rule, every point's cost, the top points over seeds."""

from __future__ import annotations

from typing import Any

import pandas as pd

from nas.studies.run import StudyRun
from scaling.compound import PAPER_COEFFICIENTS, flops_constraint
from scaling.grid_summary import paper_rows, tie_sentence
from scaling.markdown import cell, table
from scaling.report_accuracy import against_paper, interval_words, n_val_of, with_interval


def paper_point(frame: pd.DataFrame) -> tuple[Any, str]:
    """The paper's (1.2, 1.1, 1.15) in this grid: (its accuracy cell, a sentence on how it fared)."""
    rows = paper_rows(frame)
    if rows.empty:
        return None, "The paper's point is not in this grid (see `grid.*` to widen it)."
    first = rows.iloc[0]
    if str(first.get("feasible")) == "False":  # read back from grid.csv: a bool, or NaN in an older grid
        return "not trained", f"The paper's point was {first['reason']}."
    done = rows[rows["state"] == "COMPLETE"]
    if len(done):
        return float(done["val_acc"].iloc[0]), "Both were trained in full on the same proxy task, at the same phi."
    row = rows.iloc[-1]
    if row["state"] == "PRUNED":
        acc = cell(row["val_acc"]) if pd.notna(row["val_acc"]) else "–"
        return f"stopped early ({acc})", "The pruner stopped the paper's point before its last epoch."
    return None, f"The paper's point did not finish ({row['state']})."


def rule_words(summary: dict[str, Any], phi: float) -> str:
    """Which rule made a point feasible, in words."""
    constraint = "alpha * beta^2 * gamma^2 ≈ 2"
    if summary.get("rule", "constraint") == "constraint":
        return f"feasible when {constraint}"
    cost = "real FLOPs at the target input" if summary.get("cost") == "flops" else "measured latency"
    words = f"feasible when their {cost} lie within the tolerance of {2**phi:g}x the baseline's"
    return words + (f" and {constraint}" if summary["rule"] == "both" else "")


def yes_no(value: Any) -> str:
    return {"True": "yes", "False": "no"}.get(str(value), "–")


def points_table(frame: pd.DataFrame) -> list[str]:
    """Every point of the grid: its constraint, real cost ratio, feasibility by each rule, first-pass accuracy."""
    first = frame.drop_duplicates(["alpha", "beta", "gamma"]).sort_values("cost_ratio")
    rows = [
        (
            r["alpha"],
            r["beta"],
            r["gamma"],
            r["constraint"],
            yes_no(r["constraint_ok"]),
            r["cost_ratio"],
            yes_no(r["cost_ok"]),
            r["val_acc"] if r["state"] == "COMPLETE" else r["state"].lower(),
        )
        for _, r in first.iterrows()
    ]
    header = [
        "alpha",
        "beta",
        "gamma",
        "alpha*beta²*gamma²",
        "constraint rule",
        "cost ratio",
        "cost rule",
        "first pass",
    ]
    return ["<details><summary>Every point</summary>", "", table(rows, header), "", "</details>", ""]


def top_table(summary: dict[str, Any]) -> list[str]:
    """The first pass's best, trained again: mean and 95% t-interval over seeds, and which tie with the leader."""
    rows = [
        (
            t["alpha"],
            t["beta"],
            t["gamma"],
            t["mean"],
            "–" if t["interval"] is None else f"[{t['interval'][0]:.4f}, {t['interval'][1]:.4f}]",
            t["seeds"],
            t["cost_ratio"],
            "tie" if t["tie"] else "",
        )
        for t in summary.get("top") or []
    ]
    return [table(rows, ["alpha", "beta", "gamma", "mean val acc", "95% interval", "seeds", "cost ratio", ""]), ""]


def grid_section(run: StudyRun, phi: float) -> list[str]:
    summary, best, n_val = run.summary, run.best, n_val_of(run)
    frame = pd.read_csv(run.out / "grid.csv")
    paper_acc, note = paper_point(frame)
    rows = [
        ("this grid's best", best["alpha"], best["beta"], best["gamma"], best["constraint"], best["val_acc"]),
        ("the paper's (EfficientNet)", *PAPER_COEFFICIENTS, flops_constraint(*PAPER_COEFFICIENTS), paper_acc),
    ]
    rows = [(*row[:5], with_interval(row[5], n_val)) for row in rows]
    lines = [
        "## 3. Compound coefficients",
        "",
        f"Study `{run.study}`: {summary['n_points']} points near alpha * beta^2 * gamma^2 = 2 at phi = {phi:g}, "
        f"{rule_words(summary, phi)}; {summary.get('n_feasible', summary['n_points'])} feasible, "
        f"{summary['n_complete']} trained in full, {summary['n_pruned']} pruned (infeasible or stopped early). "
        f"Proxy validation accuracy{interval_words(n_val)}.",
        "",
        table(rows, ["", "alpha", "beta", "gamma", "alpha*beta²*gamma²", f"proxy val acc (phi={phi:g})"]),
        "",
        note + against_paper(best, paper_acc, n_val, (summary.get("paper_point") or {}).get("against_chosen")),
        "",
    ]
    if "cost_ratio" in frame and frame["cost_ratio"].notna().any():
        lines += points_table(frame)
    if summary.get("top"):
        lines += ["The best points of the first pass, trained again at more seeds:", "", *top_table(summary)]
        lines += [tie_sentence(summary), ""]
    return [*lines, "![grid](grid/grid.png)", ""]
