"""The pre-screen inside the search: warm-up trials first, best-of-k proposals, resume, bad input."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest
import torch

from nas.proxy.datasets import DatasetSpec
from nas.proxy.trainer import ProxyConfig
from nas.screening.proposals import BestOfK, uniform_proposer
from nas.screening.scores import VOTE
from nas.search.job import SearchJob
from nas.search.prescreen import POOL_ATTR, RANK_ATTR
from nas.search.samplers import make_sampler
from nas.search.settings import SearchConfig, SearchPrescreen, SearchSettings
from search_spaces.codec import format_blocks
from search_spaces.references import reference

TINY = ["dataset=digits", "proxy=tiny", "proxy.train_size=256", "proxy.epochs=1", "threads=2", "progress=false"]
SCREEN = ["search.prescreen.score=synflow", "search.prescreen.pool=8", "search.prescreen.top=3"]


def args(tmp_path, *extra, run="run"):
    return [*TINY, f"study.storage=sqlite:///{tmp_path / 'studies.db'}", f"hydra.run.dir={tmp_path / run}", *extra]


@pytest.mark.slow
def test_warm_up_trials_come_first_and_are_the_pools_top(cli, tmp_path):
    result = cli("nas.search", *args(tmp_path, *SCREEN, "search.n_trials=5"))
    assert result.returncode == 0, result.stderr
    assert "pre-screen: scored 8 candidates by synflow" in result.stdout
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{tmp_path / 'studies.db'}")
    pool = study.user_attrs[POOL_ATTR]
    frame = pd.DataFrame(pool["rows"], columns=pool["columns"]).sort_values("rank", kind="stable")
    trials = sorted(study.trials, key=lambda t: t.number)
    assert trials[0].user_attrs["blocks"] == format_blocks(reference("efficientnet_b0"))  # the reference, then the top
    warm = [",".join(t.user_attrs["blocks"]) for t in trials[1:4]]
    assert warm == frame["blocks"].head(3).tolist()
    assert [t.user_attrs[RANK_ATTR] for t in trials[1:4]] == frame["rank"].head(3).tolist()
    table = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert table["synflow"].notna().all() and table[RANK_ATTR].notna().sum() == 3
    # the same command resumes: the pool is not scored again, the stored one is kept
    again = cli("nas.search", *args(tmp_path, *SCREEN, "search.n_trials=6", run="again"))
    assert again.returncode == 0, again.stderr
    assert "was scored by synflow before" in again.stdout
    resumed = optuna.load_study(study_name=None, storage=f"sqlite:///{tmp_path / 'studies.db'}")
    assert resumed.user_attrs[POOL_ATTR] == pool and len(resumed.trials) == 6


@pytest.mark.slow
def test_a_changed_prescreen_setting_on_resume_is_refused_and_the_study_kept(cli, tmp_path):
    first = cli("nas.search", *args(tmp_path, *SCREEN, "search.n_trials=4", "study.name=mine"))
    assert first.returncode == 0, first.stderr
    changed = cli(
        "nas.search", *args(tmp_path, *SCREEN, "search.prescreen.top=2", "search.n_trials=5", "study.name=mine")
    )
    assert changed.returncode == 2
    assert "strategy.prescreen.top: 3 stored, 2 now" in changed.stderr and changed.stderr.count("\n") == 1
    study = optuna.load_study(study_name="mine", storage=f"sqlite:///{tmp_path / 'studies.db'}")
    assert len(study.trials) == 4


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["search.prescreen.score=best"], "unknown search.prescreen.score 'best'; allowed: synflow"),
        (["search.prescreen.score=vote", "search.prescreen.pool=0"], "search.prescreen.pool must be an integer >= 1"),
        (["search.prescreen.score=vote", "search.prescreen.top=300"], "search.prescreen.top (300) must be <= "),
        (["search.prescreen.score=vote", "search.prescreen.k=0"], "search.prescreen.k must be an integer >= 1"),
        (["search.prescreen.score=vote", "search.prescreen.k=3"], "needs search.sampler random or rl"),
        (["search.prescreen.k=3", "search.sampler=random"], "search.prescreen.k > 1 needs search.prescreen.score"),
    ],
)
def test_bad_prescreen_settings_are_one_line_and_touch_no_study(cli, tmp_path, overrides, message):
    result = cli("nas.search", *args(tmp_path, *overrides))
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert (
        not (tmp_path / "studies.db").exists()
        or optuna.get_all_study_summaries(f"sqlite:///{tmp_path / 'studies.db'}") == []
    )


def test_best_of_k_trains_the_chosen_proposal_and_leaves_enqueued_trials_alone(space):
    distributions = space.distributions()
    seen = []

    def choose(proposals):
        seen.append(proposals)
        return max(range(len(proposals)), key=lambda i: proposals[i]["b7_filters"])

    sampler = BestOfK(distributions, uniform_proposer(distributions, seed=0), choose, k=4, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(space.encode(space.reference))
    study.optimize(lambda t: space.suggest(t).blocks[-1].out_channels, n_trials=3)
    assert study.trials[0].params == space.encode(space.reference) and len(seen) == 2
    for trial, proposals in zip(study.trials[1:], seen, strict=True):
        assert len(proposals) == 4
        assert trial.params["b7_filters"] == max(p["b7_filters"] for p in proposals)
        assert trial.params in proposals


def test_rl_with_k_proposals_still_learns_from_every_trial(space):
    distributions = space.distributions()
    sampler = make_sampler("rl", distributions, 0, False, choose=lambda proposals: 0, k=2)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: float(space.suggest(t).blocks[0].kernel), n_trials=4)
    assert len(sampler._inner.rewards) == 3  # the controller learned from each finished trial before sampling


@pytest.mark.slow
def test_the_pool_is_scored_once_per_study_whoever_starts():
    settings = SearchSettings(prescreen=SearchPrescreen(score="vote", pool=4, top=2))
    proxy = ProxyConfig(epochs=1, batch_size=32, width=0.25)
    job = SearchJob(reference("efficientnet_b0"), SearchConfig(DatasetSpec(name="digits"), proxy, search=settings))
    study, cpu = optuna.create_study(direction="maximize"), torch.device("cpu")
    job.start(study, True, cpu)
    scored = dict(job.scorer(cpu).counts)
    assert scored == {name: 4 for name in VOTE}
    other = SearchJob(job.reference, job.config)
    opening = other.start(study, False, cpu).opening  # a second worker, or a resumed run
    assert "scored by vote before" in opening and not other.scorer(cpu).counts
    assert len(study.trials) == 3  # the reference and the pool's top 2, enqueued once


def test_the_pool_holds_only_candidates_under_search_max_flops():
    """synflow favours large networks: without the cap, the pool's top would be over it."""
    cap = 300e6
    settings = SearchSettings(max_flops=cap, prescreen=SearchPrescreen(score="synflow", pool=6, top=3))
    proxy = ProxyConfig(epochs=1, batch_size=32, width=0.25)
    job = SearchJob(reference("efficientnet_b0"), SearchConfig(DatasetSpec(name="digits"), proxy, search=settings))
    study, cpu = optuna.create_study(direction="maximize"), torch.device("cpu")
    job.start(study, True, cpu)
    pool = pd.DataFrame(study.user_attrs[POOL_ATTR]["rows"], columns=study.user_attrs[POOL_ATTR]["columns"])
    waiting = study.get_trials(states=[optuna.trial.TrialState.WAITING])
    enqueued = [job.space.decode(t.system_attrs["fixed_params"]) for t in waiting]
    assert len(pool) == 6 and len(enqueued) == 4  # the reference, then the pool's top 3
    assert all(job.config.target.cost(g).flops <= cap for g in enqueued[1:])
