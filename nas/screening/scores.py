"""Zero-cost scores: how promising an untrained network looks, from one minibatch.

Each score is a function ``(model, inputs, targets) -> float`` of a freshly initialised model
(it may change the model: build a new one per score) and a minibatch of the proxy's images;
higher means "predicted to train better".  Deterministic for a given model and batch, on CPU
and CUDA.  What each does where the papers leave a choice:

- ``synflow`` (Tanaka et al. 2020; Abdelfattah et al. 2021): every parameter made positive,
  the model in float64 and in eval mode (fresh BatchNorm statistics, so BN is a near-identity:
  the papers switch it off), an all-ones input of one image; ``sum |W · ∂R/∂W|`` over conv and
  linear weights (as Abdelfattah et al.'s code) with ``R`` the sum of the logits.  Only the
  input's shape matters, never its values.
- ``naswot`` (Mellor et al. 2021): the log-determinant of ``K = C Cᵀ + (1-C)(1-C)ᵀ``, ``C`` the
  binary codes of every ReLU-like unit over the batch (train-mode BN, as in the paper).  Our nets
  use SiLU as often as ReLU: the code of a SiLU (or ReLU6) unit is the sign of its input, the side
  of the kink, as for ReLU.  A network with no such activation has no code and scores ``-inf``;
  so does one whose codes make ``K`` singular (two inputs with identical codes).
- ``grad_norm``: ``sum over conv and linear layers of ||∂L/∂W||₂`` (cross-entropy, train mode).
- ``snip`` (Lee et al. 2019): ``sum |W · ∂L/∂W|`` over conv and linear weights.
- ``zico`` (Li et al. 2023): the batch split in two; per conv or linear layer
  ``log sum(mean|g| / std g)`` over weights whose gradient varies between the halves, summed over
  layers.  Each half's gradient is its own (the paper's definition; its code accumulated them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

Score = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]
RELU_LIKE = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.LeakyReLU, nn.Hardswish, nn.GELU)


def _weighted_layers(model: nn.Module) -> Iterator[nn.Module]:
    return (m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def _backward_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(inputs), targets).backward()


def synflow(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.zero_grad(set_to_none=True)
    ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64, device=inputs.device)
    model(ones).sum().backward()
    layers = [m for m in _weighted_layers(model) if m.weight.grad is not None]
    with torch.no_grad():
        return float(sum((m.weight * m.weight.grad).abs().sum() for m in layers))


def naswot(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    n = inputs.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64, device=inputs.device)
    coded = 0

    def add_codes(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        nonlocal kernel, coded
        codes = (args[0].detach().reshape(n, -1) > 0).double()
        kernel = kernel + codes @ codes.T + (1 - codes) @ (1 - codes).T
        coded += 1

    hooks = [m.register_forward_pre_hook(add_codes) for m in model.modules() if isinstance(m, RELU_LIKE)]
    try:
        model.train()
        with torch.no_grad():
            model(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    if not coded:
        return -math.inf
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if sign > 0 else -math.inf


def grad_norm(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    _backward_loss(model, inputs, targets)
    with torch.no_grad():
        return float(sum(m.weight.grad.norm() for m in _weighted_layers(model) if m.weight.grad is not None))


def snip(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    _backward_loss(model, inputs, targets)
    layers = [m for m in _weighted_layers(model) if m.weight.grad is not None]
    with torch.no_grad():
        return float(sum((m.weight * m.weight.grad).abs().sum() for m in layers))


def zico(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, splits: int = 2) -> float:
    if inputs.shape[0] < splits:
        raise ValueError(f"zico needs a batch of at least {splits} images, got {inputs.shape[0]}")
    layers = list(_weighted_layers(model))
    grads: list[list[torch.Tensor]] = [[] for _ in layers]
    for part_x, part_y in zip(inputs.chunk(splits), targets.chunk(splits), strict=True):
        _backward_loss(model, part_x, part_y)
        for store, layer in zip(grads, layers, strict=True):
            grad = layer.weight.grad
            store.append(torch.zeros_like(layer.weight).flatten() if grad is None else grad.detach().flatten())
    total = 0.0
    for store in grads:
        stacked = torch.stack(store).double()
        std = stacked.std(dim=0, unbiased=False)
        varying = std > 0
        ratio = float((stacked.abs().mean(dim=0)[varying] / std[varying]).sum())
        if ratio > 0:
            total += math.log(ratio)
    return total


MODEL_SCORES: dict[str, Score] = {
    "synflow": synflow,
    "naswot": naswot,
    "grad_norm": grad_norm,
    "snip": snip,
    "zico": zico,
}
COST_SCORES = ("params", "flops")  # at the target input, from search_spaces.cost.Target
SCORES = (*MODEL_SCORES, *COST_SCORES)
VOTE = ("synflow", "naswot", "snip")  # Abdelfattah et al.'s vote, NASWOT in place of jacob_cov (its successor)
