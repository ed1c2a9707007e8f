"""nas.studies: the one trial protocol and the worker loop, with training replaced by fakes.

Workers are threads with their own ``Study`` objects on one SQLite file, which is how separate
processes share a study (each opens the storage itself).
"""

from __future__ import annotations

import signal
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

import nas.search.job as search_job
from nas.proxy.stopping import StopRequested
from nas.proxy.trainer import ProxyResult
from nas.studies.loop import run_trials
from nas.studies.protocol import OUTCOMES, TrialProtocol
from nas.studies.storage import StudySettings, TrialCreationLock, open_storage
from nas.studies.study import FINISHED, count_started


def sqlite_study(tmp_path, name="s", sampler=None) -> tuple[optuna.Study, optuna.storages.BaseStorage]:
    storage = open_storage(StudySettings(storage=f"sqlite:///{tmp_path / 'studies.db'}"))
    study = optuna.create_study(
        storage=storage, study_name=name, direction="maximize", load_if_exists=True, sampler=sampler
    )
    return study, storage


def worker_study(storage, name="s", seed=0) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=seed))


def test_the_same_genotype_forced_onto_two_workers_at_once_is_trained_once(
    space, data, tmp_path, monkeypatch, make_evaluator
):
    study, storage = sqlite_study(tmp_path)
    study.enqueue_trial(space.encode(space.reference))
    study.enqueue_trial(space.encode(space.reference))
    training, release, trained = threading.Event(), threading.Event(), []

    def slow_training(genotype, data, proxy, seed, on_epoch=None, **kwargs):
        trained.append(genotype)
        training.set()
        assert release.wait(60), "the second worker never stood down"
        return ProxyResult("ok", val_acc=0.7, val_accs=[0.7])

    monkeypatch.setattr(search_job, "train_proxy", slow_training)
    first = threading.Thread(target=lambda: worker_study(storage).optimize(make_evaluator(space, data), n_trials=1))
    first.start()
    assert training.wait(60)
    worker_study(storage).optimize(make_evaluator(space, data), n_trials=1)  # while the first still trains
    release.set()
    first.join()
    trials = worker_study(storage).trials
    assert len(trained) == 1
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED]
    assert trials[1].user_attrs["reason"] == "same candidate as running trial 0"
    assert trials[1].user_attrs["blocks"] == trials[0].user_attrs["blocks"]


def test_an_interrupted_trial_fails_and_is_trained_first_next_time(space, data, tmp_path, monkeypatch, make_evaluator):
    study, _ = sqlite_study(tmp_path, sampler=optuna.samplers.RandomSampler(seed=0))
    calls = []

    def interrupted_then_fine(genotype, data, proxy, seed, on_epoch=None, **kwargs):
        calls.append(genotype)
        if len(calls) == 1:
            raise StopRequested(signal.SIGTERM)
        return ProxyResult("ok", val_acc=0.6, val_accs=[0.6])

    monkeypatch.setattr(search_job, "train_proxy", interrupted_then_fine)
    evaluate = make_evaluator(space, data)
    with pytest.raises(StopRequested):
        run_trials(study, evaluate, evaluate.protocol, lambda: 3 - count_started(study), 3, progress=False)
    failed, waiting = study.trials
    assert failed.state == TrialState.FAIL and failed.user_attrs["reason"] == "interrupted by SIGTERM"
    assert waiting.state == TrialState.WAITING and waiting.user_attrs["retry_of"] == 0
    run_trials(study, evaluate, evaluate.protocol, lambda: 3 - count_started(study), 3, progress=False)
    retried = study.trials[1]
    assert retried.state == TrialState.COMPLETE and retried.params == failed.params
    assert calls[1] == calls[0]  # the same genotype, trained first
    assert sum(t.state in FINISHED for t in study.trials) == 3


def test_failures_in_a_row_stop_any_study_not_only_the_search():
    protocol = TrialProtocol("key", (), epochs=1, max_failures=1, setting="grid.max_failures")
    study = optuna.create_study(direction="maximize")
    failing = lambda on_epoch: ProxyResult("failed", reason="loss became nan")  # noqa: E731
    objective = lambda t: protocol.run(t, t.suggest_int("x", 0, 100), failing, lambda a: (a, {}))  # noqa: E731
    with pytest.raises(Exception, match=r"2 candidates failed in a row \(grid.max_failures=1\); last reason: loss"):
        run_trials(study, objective, protocol, lambda: 10 - count_started(study), 10, progress=False)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]


def test_a_pruned_trial_records_its_partial_score_and_time():
    protocol = TrialProtocol("key", (), epochs=3)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.9))

    def train(on_epoch):
        on_epoch(0, 0.25)
        raise AssertionError("should have been pruned after epoch 1")

    study.optimize(lambda t: protocol.run(t, "a", train, lambda acc: (acc * 2, {"score": acc * 2})), n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.PRUNED
    assert (trial.user_attrs["val_acc"], trial.user_attrs["score"]) == (0.25, 0.5)
    assert trial.intermediate_values == {1: 0.25} and trial.user_attrs["seconds"] >= 0


def test_a_trial_keeps_its_per_image_outcomes_and_a_twin_copies_them():
    protocol = TrialProtocol("key", ("val_acc",), epochs=1)
    study = optuna.create_study(direction="maximize")
    trained = []

    def train(on_epoch):
        trained.append(1)
        return ProxyResult("ok", val_acc=0.5, val_accs=[0.5], val_outcomes="4:oA==")

    study.optimize(lambda t: protocol.run(t, "a", train, lambda acc: (acc, {})), n_trials=2)
    first, twin = study.trials
    assert trained == [1] and twin.user_attrs["duplicate_of"] == 0
    assert first.user_attrs[OUTCOMES] == twin.user_attrs[OUTCOMES] == "4:oA=="


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_workers_racing_for_the_last_trials_stop_at_exactly_n_trials(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path / 'race.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    storage = open_storage(StudySettings(storage=url))
    name = f"race-{tmp_path.name}"
    optuna.create_study(storage=storage, study_name=name, direction="maximize")
    n_trials, workers = 6, 4

    def worker(seed: int) -> None:
        study = worker_study(storage, name, seed)
        protocol = TrialProtocol("x", ("val_acc",), epochs=1)

        def remaining() -> int:
            left = n_trials - count_started(study)
            time.sleep(0.05)  # widen the gap between counting and creating: the race the lock must close
            return left

        def objective(trial):
            fake = lambda on_epoch: ProxyResult("ok", val_acc=0.5)  # noqa: E731
            return protocol.run(trial, trial.suggest_int("x", 0, 10**6), fake, lambda a: (a, {}))

        run_trials(study, objective, protocol, remaining, n_trials, TrialCreationLock(storage, name), progress=False)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trials = optuna.load_study(study_name=name, storage=storage).trials
    assert sum(t.state in FINISHED for t in trials) == n_trials
    assert len(trials) == n_trials
