"""dataset=folder's bad input: one-line errors naming the path and what is allowed; skipped files warned once."""

from __future__ import annotations

import json
import logging

import numpy as np
import optuna
import pytest
from PIL import Image

import nas.proxy.images as images
from nas.proxy.datasets import load_dataset

CLASSES = ("ankle_boot", "bag", "coat")  # as the image_folder fixture writes them


def test_corrupt_files_are_skipped_with_one_warning(tmp_path, caplog, image_folder):
    image_folder(tmp_path / "d", n_per_class=6)
    (tmp_path / "d" / CLASSES[1] / "x.png").write_bytes(b"not an image at all")
    (tmp_path / "d" / CLASSES[2] / "y.jpg").write_bytes(b"\xff\xd8\xff garbage")
    whole = tmp_path / "whole.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(whole)
    # its header reads, its pixels do not: dropped after decoding, from an array already written
    (tmp_path / "d" / CLASSES[0] / "truncated.png").write_bytes(whole.read_bytes()[:2000])
    with caplog.at_level(logging.WARNING, logger="nas.proxy.folder"):
        raw = load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert np.bincount(np.concatenate([raw.train_labels, raw.test_labels])).tolist() == [6, 6, 6]
    survivors = {im.tobytes() for im in np.concatenate([raw.train_images, raw.test_images])}
    assert len(survivors) == 18 and np.zeros((1, 10, 10), np.uint8).tobytes() not in survivors
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    first = tmp_path / "d" / CLASSES[1] / "x.png"
    assert warnings[0].startswith(
        f"3 image file(s) in {tmp_path / 'd'} could not be read and were skipped (first: {first}: "
    )


def test_an_unreadable_image_past_the_first_chunk_drops_that_image_and_no_other(tmp_path, monkeypatch, png):
    """Images are decoded in chunks: a failure's row is its chunk's start plus its place in the chunk."""
    monkeypatch.setattr(images, "CHUNK", 2)  # chunks of two, without writing hundreds of files
    for k, c in enumerate(CLASSES):
        for i in range(6):  # every pixel of an image of class k is 100 * k: its label can be read off it
            png(tmp_path / "d" / c / f"{i:03d}.png", np.full((10, 12), 100 * k, np.uint8))
    whole = tmp_path / "whole.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(whole)
    # the last file of the last class: in either split, images of the other classes come before it
    (tmp_path / "d" / CLASSES[2] / "zz.png").write_bytes(whole.read_bytes()[:2000])
    raw = load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    kept = np.concatenate([raw.train_images, raw.test_images])
    labels = np.concatenate([raw.train_labels, raw.test_labels])
    assert len(kept) == 18 and np.bincount(labels).tolist() == [6, 6, 6]
    assert [set(np.unique(im).tolist()) for im in kept] == [{100 * int(y)} for y in labels]


def test_a_class_left_without_readable_images_is_an_error(tmp_path, image_folder):
    image_folder(tmp_path / "d", n_per_class=6)
    (tmp_path / "d" / "zebra").mkdir()
    (tmp_path / "d" / "zebra" / "broken.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"class folder .*/d/zebra has no readable images"):
        load_dataset("folder", tmp_path / "d", cache_dir=tmp_path / "cache")
    assert nothing_cached(tmp_path / "cache")


def nothing_cached(cache):
    return not cache.exists() or list(cache.iterdir()) == []


def _fixed(root, train=CLASSES, test=CLASSES, test_dir="test"):
    for split, classes in (("train", train), (test_dir, test)):
        for c in classes:
            for i in range(2):
                (root / split / c).mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(root / split / c / f"{i}.png")
    return root


def _not_a_folder(p, tree):
    (p / "f.txt").write_text("x")
    return p / "f.txt"


def _one_class(p, tree):
    (p / "cats").mkdir()
    return p


def _empty_class(p, tree):
    tree(p, 5)
    (p / "dogs").mkdir()
    (p / "dogs" / "notes.txt").write_text("not an image")
    return p


def _train_without_test(p, tree):
    _fixed(p)
    (p / "test").rename(p / "other")
    return p


@pytest.mark.parametrize(
    ("make", "error", "fragment"),
    [
        (
            lambda p, tree: p / "missing",
            FileNotFoundError,
            "dataset.root {p}/missing does not exist: give a folder with",
        ),
        (_not_a_folder, ValueError, "dataset.root {p}/f.txt is not a folder"),
        (lambda p, tree: p, ValueError, "{p} has no class folders: it needs one sub-folder of images per class"),
        (_one_class, ValueError, "{p} has 1 class folder ('cats'): a classifier needs at least 2 classes"),
        (
            _empty_class,
            ValueError,
            "class folder {p}/dogs has no images: allowed are .png, .jpg, .jpeg, .bmp, .webp files (any case)",
        ),
        (
            lambda p, tree: _fixed(p, test=(*CLASSES[:2], "zebra"), test_dir="val"),
            ValueError,
            f"{{p}}/train and {{p}}/val have different class folders: only in train/: {CLASSES[2]}; only in val/: zebra",
        ),
        (
            lambda p, tree: tree(p, 4) and p,
            ValueError,
            "class 'ankle_boot' has 4 image(s), and 3 class(es) have fewer than 5: holding out a stratified 20% test",
        ),
        (_train_without_test, ValueError, "{p} has train/ but neither test/ nor val/"),
    ],
)
def test_bad_folders_are_one_line_errors(tmp_path, make, error, fragment, image_folder):
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(error) as info:
        load_dataset("folder", make(root, image_folder), cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert "\n" not in message and fragment.format(p=root) in message, message
    assert nothing_cached(tmp_path / "cache")


def test_fixed_splits_with_val_and_settings_are_checked(tmp_path):
    raw = load_dataset("folder", _fixed(tmp_path / "d", test_dir="val"), cache_dir=tmp_path / "cache")
    assert (len(raw.train_labels), len(raw.test_labels)) == (6, 6)
    assert raw.train_labels.tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="dataset.cache_resolution must be an integer >= 1 or null, got 0"):
        load_dataset("folder", tmp_path / "d", cache_resolution=0)
    with pytest.raises(ValueError, match="dataset=folder needs dataset.root=DIR"):
        load_dataset("folder")


@pytest.mark.slow
def test_a_search_runs_on_a_folder_from_the_real_command(cli, tmp_path):
    """Three classes of 20 coloured 32 px images: the search trains, the study names the folder."""
    rng = np.random.default_rng(0)
    for c, colour in zip(("blue", "green", "red"), np.eye(3)[::-1], strict=True):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(20):
            pixels = (rng.random((32, 32, 3)) * 60 + colour * 180).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "data" / c / f"{i:02d}.png")
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    args = [
        "dataset=folder",
        f"dataset.root={tmp_path / 'data'}",
        f"dataset.cache_dir={tmp_path / 'cache'}",
        "search.n_trials=2",
        *("proxy=tiny", "proxy.epochs=1", "threads=2", "progress=false"),
        f"study.storage={storage}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    result = cli("nas.search", *args)
    assert result.returncode == 0, result.stderr
    assert "Best of 2 trials" in result.stdout
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["n_complete"] + summary["n_pruned"] == 2
    (name,) = optuna.get_all_study_names(storage)
    dataset = optuna.load_study(study_name=name, storage=storage).user_attrs["dataset"]
    assert dataset["name"] == "folder" and dataset["source"] == str(tmp_path / "data")
    assert len(dataset["fingerprint"]) == 16 and len(list((tmp_path / "cache").iterdir())) == 1


def test_a_missing_folder_from_the_real_command_is_one_line_and_exit_two(cli, tmp_path):
    storage = f"study.storage=sqlite:///{tmp_path / 'studies.db'}"
    result = cli(
        "nas.search", "dataset=folder", "dataset.root=/nonexistent", storage, f"hydra.run.dir={tmp_path / 'r'}"
    )
    assert result.returncode == 2 and not (tmp_path / "studies.db").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("python -m nas.search: error: dataset.root /nonexistent does not exist: give a folder")
