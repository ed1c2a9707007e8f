"""benchmarks.scaling on a tiny task: every method at every phi over seeds, the verdicts, the grid's stability."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

import scaling.compare_study as compare_study
from benchmarks import scaling
from benchmarks.common import kept_with
from nas.proxy.trainer import ProxyResult

TINY = "digits:proxy=tiny,proxy.train_size=256,proxy.val_size=128,proxy.test_size=128,proxy.epochs=1,threads=2"
TINY_GRID = ["grid.rule=constraint", "grid.step=0.1", "grid.alpha_max=1.2", "grid.beta_max=1.1", "grid.max_seeds=2"]


@pytest.mark.slow
def test_records_the_family_and_each_method_over_seeds_and_the_grids_choices(results_dir, monkeypatch):
    grids = []

    def grid_at(baseline, cfg, **kwargs):  # the grid has its own tests: here, which seeds it is run at
        grids.append((cfg.seed, cfg.grid.rule, cfg.grid.max_seeds))
        return SimpleNamespace(triple=(1.2, 1.1, 1.15 if cfg.seed else 1.1), summary={"tie": bool(cfg.seed)}, status=0)

    def train(genotype, data, proxy, seed, on_epoch=None, **kwargs):  # compare's own tests train for real
        layers = sum(block.repeats for block in genotype.blocks)
        accuracy = 0.5 + 0.004 * layers + 0.001 * data.resolution + 0.003 * seed
        return ProxyResult("ok", val_acc=accuracy, val_accs=[accuracy])

    monkeypatch.setattr(scaling, "run_grid", grid_at)
    monkeypatch.setattr(compare_study, "train_proxy", train)
    grid = [f"--grid-override={o}" for o in TINY_GRID]
    scaling.main(["--dataset", TINY, "--seeds", "2", "--grid-seeds", "2", *grid, "--results-dir", str(results_dir)])
    assert grids == [(0, "constraint", 2), (2, "constraint", 2)]  # a grid at seed s also trains s+1: none shared
    record = json.loads((results_dir / "scaling.json").read_text())
    assert record["command"].startswith("python -m benchmarks.scaling --dataset digits:")
    (dataset,) = record["datasets"].values()
    assert set(dataset["family"]) == {"0", "1", "2"} and set(dataset["methods"]) == {
        "depth",
        "width",
        "resolution",
        "compound",
    }
    for cell in [*dataset["family"].values(), *dataset["methods"]["width"].values()]:
        assert cell["seeds"] == 2 and len(cell["values"]) == 2
        low, high = cell["interval"]
        assert low <= cell["mean"] <= high
    assert dataset["methods"]["compound"]["1"] == dataset["family"]["1"]
    assert 1.6 < dataset["methods"]["depth"]["1"]["flops_ratio"] < 2.6
    d, w, r = dataset["methods"]["depth"]["2"]["multipliers"]  # of the trained network: depth alone
    assert d > 2 and w == r == 1.0
    for verdicts in dataset["rises"].values():
        assert set(verdicts) == {"1>0", "2>1"}
        assert all(v["verdict"] in ("rises", "falls", "tie") for v in verdicts.values())
    pays = all(v["verdict"] == "rises" for v in dataset["rises"]["compound"].values())
    assert dataset["scale_pays"] is pays
    (stability,) = record["grid_stability"].values()
    assert stability["triples"] == [[1.2, 1.1, 1.1], [1.2, 1.1, 1.15]] and stability["same"] == "1/2"
    assert stability["seeds"] == [0, 2] and stability["ties"] == [False, True]


def test_the_grid_leaves_out_what_only_the_comparison_reads(monkeypatch, tmp_path):
    proxies = []

    def grid_at(baseline, cfg, **kwargs):
        proxies.append((cfg.proxy.train_size, cfg.seed))
        return SimpleNamespace(triple=(1.2, 1.1, 1.15), summary={"tie": False}, status=0)

    monkeypatch.setattr(scaling, "run_grid", grid_at)
    _, overrides = scaling.parse_dataset(TINY + ",methods=[compound],compare.equal_cost=false")
    args = SimpleNamespace(grid_seeds=1, grid_override=[], first_seed=5, baseline="efficientnet_b0", study=None)
    stability = scaling.grid_stability(overrides, args, tmp_path)
    assert proxies == [(256, 5)] and stability["same"] == "1/1"


def test_a_stored_run_continues_from_its_finished_trainings(results_dir, tmp_path, monkeypatch, capsys):
    trained = []

    def train(genotype, data, proxy, seed, on_epoch=None, **kwargs):
        trained.append(seed)
        if len(trained) == 3:  # the first run stops part-way, as a killed one would
            raise KeyboardInterrupt
        return ProxyResult("ok", val_acc=0.5 + 0.01 * len(trained), val_accs=[0.5])

    monkeypatch.setattr(compare_study, "train_proxy", train)
    argv = ["--dataset", f"{TINY},methods=[compound]", "--seeds", "2", "--store", str(tmp_path / "store")]
    argv += ["--results-dir", str(results_dir)]
    with pytest.raises(SystemExit) as stopped:
        scaling.main(argv)
    assert stopped.value.code != 0 and trained == [0, 0, 0] and not (results_dir / "scaling.json").exists()
    assert "stopped; nothing recorded; the finished trainings are kept in" in capsys.readouterr().err
    scaling.main(argv)
    assert trained == [0, 0, 0, 0, 1, 1, 1]  # seed 0's two finished trainings are not trained again
    (folder,) = (tmp_path / "store").iterdir()
    assert (folder / "studies.db").exists()
    (dataset,) = json.loads((results_dir / "scaling.json").read_text())["datasets"].values()
    assert sorted(dataset["family"][phi]["values"][0] for phi in "012") == [0.51, 0.52, 0.54]


def test_a_finished_dataset_is_kept_whole_and_carries_to_another_store(results_dir, tmp_path, monkeypatch):
    trained = []

    def train(genotype, data, proxy, seed, on_epoch=None, **kwargs):
        trained.append(seed)
        if len(trained) == 7:  # the second dataset's first training: the run stops there
            raise KeyboardInterrupt
        return ProxyResult("ok", val_acc=0.5 + 0.01 * len(trained), val_accs=[0.5])

    monkeypatch.setattr(compare_study, "train_proxy", train)
    first, second = f"{TINY},methods=[compound]", f"{TINY},methods=[compound],proxy.epochs=2"
    argv = ["--dataset", first, "--dataset", second, "--seeds", "2", "--results-dir", str(results_dir)]
    with pytest.raises(SystemExit):
        scaling.main([*argv, "--store", str(tmp_path / "store")])
    (folder,) = (tmp_path / "store").iterdir()
    kept = json.loads((folder / scaling.KEPT_FILE).read_text())
    assert list(kept["datasets"]) == [first] and kept["settings"]["seeds"] == 2
    other = tmp_path / "other" / folder.name  # another machine at the same commit: the studies are not there
    other.mkdir(parents=True)
    (other / scaling.KEPT_FILE).write_text(json.dumps(kept))
    scaling.main([*argv, "--store", str(tmp_path / "other")])
    assert len(trained) == 7 + 6  # only the second dataset was trained again
    record = json.loads((results_dir / "scaling.json").read_text())
    assert record["datasets"][first] == kept["datasets"][first]["figures"] and second in record["datasets"]
    assert kept_with(other / scaling.KEPT_FILE, {"settings": {**kept["settings"], "seeds": 3}}) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--seeds", "1"], "--seeds must be at least 2"), (["--dataset", "digits:proxy.epochs"], "expected NAME or")],
)
def test_bad_input_is_one_line_and_status_2(capsys, results_dir, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        scaling.main([*argv, "--results-dir", str(results_dir)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_dataset_keeps_its_list_overrides_whole():
    _, overrides = scaling.parse_dataset("digits:methods=[depth,compound],proxy.epochs=2")
    assert overrides == ["dataset=digits", "methods=[depth,compound]", "proxy.epochs=2"]
    with pytest.raises(ValueError, match="expected NAME or NAME:KEY=VALUE"):
        scaling.parse_dataset("digits:epochs")


def test_a_step_rises_beyond_the_seeds_and_the_images_it_was_scored_on():
    n = 10_000
    lower = [np.arange(n) < 8_800 + 10 * s for s in range(3)]
    upper = [np.arange(n) < 8_850 + 10 * s for s in range(3)]  # +0.005 every seed, on images lower misses
    accuracies = [o.mean() for o in lower], [o.mean() for o in upper]
    unpaired = scaling.rises(*accuracies, n)
    assert unpaired["verdict"] == "tie" and not unpaired["paired"] and unpaired["margin"] > 0.008
    paired = scaling.rises(*accuracies, n, (lower, upper))
    assert paired["verdict"] == "rises" and paired["paired"] and paired["margin"] < 0.003
    swapped = [np.roll(o, 500) for o in upper]  # the same accuracies, 1,000 images in dispute
    assert scaling.rises(*accuracies, n, (lower, swapped))["verdict"] == "tie"
