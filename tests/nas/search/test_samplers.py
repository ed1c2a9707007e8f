from __future__ import annotations

import numpy as np
import optuna
import pytest

from nas.search.samplers import ControllerSampler, make_sampler

SPACE = {f"x{i}": ["a", "b", "c", "d"] for i in range(8)}


def _toy(trial):
    return sum(trial.suggest_categorical(name, choices) == "c" for name, choices in SPACE.items()) / len(SPACE)


@pytest.mark.slow
def test_controller_learns_a_toy_reward():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=ControllerSampler(SPACE, seed=0))
    study.optimize(_toy, n_trials=150)
    values = [t.value for t in study.trials]
    random_mean = 0.25
    assert np.mean(values[-30:]) > random_mean + 0.3
    assert np.mean(values[-30:]) > np.mean(values[:30]) + 0.15
    probs = study.sampler.probabilities()
    favourites = [int(np.argmax(p)) for p in probs.values()]
    assert favourites.count(2) >= 6, favourites  # "c" is the policy's favourite almost everywhere


@pytest.mark.slow
def test_controller_state_is_rebuilt_from_the_storage(tmp_path):
    storage = f"sqlite:///{tmp_path / 'rl.db'}"
    study = optuna.create_study(
        study_name="rl", storage=storage, direction="maximize", sampler=ControllerSampler(SPACE, seed=1)
    )
    study.optimize(_toy, n_trials=40)
    study.sampler.learn(study)
    first = study.sampler.probabilities()
    # A new process (fresh sampler) replays the stored trials before it samples.
    resumed = optuna.load_study(study_name="rl", storage=storage, sampler=ControllerSampler(SPACE, seed=1))
    resumed.sampler.learn(resumed)
    assert len(resumed.sampler.rewards) == 40
    second = resumed.sampler.probabilities()
    for name in SPACE:
        assert np.allclose(first[name], second[name], atol=1e-5)


def test_controller_samples_are_reproducible():
    def run():
        study = optuna.create_study(direction="maximize", sampler=ControllerSampler(SPACE, seed=7))
        study.optimize(_toy, n_trials=10)
        return [t.params for t in study.trials]

    assert run() == run()


def test_sampler_names():
    kinds = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
    kinds |= {"nsga2": optuna.samplers.NSGAIISampler, "rl": ControllerSampler}
    assert {name: type(make_sampler(name, SPACE, 0, multi_objective=False)) for name in kinds} == kinds
    with pytest.raises(ValueError, match="unknown search.sampler 'bayes'; allowed: tpe, random, nsga2, rl"):
        make_sampler("bayes", SPACE, 0, False)
    with pytest.raises(ValueError, match="needs objective.mode soft or hard"):
        make_sampler("rl", SPACE, 0, True)
