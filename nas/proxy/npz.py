"""A dataset from one ``.npz`` file (``numpy.savez``): ``x_train, y_train, x_test, y_test``, or ``x, y``.

Images may be ``(N, H, W)`` greyscale, ``(N, H, W, C)`` or ``(N, C, H, W)`` with ``C`` 1 or 3 (the
layout is told by which axis is 1 or 3), uint8 or integer in 0..255, or float in 0..1 (scaled by 255)
or 0..255 (kept). Labels are integers or strings (sorted into class names); an optional
``class_names`` array names the classes. Without fixed splits a stratified 20% test split is held out.
"""

from __future__ import annotations

import logging
import pickle
import zipfile
from pathlib import Path

import numpy as np

from nas.proxy.raw import RawDataset, hold_out_test

log = logging.getLogger(__name__)

FIXED_KEYS = ("x_train", "y_train", "x_test", "y_test")
CHANNELS = (1, 3)
EXPECTED = "x_train, y_train, x_test, y_test (or x, y), and optionally class_names"


def load_npz(path: str | Path | None) -> RawDataset:
    """The arrays of an ``.npz`` file as a dataset; one-line ``ValueError`` naming the keys and shapes found."""
    if path is None:
        raise ValueError(f"dataset=npz needs dataset.path=FILE: an .npz file (numpy.savez) with {EXPECTED}")
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"dataset.path {file} is not a file: give an .npz file (numpy.savez) with {EXPECTED}")
    arrays = _read(file)
    found = ", ".join(f"{k} {a.shape} {a.dtype}" for k, a in arrays.items()) or "no arrays"
    where = f"{file} (holds {found})"
    if set(FIXED_KEYS) <= set(arrays):
        keys = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
    elif {"x", "y"} <= set(arrays):
        keys = {"all": ("x", "y")}
    else:
        raise ValueError(f"{where}: needs {EXPECTED}")
    images = {split: to_nchw(x, arrays[x], where) for split, (x, _) in keys.items()}
    if len({a.shape[1:] for a in images.values()}) > 1:
        raise ValueError(f"{where}: the training and test images differ in shape (channels, height, width)")
    for split, (x, y) in keys.items():
        if not len(images[split]):
            raise ValueError(f"{where}: {x} holds no images")
        if arrays[y].ndim not in (1, 2) or arrays[y].size != len(images[split]):
            raise ValueError(f"{where}: {y} must hold one label per image of {x}")
    images = dict(zip(images, to_uint8(list(images.values()), file), strict=True))
    names, labels = class_labels([arrays[y].reshape(-1) for _, y in keys.values()], arrays.get("class_names"), where)
    labels = dict(zip(keys, labels, strict=True))
    if "all" in keys:
        train, test = hold_out_test(labels["all"], str(file), names)
        images = {"train": images["all"][train], "test": images["all"][test]}
        labels = {"train": labels["all"][train], "test": labels["all"][test]}
    return RawDataset("npz", images["train"], labels["train"], images["test"], labels["test"], len(names), tuple(names))


def _read(file: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as err:
        why = " ".join(str(err).split())
        raise ValueError(f"{file} is not a readable .npz archive ({why}): write it with numpy.savez") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{file} is one .npy array, not an .npz archive: write it with numpy.savez")
    with archive:
        try:
            return {key: archive[key] for key in archive.files}
        except ValueError as err:  # object arrays need pickle, which a data file must not run
            raise ValueError(f"{file} holds Python objects ({err}): save labels and names as str arrays") from None


def to_nchw(key: str, x: np.ndarray, where: str) -> np.ndarray:
    """``(N, C, H, W)`` from ``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)``, C in 1 or 3."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        first, last = x.shape[1] in CHANNELS, x.shape[3] in CHANNELS
        if first and last:
            raise ValueError(
                f"{where}: cannot tell the channel axis of {key}: axes 1 and 3 both have size 1 or 3; "
                "save it as (N, C, H, W) or (N, H, W, C) with H and W other than 1 and 3"
            )
        if first or last:
            return x if first else x.transpose(0, 3, 1, 2)
    raise ValueError(f"{where}: {key} must be images (N, H, W), (N, H, W, C) or (N, C, H, W) with C = 1 or 3")


def to_uint8(parts: list[np.ndarray], file: Path) -> list[np.ndarray]:
    """The image arrays as uint8; floats in [0, 1] are scaled by 255, floats in [0, 255] kept (both rounded)."""
    kinds = {a.dtype.kind for a in parts}
    if kinds == {"u"} and all(a.dtype == np.uint8 for a in parts):
        return parts
    if not kinds <= {"u", "i", "f"}:
        raise ValueError(
            f"{file}: images must be uint8, integers in 0..255 or floats, got {[str(a.dtype) for a in parts]}"
        )
    finite = all(np.isfinite(a).all() for a in parts) if "f" in kinds else True
    low = min(float(a.min()) for a in parts if a.size)
    high = max(float(a.max()) for a in parts if a.size)
    if not finite or low < 0 or high > 255:
        bounds = "not all finite" if not finite else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{file}: image values are {bounds}: allowed are 0..255, or floats in 0..1")
    scale = 255.0 if "f" in kinds and high <= 1.0 else 1.0
    if "f" in kinds:
        what = "scaled by 255 (floats in [0, 1])" if scale != 1.0 else "kept as 0..255 (floats above 1)"
        log.info("%s: float images %s and rounded to uint8", file, what)
    return [np.rint(a * scale).astype(np.uint8) if a.dtype.kind == "f" else a.astype(np.uint8) for a in parts]


def class_labels(
    parts: list[np.ndarray], names: np.ndarray | None, where: str
) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """Class names and int64 labels 0..K-1 from integer or string labels, and the file's ``class_names``."""
    given = None if names is None else tuple(_as_str(n) for n in np.asarray(names).reshape(-1))
    values = np.concatenate(parts)
    if values.dtype.kind in "USO":
        values = np.array([_as_str(v) for v in values])
        found = tuple(sorted(set(values.tolist())))
        names_out = given or found
        missing = sorted(set(found) - set(names_out))
        if missing:
            raise ValueError(f"{where}: labels {', '.join(missing[:5])} are not in class_names")
        index = {name: i for i, name in enumerate(names_out)}
        coded = np.array([index[v] for v in values.tolist()], dtype=np.int64)
    elif values.dtype.kind in "iub" or (values.dtype.kind == "f" and np.all(values == np.rint(values))):
        coded, names_out = _integer_labels(values.astype(np.int64), given, where)
    else:
        raise ValueError(f"{where}: labels must be integers or strings, got {values.dtype}")
    if len(np.unique(coded)) < 2:
        raise ValueError(f"{where}: the labels hold {len(np.unique(coded))} class(es): a classifier needs at least 2")
    return names_out, np.split(coded, np.cumsum([len(p) for p in parts])[:-1])


def _integer_labels(values: np.ndarray, given: tuple[str, ...] | None, where: str) -> tuple[np.ndarray, tuple]:
    if values.min(initial=0) < 0:
        raise ValueError(f"{where}: integer labels must be >= 0, got {values.min()}")
    if given is not None:
        if values.max(initial=0) >= len(given):
            raise ValueError(f"{where}: label {values.max()} but only {len(given)} class_names")
        return values, given
    found = np.unique(values)
    if np.array_equal(found, np.arange(len(found))):
        return values, tuple(str(v) for v in found)
    log.info("%s: labels %s renumbered 0..%d in that order", where, found.tolist()[:10], len(found) - 1)
    return np.searchsorted(found, values).astype(np.int64), tuple(str(v) for v in found)


def _as_str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
