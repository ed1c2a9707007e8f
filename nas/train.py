"""The proxy trainer: a short, seeded training run that scores one genotype.

Data is already resident on the device (``nas.data.ProxyData``); batches are index slices of
those tensors, so nothing is copied per step.  On CUDA: bf16 autocast, channels_last and
optionally ``torch.compile``.  On CPU: fp32, the memory format and thread count measured
fastest by ``benchmarks/proxy_throughput.py``.  A loss that goes NaN/inf, a CUDA OOM that
survives one retry at half batch, or an error inside one genotype's model ends as a failed
:class:`ProxyResult` with a reason; it never takes the process down.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
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
from tqdm import tqdm

from nas import config as conf
from nas.app import hydra_entry, run_dir, to_container
from nas.data import ProxyData, Split
from search_spaces.build import build, count_params
from search_spaces.codec import format_blocks
from search_spaces.genotype import Genotype
from search_spaces.spec import resolve_spec

EpochCallback = Callable[[int, float], None]
"""Called after each epoch with (epoch, validation accuracy); may raise to stop (e.g. pruning)."""


@dataclass(frozen=True)
class ProxyConfig:
    """How a candidate is trained on the proxy task."""

    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "sgd"  # sgd (Nesterov momentum) or adamw
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-5
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.25
    width: float = 0.5
    depth: float = 1.0
    dropout: float = 0.0
    drop_connect: float = 0.0
    augment: bool = False
    channels_last: bool | None = None  # None: CUDA yes, CPU the measured default
    amp: bool = True  # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False
    eval_batch_size: int = 512
    bn_recalibration: int = 2048  # images whose batch statistics replace BN running stats before eval
    zero_init_residual: bool = True  # start residual blocks as identities (last BN scale 0)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"proxy.{name} must be an integer >= 1, got {value!r}")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"proxy.optimizer must be sgd or adamw, got {self.optimizer!r}")
        if not self.lr > 0:
            raise ValueError(f"proxy.lr must be > 0, got {self.lr!r}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"proxy.warmup_fraction must be in [0, 1), got {self.warmup_fraction!r}")


@dataclass
class ProxyResult:
    """The outcome of one proxy training run."""

    status: str  # "ok" or "failed"
    val_acc: float = 0.0
    val_accs: list[float] = field(default_factory=list)
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


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present; an explicit unavailable device is a ``ValueError``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; allowed: auto, cpu, cuda, cuda:N") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available here; use device=auto or cpu")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) present")
    elif resolved.type != "cpu":
        raise ValueError(f"unsupported device {device!r}; allowed: auto, cpu, cuda, cuda:N")
    return resolved


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
    progress: Callable[[int, int, int], None] | None = None,
) -> ProxyResult:
    """Train ``genotype`` on ``data`` and report validation accuracy per epoch.

    ``progress(epoch, step, steps_per_epoch)`` is called after each step (for a progress bar).
    Exceptions raised by ``on_epoch`` (such as ``optuna.TrialPruned``) propagate.
    """
    device = data.train.images.device
    batch_size = config.batch_size
    for attempt in range(2):
        try:
            return _train(genotype, data, config, batch_size, seed, on_epoch, evaluate_test, progress)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            if attempt == 0 and batch_size > 1:
                batch_size //= 2  # one retry at half batch
                continue
            return ProxyResult(
                "failed",
                batch_size=batch_size,
                device=str(device),
                reason=f"CUDA out of memory at batch size {batch_size}",
            )
        except CandidateFailed as err:
            return ProxyResult("failed", batch_size=batch_size, device=str(device), reason=str(err))
    raise AssertionError("unreachable")


def _train(
    genotype: Genotype,
    data: ProxyData,
    config: ProxyConfig,
    batch_size: int,
    seed: int,
    on_epoch: EpochCallback | None,
    evaluate_test: bool,
    progress: Callable[[int, int, int], None] | None,
) -> ProxyResult:
    device = data.train.images.device
    cuda = device.type == "cuda"
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
        )
    except (ValueError, RuntimeError) as err:
        raise CandidateFailed(f"cannot build model: {err}") from None
    if config.zero_init_residual:
        zero_init_residual_branches(model)
    channels_last = True if config.channels_last is None else config.channels_last
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=memory_format)
    step_model: nn.Module = torch.compile(model) if config.compile else model
    optimizer = _optimizer(model, config)
    n = len(data.train)
    steps_per_epoch = n // batch_size if n >= batch_size else 1
    total_steps = steps_per_epoch * config.epochs
    schedule = _one_cycle(total_steps, config.warmup_fraction)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda and config.amp else contextlib.nullcontext()
    generator = torch.Generator(device="cpu").manual_seed(seed)
    val_accs: list[float] = []
    loss_sum = torch.zeros((), device=device)
    start = _now(cuda)
    images_seen = 0
    train_seconds = 0.0
    for epoch in range(config.epochs):
        model.train()
        epoch_start = _now(cuda)
        order = torch.randperm(n, generator=generator).to(device, non_blocking=True)
        loss_sum.zero_()
        for step in range(steps_per_epoch):
            idx = order[step * batch_size : (step + 1) * batch_size]
            x = data.train.images.index_select(0, idx)
            y = data.train.labels.index_select(0, idx)
            if config.augment:
                x = _augment(x, generator)
            x = x.contiguous(memory_format=memory_format)
            try:
                with autocast:
                    loss = F.cross_entropy(step_model(x), y, label_smoothing=config.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            except torch.cuda.OutOfMemoryError:
                raise
            except RuntimeError as err:
                raise CandidateFailed(f"error in training step: {str(err).splitlines()[0]}") from None
            if not cuda and not torch.isfinite(loss):
                raise CandidateFailed(f"loss became {loss.item()} at epoch {epoch + 1}, step {step + 1}")
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach()
            images_seen += len(idx)
            if progress is not None:
                progress(epoch, step, steps_per_epoch)
        mean_loss = (loss_sum / steps_per_epoch).item()
        if not math.isfinite(mean_loss):
            raise CandidateFailed(f"loss became {mean_loss} in epoch {epoch + 1}")
        train_seconds += _now(cuda) - epoch_start
        recalibrate_batchnorm(
            model, data.train, config.bn_recalibration, config.eval_batch_size, memory_format, autocast
        )
        val_acc = evaluate(model, data.val, config.eval_batch_size, memory_format, autocast)
        val_accs.append(val_acc)
        if on_epoch is not None:
            on_epoch(epoch, val_acc)
    test_acc = evaluate(model, data.test, config.eval_batch_size, memory_format, autocast) if evaluate_test else None
    seconds = _now(cuda) - start
    return ProxyResult(
        status="ok",
        val_acc=val_accs[-1],
        val_accs=val_accs,
        test_acc=test_acc,
        train_loss=mean_loss,
        seconds=seconds,
        images_per_s=images_seen / train_seconds if train_seconds > 0 else 0.0,
        epochs_run=config.epochs,
        batch_size=batch_size,
        proxy_params=count_params(model),
        device=str(device),
    )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: Split,
    batch_size: int,
    memory_format: torch.memory_format = torch.contiguous_format,
    autocast: Any = None,
) -> float:
    """Top-1 accuracy on a split (eval mode, no gradients)."""
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=split.labels.device)
    with autocast or contextlib.nullcontext():
        for start in range(0, len(split), batch_size):
            x = split.images[start : start + batch_size].contiguous(memory_format=memory_format)
            correct += (model(x).argmax(1) == split.labels[start : start + batch_size]).sum()
    return correct.item() / max(1, len(split))


@torch.no_grad()
def zero_init_residual_branches(model: nn.Module) -> None:
    """Zero the last BatchNorm scale of every block with a shortcut, so it starts as an identity."""
    from search_spaces.blocks import Block

    for block in model.modules():
        if isinstance(block, Block) and block.shortcut is not None:
            norms = [m for m in block.body.modules() if isinstance(m, nn.BatchNorm2d)]
            if norms:
                norms[-1].weight.zero_()


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module,
    split: Split,
    n_images: int,
    batch_size: int,
    memory_format: torch.memory_format = torch.contiguous_format,
    autocast: Any = None,
) -> None:
    """Recompute BatchNorm running statistics with the final weights (a cumulative average).

    Short runs at high learning rates leave running statistics that lag far behind the
    weights: measured here, a B0 proxy scored 10% in eval mode and 43% with its batch
    statistics.  Re-estimating them on a few training batches closes that gap.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if n_images <= 0 or not norms:
        return
    model.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the recalibration batches
        m.train()
    with autocast or contextlib.nullcontext():
        for start in range(0, min(n_images, len(split)), batch_size):
            stop = min(start + batch_size, n_images, len(split))
            model(split.images[start:stop].contiguous(memory_format=memory_format))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    model.eval()


def _optimizer(model: nn.Module, config: ProxyConfig) -> torch.optim.Optimizer:
    # No weight decay on BatchNorm and biases: it only slows short runs down.
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, betas=(config.momentum, 0.999))
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)


def _one_cycle(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """Linear warm-up to the peak, then linear decay to zero: the schedule of fast short runs."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random translation by up to 2 pixels (reflect padding) and horizontal flips, on device."""
    n, _, h, w = x.shape
    pad = 2
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    dx, dy = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=generator))
    shifted = padded[:, :, dy : dy + h, dx : dx + w]
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], shifted.flip(3), shifted)


def _now(cuda: bool) -> float:
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter()


# ---------------------------------------------------------------- CLI: python -m nas.train model=SPEC


def run(cfg: Any) -> dict[str, Any]:
    """Train one genotype on the proxy and write ``summary.json`` in the run directory."""
    genotype = resolve_spec(cfg.model)
    device = resolve_device(cfg.device)
    conf.set_threads(cfg.threads)
    proxy = conf.fields_of(ProxyConfig, cfg.proxy)
    target = conf.target(cfg.target)
    params, flops = target.cost(genotype)
    data = conf.proxy_data(conf.raw_dataset(cfg.dataset), conf.data_sizes(cfg.proxy), device)
    bar = tqdm(unit="step", disable=not cfg.progress, desc=genotype.name)

    def progress(epoch: int, step: int, steps: int) -> None:
        if bar.total is None:
            bar.reset(total=steps * proxy.epochs)
        bar.set_description(f"{genotype.name} epoch {epoch + 1}/{proxy.epochs}", refresh=False)
        bar.update(1)

    def on_epoch(epoch: int, val_acc: float) -> None:
        bar.set_postfix_str(f"val_acc {val_acc:.4f}")

    result = train_proxy(genotype, data, proxy, cfg.seed, on_epoch, evaluate_test=True, progress=progress)
    bar.close()
    summary = {
        "model": genotype.name,
        "blocks": format_blocks(genotype),
        "status": result.status,
        "reason": result.reason,
        "val_acc": result.val_acc,
        "val_accs": result.val_accs,
        "test_acc": result.test_acc,
        "params": params,
        "flops": flops,
        "target": dataclasses.asdict(target),
        "proxy_params": result.proxy_params,
        "seconds": result.seconds,
        "images_per_s": result.images_per_s,
        "device": result.device,
        "dataset": data.name,
        "seed": cfg.seed,
        "config": to_container(cfg),
    }
    out = run_dir() / "summary.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    if result.ok:
        print(
            f"{genotype.name}: val_acc {result.val_acc:.4f}, test_acc {result.test_acc:.4f} on {data.name} "
            f"({result.seconds:.1f} s, {result.images_per_s:.0f} img/s on {result.device}); "
            f"target cost {params:,} params, {flops / 1e6:.1f} MFLOPs -> {out}"
        )
    else:
        print(f"{genotype.name}: training failed: {result.reason} -> {out}")
    return summary


main = hydra_entry("python -m nas.train", "train", run)

if __name__ == "__main__":
    main()
