"""nas.search: the evaluator (dedupe, cap, failures, pruning) and the real CLI end to end."""

from __future__ import annotations

import json
import sys

import optuna
import pandas as pd
import pytest
import torch

import nas.search.__main__ as search
import nas.search.job as search_job
from nas.proxy.trainer import ProxyResult
from nas.search.objective import Reward
from nas.studies.loop import run_trials
from nas.studies.protocol import TooManyFailures
from nas.studies.study import count_started
from search_spaces.codec import format_blocks, load_genotype
from search_spaces.references import reference

TINY = ["proxy=tiny", "proxy.train_size=256", "proxy.epochs=1", "threads=2", "progress=false"]


def search_args(tmp_path, *extra, run="run"):
    return [*TINY, f"study.storage=sqlite:///{tmp_path / 'studies.db'}", f"hydra.run.dir={tmp_path / run}", *extra]


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training by a counter that reports two epochs and a fixed accuracy."""
    calls = []

    def fake(genotype, data, proxy, seed, on_epoch=None, **kwargs):
        calls.append(genotype)
        for epoch, acc in enumerate((0.5, 0.6)):
            if on_epoch:
                on_epoch(epoch, acc)
        return ProxyResult("ok", val_acc=0.6, val_accs=[0.5, 0.6], seconds=0.01)

    monkeypatch.setattr(search_job, "train_proxy", fake)
    return calls


def test_a_genotype_already_in_the_study_is_never_trained_again(space, data, fake_training, make_evaluator):
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(space.encode(space.reference))
    study.enqueue_trial(space.encode(space.reference))
    study.optimize(make_evaluator(space, data), n_trials=2)
    assert len(fake_training) == 1
    first, second = study.trials
    assert second.user_attrs["duplicate_of"] == 0
    assert second.value == first.value
    assert second.user_attrs["val_acc"] == first.user_attrs["val_acc"]


def test_flops_cap_rejects_before_training(space, data, fake_training, make_evaluator):
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(space.encode(space.reference))
    study.optimize(make_evaluator(space, data, max_flops=100e6), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert "over search.max_flops" in trial.user_attrs["reason"]
    assert fake_training == []


def test_failed_candidates_are_recorded_and_too_many_stop_the_search(space, data, monkeypatch, make_evaluator):
    monkeypatch.setattr(search_job, "train_proxy", lambda *a, **k: ProxyResult("failed", reason="loss became nan"))
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    evaluator = make_evaluator(space, data, max_failures=2, n_trials=10)
    with pytest.raises(TooManyFailures, match=r"3 candidates failed in a row \(search.max_failures=2\)"):
        run_trials(study, evaluator, evaluator.protocol, lambda: 10 - count_started(study), 10, progress=False)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL] * 3
    assert all(t.user_attrs["reason"] == "loss became nan" for t in study.trials)


def test_pruner_stops_hopeless_candidates_with_their_partial_accuracy(space, data, fake_training, make_evaluator):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.9))
    study.optimize(make_evaluator(space, data), n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["val_acc"] == 0.5
    assert trial.user_attrs["reason"].startswith("pruned after epoch 1")


def test_a_pruned_genotype_repeated_is_pruned_again_without_training(space, data, fake_training, make_evaluator):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.9))
    study.enqueue_trial(space.encode(space.reference))
    study.enqueue_trial(space.encode(space.reference))
    study.optimize(make_evaluator(space, data), n_trials=2)
    assert len(fake_training) == 1
    first, second = study.trials
    assert first.state == second.state == optuna.trial.TrialState.PRUNED
    assert first.intermediate_values == second.intermediate_values == {1: 0.5}  # step = epochs trained
    assert second.user_attrs["duplicate_of"] == 0 and second.user_attrs["val_acc"] == 0.5
    assert "pruned trial 0" in second.user_attrs["reason"]


def test_a_genotype_rejected_before_training_is_not_reused(space, data, fake_training, make_evaluator):
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(space.encode(space.reference))
    study.optimize(make_evaluator(space, data, max_flops=100e6), n_trials=1)
    study.enqueue_trial(space.encode(space.reference))
    study.optimize(make_evaluator(space, data), n_trials=1)
    assert len(fake_training) == 1
    assert study.trials[1].state == optuna.trial.TrialState.COMPLETE
    assert "duplicate_of" not in study.trials[1].user_attrs


@pytest.mark.slow
def test_search_cli_end_to_end_then_resume(cli, tmp_path):
    first = cli("nas.search", *search_args(tmp_path, "search.n_trials=3"))
    assert first.returncode == 0, first.stderr
    out = tmp_path / "run"
    for name in ("trials.csv", "best.yaml", "summary.json", "search.png", "config.json"):
        assert (out / name).is_file(), name
    assert (out / "search.png").stat().st_size > 10_000
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 3
    reward = Reward()
    done = trials[trials["state"] == "COMPLETE"]
    assert len(done) >= 1
    for _, row in done.iterrows():
        assert row["reward"] == pytest.approx(reward(row["val_acc"], row["flops"]), rel=1e-12)
    assert trials.loc[0, "blocks"].split(",") == _blocks("efficientnet_b0")  # the reference is enqueued first
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_complete"] + summary["n_pruned"] == 3
    assert set(summary["best"]) >= {"blocks", "params", "flops", "val_acc", "reward"}
    if summary["reference"]["val_acc"] is not None:  # trained in full: judged against image by image
        assert 0 < summary["reference"]["paired_margin"] < 1
    assert "val_outcomes" not in trials  # kept in the study, not in the table
    assert summary["storage"].startswith("sqlite:///")
    assert "Best of 3 trials" in first.stdout and "reference efficientnet_b0" in first.stdout
    best = load_genotype(out / "best.yaml")
    shown = cli("search_spaces.show", str(out / "best.yaml"), "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["blocks"] == summary["best"]["blocks"]
    assert best.resolution == 224

    second = cli("nas.search", *search_args(tmp_path, "search.n_trials=4", run="run2"))
    assert second.returncode == 0, second.stderr
    assert "resumed, 3/4 started" in second.stdout
    again = pd.read_csv(tmp_path / "run2" / "trials.csv")
    assert len(again) == 4
    pd.testing.assert_frame_equal(again.iloc[:3].reset_index(drop=True), trials, check_dtype=False)


@pytest.mark.slow
def test_multi_objective_search_with_nsga2_end_to_end(cli, tmp_path):
    """``objective=multi``: a Pareto front; best.yaml is its most accurate member."""
    args = search_args(tmp_path, "objective=multi", "search.sampler=nsga2", "search.n_trials=4")
    result = cli("nas.search", *args)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "run"
    trials = pd.read_csv(out / "trials.csv")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"] == "multi-objective: maximise accuracy, minimise FLOPs"
    assert trials["reward"].isna().all()  # no scalar reward in a multi-objective study
    assert set(trials["state"]) == {"COMPLETE"}  # Optuna does not prune multi-objective studies
    best = summary["best"]
    others = trials[trials["number"] != best["trial"]]
    dominated_by = others[(others["val_acc"] >= best["val_acc"]) & (others["flops"] <= best["flops"])]
    assert dominated_by[(dominated_by["val_acc"] > best["val_acc"]) | (dominated_by["flops"] < best["flops"])].empty
    assert best["val_acc"] == trials["val_acc"].max()
    assert format_blocks(load_genotype(out / "best.yaml")) == best["blocks"]
    study = optuna.load_study(study_name=summary["study"], storage=f"sqlite:///{tmp_path / 'studies.db'}")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]


def _blocks(name):
    from search_spaces.codec import format_blocks

    return format_blocks(reference(name))


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("search.sampler=bayes", "unknown search.sampler 'bayes'"),
        ("search.pruner=asha", "unknown search.pruner 'asha'"),
        ("objective.target_flops=0", "objective.target_flops (T) must be > 0"),
        ("objective.w=0.1", "objective.w must be <= 0"),
        ("search.n_trials=0", "search.n_trials must be an integer >= 1"),
        ("space.reference=efficientnet_b9", "unknown SPEC 'efficientnet_b9'"),
        ("study.storage=postgresql://nobody@127.0.0.1:9/none", "cannot reach study.storage"),
        ("study.storage=not-a-url", "is not a database URL"),
        ("proxy.epochs=0", "proxy.epochs must be an integer >= 1"),
        ("proxy.resolution=16", "proxy resolution must be an integer >= 32"),
        (
            "dataset=imagenet",
            "Available options in 'dataset': cifar10, cifar100, digits, fashion_mnist, folder, mnist5k, npz",
        ),
        ("proxy.epoch=3", "unknown setting 'proxy.epoch': did you mean proxy.epochs? proxy has: resolution, "),
        ("search.samplr=tpe", "did you mean search.sampler?"),
        ("objective.target_latency_ms=0", "objective.target_latency_ms (T) must be > 0 ms"),
        ("objective.cost=energy", "objective.cost 'energy' is not one of flops, latency"),
        ("objective.latency=guessed", "objective.latency 'guessed' is not one of measured, predicted"),
        ("target.threads=0", "target.threads must be an integer >= 1, got 0"),
        ("target.device=tpu", "unknown target.device 'tpu'"),
        ("search.max_latency_ms=0", "search.max_latency_ms must be > 0 or null"),
        (
            "device=cuda:7",
            "allowed: auto, cpu, cuda:0.."
            if torch.cuda.is_available()
            else "CUDA is not available here; use device=auto or cpu",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_two(tmp_path, override, fragment, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["nas.search", *search_args(tmp_path, "search.n_trials=1", override)])
    with pytest.raises(SystemExit) as exit_info:
        search.main()
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("python -m nas.search: error: ") and fragment in lines[0]
    assert not (tmp_path / "run" / "trials.csv").exists()
    assert not (tmp_path / "studies.db").exists() or not optuna.get_all_study_names(
        f"sqlite:///{tmp_path / 'studies.db'}"
    )


def test_bad_input_from_the_real_command(cli, tmp_path):
    result = cli("nas.search", *search_args(tmp_path, "objective.w=0.5"))
    assert result.returncode == 2
    assert result.stderr.strip() == "python -m nas.search: error: objective.w must be <= 0 (a cost penalty), got 0.5"


@pytest.mark.slow
def test_a_study_with_another_objective_is_left_untouched(cli, tmp_path):
    first = cli("nas.search", *search_args(tmp_path, "search.n_trials=1", "study.name=shared"))
    assert first.returncode == 0, first.stderr
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    before = [t.number for t in optuna.load_study(study_name="shared", storage=storage).trials]
    second = cli(
        "nas.search", *search_args(tmp_path, "search.n_trials=2", "study.name=shared", "objective.w=-0.15", run="run2")
    )
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "study 'shared' is another experiment: objective.w: -0.07 stored, -0.15 now;" in lines[0]
    assert "leave study.name unset" in lines[0]
    assert [t.number for t in optuna.load_study(study_name="shared", storage=storage).trials] == before


@pytest.mark.slow
def test_other_experiments_with_default_names_never_share_a_study(cli, tmp_path):
    """Another space, dataset or proxy gets its own study; the first one is left exactly as it was."""
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    first = cli("nas.search", *search_args(tmp_path, "search.n_trials=2", "dataset=digits"))
    assert first.returncode == 0, first.stderr
    (name,) = optuna.get_all_study_names(storage)
    assert name.startswith("search-efficientnet_b0-digits-tpe-soft-seed0-")
    study = optuna.load_study(study_name=name, storage=storage)
    before = ([t.number for t in study.trials], study.best_trial.number, study.user_attrs)
    others = [["space=mobilenet_v2"], ["dataset=mnist5k"], ["proxy.lr=0.1"], ["seed=1"]]
    for i, extra in enumerate(others):
        run = cli("nas.search", *search_args(tmp_path, "search.n_trials=1", "dataset=digits", *extra, run=f"r{i}"))
        assert run.returncode == 0, (extra, run.stderr)
        assert "(new, 0/1 started)" in run.stdout, extra
    names = optuna.get_all_study_names(storage)
    assert len(names) == 5 and name in names
    assert any(n.startswith("search-mobilenet_v2-digits-") for n in names)
    assert any(n.startswith("search-efficientnet_b0-mnist5k-") for n in names)
    study = optuna.load_study(study_name=name, storage=storage)
    assert ([t.number for t in study.trials], study.best_trial.number, study.user_attrs) == before
    again = cli("nas.search", *search_args(tmp_path, "search.n_trials=2", "dataset=digits", run="again"))
    assert again.returncode == 0 and f"study {name!r}" in again.stdout and "(resumed, 2/2 started)" in again.stdout
    assert study.user_attrs["dataset"]["name"] == "digits" and len(study.user_attrs["dataset"]["fingerprint"]) == 16
    assert study.user_attrs["proxy"]["lr"] == 0.05 and study.user_attrs["seed"] == 0


@pytest.mark.slow
def test_multirun_sweep_and_report(cli, tmp_path):
    sweep = tmp_path / "sweep"
    result = cli(
        "nas.search",
        "-m",
        "search.sampler=tpe,random,rl",
        "search.n_trials=2",
        "search.enqueue_reference=false",
        *TINY,
        f"study.storage=sqlite:///{tmp_path / 'studies.db'}",
        f"hydra.sweep.dir={sweep}",
    )
    assert result.returncode == 0, result.stderr
    report = cli("nas.report", str(sweep))
    assert report.returncode == 0, report.stderr
    for sampler in ("tpe", "random", "rl"):
        assert sampler in report.stdout
    table = pd.read_csv(sweep / "report.csv")
    assert sorted(table["sampler"]) == ["random", "rl", "tpe"]
    assert (table["trials"] == 2).all()
    assert (sweep / "report.png").is_file()


def test_report_bad_input(cli, tmp_path):
    result = cli("nas.report", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "does not exist" in result.stderr
