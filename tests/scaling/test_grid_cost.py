"""The grid at equal real cost, with seed rounds: which points train, which are re-trained, what is named."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

import scaling.grid_trial as grid_trial
from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig, ProxyResult
from nas.studies.identity import name_form
from nas.studies.storage import StudySettings
from scaling.compound import compound_multipliers, scale
from scaling.grid_points import GridSettings
from scaling.grid_reference import best_coefficients
from scaling.grid_study import GridConfig, GridJob, run_grid
from search_spaces.codec import format_blocks
from search_spaces.references import reference

# EfficientNet-B0 at phi = 1 on this grid (FLOPs at 224 px x r, over B0's): (1.0, 1.1, 1.2) 1.750,
# (1.1, 1.1, 1.2) 2.612, (1.2, 1.0, 1.2) 2.262, (1.2, 1.1, 1.1) 2.174, (1.2, 1.1, 1.2) 2.612.
SETTINGS = GridSettings(step=0.1, alpha_max=1.2, beta_max=1.1, gamma_max=1.2, cost_tolerance=0.15, top=3, pruner="none")
FEASIBLE = {(1.0, 1.1, 1.2), (1.2, 1.0, 1.2), (1.2, 1.1, 1.1)}
# Accuracy by seed: (1.2, 1.1, 1.1) leads on the mean, but not beyond seed noise of (1.0, 1.1, 1.2).
ACCURACY = {(1.2, 1.1, 1.1): [0.85, 0.84, 0.86], (1.0, 1.1, 1.2): [0.84, 0.85, 0.83], (1.2, 1.0, 1.2): [0.8] * 3}


def network(point: tuple[float, float, float]) -> tuple[tuple[str, ...], int]:
    scaled = scale(reference("efficientnet_b0"), *compound_multipliers(*point, 1.0))
    return tuple(format_blocks(scaled)), scaled.resolution


@pytest.fixture
def fake_training(monkeypatch):
    """Training replaced by ACCURACY (0.82 elsewhere); records which (point, seed) was trained."""
    points = {network(p): p for p in [(1.1, 1.1, 1.2), (1.2, 1.1, 1.2), *ACCURACY]}
    trained = []

    def train(genotype, data, proxy, seed, on_epoch=None, **kwargs):
        point = points[tuple(format_blocks(genotype)), genotype.resolution]
        trained.append((point, seed))
        accuracy = ACCURACY.get(point, [0.82] * 3)[seed]
        return ProxyResult("ok", val_acc=accuracy, val_accs=[accuracy])

    monkeypatch.setattr(grid_trial, "train_proxy", train)
    return trained


def config(settings: GridSettings = SETTINGS) -> GridConfig:
    proxy = ProxyConfig(epochs=1, resolution=32, train_size=256, val_size=128, test_size=128)
    return GridConfig(DatasetSpec("digits"), proxy, grid=settings, latency=False)


def test_points_beyond_the_cost_tolerance_are_costed_not_trained_and_the_best_are_trained_again(
    fake_training, tmp_path
):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    result = run_grid("efficientnet_b0", config(), study=StudySettings(storage=url, name="g"), out=tmp_path / "out")
    frame = pd.read_csv(tmp_path / "out" / "grid.csv")
    first = frame.drop_duplicates(["alpha", "beta", "gamma"])
    assert len(first) == 5 and set(first.columns) >= {"constraint", "cost_ratio", "feasible", "cost_ok", "seed"}
    assert (first["cost_ratio"] == first["flops_ratio"]).all()
    for _, row in first.iterrows():
        point = (row["alpha"], row["beta"], row["gamma"])
        assert bool(row["feasible"]) == (point in FEASIBLE) == (abs(row["cost_ratio"] / 2 - 1) <= 0.15)
        if point not in FEASIBLE:
            assert row["state"] == "PRUNED" and "outside 2x +- 15% (grid.cost_tolerance)" in row["reason"]
    # Three first-pass trainings, three at seed 1, the better two at seed 2; nothing trained twice.
    again_at_2 = {((1.2, 1.1, 1.1), 2), ((1.0, 1.1, 1.2), 2)}
    assert sorted(fake_training) == sorted({(p, s) for p in FEASIBLE for s in (0, 1)} | again_at_2)
    summary = result.summary
    assert summary["tie"] is True and summary["n_feasible"] == 3 and summary["rule"] == "cost"
    assert (summary["best"]["alpha"], summary["best"]["beta"], summary["best"]["gamma"]) == (
        1.0,
        1.1,
        1.2,
    )  # lower cost
    assert summary["best"]["seeds"] == 3 and summary["best"]["val_acc"] == pytest.approx(0.84)
    top = {(t["alpha"], t["beta"], t["gamma"]): t for t in summary["top"]}
    assert top[(1.2, 1.1, 1.1)]["tie"] and top[(1.0, 1.1, 1.2)]["tie"] and not top[(1.2, 1.0, 1.2)]["tie"]
    assert top[(1.2, 1.0, 1.2)]["seeds"] == 2 and top[(1.2, 1.1, 1.1)]["interval"][0] < 0.85
    coefficients = yaml.safe_load((tmp_path / "out" / "coefficients.yaml").read_text())
    assert coefficients["tie"] is True and len(coefficients["top"]) == 3 and coefficients["seeds"] == 3
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["top"] == summary["top"]
    assert best_coefficients("g", storage=url).triple == (1.0, 1.1, 1.2)  # grid:STUDY names the same point
    assert "ties within noise" in GridJob(reference("efficientnet_b0"), config()).describe(summary)

    trained = len(fake_training)
    again = run_grid("efficientnet_b0", config(), study=StudySettings(storage=url, name="g"), out=tmp_path / "again")
    assert len(fake_training) == trained and again.summary["best"] == summary["best"]  # resumed: nothing to do


def test_the_papers_rule_alone_trains_what_the_constraint_allows_and_says_the_paper_point_fared(
    fake_training, tmp_path
):
    settings = GridSettings(step=0.1, alpha_max=1.2, beta_max=1.1, gamma_max=1.2, rule="constraint", max_seeds=1)
    summary = run_grid("efficientnet_b0", config(settings), out=tmp_path / "out").summary
    assert summary["n_points"] == summary["n_feasible"] == 2 and summary["top"][0]["seeds"] == 1
    assert len(fake_training) == 1  # (1.1, 1.1, 1.2) and (1.2, 1.1, 1.2) round to one network: trained once
    paper = GridJob(reference("efficientnet_b0"), config(GridSettings())).describe
    verdict = {"constraint": 1.9217, "cost_ratio": 2.55, "feasible": False, "reason": "not trained: it costs 2.55x"}
    text = paper({**summary, "paper_point": verdict})
    assert "The paper's point (1.2, 1.1, 1.15) was not trained: it costs 2.55x." in text
    judged = {"verdict": "beats", "gap": 0.02, "seeds": 3, "paired": True}
    text = paper({**summary, "paper_point": {"feasible": True, "against_chosen": judged}})
    seeds = "over the 3 seeds both were trained at, image by image"
    assert f"Against the paper's point (1.2, 1.1, 1.15), the chosen beats it (+0.0200 proxy accuracy {seeds})." in text


def test_a_study_on_the_papers_rule_keeps_the_name_it_had_before_the_cost_rule():
    old = GridSettings(rule="constraint", max_seeds=1)
    identity = {"grid": old.identity()}
    assert name_form(identity) == {
        "grid": {
            k: v
            for k, v in identity["grid"].items()
            if k not in ("rule", "band", "cost", "cost_tolerance", "top", "max_seeds")
        }
    }
    assert name_form({"grid": GridSettings().identity()})["grid"]["rule"] == "cost"
