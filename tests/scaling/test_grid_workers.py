"""Grid studies shared by workers: every point taken once, no network trained twice."""

from __future__ import annotations

import dataclasses
import threading
import time

import optuna
import pandas as pd
import pytest
import torch

import scaling.grid_trial as grid_trial
from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig, ProxyResult
from nas.studies.loop import run_trials
from nas.studies.storage import StudySettings, TrialCreationLock, open_storage
from nas.studies.study import FINISHED, open_study
from scaling.grid_points import GridSettings, point_key
from scaling.grid_study import GridConfig, GridJob
from scaling.grid_trial import keys_left
from search_spaces.codec import format_blocks, parse_blocks
from search_spaces.genotype import Genotype
from tests.scaling.test_grid import TINY_GRID


def test_a_trial_that_has_not_taken_its_point_yet_still_holds_one():
    """Another worker's trial, created but not yet at its suggest: no extra trial may be made for it."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.GridSampler({"point": ["a", "b", "c"]}, seed=0))
    done = study.ask()
    done.suggest_categorical("point", ["a", "b", "c"])
    study.tell(done, 0.5)
    assert keys_left(study, "point", ["a", "b", "c"]) == 2
    study.ask()  # running, no point suggested yet
    assert keys_left(study, "point", ["a", "b", "c"]) == 1
    study.enqueue_trial({"point": "b"})  # waiting: its point is still to train
    assert keys_left(study, "point", ["a", "b", "c"]) == 1
    study.ask()  # pops the waiting trial: running with its fixed point, before any suggest
    assert keys_left(study, "point", ["a", "b", "c"]) == 0


@pytest.mark.slow
def test_two_workers_split_a_grid_and_train_no_network_twice(tmp_path, monkeypatch):
    """Two workers on one grid study: every point taken once, every distinct network trained once."""
    trained, lock = [], threading.Lock()

    def fake_training(genotype, data, proxy, seed, on_epoch=None, **kwargs):
        with lock:
            trained.append((tuple(format_blocks(genotype)), data.resolution, seed))
        time.sleep(0.05)  # long enough for the other worker to pick a point meanwhile
        return ProxyResult("ok", val_acc=0.8, val_accs=[0.8])  # all tied: the fewest FLOPs must win

    monkeypatch.setattr(grid_trial, "train_proxy", fake_training)
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    baseline = Genotype(parse_blocks("ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24_se0.25,ir_r2_k5_s2_e6_c40"), name="small")
    settings = GridSettings(step=0.1, alpha_max=1.3, beta_max=1.2, gamma_max=1.2, rule="constraint", tolerance=0.15)
    settings = dataclasses.replace(settings, pruner="none", top=2, max_seeds=2)  # then the best two at a second seed
    proxy = ProxyConfig(epochs=1, resolution=32, train_size=256, val_size=128, test_size=128)

    def job() -> GridJob:
        return GridJob(baseline, GridConfig(DatasetSpec("digits"), proxy, grid=settings, latency=False))

    def worker(index: int) -> None:
        this, cpu = job(), torch.device("cpu")
        storage = open_storage(StudySettings(storage=url))
        study, _ = open_study(
            storage, "grid", this.directions, this.sampler(index, cpu), this.pruner(), this.identity()
        )
        objective = this.start(study, False, cpu).objective
        lock_ = TrialCreationLock(storage, "grid")
        left, queue = (lambda: this.remaining(study)), (lambda: this.queue(study))
        run_trials(study, objective, this.protocol, left, this.total(), lock_, progress=False, queue=queue)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    study = optuna.load_study(study_name="grid", storage=url)
    finished = [t for t in study.trials if t.state in FINISHED]
    first = [t for t in finished if t.user_attrs["seed"] == 0]
    assert sorted(t.params["point"] for t in first) == sorted(point_key(p) for p in job().grid)
    assert len(study.trials) == len(finished) == 8 + 2
    assert len({t.params["point"] for t in finished if t.user_attrs["seed"] == 1}) == 2
    assert len(trained) == len(set(trained)), "a network was trained twice"
    assert len(trained) == len({t.user_attrs["model"] for t in finished})
    summary = job().write_outputs(study, tmp_path / "out", url)
    complete = [t for t in finished if t.state == optuna.trial.TrialState.COMPLETE]
    assert summary["best"]["flops"] == min(t.user_attrs["flops"] for t in complete)


@pytest.mark.slow
def test_two_joblib_workers_run_the_readme_grid_command(cli, tmp_path):
    """``--phi 1 -m hydra/launcher=joblib ... worker=0,1``: the flag before ``-m``, resolvers in the workers."""
    sweep = tmp_path / "sweep"
    args = [*TINY_GRID, "grid.alpha_max=1.3", "grid.tolerance=0.15", f"study.storage=sqlite:///{tmp_path / 's.db'}"]
    launcher = ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "worker=0,1"]
    result = cli("scaling.grid", "--phi", "1", *launcher, *args, f"hydra.sweep.dir={sweep}")
    assert result.returncode == 0, result.stderr
    frames = [pd.read_csv(path) for path in sorted(sweep.glob("*/grid.csv"))]
    assert len(frames) == 2  # one run directory per worker, each describing the whole shared study
    assert all(len(frame) == 4 for frame in frames)
    (name,) = optuna.get_all_study_names(f"sqlite:///{tmp_path / 's.db'}")
    assert name.startswith("grid-efficientnet_b0-phi1-fashion_mnist-")
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 's.db'}")
    trained = [
        t.user_attrs["model"] for t in study.trials if "val_acc" in t.user_attrs and "duplicate_of" not in t.user_attrs
    ]
    assert [t.state.is_finished() and t.state.name != "FAIL" for t in study.trials] == [True] * 4
    assert trained and len(trained) == len(set(trained)), "a network was trained twice"
