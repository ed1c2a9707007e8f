"""Sampling noise of a validation split: intervals, the gap two accuracies must exceed, the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from nas.proxy.data import DataSizes
from nas.proxy.noise import (
    accuracy_interval,
    gap_margin,
    pack_outcomes,
    pair_margin,
    paired_margin,
    small_split_warning,
    unpack_outcomes,
    verdict,
)
from nas.search.outputs import describe_best


def test_an_accuracy_interval_is_wilsons_and_narrows_with_more_images():
    low, high = accuracy_interval(0.5, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)  # Wilson, 50 of 100
    assert accuracy_interval(0.8608, 10_000)[1] - accuracy_interval(0.8608, 10_000)[0] < 0.014
    assert accuracy_interval(1.0, 30) == (pytest.approx(0.8865, abs=1e-4), 1.0)


def test_a_gap_must_exceed_two_standard_errors_of_the_difference():
    assert gap_margin(0.8, 0.8, 10_000) == pytest.approx(1.96 * math.sqrt(0.32 / 10_000), rel=1e-3)
    assert gap_margin(0.8, 0.8, 100, 0.5, 0.5) == pytest.approx(gap_margin(0.8, 0.8, 100) / 2)
    assert verdict(0.90, 0.85, 0.01) == "beats"
    assert verdict(0.85, 0.90, 0.01) == "does not beat"
    assert verdict(0.855, 0.85, 0.01) == "ties within noise with"


def _disagreeing(n: int, upper_only: int, lower_only: int, both: int) -> tuple[np.ndarray, np.ndarray]:
    """Two networks' outcomes on ``n`` images: each alone right on some, both right on ``both``."""
    lower, upper = np.zeros(n, bool), np.zeros(n, bool)
    upper[:upper_only] = True
    lower[upper_only : upper_only + lower_only] = True
    lower[n - both :] = upper[n - both :] = True
    return lower, upper


@pytest.mark.parametrize(
    ("upper_only", "lower_only"), [(30, 10), (25, 15), (60, 35), (50, 40), (12, 2), (9, 3), (5, 0), (6, 0)]
)
def test_a_paired_gap_is_judged_as_mcnemars_test_judges_it(upper_only, lower_only):
    lower, upper = _disagreeing(1_000, upper_only, lower_only, both=800)
    margin = paired_margin([lower], [upper])
    gap = upper.mean() - lower.mean()
    exact = binomtest(upper_only, upper_only + lower_only).pvalue < 0.05  # McNemar's exact test
    assert (gap > margin) is exact
    assert margin < gap_margin(upper.mean(), lower.mean(), 1_000)  # agreement on 800 images says nothing


def test_outcomes_pack_into_text_and_back_and_pair_over_seeds():
    rng = np.random.default_rng(0)
    outcomes = rng.random(10_001) < 0.8
    text = pack_outcomes(outcomes)
    assert text.startswith("10001:") and len(text) < 1_800
    assert np.array_equal(unpack_outcomes(text), outcomes)
    lower, upper = _disagreeing(1_000, 30, 10, both=800)
    assert paired_margin([lower, lower], [upper, upper]) == pytest.approx(paired_margin([lower], [upper]))
    assert pair_margin(0.83, 0.81, 1_000, upper, lower) == pytest.approx(paired_margin([lower], [upper]))
    assert pair_margin(0.83, 0.81, 1_000) == gap_margin(0.83, 0.81, 1_000)  # nothing kept: unpaired
    with pytest.raises(ValueError, match="same images"):
        paired_margin([lower], [upper[:-1]])


def test_a_small_split_is_said_once_and_a_large_one_not_at_all():
    assert small_split_warning(10_000) is None
    warning = small_split_warning(30)
    assert warning.startswith("30 validation images cannot separate networks 3% apart") and "proxy.val_size" in warning


def test_the_validation_images_are_what_fit_keeps():
    sizes = DataSizes(train_size=1024, val_size=256)
    assert sizes.val_images(60_000) == 256 and sizes.val_images(1_437) == 256
    assert DataSizes(train_size=None, val_size=10_000).val_images(150) == 30  # a fifth of a small array file
    assert sizes.fit(1_000).val_size == sizes.val_images(1_000)


def _summary(n_val: int, best_acc: float, ref_acc: float) -> dict:
    genotype = {"blocks": ["ds_r1_k3_s1_e1_c16"], "params": 1000, "flops": 300e6, "trial": 3}
    return {
        "study": "s",
        "n_trials": 5,
        "n_trained": 5,
        "n_pruned": 0,
        "n_failed": 0,
        "dataset": {"n_val": n_val},
        "best": {**genotype, "val_acc": best_acc, "reward": best_acc * 1.02},
        "reference": {**genotype, "name": "ref", "flops": 400e6, "val_acc": ref_acc, "reward": ref_acc},
    }


def test_a_search_says_beats_only_beyond_the_noise_of_its_validation_split():
    small = describe_best(_summary(30, 25 / 30, 20 / 30))  # +0.1667 on 30 images: within noise
    assert "It ties within noise with the reference ref" in small and "[0.66" in small
    assert small.splitlines()[-1].startswith("  Note: 30 validation images cannot separate")
    large = describe_best(_summary(10_000, 0.8608, 0.8447))
    assert "It beats the reference ref" in large and "on 10,000 validation images" in large
    assert "Note:" not in large
    assert "It does not beat" in describe_best(_summary(10_000, 0.80, 0.8447))
    same = _summary(30, 0.8, 0.8)
    same["best"]["reward"] = same["reference"]["reward"]
    assert "It matches the reference" in describe_best(same)


def test_a_search_judges_its_best_against_the_reference_image_by_image_when_both_kept_outcomes():
    images = np.arange(10_000)
    best, ref = images < 8_400, images < 8_500  # 0.01 less accurate, 2% cheaper: reward +0.0068
    margin = paired_margin([ref], [best], 1.0, 1.02)
    assert margin < 0.003  # the reward's gap is mostly its exactly known cost factor
    assert paired_margin([ref], [best], 2.0, 2.0) == pytest.approx(2 * paired_margin([ref], [best]))
    summary = _summary(10_000, 0.84, 0.85)
    assert "It ties within noise with the reference" in describe_best(summary)  # unpaired: 0.0101 needed
    summary["reference"]["paired_margin"] = margin
    assert "It beats the reference" in describe_best(summary)
