"""The supernet trains by the sandwich rule, resumes bit for bit, and refuses a checkpoint that is not its own."""

from __future__ import annotations

import dataclasses
import signal

import pytest
import torch

from nas.proxy.recipe import ProxyConfig
from nas.proxy.stopping import StopRequested
from nas.supernet.evaluation import SubnetScorer
from nas.supernet.settings import SupernetSettings
from nas.supernet.training import SupernetRun, read_checkpoint, train_supernet
from search_spaces.mnasnet import mnasnet_space

from .test_network import TINY_REFERENCE

PROXY = ProxyConfig(batch_size=64, width=0.25, eval_batch_size=128)
SETTINGS = SupernetSettings(epochs=2, random_subnets=1, save_every=2, recalibration=64, eval_images=128)


def tiny_run(data, **settings) -> SupernetRun:
    space = mnasnet_space(TINY_REFERENCE)
    return SupernetRun(
        space, data, PROXY, dataclasses.replace(SETTINGS, **settings), seed=0, dataset={"name": "digits"}
    )


def test_the_largest_and_smallest_subnets_learn(data, tmp_path):
    run = tiny_run(data, epochs=10)
    untrained = SubnetScorer(run.build(), data, run.settings, PROXY)
    trained = train_supernet(run, tmp_path / "supernet.pt")
    scorer = SubnetScorer(trained.net, data, run.settings, PROXY)
    for genotype, least in ((trained.net.largest(), 0.5), (trained.net.smallest(), 0.25)):
        before, after = untrained(genotype), scorer(genotype)
        assert after.loss < before.loss
        assert after.accuracy > least  # 10 classes: chance is 0.1 (measured: 0.63 and 0.39)
    assert trained.steps == run.total_steps and len(trained.history) == 10
    assert read_checkpoint(tmp_path / "supernet.pt")["complete"]


def test_a_resumed_run_ends_with_the_same_weights(data, tmp_path, monkeypatch):
    run = tiny_run(data)
    whole = train_supernet(run, tmp_path / "whole.pt").net.state_dict()

    def stop_at_five(done: int, total: int, loss: float) -> None:
        if done == 5:
            raise StopRequested(signal.SIGTERM)

    path = tmp_path / "resumed.pt"
    with pytest.raises(StopRequested):
        train_supernet(run, path, progress=stop_at_five)
    assert read_checkpoint(path)["step"] == 5  # a stop saves at once (between saves, every 2 steps)
    resumed = train_supernet(run, path).net.state_dict()
    for name, tensor in whole.items():
        assert torch.equal(tensor, resumed[name]), name


def test_a_checkpoint_of_other_settings_is_refused_in_one_line(data, tmp_path):
    path = tmp_path / "supernet.pt"
    train_supernet(tiny_run(data, epochs=1), path)
    with pytest.raises(ValueError, match="other settings \\(supernet differ\\)") as err:
        train_supernet(tiny_run(data, epochs=2), path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all"])
def test_a_corrupt_checkpoint_is_refused_in_one_line(data, tmp_path, content):
    path = tmp_path / "supernet.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not readable") as err:
        train_supernet(tiny_run(data, epochs=1), path)
    assert "\n" not in str(err.value)


def test_a_truncated_checkpoint_is_refused(data, tmp_path):
    path = tmp_path / "supernet.pt"
    train_supernet(tiny_run(data, epochs=1), path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="is not readable"):
        train_supernet(tiny_run(data, epochs=1), path)
