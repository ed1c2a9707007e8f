"""Image files decoded with Pillow: a cheap header probe, decode to a square uint8 array, and a parallel map.

Every image becomes ``(C, R, R)`` uint8: its shorter side resized to ``R`` (antialiased bilinear),
then the centre ``R x R`` cropped. Greyscale stays one channel, anything else becomes RGB.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
GREY_MODES = {"1", "L", "LA", "La", "I", "F"}  # plus "I;16*": one channel however many bits
CHUNK = 256  # images per task: large enough to amortise inter-process transfer, small for a smooth bar
ORIENTATION = 0x0112  # the EXIF tag
POOL_MIN_IMAGES = 512  # below this a process pool costs more than it saves

Probe = tuple[int, int, bool] | str  # (width, height, grey) or why the file could not be read


def is_grey(mode: str) -> bool:
    return mode in GREY_MODES or mode.startswith("I;16")


def probe(path: str) -> Probe:
    """Size and greyness from the file's header (no pixel decode), or the reason it cannot be read."""
    try:
        with Image.open(path) as img:
            return img.size[0], img.size[1], is_grey(img.mode)
    except Exception as err:  # any reader error means "skip this file", whatever Pillow raised
        return f"{type(err).__name__}: {err}"


def probe_chunk(paths: Sequence[str]) -> list[Probe]:
    return [probe(p) for p in paths]


def to_mode(img: Image.Image, mode: str) -> Image.Image:
    """``img`` as 8-bit ``L`` or ``RGB``; 16-bit grey is scaled down (Pillow's own conversion would clip it)."""
    if img.mode.startswith("I"):  # "I" and "I;16*" come from 16-bit files: 0..65535 -> 0..255
        values = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8))
    elif img.mode == "F":
        img = Image.fromarray(np.clip(np.rint(np.asarray(img)), 0, 255).astype(np.uint8))
    return img if img.mode == mode else img.convert(mode)


def fit_square(img: Image.Image, resolution: int) -> Image.Image:
    """Shorter side resized to ``resolution`` (antialiased), then the centre ``resolution`` square cropped."""
    width, height = img.size
    short = min(width, height)
    if short != resolution:
        size = (max(resolution, round(width * resolution / short)), max(resolution, round(height * resolution / short)))
        img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=None)
        width, height = size
    left, top = (width - resolution) // 2, (height - resolution) // 2
    return img.crop((left, top, left + resolution, top + resolution))


def decode_image(path: str, channels: int, resolution: int) -> np.ndarray:
    """One file as a ``(channels, resolution, resolution)`` uint8 array."""
    mode = "L" if channels == 1 else "RGB"
    with Image.open(path) as img:
        if img.format == "JPEG":  # let libjpeg decode at a reduced scale: large photos decode many times faster
            short = min(img.size)
            img.draft(mode, (-(-img.size[0] * resolution // short), -(-img.size[1] * resolution // short)))
        if img.getexif().get(ORIENTATION, 1) != 1:  # camera photos store their rotation in EXIF
            img = ImageOps.exif_transpose(img)
        array = np.asarray(fit_square(to_mode(img, mode), resolution), dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def decode_chunk(paths: Sequence[str], channels: int, resolution: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Decode ``paths`` into one array; files that fail leave a zero row and are listed as (index, reason)."""
    out = np.zeros((len(paths), channels, resolution, resolution), dtype=np.uint8)
    failed = []
    for i, path in enumerate(paths):
        try:
            out[i] = decode_image(path, channels, resolution)
        except Exception as err:  # a truncated or otherwise broken file is skipped, not fatal
            failed.append((i, f"{type(err).__name__}: {err}"))
    return out, failed


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group: the parent alone stops the work and cleans up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def map_chunks(
    fn: Callable[..., Any], items: Sequence[str], *args: Any, workers: int | None = None, desc: str = ""
) -> Iterator[tuple[int, Any]]:
    """Yield ``(start, fn(items[start:start + CHUNK], *args))`` in order, on all cores when worth it."""
    workers = default_workers() if workers is None else workers
    starts = range(0, len(items), CHUNK)
    with tqdm(total=len(items), desc=desc, unit="img", disable=None, leave=False) as bar:
        if workers <= 1 or len(items) < POOL_MIN_IMAGES:
            for start in starts:
                yield start, fn(items[start : start + CHUNK], *args)
                bar.update(min(CHUNK, len(items) - start))
            return
        # fork: workers need only Pillow and numpy, and start at once instead of re-importing torch.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_sigint)
        try:
            # A few chunks in flight per worker, and a result dropped once used: memory stays at a few chunks.
            pending: deque[tuple[int, Future]] = deque()
            for start in starts:
                pending.append((start, pool.submit(fn, items[start : start + CHUNK], *args)))
                if len(pending) >= 4 * workers:
                    done, future = pending.popleft()
                    yield done, future.result()
                    bar.update(min(CHUNK, len(items) - done))
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
                bar.update(min(CHUNK, len(items) - done))
        finally:  # on an error or Ctrl-C: drop queued chunks and do not wait for the running ones
            pool.shutdown(wait=False, cancel_futures=True)
