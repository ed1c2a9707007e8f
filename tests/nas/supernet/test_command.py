"""``python -m nas.supernet`` and ``search.supernet``: end to end on tiny settings, and bad input in one line."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import torch

from nas.search.supernet import RANK_ATTR, RANKING_ATTR
from nas.supernet.training import read_checkpoint
from search_spaces.codec import format_blocks
from search_spaces.references import reference

ROOT = Path(__file__).resolve().parents[3]

TINY = [
    "dataset=digits",
    "proxy=tiny",
    "proxy.train_size=256",
    "proxy.val_size=128",
    "proxy.epochs=1",
    "supernet=tiny",
    "supernet.epochs=1",
    "threads=2",
    "progress=false",
]


def args(tmp_path, *extra, run="run"):
    store = f"supernet.store={tmp_path / 'store'}"
    return [
        *TINY,
        store,
        f"study.storage=sqlite:///{tmp_path / 'studies.db'}",
        f"hydra.run.dir={tmp_path / run}",
        *extra,
    ]


def stored(tmp_path):
    return sorted((tmp_path / "store").glob("*/supernet.pt"))


@pytest.mark.slow
def test_train_then_rank_a_pool_then_reuse(cli, tmp_path):
    first = cli("nas.supernet", *args(tmp_path, "supernet.pool=12"))
    assert first.returncode == 0, first.stderr
    assert "supernet trained: 4 steps" in first.stdout  # 256 images, batch 64, one epoch
    [path] = stored(tmp_path)
    scores = pd.read_csv(tmp_path / "run" / "scores.csv")
    assert len(scores) == 12 and scores["rank"].tolist() == list(range(1, 13))
    assert scores["supernet"].is_monotonic_decreasing and scores["supernet_accuracy"].between(0, 1).all()
    before = path.stat().st_mtime_ns
    again = cli("nas.supernet", *args(tmp_path, "supernet.pool=12", run="again"))
    assert again.returncode == 0, again.stderr
    assert path.stat().st_mtime_ns == before  # reused, not trained again
    assert pd.read_csv(tmp_path / "again" / "scores.csv").equals(scores)


@pytest.mark.slow
def test_a_search_with_the_supernet_trains_its_top_first_and_keeps_the_reward(cli, tmp_path):
    result = cli("nas.search", *args(tmp_path, "search.supernet=auto", "search.n_trials=4"))
    assert result.returncode == 0, result.stderr
    assert "candidates ranked by the reward" in result.stdout
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{tmp_path / 'studies.db'}")
    ranking = study.user_attrs[RANKING_ATTR]
    assert ranking["candidates"] == 60  # supernet=tiny scores 60 members
    trials = sorted(study.trials, key=lambda t: t.number)
    assert trials[0].user_attrs["blocks"] == format_blocks(reference("efficientnet_b0"))
    assert [t.user_attrs[RANK_ATTR] for t in trials[1:3]] == [1, 2]  # supernet=tiny: the top 2
    assert [",".join(t.user_attrs["blocks"]) for t in trials[1:3]] == [row[0] for row in ranking["rows"][:2]]
    for t in trials:  # stand-alone proxy rewards, by the study's own formula
        if t.state == optuna.trial.TrialState.COMPLETE:
            expected = t.user_attrs["val_acc"] * (t.user_attrs["flops"] / 400e6) ** -0.07
            assert math.isclose(t.value, expected, rel_tol=1e-9)
    [path] = stored(tmp_path)  # trained once, kept in the store by its identity
    before = path.stat().st_mtime_ns
    # Another target is another study and another reward, but the same supernet (the README's example).
    small = cli(
        "nas.search", *args(tmp_path, "search.supernet=auto", "search.n_trials=2", "objective.target_flops=200e6")
    )
    assert small.returncode == 0, small.stderr
    assert stored(tmp_path) == [path] and path.stat().st_mtime_ns == before
    assert len(optuna.get_all_study_names(f"sqlite:///{tmp_path / 'studies.db'}")) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["search.supernet=/nonexistent/supernet.pt"], "does not exist"),
        (["search.supernet=auto", "objective=multi"], "one reward"),
        (["supernet.population=1000"], "supernet.parents <= supernet.population <= supernet.candidates"),
        (["supernet.score=top1"], "supernet.score must be one of accuracy, loss"),
    ],
)
def test_bad_supernet_settings_are_one_line_and_touch_no_study(cli, tmp_path, extra, message):
    result = cli("nas.search", *args(tmp_path, *extra))
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert (
        not (tmp_path / "studies.db").exists()
        or optuna.get_all_study_names(f"sqlite:///{tmp_path / 'studies.db'}") == []
    )


@pytest.mark.slow
def test_a_supernet_of_another_space_or_a_broken_file_is_refused(cli, tmp_path):
    trained = cli("nas.supernet", *args(tmp_path))
    assert trained.returncode == 0, trained.stderr
    [path] = stored(tmp_path)
    other = cli("nas.search", *args(tmp_path, f"search.supernet={path}", "space=mobilenet_v2", run="other"))
    assert other.returncode == 2 and "is a supernet for another space" in other.stderr
    assert other.stderr.count("\n") == 1
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path.read_bytes()[:5000])
    cut = cli("nas.search", *args(tmp_path, f"search.supernet={broken}", run="cut"))
    assert cut.returncode == 2 and "is not readable" in cut.stderr
    ranked = cli("nas.supernet", *args(tmp_path, f"checkpoint={broken}", "supernet.pool=3", run="rank"))
    assert ranked.returncode == 2 and "is not readable" in ranked.stderr
    assert optuna.get_all_study_names(f"sqlite:///{tmp_path / 'studies.db'}") == []


@pytest.mark.slow
def test_a_killed_supernet_resumes_to_the_same_weights(cli, tmp_path):
    """SIGKILL after a checkpoint, then the same command: the same weights as a run never stopped."""
    settings = ["supernet.epochs=2", "supernet.save_every=2"]
    whole = cli("nas.supernet", *args(tmp_path / "whole", *settings))
    assert whole.returncode == 0, whole.stderr
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": "0"}
    command = [sys.executable, "-m", "nas.supernet", *args(tmp_path / "killed", *settings)]
    killed = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not stored(tmp_path / "killed") and killed.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    [path] = stored(tmp_path / "killed")
    at_kill = read_checkpoint(path)["step"]
    assert 2 <= at_kill < 8, "the kill should land between the first checkpoint and the end"
    resumed = cli("nas.supernet", *args(tmp_path / "killed", *settings, run="again"))
    assert resumed.returncode == 0, resumed.stderr
    [reference_path] = stored(tmp_path / "whole")
    assert path.relative_to(tmp_path / "killed") == reference_path.relative_to(tmp_path / "whole")  # one identity
    a, b = read_checkpoint(reference_path), read_checkpoint(path)
    assert a["complete"] and b["complete"] and a["step"] == b["step"] == 8
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
