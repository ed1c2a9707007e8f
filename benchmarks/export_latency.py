"""Exported models against PyTorch: ONNX parity, and CPU latency in onnxruntime and in PyTorch eager.

For each ``model.pt`` given (default: the two of ``benchmarks.final_training`` in
``runs/final/bench``), writes ``model.onnx`` as ``nas.export`` does, checks its logits against
PyTorch on random inputs (largest difference), then times one image (batch 1) at the resolution
the model was trained at and at the target input (224 px), with the model's own channels and
classes.  Both runtimes are timed as every latency record is
(:func:`~search_spaces.latency.measure.time_call`, the target's defaults unless given):
``--warmup`` runs, then blocked timing for ``--min-run-time`` seconds on ``--threads`` threads;
PyTorch eager (eval, no grad, channels-last off) first, then onnxruntime (CPU, the same thread
count); medians recorded in ``benchmarks/results/export_latency.json``.  About a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import ROOT, add_record_options, command_line, measurement_start, write_figures
from nas.deploy.formats import check_parity, onnx_runner, write_onnx
from nas.deploy.model_file import load_model
from search_spaces.cost import Target
from search_spaces.latency.measure import time_call, time_module

PROG = "export_latency"
DEFAULT_MODELS = [ROOT / "runs/final/bench/efficientnet_b0/model.pt", ROOT / "runs/final/bench/search_best/model.pt"]


def latency(model: torch.nn.Module, onnx: Callable, shape: tuple[int, ...], target: Target) -> dict[str, Any]:
    """Median milliseconds per batch of ``shape`` of PyTorch eager and of onnxruntime, both timed as ``target`` says."""
    array = torch.randn(shape).numpy()
    t = time_module(model, shape, target).median_ms
    o = time_call(lambda: onnx(array), target).median_ms
    return {
        "input": list(shape[1:]),
        "torch_ms": round(t, 3),
        "onnxruntime_ms": round(o, 3),
        "speedup": round(t / o, 2),
    }


def measure(path: Path, timing: Target) -> dict[str, Any]:
    """Parity and latency of one ``model.pt``, timed with ``timing``'s batch, threads, warm-up and run time."""
    kept = load_model(path)
    model = kept.module()
    sizes, parities = {}, []
    with tempfile.TemporaryDirectory() as scratch:
        for r in (kept.resolution, 224):  # the file's spatial size is fixed: one export per input size
            shape = (kept.in_chans, r, r)
            onnx_path = write_onnx(model, torch.randn(2, *shape), Path(scratch) / f"model{r}.onnx", 18)
            run = onnx_runner(onnx_path, timing.threads)
            parities.append(check_parity(model, run, "model.onnx", "onnxruntime", shape, 1e-4))
            sizes[f"{r}px"] = latency(model, run, (timing.batch_size, *shape), timing)
    parity = max(parities, key=lambda p: p.max_diff)
    return {
        "model": kept.genotype.name,
        "file": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        "test_acc": kept.metrics.get("test_acc"),
        "parity_max_abs_diff": parity.max_diff,
        "parity_max_abs_logit": parity.max_logit,
        "latency": sizes,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="*", type=Path, help="model.pt files (default: the final_training runs)")
    default = Target()
    parser.add_argument("--threads", type=int, default=default.threads, help="CPU threads timed (the target's)")
    parser.add_argument("--warmup", type=int, default=default.warmup, help="untimed runs first (the target's)")
    parser.add_argument(
        "--min-run-time", type=float, default=default.min_run_time, help="seconds timed per runtime (the target's)"
    )
    add_record_options(parser, "export_latency.json")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    start = measurement_start(args.results_dir, args.allow_dirty)
    torch.set_num_threads(args.threads)
    np.random.seed(0)
    timing = Target(threads=args.threads, warmup=args.warmup, min_run_time=args.min_run_time)
    results = [measure(p, timing) for p in (args.models or DEFAULT_MODELS)]
    for r in results:
        print(
            f"{r['model']}: parity {r['parity_max_abs_diff']:.2e}; "
            + "; ".join(
                f"{k}: torch {v['torch_ms']:.2f} ms, onnxruntime {v['onnxruntime_ms']:.2f} ms ({v['speedup']}x)"
                for k, v in r["latency"].items()
            )
        )
    figures = {"threads": args.threads, "warmup": args.warmup, "min_run_time": args.min_run_time, "models": results}
    write_figures(PROG, figures, command_line("benchmarks.export_latency", argv), args.results_dir, start)


if __name__ == "__main__":
    main()
