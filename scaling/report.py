"""The pipeline's ``report.md``: what was found, against the references, and how to reproduce it.

Written from the stages' own outputs (their ``summary.json`` and tables), so the report says
exactly what the stage folders beside it hold.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from nas.search.outputs import against_reference
from nas.studies.run import StudyRun
from scaling.compare_verdicts import OUTCOMES_FILE, cannot_judge, flat_steps, outcomes_of, with_outcomes
from scaling.markdown import cell, mflops, table
from scaling.report_accuracy import best_at_phi, interval_words, n_val_of, split_note, with_interval
from scaling.report_grid import grid_section

SINGLE_METHODS = ("depth", "width", "resolution")


@dataclass(frozen=True)
class Report:
    """What the report is written from: the stages' runs and folders, and the commands that made them."""

    name: str
    dataset: Mapping[str, Any]
    stages: Mapping[str, StudyRun]  # search, grid, compare
    family: Path
    phi: float
    commands: Mapping[str, str]
    seconds: Mapping[str, float] = field(default_factory=dict)  # each stage's wall clock in this run
    argv: Sequence[str] = ()  # the pipeline's own command line

    def summary(self) -> dict[str, Any]:
        """What ``summary.json`` beside the report records: each stage's study, best and seconds."""
        stages = {
            stage: {"study": run.study, "best": run.best, "seconds": self.seconds.get(stage)}
            for stage, run in self.stages.items()
        }
        return {
            "pipeline": self.name,
            "dataset": dict(self.dataset),
            "stages": stages,
            "seconds": self.seconds,
            "commands": dict(self.commands),
        }


def dataset_section(dataset: Mapping[str, Any]) -> list[str]:
    classes = list(dataset.get("classes") or [])
    shown = ", ".join(classes[:20]) + (f", … ({len(classes)} in all)" if len(classes) > 20 else "")
    size = " × ".join(str(v) for v in dataset.get("image_size", []))
    rows = [
        ("name", f"`{dataset.get('name')}`"),
        ("read from", dataset.get("source") or "the built-in source (docs/commands.md, Datasets)"),
        ("fingerprint", dataset.get("fingerprint")),
        ("images", f"{dataset.get('in_chans')} channel(s), {size} px as stored"),
        ("training split", dataset.get("n_train")),
        ("test split (never seen by the search)", dataset.get("n_test")),
    ]
    return ["## 1. Dataset", "", table(rows, ["", ""]), "", f"Classes ({len(classes)}): {shown or '–'}", ""]


def search_section(run: StudyRun) -> list[str]:
    best, ref, s, n_val = run.summary["best"], run.summary["reference"], run.summary, n_val_of(run)
    rows = [
        (f"reference {ref['name']}", ref["params"], mflops(ref["flops"]), ref.get("val_acc"), ref.get("reward")),
        (f"found (trial {best['trial']})", best["params"], mflops(best["flops"]), best["val_acc"], best.get("reward")),
    ]
    rows = [(*row[:3], with_interval(row[3], n_val), row[4]) for row in rows]
    lines = [
        "## 2. The baseline found by the search",
        "",
        f"Study `{run.study}`: {s['n_trials']} trials ({s['n_trained']} trained, {s['n_pruned']} pruned, "
        f"{s['n_failed']} failed); objective {s['objective']}. FLOPs are counted at the target input.",
        "",
        table(rows, ["network", "params", "MFLOPs", "proxy val acc", "reward"]),
        "",
    ]
    if ref.get("reward") is not None and best.get("reward") is not None:
        lines += [
            f"The found network {against_reference(best, ref, n_val)} the reference on the reward: "
            f"{best['flops'] / ref['flops']:.2f}x its FLOPs, {best['val_acc'] - ref['val_acc']:+.4f} proxy accuracy.",
            "",
        ]
    lines += [
        "Its blocks (`search/best.yaml`):",
        "",
        "```",
        *best["blocks"],
        "```",
        "",
        "![search](search/search.png)",
        "",
    ]
    return lines


def member_key(row: pd.Series) -> tuple[float, ...]:
    """A scaled member's phi and (d, w, r), rounded past float noise: the same key, the same network."""
    return tuple(round(float(row[k]), 6) for k in ("phi", "d", "w", "r"))


def family_section(family: Path, compare: pd.DataFrame) -> list[str]:
    frame = pd.read_csv(family / "family.csv")
    timed = "latency_ms" in frame and frame["latency_ms"].notna().all()
    # by phi and multipliers: a member moved to hold equal real cost (compare.equal_cost) must be the same one
    ran = compare[compare["method"].isin(["baseline", "compound"])]
    trained = {member_key(r): r["val_acc"] for _, r in ran.iterrows()}
    rows = [
        (
            r["name"],
            f"{r['phi']:g}",
            f"{r['d']:.3f}",
            f"{r['w']:.3f}",
            f"{r['r']:.3f}",
            int(r["target_resolution"]),
            int(r["params"]),
            mflops(r["flops"]),
            f"{r['flops_ratio']:.2f}",
            f"{r['expected_ratio']:g}",
            f"{r['flops_ratio'] / r['expected_ratio']:.2f}",
            *([cell(r["latency_ms"]), cell(r["latency_ratio"])] if timed else []),
            trained.get(member_key(r)),
        )
        for _, r in frame.iterrows()
    ]
    header = ["member", "phi", "d", "w", "r", "input", "params", "MFLOPs", "FLOPs ratio", "2^phi", "ratio / 2^phi"]
    header += ["latency (ms)", "latency ratio"] if timed else []
    return [
        "## 4. The family",
        "",
        "Each member is the found baseline scaled by the grid's coefficients (`family/*.yaml`), held to "
        "2^phi times its real FLOPs as the comparison is (`compare.equal_cost`); "
        "proxy accuracy where the comparison trained the same member.",
        "",
        table(rows, [*header, "proxy val acc"]),
        "",
        "![family](family/family.png)",
        "",
    ]


def compare_section(run: StudyRun, frame: pd.DataFrame) -> list[str]:
    scaled, n_val = frame[frame["method"] != "baseline"], n_val_of(run)
    pivot = scaled.pivot_table(index="phi", columns="method", values="val_acc", aggfunc="first")
    methods = [m for m in (*SINGLE_METHODS, "compound") if m in pivot.columns]
    rows = [(f"{phi:g}", *[with_interval(pivot.loc[phi, m], n_val) for m in methods]) for phi in pivot.index]
    baseline = frame.loc[frame["method"] == "baseline", "val_acc"].max()
    flat = flat_steps(frame, n_val)
    lines = [
        "## 5. Compound against single-dimension scaling",
        "",
        *([cannot_judge(flat), ""] if flat else []),
        f"Study `{run.study}`: every method scales the baseline to about 2^phi times its FLOPs "
        f"(proxy validation accuracy{interval_words(n_val)}; the baseline itself: "
        f"{cell(with_interval(baseline, n_val))}).",
        "",
        table(rows, ["phi", *methods]),
        "",
    ]
    kept = {(r["method"], float(r["phi"])): outcomes_of(r) for _, r in frame.iterrows()}
    for phi in pivot.index:
        row = pivot.loc[phi, methods].dropna()
        outcomes = {m: kept.get((m, float(phi))) for m in methods} | {"the baseline": kept.get(("baseline", 0.0))}
        if len(row) and not flat:
            lines.append(best_at_phi(phi, row, float(baseline), n_val, outcomes))
    return [*lines, "", "![compare](compare/compare.png)", ""]


def timing(seconds: Mapping[str, float]) -> list[str]:
    if not seconds:
        return []
    parts = ", ".join(f"{stage} {s:.0f} s" for stage, s in seconds.items())
    return [
        f"This run took {sum(seconds.values()):.0f} s ({parts}); a stage already finished only rewrites its outputs.",
        "",
    ]


def write_report(report: Report, out: Path) -> Path:
    """``report.md`` in ``out`` (the run directory that holds the stage folders)."""
    compare_out = report.stages["compare"].out
    compare = with_outcomes(pd.read_csv(compare_out / "compare.csv"), compare_out / OUTCOMES_FILE)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    argv = " ".join(shlex.quote(a) for a in report.argv)
    lines = [
        f"# From search to scaled family: {report.name}",
        "",
        f"Written {when} by `python -m scaling.pipeline{' ' + argv if argv else ''}`. Every figure below comes "
        "from the stage folders beside this file (`search/`, `grid/`, `family/`, `compare/`).",
        "",
        *dataset_section(report.dataset),
        *split_note(report.stages),
        *search_section(report.stages["search"]),
        *grid_section(report.stages["grid"], report.phi),
        *family_section(report.family, compare),
        *compare_section(report.stages["compare"], compare),
        "## 6. Reproduce each stage",
        "",
        *timing(report.seconds),
        "Each command finds the same study in the same storage (it resumes, and trains nothing already trained):",
        "",
    ]
    for stage, command in report.commands.items():
        lines += [f"{stage}:", "", "```sh", command, "```", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    (out / "summary.json").write_text(json.dumps(report.summary(), indent=2, default=str) + "\n")
    return path
