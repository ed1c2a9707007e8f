"""The portable files of a network — ONNX and ``torch.export`` — each checked against PyTorch after writing.

ONNX goes through ``torch.onnx.export(..., dynamo=True)``: on torch 2.13 it is the default exporter
(the TorchScript one warns that it will be removed), and it traces the network with the same
``torch.export`` that writes ``model.pt2``, so both files come from one kind of graph.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
PARITY_BATCHES = (1, 3)  # batch 1 and another than the traced one: the batch axis really is dynamic
TRACE_BATCH = 2  # torch.export specialises a dimension traced at size 1, so trace at 2

Runner = Callable[[np.ndarray], np.ndarray]


class ParityError(RuntimeError):
    """An exported file computes other logits than the PyTorch network it came from."""


@dataclass(frozen=True)
class Parity:
    """How closely an exported file reproduces PyTorch: the largest |logit difference| on random inputs."""

    file: str
    runtime: str  # what ran the file: onnxruntime, torch.export.load
    max_diff: float
    max_logit: float  # the largest |logit| compared: the scale ``max_diff`` is small against
    batches: tuple[int, ...]

    def describe(self) -> str:
        sizes = ", ".join(map(str, self.batches))
        return (
            f"{self.file}: {self.runtime} vs PyTorch on random inputs (batch {sizes}): "
            f"max |logit difference| {self.max_diff:.2e} (logits up to {self.max_logit:.3g})"
        )


def example_input(in_chans: int, resolution: int, batch: int = TRACE_BATCH) -> torch.Tensor:
    """A normalised-image-shaped input for tracing."""
    return torch.randn(batch, in_chans, resolution, resolution, generator=torch.Generator().manual_seed(0))


@contextlib.contextmanager
def quiet_exporters() -> Iterator[None]:
    """The exporters log every optimisation pass and missing torchvision op (Hydra shows INFO): noise to a user."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnx_ir", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            for category in (FutureWarning, DeprecationWarning, UserWarning):
                warnings.simplefilter("ignore", category)
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _batch_dim() -> dict[str, dict[int, torch.export.Dim]]:
    """``ConvNet.forward(x)``'s first axis, named ``batch`` in both files."""
    return {"x": {0: torch.export.Dim("batch", min=1)}}


def write_onnx(model: nn.Module, example: torch.Tensor, path: Path, opset: int) -> Path:
    """``model.onnx`` with a dynamic batch axis, input ``input`` (N, C, H, W) and output ``logits`` (N, classes)."""
    with quiet_exporters(), torch.no_grad():
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=_batch_dim(),
            verbose=False,
        )
        program.save(str(path))
    return path


def write_pt2(model: nn.Module, example: torch.Tensor, path: Path) -> Path:
    """``model.pt2``: ``torch.export`` with a dynamic batch dimension, written by ``torch.export.save``."""
    with quiet_exporters(), torch.no_grad():
        program = torch.export.export(model, (example,), dynamic_shapes=_batch_dim())
        torch.export.save(program, str(path))
    return path


def onnx_runner(path: Path, threads: int | None = None) -> Runner:
    """Run ``model.onnx`` in onnxruntime on the CPU, as a user without this package would."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]


def pt2_runner(path: Path) -> Runner:
    """Reload ``model.pt2`` with ``torch.export.load`` and run it."""
    with quiet_exporters():
        module = torch.export.load(str(path)).module()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    return run


def check_parity(
    model: nn.Module,
    run: Runner,
    file: str,
    runtime: str,
    input_shape: tuple[int, int, int],
    tolerance: float,
    seed: int = 0,
    batches: Sequence[int] = PARITY_BATCHES,
) -> Parity:
    """Compare ``run`` with ``model`` on random inputs; ``ParityError`` when they differ by more than ``tolerance``."""
    generator = torch.Generator().manual_seed(seed)
    max_diff = max_logit = 0.0
    for batch in batches:
        x = torch.randn(batch, *input_shape, generator=generator)
        with torch.no_grad():
            expected = model(x).numpy()
        got = run(x.numpy())
        if got.shape != expected.shape:
            raise ParityError(f"{file}: {runtime} gives logits of shape {got.shape}, PyTorch {expected.shape}")
        max_diff = float(np.maximum(max_diff, np.abs(got - expected).max()))  # NaN stays NaN (max() would drop it)
        max_logit = max(max_logit, float(np.abs(expected).max()))
    parity = Parity(file, runtime, max_diff, max_logit, tuple(batches))
    if not max_diff <= tolerance:  # written so that NaN fails too
        raise ParityError(f"{parity.describe()} exceeds the tolerance {tolerance:g}; the file was removed")
    return parity
