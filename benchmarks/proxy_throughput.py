"""Images/s of the proxy trainer against a plain PyTorch loop, same model, data and device.

The plain loop is what most scripts do: a ``DataLoader`` over the CPU dataset at its stored
size, per-batch resizing and normalisation, transfer to the device, fp32, default memory
format.  The proxy trainer holds resized tensors on the device, uses channels_last (and bf16
autocast on CUDA).  Both are measured ``--repeats`` times, alternating, and the medians compared.
``--variant amp=false,channels_last=false`` (repeatable) also measures the proxy trainer with
those settings, in the same rounds.
Run: ``python -m benchmarks.proxy_throughput``; writes ``benchmarks/results/proxy_throughput.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.common import add_record_options, run_benchmark, write_figures
from nas.cli.schema import UsageError, composed
from nas.proxy.data import prepare
from nas.proxy.datasets import load_dataset
from nas.proxy.device import resolve_device
from nas.proxy.trainer import ProxyConfig, seed_everything, train_proxy
from search_spaces.build import build
from search_spaces.spec import resolve_spec

PROG = "proxy_throughput"


def plain_loop_images_per_s(model_spec, raw, resolution, width, batch_size, steps, device) -> float:
    seed_everything(0)
    genotype = resolve_spec(model_spec)
    model = build(
        genotype, width=width, num_classes=raw.num_classes, in_chans=raw.in_chans, dropout=0.0, drop_connect=0.0
    )
    model = model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    n = batch_size * (steps + 2)
    images = torch.from_numpy(raw.train_images[:n].copy())
    labels = torch.from_numpy(raw.train_labels[:n].copy())
    loader = DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=True, drop_last=True)
    timed, start = 0, None
    for step, (x, y) in enumerate(loader):
        if step == 2:  # two warm-up steps
            start = time.perf_counter()
        x = F.interpolate(x.float().div(255), size=(resolution, resolution), mode="bilinear", antialias=True)
        x = (x - 0.5) / 0.5
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= 2:
            timed += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return timed / (time.perf_counter() - start)


def variant_settings(text: str) -> dict[str, Any]:
    """``amp=false,channels_last=false`` as proxy settings, typed and checked as the commands' ``proxy.*`` are."""
    items = [item.strip() for item in text.split(",")]
    proxy = composed("search", [f"proxy.{item}" for item in items]).proxy
    keys = [item.partition("=")[0] for item in items]
    return {key: getattr(proxy, key) for key in keys}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--model", default="efficientnet_b0")
    parser.add_argument("--width", type=float, default=0.5, help="proxy width multiplier (default proxy: 0.5)")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dataset", default="fashion_mnist")
    add_record_options(parser, "proxy_throughput.json")
    parser.add_argument("--repeats", type=int, default=3, help="measure both loops this many times, alternating")
    parser.add_argument(
        "--variant", action="append", default=[], help="proxy settings also measured, e.g. amp=false (repeatable)"
    )
    run_benchmark(PROG, parser, argv, measure)


def rounds(
    args: argparse.Namespace, configs: dict[str, ProxyConfig], device: torch.device
) -> tuple[list[float], dict[str, list[float]]]:
    """Images/s of the plain loop and of each proxy configuration over ``args.repeats`` rounds.

    One untimed round of the plain loop and the default proxy goes first: CUDA's start-up and
    first kernel loads would otherwise land in whichever run came first.
    """
    raw = load_dataset(args.dataset)
    data = prepare(raw, args.resolution, args.batch_size * args.steps, 512, 512, device)
    model = resolve_spec(args.model)
    plain_loop = functools.partial(
        plain_loop_images_per_s, args.model, raw, args.resolution, args.width, args.batch_size, args.steps, device
    )
    plain_loop()
    train_proxy(model, data, configs[""], seed=0)
    plain, runs = [], {text: [] for text in configs}
    for _ in range(args.repeats):  # alternating, so a burst of load elsewhere hits every loop alike
        plain.append(plain_loop())
        for text, config in configs.items():
            runs[text].append(train_proxy(model, data, config, seed=0).images_per_s)
    return plain, runs


def measure(args: argparse.Namespace) -> None:
    if args.repeats < 1 or args.steps < 1:
        raise UsageError(f"--repeats and --steps must be >= 1, got {args.repeats} and {args.steps}")
    config = ProxyConfig(epochs=1, batch_size=args.batch_size, width=args.width)
    configs = {"": config} | {text: dataclasses.replace(config, **variant_settings(text)) for text in args.variant}
    device = resolve_device(args.device)
    plain, runs = rounds(args, configs, device)
    proxy = runs.pop("")
    plain_median, proxy_median = statistics.median(plain), statistics.median(proxy)
    figures = {
        "model": args.model,
        "width": args.width,
        "resolution": args.resolution,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "device": str(device),
        "plain_images_per_s": round(plain_median, 1),
        "proxy_images_per_s": round(proxy_median, 1),
        "speedup": round(proxy_median / plain_median, 2),
        "plain_images_per_s_runs": [round(v, 1) for v in plain],
        "proxy_images_per_s_runs": [round(v, 1) for v in proxy],
        "variants": {
            text: {
                "images_per_s": round(statistics.median(values), 1),
                "speedup": round(statistics.median(values) / plain_median, 2),
                "runs": [round(v, 1) for v in values],
            }
            for text, values in runs.items()
        },
    }
    print(
        f"{args.model} x{args.width} @{args.resolution}px bs {args.batch_size} on {figures['device']}, median of "
        f"{args.repeats}: plain loop {plain_median:.0f} img/s, proxy trainer {proxy_median:.0f} img/s, "
        f"speed-up {figures['speedup']:.2f}x"
    )
    for text, row in figures["variants"].items():
        print(f"  proxy trainer with {text}: {row['images_per_s']:.0f} img/s, speed-up {row['speedup']:.2f}x")
    write_figures(PROG, figures, args.command, args.results_dir, args.start)


if __name__ == "__main__":
    main()
