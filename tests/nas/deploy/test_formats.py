"""The parity check itself, against runners that are wrong in one known way."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nas.deploy.formats import ParityError, check_parity

SHAPE = (3, 8, 8)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5)).eval()


def _same_as(model: nn.Module):
    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    return run


def test_a_runner_that_matches_passes_with_a_tiny_difference():
    model = _model()
    parity = check_parity(model, _same_as(model), "model.onnx", "fake", SHAPE, tolerance=1e-6)
    assert parity.max_diff == 0.0 and parity.batches == (1, 3) and parity.max_logit > 0


def test_nan_logits_fail_the_check():
    model = _model()
    right = _same_as(model)

    def nan_in_one_logit(x: np.ndarray) -> np.ndarray:
        out = right(x)
        out[0, 0] = np.nan
        return out

    with pytest.raises(ParityError, match=r"max \|logit difference\| nan .* exceeds the tolerance"):
        check_parity(model, nan_in_one_logit, "model.onnx", "fake", SHAPE, tolerance=1e-4)


def test_a_runner_right_at_batch_1_and_wrong_at_batch_3_fails():
    model = _model()
    right = _same_as(model)

    def wrong_beyond_the_first_image(x: np.ndarray) -> np.ndarray:
        out = right(x)
        out[1:] += 1.0  # e.g. a batch axis frozen at 1 that repeats the first image's answer
        return out

    with pytest.raises(ParityError, match=r"\(batch 1, 3\): max \|logit difference\| 1\.00e\+00"):
        check_parity(model, wrong_beyond_the_first_image, "model.pt2", "fake", SHAPE, tolerance=1e-4)
