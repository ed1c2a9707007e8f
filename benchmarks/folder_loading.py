"""A large image folder on this machine: decode once into a memory-mapped cache, then uint8 or float splits.

Builds a folder of ``--n`` RGB JPEGs (96x80, 10 class folders) from Fashion-MNIST, upscaled and
tinted per class so colour carries signal, then times ``load_folder`` three ways (first decode,
cached, after one file was touched), ``prepare`` at 32 and 64 px on the float path and forced uint8,
and one short proxy training of the reference B0 on float and on uint8 splits.
Run: ``python -m benchmarks.folder_loading``; writes ``benchmarks/results/folder_loading.json``.
"""

from __future__ import annotations

import argparse
import colorsys
import contextlib
import gc
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from benchmarks.common import add_record_options, command_line, measurement_start, write_figures
from nas.proxy.data import FLOAT_SHARE, DataSizes, float_budget_for, prepare
from nas.proxy.datasets import load_fashion_mnist
from nas.proxy.folder import cache_key, list_folder, load_folder
from nas.proxy.images import default_workers
from nas.proxy.raw import RawDataset
from nas.proxy.trainer import ProxyConfig, train_proxy
from search_spaces.spec import resolve_spec

SIZE = (96, 80)  # width, height: not square, so the loader's resize-and-centre-crop is exercised
CHUNK = 1000  # images per writing task
TRAIN_VAL_SIZE = 2000  # validation images of the training runs: enough to compare float with uint8
MIB = 2**20
TINTS = np.array([colorsys.hsv_to_rgb(c / 10, 0.7, 1.0) for c in range(10)], np.float32)  # a hue per class


def _write_chunk(folder: str, start: int, images: np.ndarray, labels: np.ndarray, mirror: np.ndarray) -> int:
    """Write ``images`` (28x28 grey) as tinted 96x80 JPEGs named by their global index; return the bytes."""
    written = 0
    for i, (grey, label, flip) in enumerate(zip(images, labels, mirror, strict=True)):
        # Dark background + tinted garment: the class colour is a cue a colour model can use.
        rgb = 20 + grey[..., None].astype(np.float32) * TINTS[label] * (235 / 255)
        img = Image.fromarray(rgb.astype(np.uint8)[:, ::-1] if flip else rgb.astype(np.uint8))
        path = Path(folder, f"class_{label}", f"{start + i:06d}.jpg")
        img.resize(SIZE, Image.Resampling.BILINEAR).save(path, quality=90)
        written += path.stat().st_size
    return written


def write_folder(folder: Path, n: int, workers: int) -> dict[str, Any]:
    """``n`` JPEGs in ``folder/class_<k>/``; past Fashion-MNIST's 70,000 images, mirrored repeats."""
    fm = load_fashion_mnist()
    grey = np.concatenate([fm.train_images[:, 0], fm.test_images[:, 0]])
    labels = np.concatenate([fm.train_labels, fm.test_labels])
    index = np.arange(n) % len(grey)
    mirror = (np.arange(n) // len(grey)) % 2 == 1  # so no repeat is pixel-identical to its source
    for c in range(10):
        (folder / f"class_{c}").mkdir(parents=True, exist_ok=True)
    chunks = [
        (str(folder), s, grey[index[s : s + CHUNK]], labels[index[s : s + CHUNK]], mirror[s : s + CHUNK])
        for s in range(0, n, CHUNK)
    ]
    start = time.perf_counter()
    if workers <= 1 or len(chunks) <= 1:  # a pool would cost more than it saves
        written = sum(_write_chunk(*c) for c in chunks)
    else:
        with ProcessPoolExecutor(workers) as pool:
            written = sum(pool.map(_write_chunk, *zip(*chunks, strict=True)))
    seconds = time.perf_counter() - start
    return {"images": n, "workers": workers, "seconds": round(seconds, 2), "bytes": written}


def reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux), so each phase has its own peak."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
        return True
    return False


def _status_mib() -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of this process in MiB (empty without /proc)."""
    with contextlib.suppress(OSError):
        lines = (line.split(":") for line in Path("/proc/self/status").read_text().splitlines())
        return {k: round(int(v.split()[0]) / 1024, 1) for k, v in lines if k in ("VmRSS", "RssAnon", "RssFile")}
    return {}


def _peak_mib(who: int) -> float:
    """``getrusage(who).ru_maxrss`` in MiB (Linux reports KiB)."""
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def phase_start() -> dict[str, Any]:
    """Reset the peak and note where a phase starts: this process's RSS, the children's peak so far."""
    gc.collect()
    reset_peak()
    # The children's peak is never reset: it only tells about this phase when it grew during it.
    children = _peak_mib(resource.RUSAGE_CHILDREN)
    return {"rss_self_at_start_mib": _status_mib().get("VmRSS"), "peak_rss_children_before_mib": children}


def memory(start: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS of this process and of its children (MiB) since ``start``; RSS now, anonymous and file pages."""
    now = _status_mib()
    return {
        **start,
        "peak_rss_self_mib": _peak_mib(resource.RUSAGE_SELF),
        # A forked child counts the pages it shares with us: its peak starts at our RSS when it was made.
        "peak_rss_children_mib": _peak_mib(resource.RUSAGE_CHILDREN),
        "rss_anon_mib": now.get("RssAnon"),
        "rss_file_mib": now.get("RssFile"),  # the memory map's pages: the kernel may drop them
    }


def is_memmap(array: np.ndarray) -> bool:
    """``array`` is a ``np.memmap`` or a view of one."""
    return isinstance(array, np.memmap) or isinstance(getattr(array, "base", None), np.memmap)


def timed_load(folder: Path, cache: Path) -> tuple[RawDataset, dict[str, Any]]:
    """One ``load_folder`` call: seconds, memory, and whether the images came back memory-mapped."""
    begin = phase_start()
    start = time.perf_counter()
    raw = load_folder(folder, cache_dir=cache)
    seconds = time.perf_counter() - start
    mapped = is_memmap(raw.train_images) and is_memmap(raw.test_images)
    return raw, {"seconds": round(seconds, 3), "memmap": mapped, **memory(begin)}


def measure_loading(folder: Path, cache: Path) -> tuple[RawDataset, dict[str, Any]]:
    """First decode into an empty cache, a cached load, and a load after one file's mtime changed."""
    raw, first = timed_load(folder, cache)
    entry = cache / cache_key(list_folder(folder), None)
    first["cache_bytes"] = sum(f.stat().st_size for f in entry.iterdir())
    raw, cached = timed_load(folder, cache)
    touched_file = folder / list_folder(folder).files[0]
    stat = touched_file.stat()
    os.utime(touched_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # new key: a full rebuild
    try:
        _, touched = timed_load(folder, cache)
    finally:  # a reused folder keeps its modification times, so its own cache stays valid
        os.utime(touched_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    shape = [int(v) for v in raw.train_images.shape]
    speedup = round(first["seconds"] / max(cached["seconds"], 1e-6), 1)
    timed = {"first": first, "cached": cached, "after_touch": touched, "cached_speedup": speedup}
    return raw, {"train_shape": shape, "test_images": len(raw.test_labels), "resolution": shape[-1], **timed}


def measure_prepare(raw: RawDataset, sizes: DataSizes, resolution: int, float_budget: int | None) -> dict[str, Any]:
    """One ``prepare`` at ``resolution``: seconds, dtype kept, bytes and peak RSS."""
    begin = phase_start()
    start = time.perf_counter()
    data = prepare(raw, resolution, sizes.train_size, sizes.val_size, sizes.test_size, "cpu", 0, float_budget)
    splits = (data.train, data.val, data.test)
    figures = {
        "seconds": round(time.perf_counter() - start, 2),
        "dtype": str(data.train.images.dtype).removeprefix("torch."),
        "bytes": sum(s.images.element_size() * s.images.nelement() for s in splits),  # images only
        "images": sum(len(s) for s in splits),
        **memory(begin),
    }
    del data, splits
    return figures


def measure_splits(raw: RawDataset, sizes: DataSizes) -> dict[str, Any]:
    """``prepare`` at 32 and 64 px with the default budget and with uint8 forced; the threshold."""
    budget = float_budget_for(torch.device("cpu"))
    figures: dict[str, Any] = {k: getattr(sizes, k) for k in ("train_size", "val_size", "test_size")}
    figures |= {"float_budget_bytes": budget, "float_share": FLOAT_SHARE}
    for resolution in (32, 64):
        default = measure_prepare(raw, sizes, resolution, None)
        uint8 = measure_prepare(raw, sizes, resolution, 0)
        figures[f"{resolution}px"] = {
            "default": default,
            "uint8": uint8,
            "bytes_ratio": round(default["bytes"] / uint8["bytes"], 3),
            # How many images fit as float32 under the threshold at this resolution.
            "float_max_images": budget // (raw.in_chans * resolution * resolution * 4),
        }
    return figures


def measure_training(raw: RawDataset, train_size: int, repeats: int) -> dict[str, Any]:
    """One epoch of the reference B0 at 32 px on float and on uint8 splits, alternating; medians compared."""
    sizes = DataSizes(resolution=32, train_size=train_size, val_size=TRAIN_VAL_SIZE, test_size=TRAIN_VAL_SIZE)
    sizes = sizes.fit(len(raw.train_labels))
    data = {
        kind: prepare(raw, 32, sizes.train_size, sizes.val_size, sizes.test_size, "cpu", 0, budget)
        for kind, budget in (("float", None), ("uint8", 0))
    }
    genotype, config = resolve_spec("efficientnet_b0"), ProxyConfig(epochs=1)
    train_proxy(genotype, data["uint8"], config, seed=0)  # warm-up: the first run pays one-time set-up costs
    runs: dict[str, list[Any]] = {"float": [], "uint8": []}
    for _ in range(repeats):  # alternating, so a burst of load elsewhere hits both alike
        for kind in runs:
            runs[kind].append(train_proxy(genotype, data[kind], config, seed=0))
    figures: dict[str, Any] = {"train_size": sizes.train_size, "val_size": sizes.val_size, "repeats": repeats}
    for kind, results in runs.items():
        figures[kind] = {
            "dtype": str(data[kind].train.images.dtype).removeprefix("torch."),
            "images_per_s": round(statistics.median(r.images_per_s for r in results), 1),
            "images_per_s_runs": [round(r.images_per_s, 1) for r in results],
            "val_acc": round(results[0].val_acc, 4),  # same seed each run: the first stands for all
            "seconds": round(statistics.median(r.seconds for r in results), 2),
        }
    figures["uint8_over_float"] = round(figures["uint8"]["images_per_s"] / figures["float"]["images_per_s"], 3)
    return figures


def summary(figures: dict[str, Any]) -> str:
    """The record in a few lines."""
    w, lo, sp, t = figures["write"], figures["load"], figures["splits"], figures["training"]
    first = lo["first"]
    lines = [
        f"folder: {figures['images']} images" + (f", written in {w['seconds']:.1f} s" if w else " (reused)"),
        f"load_folder: first {first['seconds']:.2f} s, cached {lo['cached']['seconds']:.3f} s "
        f"({lo['cached_speedup']}x), after touching one file {lo['after_touch']['seconds']:.2f} s; "
        f"cache {first['cache_bytes'] / MIB:.0f} MiB, memmap {lo['cached']['memmap']}; peak RSS first decode "
        f"{first['peak_rss_self_mib']:.0f} MiB, children {first['peak_rss_children_mib']:.0f} MiB",
        f"float budget {sp['float_budget_bytes'] / 2**30:.2f} GiB ({sp['float_share']:.0%} of RAM)",
    ]
    for res, d, u in ((r, sp[r]["default"], sp[r]["uint8"]) for r in ("32px", "64px")):
        lines.append(
            f"prepare {res}: default {d['dtype']} {d['seconds']:.1f} s {d['bytes'] / MIB:.0f} MiB, "
            f"uint8 {u['seconds']:.1f} s {u['bytes'] / MIB:.0f} MiB ({sp[res]['bytes_ratio']}x)"
        )
    if t:
        f, u = t["float"], t["uint8"]
        lines.append(
            f"train B0 32px, {t['train_size']} images: float {f['images_per_s']:.0f} img/s (val_acc "
            f"{f['val_acc']:.3f}), uint8 {u['images_per_s']:.0f} img/s (val_acc {u['val_acc']:.3f}), "
            f"uint8/float {t['uint8_over_float']}"
        )
    return "\n".join(lines)


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line's options, checked."""
    parser = argparse.ArgumentParser(prog="folder_loading", description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="images to write (ignored for a reused --folder)")
    parser.add_argument("--folder", type=Path, help="use this image folder; written first when it has no images")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and cache")
    add_record_options(parser, "folder_loading.json")
    parser.add_argument("--train-size", type=int, default=50_000, help="training split of the prepare figures")
    parser.add_argument("--val-size", type=int, default=10_000)
    parser.add_argument("--proxy-train-size", type=int, default=4000, help="training images of the B0 runs")
    parser.add_argument("--train-repeats", type=int, default=3, help="B0 runs per split kind, alternating")
    parser.add_argument("--skip-train", action="store_true", help="no B0 training runs")
    args = parser.parse_args(argv)
    if min(args.n, args.train_size, args.val_size, args.proxy_train_size, args.train_repeats) < 1:
        parser.error("--n, --train-size, --val-size, --proxy-train-size and --train-repeats must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Write (or reuse) the folder, measure loading, splits and training, write the record."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
    start = measurement_start(args.results_dir, args.allow_dirty)
    scratch = Path(tempfile.mkdtemp(prefix="folder_loading-"))
    folder = (args.folder or scratch / "images").expanduser()
    try:
        reusing = folder.is_dir() and any(folder.iterdir())
        written = None if reusing else write_folder(folder, args.n, default_workers())
        raw, loading = measure_loading(folder, scratch / "cache")  # a fresh cache, even for a reused folder
        sizes = DataSizes(train_size=args.train_size, val_size=args.val_size).fit(len(raw.train_labels))
        figures = {
            "folder": str(folder) if args.folder or args.keep else None,
            "images": len(raw.train_labels) + len(raw.test_labels),
            "image_size": list(SIZE) if written else None,
            "write": written,
            "peak_reset": reset_peak(),  # False: each peak is the process's so far, not the phase's
            "load": loading,
            "splits": measure_splits(raw, sizes),
            "training": None if args.skip_train else measure_training(raw, args.proxy_train_size, args.train_repeats),
        }
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(summary(figures))
    write_figures("folder_loading", figures, command_line("benchmarks.folder_loading", argv), args.results_dir, start)


if __name__ == "__main__":
    main()
