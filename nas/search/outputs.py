"""What a search leaves behind: trials.csv, best.yaml, summary.json, search.png, and its last words."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import optuna

from nas.proxy.noise import gap_margin, interval_text, paired_margin, small_split_note, unpack_outcomes, verdict
from nas.search.best import best_trial
from nas.search.latency import LATENCY_COLUMNS
from nas.search.objective import Reward
from nas.search.prescreen import RANK_ATTR, TRIAL_SCORES
from nas.studies.protocol import OUTCOMES
from nas.studies.study import FINISHED, trials_frame
from search_spaces.codec import format_blocks, parse_blocks, save_genotype
from search_spaces.cost import Cost
from search_spaces.genotype import Genotype

TRIAL_COLUMNS = ["blocks", "params", "flops", "val_acc", "reward", "seconds", "duplicate_of", "reason"]


def optional_columns(trials: list[optuna.trial.FrozenTrial]) -> list[str]:
    """The columns only some searches record (latency, zero-cost scores, warm-up rank) that any trial has."""
    present = {name for t in trials for name in t.user_attrs}
    return [name for name in (*LATENCY_COLUMNS, *TRIAL_SCORES, RANK_ATTR) if name in present]


def write_outputs(
    study: optuna.Study,
    out: Path,
    storage_url: str,
    reference: Genotype,
    reference_cost: Cost,
    reward: Reward,
    dataset: dict[str, Any] | None = None,
    reference_latency_ms: float | None = None,
) -> dict[str, Any]:
    """trials.csv, best.yaml, summary.json and search.png in ``out``; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    frame = trials_frame(trials, TRIAL_COLUMNS + optional_columns(trials))
    frame.to_csv(out / "trials.csv", index=False)
    best = best_trial(study)
    ref_trial = reference_trial(trials, reference)
    summary: dict[str, Any] = {
        "study": study.study_name,
        "storage": storage_url,
        "objective": reward.describe(),
        "dataset": dataset,
        "n_trials": len(trials),
        "n_complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials),
        "n_pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in trials),
        "n_failed": sum(t.state == optuna.trial.TrialState.FAIL for t in trials),
        "n_trained": sum(
            t.state in FINISHED and "duplicate_of" not in t.user_attrs and "val_acc" in t.user_attrs for t in trials
        ),
        "best": None,
        "reference": {
            "name": reference.name,
            "blocks": format_blocks(reference),
            "params": reference_cost[0],
            "flops": reference_cost[1],
            **({} if reference_latency_ms is None else {"latency_ms": round(reference_latency_ms, 4)}),
            "val_acc": ref_trial.user_attrs.get("val_acc") if ref_trial else None,
            "reward": ref_trial.user_attrs.get("reward") if ref_trial else None,
        },
    }
    if best is not None:
        metrics = {k: best.user_attrs.get(k) for k in ("params", "flops", "latency_ms", "val_acc", "reward")}
        if metrics["latency_ms"] is None:
            del metrics["latency_ms"]
        metrics["trial"] = best.number
        summary["best"] = {"blocks": best.user_attrs["blocks"], **metrics}
        genotype = dataclasses.replace(
            reference, blocks=parse_blocks(best.user_attrs["blocks"]), name=f"{study.study_name}_best"
        )
        save_genotype(genotype, out / "best.yaml", metrics={**metrics, "study": study.study_name})
        if ref_trial is not None and (margin := reward_margin(best, ref_trial)) is not None:
            summary["reference"]["paired_margin"] = round(margin, 6)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plot_search(frame, out / "search.png", reward, summary["reference"], title=study.study_name)
    return summary


def reference_trial(trials: list[optuna.trial.FrozenTrial], reference: Genotype) -> optuna.trial.FrozenTrial | None:
    """The reference's completed trial (None where it was not trained in full)."""
    blocks = format_blocks(reference)
    complete = optuna.trial.TrialState.COMPLETE
    return next((t for t in trials if t.user_attrs.get("blocks") == blocks and t.state == complete), None)


def reward_margin(best: optuna.trial.FrozenTrial, ref: optuna.trial.FrozenTrial) -> float | None:
    """The reward gap that beats noise, judged image by image (None where either trial kept no outcomes)."""
    kept = [t.user_attrs.get(OUTCOMES) for t in (ref, best)]
    accs, rewards = ([t.user_attrs.get(k) for t in (ref, best)] for k in ("val_acc", "reward"))
    if not all(kept) or not all(accs) or None in rewards:
        return None
    scales = [reward / acc for reward, acc in zip(rewards, accs, strict=True)]  # the exactly known cost factors
    return paired_margin([unpack_outcomes(kept[0])], [unpack_outcomes(kept[1])], *scales)


def _plot_search(*args: Any, **kwargs: Any) -> None:
    from nas.search.plots import plot_search  # here: matplotlib loads when a figure is drawn, not when a command starts

    plot_search(*args, **kwargs)


def describe_best(summary: dict[str, Any]) -> str:
    """The plain-words ending of a search: the best, and against the reference only beyond sampling noise."""
    best, ref = summary["best"], summary["reference"]
    if best is None:
        return f"No candidate finished in study {summary['study']!r}."
    n_val = (summary.get("dataset") or {}).get("n_val")
    latency = f", {best['latency_ms']:.2f} ms" if best.get("latency_ms") is not None else ""
    reward = f", reward {best['reward']:.4f}" if best.get("reward") is not None else ""
    lines = [
        f"Best of {summary['n_trials']} trials in study {summary['study']!r} "
        f"({summary['n_trained']} trained, {summary['n_pruned']} pruned, {summary['n_failed']} failed), trial {best['trial']}:",
        *[f"  {b}" for b in best["blocks"]],
        f"  {best['params']:,} params, {best['flops'] / 1e6:.1f} MFLOPs at the target input{latency}, "
        f"proxy val_acc {best['val_acc']:.4f}{interval_text(best['val_acc'], n_val)}{reward}",
    ]
    if ref.get("val_acc") is not None and best.get("reward") is not None:
        lines.append(
            f"  It {against_reference(best, ref, n_val)} the reference {ref['name']} "
            f"(reward {ref['reward']:.4f}, val_acc {ref['val_acc']:.4f}, "
            f"{ref['params']:,} params, {ref['flops'] / 1e6:.1f} MFLOPs): "
            f"{best['flops'] / ref['flops']:.2f}x its FLOPs, {best['val_acc'] - ref['val_acc']:+.4f} accuracy."
        )
        if best.get("latency_ms") is not None and ref.get("latency_ms"):
            lines[-1] = lines[-1][:-1] + f", {best['latency_ms'] / ref['latency_ms']:.2f}x its latency."
    note = small_split_note(n_val)
    if note:
        lines.append(f"  {note}")
    return "\n".join(lines)


def against_reference(best: dict[str, Any], ref: dict[str, Any], n_val: int | None) -> str:
    """The verdict on the reward; a gap within the validation split's noise is a tie (``n_val`` unknown: none).

    Image by image where the summary holds the paired margin; else from both accuracies' sampling noise.
    """
    if best["reward"] == ref["reward"]:
        return "matches"  # the reference itself (or its equal) is the best
    if ref.get("paired_margin") is not None:
        return verdict(best["reward"], ref["reward"], ref["paired_margin"])
    if not n_val:
        return "beats" if best["reward"] > ref["reward"] else "does not beat"
    scales = (m["reward"] / m["val_acc"] if m["val_acc"] else 0.0 for m in (best, ref))  # the cost factors
    return verdict(best["reward"], ref["reward"], gap_margin(best["val_acc"], ref["val_acc"], n_val, *scales))
