"""The proxy trainer: a short, seeded training run that scores one genotype.

Data is already resident on the device (``nas.proxy.data.ProxyData``); batches are index slices
of those tensors, so nothing is copied per step.  On CUDA: bf16 autocast, channels_last and
optionally ``torch.compile``.  On CPU: fp32, the memory format and thread count measured
fastest by ``benchmarks/proxy_throughput.py``.  A loss that goes NaN/inf, a CUDA OOM that
survives one retry at half batch, or an error inside one genotype's model ends as a failed
:class:`ProxyResult` with a reason; it never takes the process down.  A stop signal
(``nas.proxy.stopping``) ends training at the next step.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nas.proxy.data import ProxyData
from nas.proxy.evaluation import accuracy_of, evaluate, image_outcomes, recalibrate_batchnorm
from nas.proxy.noise import pack_outcomes
from nas.proxy.recipe import SCHEDULES, ProxyConfig, augment, make_optimizer
from nas.proxy.stopping import check_stop
from search_spaces.build import build, count_params
from search_spaces.genotype import Genotype

EpochCallback = Callable[[int, float], None]
"""Called after each epoch with (epoch, validation accuracy); may raise to stop (e.g. pruning)."""
ProgressCallback = Callable[[int, int, int], None]
"""Called after each step with (epoch, step, steps per epoch), e.g. for a progress bar."""


@dataclass
class ProxyResult:
    """The outcome of one proxy training run."""

    status: str  # "ok" or "failed"
    val_acc: float = 0.0
    val_accs: list[float] = field(default_factory=list)
    val_outcomes: str | None = None  # the last epoch's per-image outcomes, packed (nas.proxy.noise.pack_outcomes)
    test_acc: float | None = None
    train_loss: float = math.nan
    seconds: float = 0.0
    images_per_s: float = 0.0
    epochs_run: int = 0
    batch_size: int = 0
    proxy_params: int = 0
    device: str = "cpu"
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CandidateFailed(Exception):
    """This genotype cannot be trained (NaN loss, OOM after retry, an error in its model)."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train_proxy(
    genotype: Genotype,
    data: ProxyData,
    config: ProxyConfig,
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    evaluate_test: bool = False,
    progress: ProgressCallback | None = None,
) -> ProxyResult:
    """Train ``genotype`` on ``data`` and report validation accuracy per epoch.

    Exceptions raised by ``on_epoch`` (such as ``optuna.TrialPruned``) propagate, as does
    ``nas.proxy.stopping.StopRequested``.
    """
    device = data.train.device
    batch_size = config.batch_size
    for attempt in range(2):
        try:
            return _train(genotype, data, config, batch_size, seed, on_epoch, evaluate_test, progress)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            if attempt == 0 and batch_size > 1:
                batch_size //= 2  # one retry at half batch
                continue
            reason = f"CUDA out of memory at batch size {batch_size}"
            return ProxyResult("failed", batch_size=batch_size, device=str(device), reason=reason)
        except CandidateFailed as err:
            return ProxyResult("failed", batch_size=batch_size, device=str(device), reason=str(err))
    raise AssertionError("unreachable")


@dataclass
class TrainingRun:
    """One training run's moving parts."""

    model: nn.Module
    step_model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    autocast: Any
    memory_format: torch.memory_format
    generator: torch.Generator
    batch_size: int
    steps_per_epoch: int


def setup_run(genotype: Genotype, data: ProxyData, config: ProxyConfig, batch_size: int, seed: int) -> TrainingRun:
    device = data.train.device
    seed_everything(seed)
    try:
        model = build(
            genotype,
            width=config.width,
            depth=config.depth,
            num_classes=data.num_classes,
            in_chans=data.in_chans,
            dropout=config.dropout,
            drop_connect=config.drop_connect,
            zero_init_residual=config.zero_init_residual,
        )
    except (ValueError, RuntimeError) as err:
        raise CandidateFailed(f"cannot build model: {err}") from None
    memory_format = config.memory_format
    model = model.to(device=device, memory_format=memory_format)
    optimizer = make_optimizer(model, config)
    n = len(data.train)
    steps_per_epoch = n // batch_size if n >= batch_size else 1
    schedule = SCHEDULES[config.schedule](steps_per_epoch * config.epochs, config.warmup_fraction)
    cuda_amp = device.type == "cuda" and config.amp
    return TrainingRun(
        model=model,
        step_model=torch.compile(model) if config.compile else model,
        optimizer=optimizer,
        scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer, schedule),
        autocast=torch.autocast("cuda", dtype=torch.bfloat16) if cuda_amp else contextlib.nullcontext(),
        memory_format=memory_format,
        generator=torch.Generator(device="cpu").manual_seed(seed),
        batch_size=batch_size,
        steps_per_epoch=steps_per_epoch,
    )


def _train(
    genotype: Genotype,
    data: ProxyData,
    config: ProxyConfig,
    batch_size: int,
    seed: int,
    on_epoch: EpochCallback | None,
    evaluate_test: bool,
    progress: ProgressCallback | None,
) -> ProxyResult:
    device = data.train.device
    cuda = device.type == "cuda"
    run = setup_run(genotype, data, config, batch_size, seed)
    val_accs: list[float] = []
    outcomes: torch.Tensor | None = None
    start = _now(cuda)
    images_seen, train_seconds = 0, 0.0
    for epoch in range(config.epochs):
        epoch_start = _now(cuda)
        mean_loss, images = train_epoch(run, data, config, epoch, progress)
        images_seen += images
        train_seconds += _now(cuda) - epoch_start
        recalibrate_batchnorm(
            run.model, data.train, config.bn_recalibration, config.eval_batch_size, run.memory_format, run.autocast
        )
        outcomes = image_outcomes(run.model, data.val, config.eval_batch_size, run.memory_format, run.autocast)
        val_accs.append(accuracy_of(outcomes))
        if on_epoch is not None:
            on_epoch(epoch, val_accs[-1])
    test_acc = None
    if evaluate_test:
        test_acc = evaluate(run.model, data.test, config.eval_batch_size, run.memory_format, run.autocast)
    return ProxyResult(
        status="ok",
        val_acc=val_accs[-1],
        val_accs=val_accs,
        val_outcomes=None if outcomes is None else pack_outcomes(outcomes.cpu().numpy()),
        test_acc=test_acc,
        train_loss=mean_loss,
        seconds=_now(cuda) - start,
        images_per_s=images_seen / train_seconds if train_seconds > 0 else 0.0,
        epochs_run=config.epochs,
        batch_size=run.batch_size,
        proxy_params=count_params(run.model),
        device=str(device),
    )


def train_epoch(
    run: TrainingRun, data: ProxyData, config: ProxyConfig, epoch: int, progress: ProgressCallback | None
) -> tuple[float, int]:
    """One epoch over a fresh permutation; returns (mean loss, images seen)."""
    device = data.train.device
    cuda = device.type == "cuda"
    run.model.train()
    n, batch_size = len(data.train), run.batch_size
    order = torch.randperm(n, generator=run.generator).to(device, non_blocking=True)
    loss_sum = torch.zeros((), device=device)
    images = 0
    for step in range(run.steps_per_epoch):
        check_stop()
        idx = order[step * batch_size : (step + 1) * batch_size]
        x = data.train.batch(idx)
        y = data.train.labels.index_select(0, idx)
        if config.augment:
            x = augment(x, run.generator)
        x = x.contiguous(memory_format=run.memory_format)
        try:
            with run.autocast:
                loss = F.cross_entropy(run.step_model(x), y, label_smoothing=config.label_smoothing)
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
        except torch.cuda.OutOfMemoryError:
            raise
        except RuntimeError as err:
            raise CandidateFailed(f"error in training step: {str(err).splitlines()[0]}") from None
        if not cuda and not torch.isfinite(loss):
            raise CandidateFailed(f"loss became {loss.item()} at epoch {epoch + 1}, step {step + 1}")
        run.optimizer.step()
        run.scheduler.step()
        loss_sum += loss.detach()
        images += len(idx)
        if progress is not None:
            progress(epoch, step, run.steps_per_epoch)
    mean_loss = (loss_sum / run.steps_per_epoch).item()
    if not math.isfinite(mean_loss):
        raise CandidateFailed(f"loss became {mean_loss} in epoch {epoch + 1}")
    return mean_loss, images


def _now(cuda: bool) -> float:
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter()
