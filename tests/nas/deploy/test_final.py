"""Final training (``nas.train train=final``): killed with SIGKILL, resumed, the same weights as a run never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from nas.deploy.model_file import ModelFile, load_model, save_model
from nas.proxy.recipe import ProxyConfig, cosine
from nas.studies.identity import name_form
from search_spaces.build import build
from search_spaces.references import reference

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HYDRA_FULL_ERROR": "0"}
TINY = [
    "model=mobilenet_v2",
    "train=final",
    "dataset=mnist5k",
    "proxy.train_size=2400",
    "proxy.val_size=400",
    "proxy.test_size=400",
    "proxy.width=0.5",
    "proxy.epochs=3",
    "proxy.ema_decay=0.9",
    "threads=2",
    "progress=false",
]


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "nas.train", *TINY, f"hydra.run.dir={out}", *extra]


@pytest.fixture(scope="module")
def run(cli):
    """``nas.train`` on TINY into ``out``, in this process."""
    return lambda out, *extra: cli("nas.train", *TINY, f"hydra.run.dir={out}", *extra)


def _epochs_done(path: Path) -> int:
    try:
        return len(torch.load(path, map_location="cpu", weights_only=True)["history"])
    except (FileNotFoundError, RuntimeError, EOFError):
        return 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory, run):
    """An uninterrupted run, and one killed with SIGKILL after its first checkpoint (a process of its own), then resumed."""
    base = tmp_path_factory.mktemp("final")
    whole = run(base / "whole", "train.resume=true")  # nothing to resume yet: says so, and trains from the start
    killed = subprocess.Popen(_command(base / "killed"), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _epochs_done(base / "killed" / "checkpoint.pt") < 1 and killed.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    at_kill = _epochs_done(base / "killed" / "checkpoint.pt")
    resumed = run(base / "killed", "train.resume=true")
    return base, whole, at_kill, resumed


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_weights(runs):
    base, whole, at_kill, resumed = runs
    assert whole.returncode == 0, whole.stderr
    assert 1 <= at_kill < 3, "the kill should land between the first checkpoint and the end"
    assert not (base / "killed" / "model.pt").exists() or resumed.returncode == 0
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {at_kill}" in resumed.stdout
    a, b = load_model(base / "whole" / "model.pt"), load_model(base / "killed" / "model.pt")
    assert a.state_dict.keys() == b.state_dict.keys()
    assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    assert a.metrics["test_acc"] == b.metrics["test_acc"]
    assert [h["val_acc"] for h in a.metrics["history"]] == [h["val_acc"] for h in b.metrics["history"]]


@pytest.mark.slow
def test_the_model_file_rebuilds_without_the_training_code(runs):
    base, whole, _, _ = runs
    data = torch.load(base / "whole" / "model.pt", map_location="cpu", weights_only=True)
    assert data["class_names"] == [str(i) for i in range(10)] and len(data["mean"]) == 1
    model = load_model(base / "whole" / "model.pt")
    assert model.metrics["epochs"] == 3 and 0.5 < model.metrics["test_acc"] <= 1.0
    assert model.module()(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    summary = json.loads((base / "whole" / "summary.json").read_text())
    assert summary["mode"] == "final" and summary["test_acc"] == model.metrics["test_acc"]
    assert "test_acc" in whole.stdout and "model.pt" in whole.stdout
    assert f"nothing to resume (no checkpoint.pt in {base / 'whole'})" in whole.stdout


@pytest.mark.slow
def test_a_finished_run_is_not_overwritten_and_other_settings_do_not_resume(runs, run):
    base, _, _, _ = runs
    again = run(base / "whole")
    assert again.returncode == 2 and "train.resume=true continues it" in again.stderr
    other = run(base / "whole", "train.resume=true", "proxy.lr=0.2")
    assert other.returncode == 2 and "config differ" in other.stderr
    assert other.stderr.strip().count("\n") == 0


@pytest.mark.slow
def test_a_corrupt_checkpoint_is_one_line(tmp_path, run):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    result = run(tmp_path, "train.resume=true")
    assert result.returncode == 2 and "is not readable" in result.stderr


def test_cosine_schedule_warms_up_then_decays_to_zero():
    f = cosine(100, 0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(55) == pytest.approx(0.5) and f(100) == pytest.approx(0.0)


def test_new_recipe_settings_stay_out_of_old_identities():
    old = name_form({"proxy": ProxyConfig().identity()})["proxy"]  # what default study names hash
    assert "schedule" not in old and "ema_decay" not in old
    assert name_form({"proxy": ProxyConfig(schedule="cosine", ema_decay=0.99).identity()})["proxy"]["ema_decay"] == 0.99
    with pytest.raises(ValueError, match="proxy.schedule must be one of one_cycle, cosine"):
        ProxyConfig(schedule="step")


def test_model_file_errors_are_one_line(tmp_path):
    genotype = reference("mobilenet_v2")
    model = build(genotype, width=0.25, num_classes=3, in_chans=1)
    kept = ModelFile(genotype, model.state_dict(), 3, 1, 32, [0.5], [0.25], width=0.25)
    path = save_model(kept, tmp_path / "model.pt")
    assert load_model(path).module()(torch.zeros(1, 1, 32, 32)).shape == (1, 3)
    with pytest.raises(ValueError, match="holds another network than the SPEC"):
        load_model(path).check_matches(reference("efficientnet_b0"))
    with pytest.raises(ValueError, match="has 3 classes, not 10"):
        load_model(path).check_matches(genotype, 10)
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="is not readable"):
        load_model(tmp_path / "bad.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a model file written by nas.train"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_the_gpu_preset_trains_longer_in_its_own_folder(cli):
    result = cli("nas.train", "train=final_gpu", "--cfg", "all")
    assert result.returncode == 0, result.stderr  # --cfg takes a value: not read as an override
    assert "epochs: 100" in result.stdout and "mode: final" in result.stdout
    assert "runs/final/${slug:${model}}-${dataset.name}-gpu" in result.stdout


@pytest.mark.parametrize("module", ["nas.train", "nas.search", "scaling.grid", "nas.export"])
def test_every_command_refuses_an_output_folder_it_cannot_create(tmp_path, cli, module):
    (tmp_path / "file").write_text("")
    extra = ["model=efficientnet_b0"] if module == "nas.export" else []
    result = cli(module, f"hydra.run.dir={tmp_path / 'file' / 'run'}", *extra)
    assert result.returncode == 2 and "cannot be created" in result.stderr and "is not a folder" in result.stderr
    assert result.stderr.strip().count("\n") == 0
