"""Images/s of the proxy trainer against a plain PyTorch loop, same model, data and device.

The plain loop is what most scripts do: a ``DataLoader`` over the CPU dataset at its stored
size, per-batch resizing and normalisation, transfer to the device, fp32, default memory
format.  The proxy trainer holds resized tensors on the device, uses channels_last (and bf16
autocast on CUDA).  Run: ``python -m benchmarks.proxy_throughput``.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.common import write_figures
from nas.cli.workers import resolve_device
from nas.proxy.data import prepare
from nas.proxy.datasets import load_dataset
from nas.proxy.trainer import ProxyConfig, seed_everything, train_proxy
from search_spaces.build import build
from search_spaces.spec import resolve_spec


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="efficientnet_b0")
    parser.add_argument("--width", type=float, default=0.5, help="proxy width multiplier (default proxy: 0.5)")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dataset", default="fashion_mnist")
    args = parser.parse_args()
    device = resolve_device(args.device)
    raw = load_dataset(args.dataset)
    plain = plain_loop_images_per_s(args.model, raw, args.resolution, args.width, args.batch_size, args.steps, device)
    data = prepare(raw, args.resolution, args.batch_size * args.steps, 512, 512, device)
    config = ProxyConfig(epochs=1, batch_size=args.batch_size, width=args.width)
    result = train_proxy(resolve_spec(args.model), data, config, seed=0)
    figures = {
        "model": args.model,
        "width": args.width,
        "resolution": args.resolution,
        "batch_size": args.batch_size,
        "device": str(device),
        "plain_images_per_s": round(plain, 1),
        "proxy_images_per_s": round(result.images_per_s, 1),
        "speedup": round(result.images_per_s / plain, 2),
    }
    print(
        f"{args.model} x{args.width} @{args.resolution}px bs {args.batch_size} on {device}: "
        f"plain loop {plain:.0f} img/s, proxy trainer {result.images_per_s:.0f} img/s, "
        f"speed-up {figures['speedup']:.2f}x"
    )
    write_figures("proxy_throughput", figures)


if __name__ == "__main__":
    main()
