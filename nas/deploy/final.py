"""Final training: one genotype, the long recipe, a checkpoint after every epoch, resumable after a kill.

The proxy trainer's pieces (``nas.proxy.trainer``) run the epochs; this module adds what a long
run needs: a weight average (EMA) that is evaluated and kept, an atomic ``checkpoint.pt`` after
every epoch holding everything the next epoch depends on (weights, optimizer, schedule, EMA, the
batch-order generator and the global RNG for dropout), and ``resume``: a run killed at any
moment (SIGKILL included) continues from its last checkpoint and, on CPU, ends with the same
weights as a run that was never interrupted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from nas.deploy.model_file import ModelFile, differing, read_checkpoint_file, save_atomic
from nas.proxy.data import ProxyData
from nas.proxy.evaluation import evaluate
from nas.proxy.recipe import ProxyConfig
from nas.proxy.trainer import ProgressCallback, TrainingRun, seed_everything, setup_run, train_epoch
from search_spaces.codec import genotype_to_dict
from search_spaces.genotype import Genotype

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"
FORMAT = "effnas-checkpoint/1"
EpochEnd = Callable[[dict[str, Any]], None]
"""Called after each epoch (and its checkpoint) with that epoch's record."""


@dataclass
class FinalRun:
    """What a final training run is: resuming needs every one of these to be the same."""

    genotype: Genotype
    data: ProxyData
    config: ProxyConfig
    seed: int = 0
    dataset: dict[str, Any] = field(default_factory=dict)  # DatasetSpec.describe(): name, fingerprint, classes

    def identity(self) -> dict[str, Any]:
        return {
            "genotype": genotype_to_dict(self.genotype),
            "config": self.config.identity(),
            "dataset": {k: self.dataset.get(k) for k in ("name", "source", "fingerprint")},
            "resolution": self.data.resolution,
            "train_images": len(self.data.train),
            "seed": self.seed,
        }


def train_final(
    run: FinalRun,
    out: Path,
    resume: bool = False,
    progress: ProgressCallback | None = None,
    on_epoch: EpochEnd | None = None,
) -> ModelFile:
    """Train ``run`` to the end (from ``out/checkpoint.pt`` when resuming); returns the trained model file."""
    state = open_checkpoint(run, out / CHECKPOINT, resume)
    seed_everything(run.seed)
    training = setup_run(run.genotype, run.data, run.config, run.config.batch_size, run.seed)
    ema = make_ema(training.model, run.config.ema_decay)
    history: list[dict[str, Any]] = []
    if state is not None:
        history = restore(state, training, ema)
    for epoch in range(len(history), run.config.epochs):
        start = time.perf_counter()
        loss, _ = train_epoch(training, run.data, run.config, epoch, averaging(progress, ema, training.model))
        scored = ema.module if ema is not None else training.model
        val_acc = evaluate(scored, run.data.val, run.config.eval_batch_size, training.memory_format, training.autocast)
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch + 1, "loss": loss, "val_acc": val_acc, "seconds": round(seconds, 2)})
        save_atomic(checkpoint(run, training, ema, history), out / CHECKPOINT)
        if on_epoch is not None:
            on_epoch(history[-1])
    return finish(run, training, ema, history)


def make_ema(model: nn.Module, decay: float) -> AveragedModel | None:
    """An exponential moving average of the weights and BatchNorm buffers (None when ``decay`` is 0).

    The decay warms up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates: without it the
    average of a short run is mostly the random initial weights (measured: chance accuracy after
    3 epochs at 0.999, where the weights themselves reached 0.75).
    """
    if decay <= 0:
        return None

    def average(averaged: torch.Tensor, current: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1.0 + float(updates)) / (10.0 + float(updates)))
        return averaged * d + current * (1.0 - d)

    return AveragedModel(model, avg_fn=average, use_buffers=True)


def averaging(
    progress: ProgressCallback | None, ema: AveragedModel | None, model: nn.Module
) -> ProgressCallback | None:
    """The per-step callback: update the average after every optimizer step, then report progress."""
    if ema is None:
        return progress

    def step(epoch: int, index: int, steps: int) -> None:
        ema.update_parameters(model)
        if progress is not None:
            progress(epoch, index, steps)

    return step


def checkpoint(
    run: FinalRun, training: TrainingRun, ema: AveragedModel | None, history: list[dict[str, Any]]
) -> dict[str, Any]:
    """Everything the next epoch depends on, as plain data."""
    return {
        "format": FORMAT,
        "identity": run.identity(),
        "history": history,
        "model": training.model.state_dict(),
        "optimizer": training.optimizer.state_dict(),
        "scheduler": training.scheduler.state_dict(),
        "ema": None if ema is None else ema.state_dict(),
        "generator": training.generator.get_state(),
        "torch_rng": torch.get_rng_state(),
    }


def open_checkpoint(run: FinalRun, path: Path, resume: bool) -> dict[str, Any] | None:
    """The checkpoint to resume from (None: start afresh); ``ValueError`` when it cannot be used."""
    if not path.is_file():
        if resume:
            log.warning(
                "train.resume=true, but nothing to resume (no %s in %s): training starts from the first epoch",
                path.name,
                path.parent,
            )
        return None
    if not resume:
        raise ValueError(
            f"{path} already holds a final training run: train.resume=true continues it, "
            "or give another hydra.run.dir to start afresh"
        )
    state = read_checkpoint_file(path, FORMAT, "checkpoint of nas.train", ": remove it to start afresh")
    differ = differing(run.identity(), state["identity"])
    if differ:
        raise ValueError(
            f"{path} was made by another run: {', '.join(differ)} differ; resume with the same settings, "
            "or give another hydra.run.dir"
        )
    return state


def restore(state: dict[str, Any], training: TrainingRun, ema: AveragedModel | None) -> list[dict[str, Any]]:
    """Load a checkpoint into a freshly set-up run; returns the epochs it had finished."""
    training.model.load_state_dict(state["model"])
    training.optimizer.load_state_dict(state["optimizer"])
    training.scheduler.load_state_dict(state["scheduler"])
    if ema is not None and state["ema"] is not None:
        ema.load_state_dict(state["ema"])
    training.generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    history = list(state["history"])
    log.info("resuming after epoch %d from the checkpoint", len(history))
    return history


def finish(run: FinalRun, training: TrainingRun, ema: AveragedModel | None, history: list[dict[str, Any]]) -> ModelFile:
    """Test accuracy once, with the weights that are kept (the average when there is one)."""
    kept = ema.module if ema is not None else training.model
    test_acc = evaluate(kept, run.data.test, run.config.eval_batch_size, training.memory_format, training.autocast)
    metrics = {
        "test_acc": test_acc,
        "val_acc": history[-1]["val_acc"] if history else None,
        "epochs": len(history),
        "seconds": round(sum(h["seconds"] for h in history), 1),
        "history": history,
    }
    state = {k: v.detach().cpu() for k, v in kept.state_dict().items()}
    return ModelFile(
        genotype=run.genotype,
        state_dict=state,
        num_classes=run.data.num_classes,
        in_chans=run.data.in_chans,
        resolution=run.data.resolution,
        mean=list(run.data.mean),
        std=list(run.data.std),
        width=run.config.width,
        depth=run.config.depth,
        class_names=list(run.dataset.get("classes", [])),
        metrics=metrics,
    )
