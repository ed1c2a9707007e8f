"""A colour image folder made offline: ten classes of procedural textures, for the folder benchmarks.

No colour photo dataset ships with Debian, so the scaling benchmark draws one.  Each image is a
class's pattern (stripes at four orientations, a checkerboard, dots, rings, crosshatch, blobs,
speckle) in the brightness of a random colour, with a weaker pattern of another class on top and
pixel noise.
The periods are 5 to 12 pixels at the default 96 px, so a network that sees the images at 32 px
loses part of what tells the patterns apart: resolution has something to give, as on photos.
``--periods LOW,HIGH`` draws coarser (or finer) patterns; the same ``--seed`` and ``--periods``
write the same files.

    python -m benchmarks.textures DIR                       # 1,500 per class at 96 px
    python -m benchmarks.textures DIR --per-class 3500      # scaling_textures.json's 35,000 images
    python -m benchmarks.textures DIR --periods 8,16        # coarser: less aliasing at 32 px
    python -m nas.search dataset=folder dataset.root=DIR
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

PERIODS = (5.0, 12.0)
"""Pattern periods in pixels at 96 px: 1.7 to 4 px at 32 px, where the finest alias and coarser ones survive."""

Pattern = Callable[[np.ndarray, np.ndarray, np.random.Generator, float], np.ndarray]


def _rotated(x: np.ndarray, y: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = math.cos(angle), math.sin(angle)
    return x * c + y * s, -x * s + y * c


def _stripes(degrees: float) -> Pattern:
    def draw(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, period: float) -> np.ndarray:
        u, _ = _rotated(x, y, math.radians(degrees + rng.uniform(-15, 15)))
        return 0.5 + 0.5 * np.sin(2 * math.pi * u / period + rng.uniform(0, 2 * math.pi))

    return draw


def _checker(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, period: float) -> np.ndarray:
    u, v = _rotated(x, y, rng.uniform(0, math.pi / 2))
    return (np.sin(2 * math.pi * u / period) * np.sin(2 * math.pi * v / period) > 0).astype(np.float32)


def _dots(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, period: float) -> np.ndarray:
    u, v = _rotated(x, y, rng.uniform(0, math.pi / 2))
    du, dv = (u / period) % 1 - 0.5, (v / period) % 1 - 0.5
    return (du**2 + dv**2 < 0.09).astype(np.float32)


def _rings(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, period: float) -> np.ndarray:
    cx, cy = rng.uniform(0.2, 0.8, 2) * x.shape[1]
    return 0.5 + 0.5 * np.sin(2 * math.pi * np.hypot(x - cx, y - cy) / period)


def _crosshatch(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, period: float) -> np.ndarray:
    u, v = _rotated(x, y, rng.uniform(0, math.pi / 2))
    return ((np.abs((u / period) % 1 - 0.5) < 0.12) | (np.abs((v / period) % 1 - 0.5) < 0.12)).astype(np.float32)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    coarse = rng.random((cells, cells)).astype(np.float32)
    image = Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image), 0, 1)


def _blobs(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, period: float) -> np.ndarray:
    return (_smooth_noise(rng, x.shape[0], 5) > 0.5).astype(np.float32)


def _speckle(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, period: float) -> np.ndarray:
    return _smooth_noise(rng, x.shape[0], max(2, round(x.shape[0] / period * 2)))


CLASSES: dict[str, Pattern] = {
    "stripes_0": _stripes(0),
    "stripes_45": _stripes(45),
    "stripes_90": _stripes(90),
    "stripes_135": _stripes(135),
    "checker": _checker,
    "dots": _dots,
    "rings": _rings,
    "crosshatch": _crosshatch,
    "blobs": _blobs,
    "speckle": _speckle,
}


def texture(label: int, size: int, rng: np.random.Generator, periods: tuple[float, float] = PERIODS) -> np.ndarray:
    """One ``size`` x ``size`` RGB image of class ``label`` (uint8, height x width x 3), its pattern's
    period drawn from ``periods`` (pixels at 96 px)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    patterns = list(CLASSES.values())
    period = size / 96 * rng.uniform(*periods)
    mask = patterns[label](x, y, rng, period)
    other = (label + rng.integers(1, len(patterns))) % len(patterns)  # a distractor of another class
    mask = 0.8 * mask + 0.2 * patterns[other](x, y, rng, size / 96 * rng.uniform(*periods))
    tint = rng.uniform(0.4, 1.0, 3)  # a random colour; the pattern is in its brightness, as light on a surface
    image = tint * (0.15 + 0.85 * mask[..., None]) + rng.normal(0, 0.06, (size, size, 3))
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)


def write_textures(
    root: Path, per_class: int = 1500, size: int = 96, seed: int = 0, periods: tuple[float, float] = PERIODS
) -> int:
    """``root/<class>/<i>.png`` for every class; returns the number of images written."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(CLASSES):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(texture(label, size, rng, periods)).save(folder / f"{i:05d}.png", compress_level=1)
    return per_class * len(CLASSES)


def parse_periods(text: str) -> tuple[float, float]:
    """``LOW,HIGH`` -> (low, high): periods in pixels at 96 px, 2 <= low <= high (finer ones alias at any size)."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH (two numbers), got {text!r}") from None
    if not (math.isfinite(high) and 2 <= low <= high):
        raise argparse.ArgumentTypeError(f"periods must hold 2 <= LOW <= HIGH, got {text!r}")
    return low, high


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.textures", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", type=Path, help="the folder to write (one sub-folder per class)")
    parser.add_argument("--per-class", type=int, default=1500, help="images per class (default 1500)")
    parser.add_argument("--size", type=int, default=96, help="side of each image in pixels (default 96)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--periods", type=parse_periods, default=PERIODS, help="LOW,HIGH pattern periods in px at 96 px (default 5,12)"
    )
    args = parser.parse_args(argv)
    if args.per_class < 5 or args.size < 16:
        parser.error(f"--per-class must be >= 5 and --size >= 16, got {args.per_class} and {args.size}")
    if args.root.exists() and any(args.root.iterdir()):
        # Images left from another --per-class, --seed or --periods would mix into this dataset unseen.
        parser.error(f"{args.root} is not empty: give a new folder (or remove it first)")
    count = write_textures(args.root, args.per_class, args.size, args.seed, args.periods)
    print(f"wrote {count} images of {len(CLASSES)} classes at {args.size} px to {args.root}")


if __name__ == "__main__":
    main()
