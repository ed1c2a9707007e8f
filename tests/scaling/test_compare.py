from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from nas.proxy.datasets import DatasetSpec
from nas.proxy.noise import pack_outcomes
from scaling.compare_study import CompareConfig, CompareJob
from scaling.compare_verdicts import best_ties, flat_steps, read_outcomes
from search_spaces.references import reference


def test_a_scaled_point_trains_on_the_stored_pixels_of_a_large_folder(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (120, 120, 3), np.uint8)).save(tmp_path / "photos" / c / f"{i}.png")
    dataset = DatasetSpec("folder", str(tmp_path / "photos"), cache_dir=str(tmp_path / "cache"))
    job = CompareJob(reference("efficientnet_b0"), config=CompareConfig(dataset, phis=[3], methods=["resolution"]))
    assert job.largest_multiplier() == pytest.approx(2**1.5)
    assert job.raw.train_images.shape[-1] == round(32 * 2**1.5)  # 91 px stored, not 64 px enlarged


@pytest.mark.slow
@pytest.mark.timing
def test_compare_cli(cli, tmp_path):
    out = tmp_path / "cmp"
    args = [
        "proxy=tiny",
        "proxy.train_size=256",
        "proxy.epochs=1",
        "phis=[1]",
        "methods=[width,compound]",
        "threads=2",
        "progress=false",
        "target.min_run_time=0.05",
        "target.warmup=1",
        f"study.storage=sqlite:///{tmp_path / 'studies.db'}",
    ]
    result = cli("scaling.compare", *args, "compare.x=latency", f"hydra.run.dir={out}")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out / "compare.csv")
    assert frame["method"].tolist() == ["baseline", "width", "compound"]
    # every accuracy with its interval; a winner only where accuracy rises with phi beyond noise
    assert result.stdout.count("on 256 validation images") == 3
    assert "\nNote: 256 validation images cannot separate networks 3% apart" in result.stdout
    assert frame["val_acc"].notna().all()
    assert all(1.5 < r < 2.8 for r in frame["flops_ratio"][1:])
    assert frame["latency_ratio"][0] == 1.0 and (frame["latency_ms"][1:] > frame["latency_ms"][0]).all()
    assert (out / "compare.png").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_trained"] == 3 and summary["best"]["val_acc"] == frame["val_acc"].max()
    kept = read_outcomes(out / "outcomes.npz")  # each model's per-image outcomes, for paired verdicts
    assert list(kept) == ["baseline@0", "width@1", "compound@1"]
    for key, accuracy in summary["val_acc"].items():
        assert len(kept[key]) == 256 and kept[key].mean() == pytest.approx(accuracy)
    judged = not summary["flat_steps"]
    assert (" is best" in result.stdout) is judged and ("Scaling cannot be judged" in result.stdout) is not judged
    again = cli("scaling.compare", *args, f"hydra.run.dir={tmp_path / 'again'}")
    assert again.returncode == 0, again.stderr
    assert "resumed, 3/3 started" in again.stdout  # a finished comparison is not trained again
    assert pd.read_csv(tmp_path / "again" / "compare.csv")["val_acc"].tolist() == frame["val_acc"].tolist()
    bad = cli("scaling.compare", *args, "methods=[magic]", f"hydra.run.dir={tmp_path / 'bad'}")
    assert bad.returncode == 2 and "unknown method 'magic'" in bad.stderr
    axis = cli("scaling.compare", *args, "compare.x=time", f"hydra.run.dir={tmp_path / 'bad'}")
    assert axis.returncode == 2 and "compare.x 'time' is not one of flops, latency" in axis.stderr


def test_a_long_baseline_name_fits_in_the_picture(tmp_path):
    """A search-derived baseline's name is long and has no spaces: the title still fits the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg

    from scaling.plots import plot_compare

    name = "search-efficientnet_b0-fashion_mnist-tpe-soft-seed0-92f6a0f0_best"
    frame = pd.DataFrame(
        {
            "method": ["baseline", "depth", "compound"],
            "phi": [0.0, 1.0, 1.0],
            "flops": [3e8, 6e8, 6e8],
            "latency_ms": [10.0, 19.0, 18.0],
            "val_acc": [0.80, 0.81, 0.83],
        }
    )
    path = tmp_path / "compare.png"
    plot_compare(frame, path, f"Scaling {name}: same FLOPs, different methods")
    image = mpimg.imread(path)
    top = image[: image.shape[0] // 8]  # the title's band
    ink = (top[..., :3].mean(axis=2) < 0.5).any(axis=0)
    assert not ink[:3].any() and not ink[-3:].any(), "the title runs into the picture's edges"


def test_scale_pays_only_where_every_step_rises_beyond_noise():
    rows = [("baseline", 0.0, 0.50), ("width", 1.0, 0.60), ("width", 2.0, 0.70)]
    rows += [("compound", 1.0, 0.60), ("compound", 2.0, 0.61)]
    frame = pd.DataFrame(rows, columns=["method", "phi", "val_acc"])
    assert flat_steps(frame, 10_000) == ["compound 1->2"]  # 0.01 apart on 10,000 images: within noise
    assert flat_steps(frame, None) == []  # no split size: any rise counts
    assert flat_steps(frame.replace({0.70: 0.55}), 10_000) == ["width 1->2", "compound 1->2"]


def _outcomes(n: int, right: int, offset: int = 0) -> str:
    outcomes = np.zeros(n, bool)
    outcomes[offset : offset + right] = True
    return pack_outcomes(outcomes)


def test_scale_pays_image_by_image_where_each_model_kept_its_outcomes():
    n = 10_000  # phi 1 gets 100 more images right than the baseline and loses none; phi 2 is phi 1 swapped about
    rows = [("baseline", 0.0, 0.60, _outcomes(n, 6_000)), ("compound", 1.0, 0.61, _outcomes(n, 6_100))]
    rows += [("compound", 2.0, 0.62, _outcomes(n, 6_200, offset=2_000))]
    frame = pd.DataFrame(rows, columns=["method", "phi", "val_acc", "val_outcomes"])
    assert flat_steps(frame.drop(columns="val_outcomes"), n) == ["compound 0->1", "compound 1->2"]  # unpaired: ties
    assert flat_steps(frame, n) == ["compound 1->2"]  # paired: 0->1 beats noise; 1->2 disagrees on 4,100 images
    top, ties = best_ties(frame.assign(flops=[1, 2, 4]), n)
    assert top["phi"] == 2.0 and ties == ["compound@1"]
