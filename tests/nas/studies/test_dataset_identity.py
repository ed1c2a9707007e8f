"""A study is tied to its data's contents: the same file name with other images is another experiment."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from nas.proxy.datasets import DatasetSpec
from nas.search.job import SearchJob
from nas.search.settings import SearchConfig
from nas.studies.storage import MEMORY, StudySettings, open_storage
from nas.studies.study import open_study
from search_spaces.references import reference


def _write(path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.integers(0, 256, (60, 8, 8), dtype=np.uint8), y=np.repeat([0, 1, 2], 20))


def _open(storage, path) -> optuna.Study:
    job = SearchJob(reference("efficientnet_b0"), SearchConfig(DatasetSpec("npz", path=str(path))))
    sampler, pruner = optuna.samplers.RandomSampler(seed=0), optuna.pruners.NopPruner()
    return open_study(storage, "named", job.directions, sampler, pruner, job.identity())[0]


def test_a_named_study_refuses_a_dataset_file_whose_contents_changed(tmp_path):
    storage, data = open_storage(StudySettings(storage=MEMORY)), tmp_path / "data.npz"
    _write(data, seed=0)
    _open(storage, data)
    _write(data, seed=0)  # written again, the same arrays: the same experiment, resumed
    _open(storage, data)
    _write(data, seed=1)  # the same name and shapes, other images
    changed = r"study 'named' is another experiment: dataset\.fingerprint: \"\w+\" stored, \"\w+\" now;"
    with pytest.raises(ValueError, match=changed):
        _open(storage, data)
