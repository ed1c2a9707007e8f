"""A worker's device and threads (nas.proxy.device, nas.studies.workers), and the worker count a sweep infers."""

from __future__ import annotations

import pytest
import torch

from nas.cli.overrides import infer_workers
from nas.proxy.device import resolve_device
from nas.studies.workers import WorkerSettings, worker_device, worker_threads


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="allowed: auto, cpu, cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
        assert worker_device("auto", 3) == "auto"


def test_local_workers_split_the_cores(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert worker_threads(None, 1) is None
    assert worker_threads(None, 4) == 2
    assert worker_threads(None, 16) == 1
    assert worker_threads(3, 4) == 3  # an explicit count wins


def test_start_sets_the_thread_count():
    before = torch.get_num_threads()
    try:
        assert WorkerSettings(device="cpu", threads=1).start().type == "cpu"
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"worker": 2, "workers": 2}, "worker must be in [0, 1] for workers=2, got 2"),
        ({"worker": -1}, "worker must be in [0, 0] for workers=1, got -1; set workers= to the number of workers"),
        ({"workers": 0}, "workers must be an integer >= 1, got 0"),
        ({"threads": 0}, "threads must be an integer >= 1 or null, got 0"),
    ],
)
def test_bad_worker_settings(kwargs, message):
    with pytest.raises(ValueError) as err:
        WorkerSettings(**kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("argv", "added"),
    [
        (["-m", "worker=0,1,2,3"], "workers=4"),
        (["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=4", "worker=0,1,2,3"], "workers=4"),
        (["-m", "worker=range(8)", "seed=1"], "workers=8"),
        (["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=3", "seed=0,1,2"], "workers=3"),
        (["-m", "worker=0,1", "workers=5"], None),  # an explicit count wins
        (["worker=1"], None),  # not a sweep: nothing to infer
        (["-m", "seed=0,1"], None),
    ],
)
def test_the_worker_count_is_inferred_from_the_sweep(argv, added):
    assert infer_workers(argv) == (argv if added is None else [*argv, added])
