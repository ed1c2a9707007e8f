"""Training the supernet: the sandwich rule with in-place distillation, checkpointed atomically, resumable.

Every step trains the largest subnet on the labels, then the smallest and ``random_subnets``
random ones on the largest's soft predictions (in-place distillation), accumulating their
gradients into one optimizer step (BigNAS, AttentiveNAS).  The batch order of an epoch and the
random subnets of a step are drawn from generators seeded by the run's seed and the epoch or step,
so a run resumed from its checkpoint (weights, optimizer, schedule, step) continues exactly as an
uninterrupted run would: on CPU the final weights are the same bit for bit.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nas.deploy.model_file import differing, read_checkpoint_file, save_atomic
from nas.proxy.data import ProxyData
from nas.proxy.recipe import SCHEDULES, ProxyConfig, augment, make_optimizer
from nas.proxy.stopping import StopRequested, check_stop
from nas.proxy.trainer import seed_everything
from nas.supernet.network import Supernet
from nas.supernet.progressive import free_decisions, within
from nas.supernet.settings import SupernetSettings
from search_spaces.codec import genotype_to_dict
from search_spaces.genotype import Genotype
from search_spaces.mnasnet import MnasNetSpace

log = logging.getLogger(__name__)
FORMAT = "effnas-supernet/1"
StepCallback = Callable[[int, int, float], None]
"""Called after each step with (steps done, steps in all, the largest subnet's loss)."""


def task_identity(space: MnasNetSpace, proxy: ProxyConfig, dataset: dict[str, Any]) -> dict[str, Any]:
    """What a supernet's subnets are and what data they see: a search may use a supernet only if these match."""
    return {
        "space": genotype_to_dict(space.reference),
        "dataset": {k: dataset.get(k) for k in ("name", "source", "fingerprint")},
        "proxy": proxy.identity(),
        "data_sizes": dataclasses.asdict(proxy.sizes),
    }


@dataclass
class SupernetRun:
    """What one supernet is: a checkpoint is reused only by a run with the same identity."""

    space: MnasNetSpace
    data: ProxyData
    proxy: ProxyConfig
    settings: SupernetSettings = field(default_factory=SupernetSettings)
    seed: int = 0
    dataset: dict[str, Any] = field(default_factory=dict)  # DatasetSpec.identity(): name, source, fingerprint

    def identity(self) -> dict[str, Any]:
        return {
            **task_identity(self.space, self.proxy, self.dataset),
            "train_images": len(self.data.train),
            "supernet": self.settings.identity(),
            "seed": self.seed,
        }

    @property
    def steps_per_epoch(self) -> int:
        return max(1, len(self.data.train) // self.proxy.batch_size)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.settings.epochs

    def build(self) -> Supernet:
        seed_everything(self.seed)
        net = Supernet(self.space, self.proxy.width, self.proxy.depth, self.data.num_classes, self.data.in_chans)
        return net.to(device=self.data.train.device, memory_format=self.proxy.memory_format)


@dataclass
class Trained:
    """A supernet and what its training cost: ``seconds`` of training over every session that resumed it."""

    net: Supernet
    steps: int
    seconds: float
    history: list[dict[str, Any]]
    complete: bool


def subnets_of_step(
    net: Supernet, seed: int, step: int, random_subnets: int, free: frozenset[str] | None = None
) -> list[Genotype]:
    """The sandwich for one step: the largest, the smallest, then random members (seeded by the step).

    With ``free`` (progressive shrinking) the others vary only in those decisions; none free: the largest alone.
    """
    rng = np.random.default_rng([seed, step])
    subnets = [net.largest(), net.smallest(), *(net.sample(rng) for _ in range(random_subnets))]
    if free is None:
        return subnets
    if not free:
        return subnets[:1]
    return [subnets[0], *(within(g, subnets[0], free) for g in subnets[1:])]


@functools.lru_cache(maxsize=1)  # one permutation per epoch, not one per step
def batch_order(seed: int, epoch: int, n: int, device: torch.device) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)).to(device)


def sandwich_step(
    net: Supernet, x: torch.Tensor, y: torch.Tensor, subnets: list[Genotype], proxy: ProxyConfig, distill: bool
) -> float:
    """Gradients of every subnet of the step, accumulated (no optimizer step); returns the largest's loss."""
    logits = net(x, subnets[0])
    loss = F.cross_entropy(logits, y, label_smoothing=proxy.label_smoothing)
    loss.backward()
    teacher = logits.detach().softmax(1)
    for genotype in subnets[1:]:
        out = net(x, genotype)
        if distill:
            student = -(teacher * out.log_softmax(1)).sum(1).mean()
        else:
            student = F.cross_entropy(out, y, label_smoothing=proxy.label_smoothing)
        student.backward()
    return float(loss.detach())


def train_supernet(run: SupernetRun, path: Path, progress: StepCallback | None = None) -> Trained:
    """Train (or continue, from ``path``) the supernet of ``run`` to its last step; checkpoints to ``path``."""
    state = open_supernet(run, path)
    net = run.build()
    config = dataclasses.replace(run.proxy, lr=run.settings.lr or run.proxy.lr)
    optimizer = make_optimizer(net, config)
    schedule = SCHEDULES[config.schedule](run.total_steps, config.warmup_fraction)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    step, seconds, history = 0, 0.0, []
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, seconds, history = state["step"], state["seconds"], list(state["history"])
        log.info("resuming the supernet at step %d of %d", step, run.total_steps)

    def save() -> None:
        done = step >= run.total_steps
        record = {"step": step, "seconds": round(seconds, 3), "history": history, "complete": done}
        model = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        save_atomic(
            {
                "format": FORMAT,
                "identity": run.identity(),
                **record,
                "model": model,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
            },
            path,
        )

    net.train()
    losses: list[float] = []
    started = time.perf_counter()
    try:
        while step < run.total_steps:
            check_stop()
            loss = train_step(run, net, optimizer, step)
            scheduler.step()
            step += 1
            losses.append(loss)
            if step % run.steps_per_epoch == 0:
                history.append({"epoch": step // run.steps_per_epoch, "loss": round(float(np.mean(losses)), 5)})
                losses = []
            if step % run.settings.save_every == 0 or step % run.steps_per_epoch == 0 or step == run.total_steps:
                seconds += time.perf_counter() - started
                started = time.perf_counter()
                save()
            if progress is not None:
                progress(step, run.total_steps, loss)
    except StopRequested:
        seconds += time.perf_counter() - started
        save()
        raise
    return Trained(net, step, round(seconds, 3), history, complete=True)  # as saved: a reload reports the same


def train_step(run: SupernetRun, net: Supernet, optimizer: torch.optim.Optimizer, step: int) -> float:
    """One sandwich step on the step's batch; ``ValueError`` when the loss stops being finite."""
    epoch, index = divmod(step, run.steps_per_epoch)
    split, batch = run.data.train, run.proxy.batch_size
    idx = batch_order(run.seed, epoch, len(split), split.device)[index * batch : (index + 1) * batch]
    x, y = split.batch(idx), split.labels.index_select(0, idx)
    if run.proxy.augment:
        x = augment(x, torch.Generator().manual_seed(run.seed * 100_003 + step))
    x = x.contiguous(memory_format=run.proxy.memory_format)
    optimizer.zero_grad(set_to_none=True)
    free = free_decisions(step, run.total_steps) if run.settings.progressive else None
    subnets = subnets_of_step(net, run.seed, step, run.settings.random_subnets, free)
    loss = sandwich_step(net, x, y, subnets, run.proxy, run.settings.distill)
    if not np.isfinite(loss):
        raise ValueError(f"the supernet's loss became {loss} at step {step + 1}: lower supernet.lr")
    optimizer.step()
    return loss


def open_supernet(run: SupernetRun, path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path`` when it belongs to ``run`` (None when there is none); ``ValueError`` otherwise."""
    if not path.is_file():
        return None
    state = read_checkpoint(path)
    differ = differing(run.identity(), state.get("identity", {}))
    if differ:
        raise ValueError(
            f"{path} holds a supernet trained with other settings ({', '.join(differ)} differ): "
            "give the settings it was trained with, or another supernet.store"
        )
    return state


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A supernet checkpoint as saved; ``ValueError`` in one line for a file that is not one (or is cut short)."""
    return read_checkpoint_file(path, FORMAT, "supernet checkpoint", ": it is no supernet checkpoint, or one cut short")
