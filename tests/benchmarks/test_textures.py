"""The procedural colour folder: ten classes, the same files for the same seed, read by the folder loader."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.textures import CLASSES, main
from nas.proxy.datasets import load_dataset


def test_the_texture_folder_is_reproducible_and_loads_as_ten_colour_classes(tmp_path, capsys):
    main([str(tmp_path / "a"), "--per-class", "5", "--size", "40", "--seed", "3"])
    main([str(tmp_path / "b"), "--per-class", "5", "--size", "40", "--seed", "3"])
    assert "wrote 50 images of 10 classes at 40 px" in capsys.readouterr().out
    first = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert first == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.png"))
    assert all((tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in first)
    raw = load_dataset("folder", tmp_path / "a", cache_dir=tmp_path / "cache")
    assert raw.class_names == tuple(sorted(CLASSES)) and raw.in_chans == 3
    assert raw.train_images.shape[-1] == 40 and len(raw.train_labels) + len(raw.test_labels) == 50
    assert np.ptp(raw.train_images.astype(int), axis=(2, 3)).min() > 20  # every image has a visible pattern


def test_a_folder_that_holds_files_is_refused(tmp_path, capsys):
    (tmp_path / "old.png").write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--per-class", "5"])
    assert exit_info.value.code == 2
    assert f"{tmp_path} is not empty: give a new folder (or remove it first)" in capsys.readouterr().err


def test_coarser_periods_draw_other_images_and_bad_periods_are_refused(tmp_path, capsys):
    main([str(tmp_path / "fine"), "--per-class", "5", "--size", "40", "--seed", "3"])
    main([str(tmp_path / "coarse"), "--per-class", "5", "--size", "40", "--seed", "3", "--periods", "10,20"])
    pair = [(tmp_path / side / "stripes_0" / "00000.png").read_bytes() for side in ("fine", "coarse")]
    assert pair[0] != pair[1]
    for bad in ("1,4", "8,6", "8"):
        with pytest.raises(SystemExit) as exit_info:
            main([str(tmp_path / "bad"), "--periods", bad])
        assert exit_info.value.code == 2
        assert "--periods" in capsys.readouterr().err
