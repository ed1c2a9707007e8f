"""The pipeline's report.md from small stage records: accuracies with intervals, ties within noise, one note."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nas.proxy.noise import small_split_note
from nas.studies.run import StudyRun
from scaling.report import Report, write_report

DATASET = {"name": "digits", "classes": [str(i) for i in range(10)], "in_chans": 1, "image_size": [8, 8]}


def _search(tmp_path, n_val: int) -> StudyRun:
    network = {"params": 1000, "flops": 300e6, "val_acc": 0.80, "reward": 0.80}
    summary = {
        **{"n_trials": 3, "n_trained": 3, "n_pruned": 0, "n_failed": 0, "objective": "accuracy"},
        "dataset": {"n_val": n_val},
        "best": {**network, "trial": 2, "blocks": ["ds_r1_k3_s1_e1_c16"]},
        "reference": {**network, "name": "efficientnet_b0"},
    }
    return StudyRun("s-search", summary, 0, tmp_path / "search")


def _grid(tmp_path, n_val: int, best: float, paper: float) -> StudyRun:
    out = tmp_path / "grid"
    out.mkdir()
    frame = pd.DataFrame(
        {"alpha": [1.4, 1.2], "beta": [1.1, 1.1], "gamma": [1.05, 1.15], "state": "COMPLETE", "val_acc": [best, paper]}
    )
    frame.to_csv(out / "grid.csv", index=False)
    chosen = {"alpha": 1.4, "beta": 1.1, "gamma": 1.05, "constraint": 2.0, "val_acc": best}
    summary = {"dataset": {"n_val": n_val}, "n_points": 2, "n_complete": 2, "n_pruned": 0, "best": chosen}
    return StudyRun("s-grid", summary, 0, out)


def _compare(tmp_path, n_val: int, compound: float, width: float) -> StudyRun:
    out = tmp_path / "compare"
    out.mkdir()
    frame = pd.DataFrame(
        {"method": ["baseline", "width", "compound"], "phi": [0.0, 1.0, 1.0], "val_acc": [0.55, width, compound]}
    )
    multipliers = {"d": [1.0, 1.0, 1.0], "w": [1.0, 1.41, 1.25], "r": [1.0, 1.0, 1.1]}  # compound moved off 1.2
    frame.assign(**multipliers).to_csv(out / "compare.csv", index=False)
    return StudyRun("s-compare", {"dataset": {"n_val": n_val}, "best": None}, 0, out)


def _family(tmp_path: Path, width: float = 1.2) -> Path:
    out = tmp_path / "family"
    out.mkdir()
    row = {"d": 1.0, "w": 1.0, "r": 1.0, "target_resolution": 64, "params": 1000, "flops": 3e8}
    rows = [{**row, "name": "b0", "phi": 0.0, "flops_ratio": 1.0, "expected_ratio": 1.0}]
    rows += [{**row, "name": "b0_phi1", "phi": 1.0, "w": width, "r": 1.1, "flops_ratio": 1.7, "expected_ratio": 2.0}]
    pd.DataFrame(rows).to_csv(out / "family.csv")
    return out


def _report(tmp_path, n_val: int, first: float, second: float, width: float = 1.2) -> str:
    """A report whose grid's best and compare's compound score ``first``, the runners-up ``second``;
    the family's phi = 1 member at ``width`` (the comparison's compound is at 1.25)."""
    stages = {
        "search": _search(tmp_path, n_val),
        "grid": _grid(tmp_path, n_val, first, second),
        "compare": _compare(tmp_path, n_val, first, second),
    }
    report = Report("s", DATASET, stages, _family(tmp_path, width), 1.0, {"search": "python -m nas.search"})
    return write_report(report, tmp_path).read_text()


def test_a_report_on_a_small_split_says_ties_within_noise_and_notes_it_once(tmp_path):
    text = _report(tmp_path, 100, 0.80, 0.75)  # 5 points apart on 100 images: within noise
    assert "This grid's best ties within noise with it (+0.0500 proxy accuracy)." in text
    compare = "- phi = 1: compound scores highest, 0.8000 [0.711, 0.867]; it beats the baseline; ties within noise with"
    assert f"{compare} width." in text
    assert "| this grid's best | 1.4000 | 1.1000 | 1.0500 | 2.0000 | 0.8000 [0.711, 0.867] |" in text
    assert "| 1 | 0.7500 [0.657, 0.825] | 0.8000 [0.711, 0.867] |" in text
    assert "with its 95% interval on 100 validation images" in text and " beats it " not in text
    assert text.count("validation images cannot separate") == 1  # three small stages, one note
    assert f"\n{small_split_note(100)}\n" in text and small_split_note(100).startswith("Note: 100 validation")


def test_a_report_on_a_large_split_says_beats_beyond_noise_without_a_note(tmp_path):
    text = _report(tmp_path, 20_000, 0.80, 0.75)
    assert "This grid's best beats it (+0.0500 proxy accuracy)." in text
    assert "- phi = 1: compound scores highest, 0.8000 [0.794, 0.805]; it beats width and the baseline." in text
    assert "ties within noise" not in text and "Note:" not in text


def test_a_grid_that_judged_its_best_against_the_papers_point_is_quoted_as_it_judged(tmp_path):
    stages = {"search": _search(tmp_path, 2000), "grid": _grid(tmp_path, 2000, 0.80, 0.75)}
    stages["compare"] = _compare(tmp_path, 2000, 0.80, 0.75)
    judged = {"verdict": "ties within noise with", "gap": 0.004, "seeds": 2, "paired": True}
    stages["grid"].summary["paper_point"] = {"feasible": True, "against_chosen": judged}
    report = Report("s", DATASET, stages, _family(tmp_path), 1.0, {"search": "python -m nas.search"})
    text = write_report(report, tmp_path).read_text()
    words = "ties within noise with it (+0.0040 proxy accuracy over the 2 seeds both were trained at, image by image)."
    assert f"This grid's best {words}" in text and "(+0.0500" not in text  # not its mean against one seed


def test_a_report_judges_the_comparison_image_by_image_where_its_outcomes_were_kept(tmp_path):
    stages = {"search": _search(tmp_path, 100), "grid": _grid(tmp_path, 100, 0.80, 0.75)}
    stages["compare"] = _compare(tmp_path, 100, 0.83, 0.75)  # 8 points apart on 100 images: unpaired, a tie
    images = np.arange(100)  # compound gets right every image width does, and 8 more; the baseline 55 of them
    kept = {"baseline@0": images < 55, "width@1": images < 75, "compound@1": images < 83}
    np.savez(stages["compare"].out / "outcomes.npz", **kept)
    report = Report("s", DATASET, stages, _family(tmp_path), 1.0, {"search": "python -m nas.search"})
    text = write_report(report, tmp_path).read_text()
    assert "- phi = 1: compound scores highest, 0.8300 [" in text and "]; it beats width and the baseline." in text
    assert "Scaling cannot be judged" not in text  # and each step rises beyond its paired noise
    (stages["compare"].out / "outcomes.npz").unlink()  # a comparison from before outcomes were kept
    text = write_report(report, tmp_path).read_text()
    assert "; it beats the baseline; ties within noise with width." in text


def test_a_cost_ruled_grid_lists_every_point_its_seed_rounds_and_says_the_paper_point_was_not_trained(tmp_path):
    stages = {"search": _search(tmp_path, 2000), "compare": _compare(tmp_path, 2000, 0.8, 0.75)}
    out = tmp_path / "grid"
    out.mkdir()
    reason = "not trained: its flops cost is 2.55x the baseline's, outside 2x +- 10% (grid.cost_tolerance)"
    rows = [
        (1.2, 1.1, 1.15, "PRUNED", None, 1.92, True, 2.55, False, False, reason),
        (1.3, 1.1, 1.05, "COMPLETE", 0.81, 1.73, False, 2.13, True, True, None),
        (1.0, 1.15, 1.15, "COMPLETE", 0.80, 1.75, False, 2.02, True, True, None),
    ]
    columns = ["alpha", "beta", "gamma", "state", "val_acc", "constraint", "constraint_ok", "cost_ratio", "cost_ok"]
    pd.DataFrame(rows, columns=[*columns, "feasible", "reason"]).to_csv(out / "grid.csv", index=False)
    top = [
        {"alpha": 1.3, "beta": 1.1, "gamma": 1.05, "mean": 0.81, "interval": [0.79, 0.83], "seeds": 3},
        {"alpha": 1.0, "beta": 1.15, "gamma": 1.15, "mean": 0.805, "interval": [0.78, 0.83], "seeds": 3},
    ]
    top = [{**t, "cost_ratio": c, "tie": True} for t, c in zip(top, (2.13, 2.02), strict=True)]
    chosen = {"alpha": 1.0, "beta": 1.15, "gamma": 1.15, "constraint": 1.75, "val_acc": 0.805}
    summary = {"dataset": {"n_val": 2000}, "n_points": 3, "n_feasible": 2, "n_complete": 2, "n_pruned": 1}
    summary.update(rule="cost", cost="flops", best=chosen, top=top, tie=True)
    stages["grid"] = StudyRun("s-grid", summary, 0, out)
    report = Report("s", DATASET, stages, _family(tmp_path), 1.0, {"search": "python -m nas.search"})
    text = write_report(report, tmp_path).read_text()
    assert "feasible when their real FLOPs at the target input lie within the tolerance of 2x" in text
    assert "2 feasible, 2 trained in full, 1 pruned" in text
    assert "| 1.2000 | 1.1000 | 1.1500 | 1.9200 | yes | 2.5500 | no | pruned |" in text
    assert "| the paper's (EfficientNet) | 1.2000 | 1.1000 | 1.1500 | 1.9203 | not trained |" in text
    assert f"The paper's point was {reason}." in text
    assert "| 1.3000 | 1.1000 | 1.0500 | 0.8100 | [0.7900, 0.8300] | 3 | 2.1300 | tie |" in text
    assert "It ties within noise with (1.3, 1.1, 1.05); a tie goes to the lower real cost" in text


def test_a_comparison_where_scale_does_not_pay_says_so_first_and_names_no_winner(tmp_path):
    text = _report(tmp_path, 20_000, 0.55, 0.75)  # compound at phi 1 no better than the baseline's 0.55
    section = text.split("## 5. Compound against single-dimension scaling", 1)[1]
    first = section.strip().splitlines()[0]
    assert first == (
        "Scaling cannot be judged on this proxy: accuracy does not rise with phi beyond noise at "
        "compound 0->1; no method is named best."
    )
    assert "scores highest" not in section


@pytest.mark.parametrize(("width", "shown"), [(1.2, "–"), (1.25, "0.8000")])
def test_the_family_shows_the_accuracy_of_the_same_member_only(tmp_path, width, shown):
    """At width 1.2 the comparison had moved compound to 1.25 to hold equal real cost: another network."""
    text = _report(tmp_path, 2000, 0.80, 0.75, width)
    family = text.split("## 4. The family", 1)[1].split("## 5.", 1)[0]
    rows = [line for line in family.splitlines() if line.startswith("| b0")]
    assert rows[0].endswith("| 0.5500 |") and rows[1].endswith(f"| {shown} |")
