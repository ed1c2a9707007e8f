"""Beyond one process: workers on one study (joblib, PostgreSQL), SIGKILL and Ctrl-C, live view."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import optuna
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from optuna.trial import TrialState

from nas.cli.schema import CONF_DIR

TINY = ["proxy=tiny", "proxy.train_size=256", "proxy.epochs=1", "progress=false", "search.pruner=none"]
# Slower trials for the kill and interrupt tests: long enough to catch one running.
STEADY = ["proxy=tiny", "proxy.train_size=768", "proxy.epochs=2", "progress=false", "search.pruner=none", "threads=1"]
HEARTBEAT = ["study.heartbeat_interval=1", "study.grace_period=3"]


def trials(storage: str, name: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=name, storage=storage).trials
    except KeyError:
        return []


def trained_genotypes(all_trials) -> list[str]:
    return [
        ",".join(t.user_attrs["blocks"])
        for t in all_trials
        if "val_acc" in t.user_attrs and "duplicate_of" not in t.user_attrs
    ]


@pytest.mark.slow
def test_two_joblib_workers_share_one_file_study(cli, tmp_path):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    result = cli(
        "nas.search",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "worker=0,1",  # no workers=2: the sweep says how many
        "study.name=joblib",
        "search.n_trials=4",
        *TINY,
        f"study.storage={storage}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    assert result.returncode == 0, result.stderr
    done = [t for t in trials(storage, "joblib") if t.state.is_finished()]
    assert len([t for t in done if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]) == 4
    genotypes = trained_genotypes(done)
    assert len(genotypes) == len(set(genotypes)), "a genotype was trained twice"
    outputs = sorted((tmp_path / "sweep").glob("*/trials.csv"))
    assert len(outputs) == 2  # one run directory per worker


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_on_postgresql(postgres_url, background, tmp_path):
    args = [*TINY, "threads=1", f"study.storage={postgres_url}", "study.name=pg", "search.n_trials=4", "workers=2"]
    procs = [background("nas.search", *args, f"worker={i}", f"hydra.run.dir={tmp_path / f'w{i}'}") for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    done = [t for t in trials(postgres_url, "pg") if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == 4
    genotypes = trained_genotypes(done)
    assert len(genotypes) == len(set(genotypes))
    # Each worker's outputs describe the whole shared study.
    assert len(pd.read_csv(tmp_path / "w0" / "trials.csv")) >= 4 - 1


@pytest.mark.slow
def test_sigkilled_worker_is_retried_and_nothing_completed_is_lost(background, cli, tmp_path, poll):
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    args = [*STEADY, *HEARTBEAT, f"study.storage={storage}", "study.name=kill", "search.n_trials=3"]
    proc = background("nas.search", *args, f"hydra.run.dir={tmp_path / 'killed'}")
    # Live view: another process reads the study through Optuna's API while the run goes on.
    poll(
        lambda: (
            any(t.state == TrialState.COMPLETE for t in trials(storage, "kill"))
            and any(t.state == TrialState.RUNNING for t in trials(storage, "kill"))
        )
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = trials(storage, "kill")
    completed = {t.number: t.user_attrs["val_acc"] for t in before if t.state == TrialState.COMPLETE}
    stale = [t.number for t in before if t.state == TrialState.RUNNING]
    assert completed and stale
    time.sleep(4)  # past the grace period
    result = cli("nas.search", *args, f"hydra.run.dir={tmp_path / 'resumed'}")
    assert result.returncode == 0, result.stderr
    after = {t.number: t for t in trials(storage, "kill")}
    for number, acc in completed.items():
        assert after[number].state == TrialState.COMPLETE and after[number].user_attrs["val_acc"] == acc
    for number in stale:
        assert after[number].state == TrialState.FAIL
    retried = [t for t in after.values() if t.system_attrs.get("failed_trial") in stale]
    assert retried and all(t.state == TrialState.COMPLETE for t in retried)
    assert sum(t.state == TrialState.COMPLETE for t in after.values()) == 3


def interrupt_a_running_search(background, tmp_path, poll, signum: int, name: str):
    """Start a long search, send ``signum`` while a trial trains; (process, stderr, storage URL)."""
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    proc = background(
        # far more trials than it will get to: a signal that lands after the last trial is (rightly) ignored
        "nas.search",
        *STEADY,
        f"study.storage={storage}",
        f"study.name={name}",
        "search.n_trials=100",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    poll(
        lambda: (
            any(t.state == TrialState.COMPLETE for t in trials(storage, name))
            and any(t.state == TrialState.RUNNING for t in trials(storage, name))
        )
    )
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)  # every thread's stack, to see where the signal went unanswered
        time.sleep(2)
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the first {signal.Signals(signum).name} went unanswered for 60 s; stacks:\n{err[-6000:]}")
    return proc, err, storage


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "status", "word", "ignoring"),
    [(signal.SIGINT, 130, "Ctrl-C", True), (signal.SIGTERM, 143, "SIGTERM", False)],
)
def test_a_stop_signal_writes_outputs_requeues_the_trial_and_exits(
    background, tmp_path, poll, signum, status, word, ignoring
):
    """Stopped in one line, outputs written, the stopped trial queued again.

    Ctrl-C goes to a search started as a script starts a job in the background: with SIGINT
    inherited ignored (the Ctrl-C test once hung there, the search never seeing the signal).
    """
    start = lambda module, *args: background(module, *args, ignore_sigint=ignoring)  # noqa: E731
    proc, err, storage = interrupt_a_running_search(start, tmp_path, poll, signum, "int")
    assert proc.returncode == status, err
    said = "the running trial is marked failed and queued again; writing outputs"
    assert err.strip().splitlines() == [f"python -m nas.search: interrupted ({word}); {said}"]  # no traceback
    out = tmp_path / "run"
    frame = pd.read_csv(out / "trials.csv")
    assert "COMPLETE" in set(frame["state"])
    assert (out / "best.yaml").is_file() and (out / "search.png").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_complete"] >= 1 and summary["best"] is not None
    after = trials(storage, "int")
    assert not [t for t in after if t.state == TrialState.RUNNING]
    # The trial the signal stopped (if it landed in training, not between two trials) is failed and queued again.
    failed = [t for t in after if t.state == TrialState.FAIL]
    assert len(failed) <= 1
    for t in failed:
        assert t.user_attrs["reason"] == f"interrupted by {signal.Signals(signum).name}"
        assert [w.system_attrs["fixed_params"] for w in after if w.state == TrialState.WAITING] == [t.params]


def test_worker_index_out_of_range_changes_nothing(cli, tmp_path):
    result = cli(
        "nas.search",
        *TINY,
        "worker=2",
        "workers=2",
        f"study.storage=sqlite:///{tmp_path / 's.db'}",
        f"hydra.run.dir={tmp_path / 'r'}",
    )
    assert result.returncode == 2
    assert "worker must be in [0, 1]" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.db").exists()


def test_a_launcher_that_is_not_installed(cli, tmp_path):
    result = cli("nas.search", "-m", "hydra/launcher=ray", "worker=0,1", *TINY, f"hydra.sweep.dir={tmp_path}")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Available options in 'hydra/launcher': " in lines[0]
    assert all(name in lines[0].split("Available options")[1] for name in ("basic", "joblib", "slurm")), lines


def test_slurm_launcher_config_composes():
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("search", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert launcher.gpus_per_node == 1 and launcher.tasks_per_node == 1


def release_together(n: int, work: Callable[[], Any]) -> list[Any]:
    """Run ``work`` in ``n`` threads released at once; what each returned, or the error it raised."""
    import threading

    barrier = threading.Barrier(n)
    results: list[Any] = []

    def one() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as err:
            results.append(err)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def open_together(url: str, n: int = 4) -> list[BaseException]:
    """Open one storage from ``n`` threads released at once; the errors they raised."""
    from nas.studies.storage import StudySettings, open_storage

    results = release_together(n, lambda: open_storage(StudySettings(storage=url)).remove_session())
    return [r for r in results if isinstance(r, BaseException)]


def test_only_one_worker_claims_a_waiting_trial_on_sqlite(tmp_path):
    """The enqueued reference (or a retried trial) must run once, however many workers ask at once."""
    from nas.studies.storage import StudySettings, open_storage

    storage = open_storage(StudySettings(storage=f"sqlite:///{tmp_path / 's.db'}"))
    study = optuna.create_study(storage=storage, study_name="claim")
    claims = []
    for _ in range(3):
        study.enqueue_trial({"x": 1})
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))[0]._trial_id
        won = release_together(6, lambda trial_id=waiting: storage.set_trial_state_values(trial_id, TrialState.RUNNING))
        assert all(isinstance(w, bool) for w in won), won
        claims.append(sum(won))
    assert claims == [1, 1, 1]


def test_workers_racing_to_create_a_new_sqlite_file_all_open_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert open_together(url) == []
    assert optuna.get_all_study_summaries(url) == []


@pytest.mark.postgres
def test_workers_racing_to_create_a_new_postgresql_schema_all_open_it(postgres_url):
    import sqlalchemy

    from nas.studies.storage import with_driver

    admin = sqlalchemy.create_engine(with_driver(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text("CREATE DATABASE race"))
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/race"
    assert open_together(url) == []
    assert optuna.get_all_study_summaries(url) == []
