from __future__ import annotations

import math

import pytest
import torch

from nas.proxy.data import prepare
from nas.proxy.datasets import load_dataset
from nas.proxy.noise import unpack_outcomes
from nas.proxy.recipe import make_optimizer
from nas.proxy.trainer import ProxyConfig, train_proxy
from search_spaces.codec import parse_blocks
from search_spaces.genotype import Genotype

SMALL = Genotype(parse_blocks("ds_r1_k3_s1_e1_c16,ir_r1_k3_s2_e3_c24_se0.25,ir_r1_k5_s2_e3_c40"), stem=16, head=64)
FAST = ProxyConfig(epochs=2, batch_size=64, width=1.0, lr=0.05)


@pytest.fixture(scope="module")
def digits():
    return prepare(load_dataset("digits"), 32, 800, 300, 300)


def test_training_learns_and_reports_every_epoch(digits):
    seen = []
    result = train_proxy(SMALL, digits, FAST, seed=0, on_epoch=lambda e, acc: seen.append((e, acc)), evaluate_test=True)
    assert result.ok, result.reason
    assert [e for e, _ in seen] == [0, 1]
    assert result.val_accs == [acc for _, acc in seen]
    assert result.val_acc > 0.3  # 10 classes: chance is 0.1
    outcomes = unpack_outcomes(result.val_outcomes)  # each validation image's outcome, for paired comparisons
    assert len(outcomes) == 300 and outcomes.mean() == pytest.approx(result.val_acc)
    assert result.test_acc > 0.3  # the held-out test split is learnt too, far above chance
    # 800 images in batches of 64: 12 steps, 768 images per epoch; training is part of the run's time
    assert result.images_per_s >= 2 * 768 / result.seconds
    assert result.device == "cpu"


def test_same_seed_same_accuracy_on_cpu(digits):
    a = train_proxy(SMALL, digits, FAST, seed=3)
    b = train_proxy(SMALL, digits, FAST, seed=3)
    assert a.val_accs == b.val_accs
    assert a.train_loss == b.train_loss


def test_nan_loss_is_a_failed_evaluation_not_a_crash(digits):
    config = ProxyConfig(epochs=1, batch_size=64, width=1.0, lr=1e30, warmup_fraction=0.0)
    result = train_proxy(SMALL, digits, config, seed=0)
    assert result.status == "failed"
    assert "loss became" in result.reason
    assert not result.ok


def test_a_genotype_that_cannot_run_fails_with_a_reason(digits):
    # Six stride-2 stages shrink 32 px to nothing only if padding were missing; instead make the
    # forward fail by giving the model more input channels than the data has.
    bad = prepare(load_dataset("digits"), 32, 100, 50, 50)
    object.__setattr__(bad, "in_chans", 3)
    result = train_proxy(SMALL, bad, FAST, seed=0)
    assert result.status == "failed" and "error in training step" in result.reason


def test_callback_exceptions_propagate(digits):
    class Stop(Exception):
        pass

    def prune(epoch, acc):
        raise Stop

    with pytest.raises(Stop):
        train_proxy(SMALL, digits, FAST, seed=0, on_epoch=prune)


def test_adamw_and_contiguous_format(digits):
    config = ProxyConfig(epochs=1, batch_size=64, width=1.0, optimizer="adamw", lr=3e-3, channels_last=False)
    result = train_proxy(SMALL, digits, config, seed=0)
    assert result.ok and math.isfinite(result.train_loss)


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_each_optimizer_is_the_one_named(name):
    """proxy.optimizer=adamw is AdamW (beta1 = momentum), sgd is Nesterov SGD; neither decays norms or biases."""
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    optimizer = make_optimizer(model, ProxyConfig(optimizer=name, lr=0.01, momentum=0.85, weight_decay=1e-4))
    kind, settings = {
        "sgd": (torch.optim.SGD, {"nesterov": True}),
        "adamw": (torch.optim.AdamW, {"betas": (0.85, 0.999)}),
    }[name]
    assert type(optimizer) is kind
    assert [g["weight_decay"] for g in optimizer.param_groups] == [1e-4, 0.0]
    assert [len(g["params"]) for g in optimizer.param_groups] == [1, 3]  # the conv weight; its bias and the norm's two
    assert all(optimizer.param_groups[0][k] == v for k, v in settings.items())


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"epochs": 0}, "proxy.epochs"),
        ({"batch_size": 0}, "proxy.batch_size"),
        ({"optimizer": "lion"}, "proxy.optimizer"),
    ],
)
def test_bad_proxy_settings(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        ProxyConfig(**kwargs)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_path_bf16_channels_last():
    data = prepare(load_dataset("digits"), 32, 800, 300, 300, device="cuda")
    result = train_proxy(SMALL, data, ProxyConfig(epochs=2, batch_size=64, width=1.0), seed=0)
    assert result.ok and result.device.startswith("cuda") and result.val_acc > 0.3
