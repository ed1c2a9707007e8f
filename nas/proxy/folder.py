"""An image folder as a dataset: one sub-folder per class, decoded once into a memory-mapped cache.

Layouts: ``DIR/<class>/<images>`` (a stratified 20% test split is held out with a fixed seed), or
``DIR/train/<class>/…`` with ``DIR/test/<class>/…`` (or ``DIR/val/``) as fixed splits. Images are
found recursively under each class folder; names starting with "." are ignored. The decoded arrays
live in ``<cache_dir>/<key>/`` as ``.npy`` files, where the key hashes the file list, sizes and
modification times and the requested resolution: the same folder is decoded once, a changed one again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nas.proxy import images
from nas.proxy.raw import DEFAULT_CACHE, RawDataset, hash_arrays, hold_out_test

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # part of the cache key: bump it when the decoded arrays would change
MIN_DEFAULT_RESOLUTION = 64  # the default cache's side unless a command needs more (and the images have it)
LAYOUTS = (
    "one sub-folder of images per class (DIR/<class>/*.png|jpg|jpeg|bmp|webp), "
    "or DIR/train/<class>/ with DIR/test/<class>/ (or DIR/val/<class>/)"
)
STALE_SECONDS = 24 * 3600  # a partial decode this old was killed (SIGKILL, power loss): its files can go


@dataclass(frozen=True)
class Listing:
    """The image files of a folder in canonical order: split, class (sorted by name), then path."""

    root: Path
    class_names: tuple[str, ...]
    files: tuple[str, ...]  # relative to root
    labels: np.ndarray  # class index of each file
    in_test: np.ndarray  # True for the files of a fixed test split
    test_dir: Path | None  # the fixed test split's folder; None: a test split is held out


def load_folder(
    root: str | Path | None,
    cache_dir: str | Path | None = None,
    cache_resolution: int | None = None,
    workers: int | None = None,
    need: int | None = None,
) -> RawDataset:
    """An image folder, decoded at ``cache_resolution``.

    None: the largest side the command will train or score at (``need``, at least 64, so that commands
    needing less share one cache), but never more than the images' own shorter sides.
    """
    if root is None:
        raise ValueError(f"dataset=folder needs dataset.root=DIR: {LAYOUTS}")
    if cache_resolution is not None and (
        isinstance(cache_resolution, bool) or not isinstance(cache_resolution, int) or cache_resolution < 1
    ):
        raise ValueError(f"dataset.cache_resolution must be an integer >= 1 or null, got {cache_resolution!r}")
    listing = list_folder(Path(root).expanduser())
    cache = Path(cache_dir).expanduser() if cache_dir else DEFAULT_CACHE / "folder"
    side = cache_resolution or default_resolution(need)
    entry = cache / cache_key(listing, cache_resolution or (None if side == MIN_DEFAULT_RESOLUTION else -side))
    if not (entry / "meta.json").is_file():
        build_cache(listing, entry, side, cache_resolution is not None, workers)
    return open_cache(entry, listing.root)


def list_folder(root: Path) -> Listing:
    """The folder's classes and image files; ``ValueError`` / ``FileNotFoundError`` when the layout is wrong."""
    if not root.exists():
        raise FileNotFoundError(f"dataset.root {root} does not exist: give a folder with {LAYOUTS}")
    if not root.is_dir():
        raise ValueError(f"dataset.root {root} is not a folder: give a folder with {LAYOUTS}")
    root = root.resolve()
    test_dir = next((root / s for s in ("test", "val") if (root / s).is_dir()), None)
    if not (root / "train").is_dir():
        classes = _class_files(root)
        names = tuple(sorted(classes))
        in_test, test_dir = [False] * sum(len(f) for f in classes.values()), None
    elif test_dir is None:
        raise ValueError(f"{root} has train/ but neither test/ nor val/: give both splits, or {LAYOUTS}")
    else:
        if test_dir.name == "test" and (root / "val").is_dir():
            log.warning("%s: using test/ as the test split; val/ is not read (validation is carved from train/)", root)
        train, test = _class_files(root / "train"), _class_files(test_dir)
        if set(train) != set(test):
            raise ValueError(
                f"{root / 'train'} and {test_dir} have different class folders: "
                f"only in train/: {', '.join(sorted(set(train) - set(test))) or '-'}; "
                f"only in {test_dir.name}/: {', '.join(sorted(set(test) - set(train))) or '-'}"
            )
        names = tuple(sorted(train))
        classes = {f"train/{c}": train[c] for c in names} | {f"{test_dir.name}/{c}": test[c] for c in names}
        in_test = [key.startswith(f"{test_dir.name}/") for key, files in classes.items() for _ in files]
    files = tuple(f"{folder}/{f}" for folder in classes for f in classes[folder])
    label_of = {name: i for i, name in enumerate(names)}
    labels = [label_of[folder.split("/")[-1]] for folder in classes for _ in classes[folder]]
    return Listing(root, names, files, np.asarray(labels, dtype=np.int64), np.asarray(in_test, bool), test_dir)


def _class_files(folder: Path) -> dict[str, list[str]]:
    """Class name -> sorted image paths relative to its class folder (at least 2 classes, none empty)."""
    names = sorted(d.name for d in os.scandir(folder) if d.is_dir() and not d.name.startswith("."))
    if not names:
        raise ValueError(f"{folder} has no class folders: it needs {LAYOUTS}")
    if len(names) < 2:
        raise ValueError(f"{folder} has 1 class folder ({names[0]!r}): a classifier needs at least 2 classes")
    classes = {name: _image_files(folder / name) for name in names}
    empty = [name for name, files in classes.items() if not files]
    if empty:
        more = f" (nor have {len(empty) - 1} other class folders: {', '.join(empty[1:])})" if len(empty) > 1 else ""
        raise ValueError(
            f"class folder {folder / empty[0]} has no images{more}: allowed are "
            f"{', '.join(images.IMAGE_SUFFIXES)} files (any case)"
        )
    return classes


def _image_files(folder: Path) -> list[str]:
    found = []
    for where, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        relative = Path(where).relative_to(folder)
        found += [
            (relative / n).as_posix()
            for n in names
            if not n.startswith(".") and n.lower().endswith(images.IMAGE_SUFFIXES)
        ]
    return sorted(found)


def default_resolution(need: int | None) -> int:
    """The cache's side when none is given: what the command needs, at least 64 (capped by the images later)."""
    return max(MIN_DEFAULT_RESOLUTION, need or 0)


def cache_key(listing: Listing, cache_resolution: int | None) -> str:
    """A hash of the file list, each file's size and modification time (ns), and the requested resolution.

    ``cache_resolution`` None is the default of 64 px (capped by the images), ``-R`` a default raised to R px.
    """
    digest = hashlib.sha256(f"effnas-folder v{FORMAT_VERSION} resolution={cache_resolution}\n".encode())
    for name in listing.files:
        stat = os.stat(listing.root / name)
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def build_cache(listing: Listing, entry: Path, side: int, exact: bool, workers: int | None) -> None:
    """Decode the folder into ``entry``: written under a temporary name and renamed into place when complete.

    At ``side`` px; unless ``exact`` (a side the user gave), no more than the images' shortest side.
    """
    paths = [str(listing.root / f) for f in listing.files]
    with contextlib.closing(
        images.map_chunks(images.probe_chunk, paths, workers=workers, desc="reading headers")
    ) as parts:
        probes = [p for _, chunk in parts for p in chunk]
    skipped = [(listing.files[i], p) for i, p in enumerate(probes) if isinstance(p, str)]
    keep = np.array([not isinstance(p, str) for p in probes])
    _check_classes(listing, keep, "readable ")
    sizes = [p for p in probes if not isinstance(p, str)]
    resolution = side if exact else min(side, *(min(w, h) for w, h, _ in sizes))
    channels = 1 if all(grey for _, _, grey in sizes) else 3
    kept = np.flatnonzero(keep)
    if listing.test_dir is None:
        train, test = hold_out_test(listing.labels[kept], str(listing.root), listing.class_names)
        splits = {"train": kept[train], "test": kept[test]}
    else:
        splits = {"train": kept[~listing.in_test[kept]], "test": kept[listing.in_test[kept]]}
    entry.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(entry.parent)
    log.info(
        "decoding %d images from %s at %d px, %d channel(s), into %s",
        len(kept),
        listing.root,
        resolution,
        channels,
        entry,
    )
    partial = Path(tempfile.mkdtemp(prefix=f".partial-{entry.name}-", dir=entry.parent))
    try:
        for split, index in splits.items():
            failed = _decode(partial / f"{split}_images.npy", [paths[i] for i in index], channels, resolution, workers)
            skipped += [(listing.files[index[i]], why) for i, why in failed]
            keep[index[[i for i, _ in failed]]] = False
            splits[split] = np.delete(index, [i for i, _ in failed])
            np.save(partial / f"{split}_labels.npy", listing.labels[splits[split]])
        _check_classes(listing, keep, "readable ")
        _write_meta(partial, listing, resolution, skipped)
        _move_into_place(partial, entry)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # gone already when it was moved into place


def _decode(file: Path, paths: list[str], channels: int, resolution: int, workers: int | None) -> list[tuple[int, str]]:
    """Decode ``paths`` into the ``.npy`` memory map ``file``; failed images are dropped from it afterwards."""
    out = np.lib.format.open_memmap(
        file, mode="w+", dtype=np.uint8, shape=(len(paths), channels, resolution, resolution)
    )
    failed: list[tuple[int, str]] = []
    split = file.name.split("_")[0]
    parts = images.map_chunks(
        images.decode_chunk, paths, channels, resolution, workers=workers, desc=f"decoding {split}"
    )
    with contextlib.closing(parts):
        for start, (block, bad) in parts:
            out[start : start + len(block)] = block
            failed += [(start + i, why) for i, why in bad]
    out.flush()
    del out
    if failed:  # rare (a file whose header reads but whose pixels do not): copy the good rows, in slices
        old = np.load(file, mmap_mode="r")
        good = np.delete(np.arange(len(old)), [i for i, _ in failed])
        kept_file = file.with_name("kept_" + file.name)
        new = np.lib.format.open_memmap(kept_file, mode="w+", dtype=np.uint8, shape=(len(good), *old.shape[1:]))
        for start in range(0, len(good), 4096):
            new[start : start + 4096] = old[good[start : start + 4096]]
        new.flush()
        del new, old
        os.replace(kept_file, file)
    return failed


def _check_classes(listing: Listing, keep: np.ndarray, what: str) -> None:
    """Every class keeps at least one image (in each split, when the splits are fixed)."""
    if listing.test_dir is None:
        groups = {listing.root: keep}
    else:
        groups = {listing.root / "train": keep & ~listing.in_test, listing.test_dir: keep & listing.in_test}
    for folder, mask in groups.items():
        counts = np.bincount(listing.labels[mask], minlength=len(listing.class_names))
        empty = [listing.class_names[c] for c in np.flatnonzero(counts == 0)]
        if empty:
            more = f" (nor have {len(empty) - 1} other classes: {', '.join(empty[1:])})" if len(empty) > 1 else ""
            raise ValueError(f"class folder {folder / empty[0]} has no {what}images{more}")


def _write_meta(partial: Path, listing: Listing, resolution: int, skipped: list[tuple[str, str]]) -> None:
    arrays = [np.load(partial / f"{s}_{k}.npy", mmap_mode="r") for s in ("train", "test") for k in ("images", "labels")]
    meta = {
        "format": FORMAT_VERSION,
        "root": str(listing.root),
        "class_names": list(listing.class_names),
        "resolution": resolution,
        "fingerprint": hash_arrays(*arrays),  # once here, so a load never hashes the images again
        "skipped": skipped,
    }
    del arrays
    (partial / "meta.json").write_text(json.dumps(meta, indent=1))  # last: a complete entry has meta.json


def _move_into_place(partial: Path, entry: Path) -> None:
    if entry.exists() and not (entry / "meta.json").is_file():
        shutil.rmtree(entry, ignore_errors=True)  # not ours to explain: an entry without meta.json is never read
    try:
        os.rename(partial, entry)  # atomic: a reader sees no entry or a complete one
    except OSError:
        if not (entry / "meta.json").is_file():  # not another process that finished the same folder first
            raise


def _remove_stale(cache: Path) -> None:
    for partial in cache.glob(".partial-*"):
        with contextlib.suppress(OSError):
            if time.time() - partial.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(partial, ignore_errors=True)


def open_cache(entry: Path, root: Path) -> RawDataset:
    """A decoded folder from its cache entry; images memory-mapped read-only, skipped files warned about once."""
    meta = json.loads((entry / "meta.json").read_text())
    if meta["skipped"]:
        first, why = meta["skipped"][0]
        count = len(meta["skipped"])
        log.warning(
            "%d image file(s) in %s could not be read and were skipped (first: %s: %s)", count, root, root / first, why
        )
    names = tuple(meta["class_names"])
    return RawDataset(
        name="folder",
        train_images=np.load(entry / "train_images.npy", mmap_mode="r"),
        train_labels=np.load(entry / "train_labels.npy"),
        test_images=np.load(entry / "test_images.npy", mmap_mode="r"),
        test_labels=np.load(entry / "test_labels.npy"),
        num_classes=len(names),
        class_names=names,
        stored_fingerprint=meta["fingerprint"],
    )
