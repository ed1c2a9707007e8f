"""Latency in the search: the reward on latency, the cap, the study's cache, multi-objective, bad input."""

from __future__ import annotations

import dataclasses
import json
import sys

import optuna
import pandas as pd
import pytest

import nas.search.__main__ as search
import nas.search.job as search_job
from nas.proxy.trainer import ProxyConfig, ProxyResult
from nas.search.job import Evaluator, SearchJob
from nas.search.latency import LatencyCost
from nas.search.objective import Reward
from nas.search.settings import SearchConfig, SearchSettings
from nas.studies.identity import name_form
from nas.studies.study import StudyCache
from search_spaces.codec import parse_blocks
from search_spaces.cost import Target
from search_spaces.latency.measure import Latency, LatencyMeter
from search_spaces.latency.table import LatencyTable
from search_spaces.references import reference

TINY = ["dataset=digits", "proxy=tiny", "proxy.train_size=256", "proxy.epochs=1", "threads=2", "progress=false"]
FAST = ["target.min_run_time=0.05", "target.warmup=1"]


def args(tmp_path, *extra, run="run"):
    return [
        *TINY,
        *FAST,
        f"study.storage=sqlite:///{tmp_path / 'studies.db'}",
        f"hydra.run.dir={tmp_path / run}",
        *extra,
    ]


def test_latency_reward_is_the_formula_with_the_latency_target():
    soft = Reward("soft", w=-0.07, cost="latency", target_latency_ms=20.0)
    assert soft(0.8, 40.0) == pytest.approx(0.8 * 2**-0.07)
    assert soft(0.8, 10.0) == pytest.approx(0.8 * 0.5**-0.07)
    hard = Reward("hard", cost="latency", target_latency_ms=20.0)
    assert hard(0.8, 10.0) == pytest.approx(0.8) and hard(0.8, 40.0) == pytest.approx(0.4)
    assert "LAT" in soft.describe() and soft.identity()["cost"] == "latency"
    assert "cost" not in name_form({"objective": Reward().identity()})["objective"]  # FLOPs studies keep their names
    with pytest.raises(ValueError, match="not known yet"):
        Reward(cost="latency")(0.8, 10.0)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"cost": "latency", "target_latency_ms": 0}, "objective.target_latency_ms (T) must be > 0 ms"),
        ({"cost": "latency", "target_latency_ms": -3.0}, "objective.target_latency_ms (T) must be > 0 ms"),
        ({"cost": "energy"}, "objective.cost 'energy' is not one of flops, latency"),
    ],
)
def test_bad_latency_objectives(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Reward(**kwargs)


def fake_cost(ms_per_layer: float = 2.0) -> tuple[LatencyCost, list]:
    calls: list = []

    def fake(genotype, target, multiplier):
        calls.append(genotype)
        return Latency(ms_per_layer * genotype.num_layers, 0.1, 5)

    return LatencyCost(LatencyMeter(Target(), {}, measure=fake)), calls


def test_latency_cap_rejects_before_training_and_the_reward_uses_latency(space, data, monkeypatch):
    trained = []

    def fake_train(genotype, data, proxy, seed, on_epoch=None, **kwargs):
        trained.append(genotype)
        return ProxyResult("ok", val_acc=0.6, val_accs=[0.6], seconds=0.01)

    monkeypatch.setattr(search_job, "train_proxy", fake_train)
    cost, _ = fake_cost()
    reward = Reward(cost="latency", target_latency_ms=20.0)
    proxy = ProxyConfig(epochs=1, batch_size=64, width=0.25)

    def evaluator(**settings):
        config = SearchConfig(proxy=proxy, search=SearchSettings(**settings), objective=reward)
        return Evaluator(space, data, config, reward, latency=cost)

    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(space.encode(space.reference))  # 16 layers: 32 ms
    study.optimize(evaluator(max_latency_ms=30.0), n_trials=1)
    capped = study.trials[0]
    assert capped.state == optuna.trial.TrialState.PRUNED and trained == []
    assert capped.user_attrs["latency_ms"] == 32.0 and "over search.max_latency_ms 30 ms" in capped.user_attrs["reason"]
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(space.encode(space.reference))
    study.optimize(evaluator(), n_trials=1)
    assert study.trials[0].value == pytest.approx(reward(0.6, 32.0)) == pytest.approx(0.6 * (32 / 20) ** -0.07)


def test_workers_and_resumes_never_time_one_genotype_twice(tmp_path):
    storage = f"sqlite:///{tmp_path / 'cache.db'}"
    study = optuna.create_study(storage=storage, study_name="s")
    calls = []

    def fake(genotype, target, multiplier):
        calls.append(genotype)
        return Latency(12.5, 0.5, 7)

    first = LatencyMeter(Target(), StudyCache(study), measure=fake)
    assert first(reference("efficientnet_b0")).median_ms == 12.5
    again = optuna.load_study(study_name="s", storage=storage)  # another worker, or the next run
    second = LatencyMeter(Target(), StudyCache(again), measure=fake)
    assert second(reference("efficientnet_b0")) == Latency(12.5, 0.5, 7) and len(calls) == 1


@pytest.mark.slow
def test_search_on_measured_latency_end_to_end(cli, tmp_path):
    result = cli("nas.search", *args(tmp_path, "objective.cost=latency", "search.n_trials=3"))
    assert result.returncode == 0, result.stderr
    assert "latency measured on cpu:" in result.stdout
    out = tmp_path / "run"
    trials = pd.read_csv(out / "trials.csv")
    summary = json.loads((out / "summary.json").read_text())
    target_ms = summary["reference"]["latency_ms"]  # T defaults to the reference's own latency
    assert trials["latency_ms"].notna().all() and trials.loc[0, "latency_ms"] == pytest.approx(target_ms)
    done = trials[trials["state"] == "COMPLETE"]
    reward = Reward(cost="latency", target_latency_ms=target_ms)
    for _, row in done.iterrows():  # each reward is the formula with the stored latency
        assert row["reward"] == pytest.approx(reward(row["val_acc"], row["latency_ms"]), rel=1e-9)
    assert summary["best"]["latency_ms"] > 0 and "ms" in summary["objective"]
    assert (out / "best.yaml").read_text().count("latency_ms") == 1
    study = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{tmp_path / 'studies.db'}")
    measured = [k for k in study.user_attrs if k.startswith("latency:")]
    assert len(measured) == trials["blocks"].nunique()
    again = cli("nas.search", *args(tmp_path, "objective.cost=latency", "search.n_trials=3", run="again"))
    assert again.returncode == 0, again.stderr
    resumed = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{tmp_path / 'studies.db'}")
    assert {k: v for k, v in resumed.user_attrs.items() if k.startswith("latency:")} == {
        k: study.user_attrs[k] for k in measured
    }


@pytest.mark.slow
def test_multi_objective_on_latency(cli, tmp_path):
    extra = ["objective=multi", "objective.cost=latency", "search.sampler=nsga2", "search.n_trials=3"]
    result = cli("nas.search", *args(tmp_path, *extra))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["objective"] == "multi-objective: maximise accuracy, minimise latency"
    study = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{tmp_path / 'studies.db'}")
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        assert trial.values[1] == pytest.approx(trial.user_attrs["latency_ms"], rel=1e-3)


def test_a_latency_search_has_its_own_study_and_flops_searches_keep_their_names():
    flops = SearchJob(reference("efficientnet_b0"))
    latency = SearchJob(reference("efficientnet_b0"), SearchConfig(objective=Reward(cost="latency")))
    assert "latency" not in name_form(flops.identity()) and flops.default_name() != latency.default_name()
    predicted = SearchJob(
        reference("efficientnet_b0"), SearchConfig(objective=Reward(cost="latency", latency="predicted"))
    )
    assert predicted.identity()["latency"]["source"] == "predicted"


TINY_SPACE = [
    "space.reference='ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24'",
    "target.resolution=64",
    "target.num_classes=10",
]


@pytest.mark.slow
def test_predicted_latency_builds_the_table_once_and_a_wrong_table_is_refused(cli, tmp_path, monkeypatch, capsys):
    table_file = tmp_path / "table.json"
    predicted = ["objective.cost=latency", "objective.latency=predicted", f"objective.latency_table={table_file}"]
    extra = [*TINY_SPACE, *predicted, "target.min_run_time=0.01", "search.n_trials=3", "study.name=mine"]
    result = cli("nas.search", *args(tmp_path, *extra))
    assert result.returncode == 0, result.stderr
    assert "building the latency table" in result.stdout and "predicted by the lookup table" in result.stdout
    table = LatencyTable.load(table_file)
    trials = pd.read_csv(tmp_path / "run" / "trials.csv")
    for blocks, ms in zip(trials["blocks"], trials["latency_ms"], strict=True):
        genotype = dataclasses.replace(reference("efficientnet_b0"), blocks=parse_blocks(blocks), stem=32, head=1280)
        assert ms == pytest.approx(table.predict(genotype), abs=1e-3)
    # a table built on another machine is refused before the study is touched
    table_file.write_text(
        json.dumps({**json.loads(table_file.read_text()), "measured_on": {**table.measured_on, "device": "cpu:other"}})
    )
    monkeypatch.setattr(
        sys, "argv", ["nas.search", *args(tmp_path, *extra[:-2], "search.n_trials=4", "study.name=mine")]
    )
    with pytest.raises(SystemExit) as exit_info:
        search.main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was built for device 'cpu:other'" in err[0] and "rebuild it with" in err[0]
    study = optuna.load_study(study_name="mine", storage=f"sqlite:///{tmp_path / 'studies.db'}")
    assert len(study.trials) == 3
