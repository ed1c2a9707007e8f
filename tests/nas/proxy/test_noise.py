"""Sampling noise of a validation split: intervals, the gap two accuracies must exceed, the verdict."""

from __future__ import annotations

import math

import pytest

from nas.proxy.data import DataSizes
from nas.proxy.noise import accuracy_interval, gap_margin, small_split_warning, verdict
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
