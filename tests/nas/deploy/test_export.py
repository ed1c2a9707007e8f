"""``python -m nas.export``: ONNX and pt2 files that compute what PyTorch computes, and bad input refused cleanly.

Everything runs on one thread: beside other busy processes, two OpenMP threads on two cores wait for
each other far longer than they compute.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from nas.cli.schema import CONF_DIR, typed
from nas.deploy.export import ExportSettings, NetworkSettings, export_network, random_network, require_packages
from nas.deploy.formats import ParityError
from nas.deploy.model_file import ModelFile, save_model
from search_spaces.build import build
from search_spaces.mnasnet import mnasnet_space
from search_spaces.references import reference
from search_spaces.spec import resolve_spec

pytest.importorskip("onnxruntime", reason="the export extra: pip install -e '.[export]'")

SMALL = "ds_r1_k3_s1_e1_c16,ir_r1_k3_s2_e3_c24_se0.25,ir_r1_k5_s2_e3_c40"
CLASSES = ["cat", "dog", "fox"]


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def space_member():
    """A member of the MnasNet space around B0, drawn with a fixed seed."""
    return mnasnet_space(reference("efficientnet_b0")).sample(np.random.default_rng(3))


@pytest.mark.slow
@pytest.mark.parametrize("genotype", [reference("efficientnet_b0"), space_member()], ids=["b0", "space_member"])
def test_onnx_and_pt2_compute_what_pytorch_computes(genotype, tmp_path, one_thread):
    model = random_network(genotype, NetworkSettings(num_classes=7, resolution=64))
    result = export_network(model, tmp_path, ExportSettings(formats=("onnx", "pt2"), threads=1), random_weights=True)
    assert [p.file for p in result.parity] == ["model.onnx", "model.pt2"]
    for parity in result.parity:
        print(parity.describe())
        assert parity.max_diff <= 1e-4 and parity.batches == (1, 3)
        assert parity.max_logit > 0.1  # logits of order 1: the difference is small against something
    import onnx

    graph = onnx.load(tmp_path / "model.onnx")
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "genotype.yaml", "model.onnx", "model.pt2"]
    assert "Random weights" in (tmp_path / "README.md").read_text()


@pytest.mark.slow
def test_a_file_that_differs_from_pytorch_is_refused_and_nothing_is_left(tmp_path, one_thread):
    model = random_network(resolve_spec(SMALL), NetworkSettings(num_classes=3, resolution=32))
    with pytest.raises(ParityError, match=r"model.onnx: .* exceeds the tolerance 1e-30; the file was removed"):
        export_network(model, tmp_path, ExportSettings(formats=("onnx",), tolerance=1e-30), random_weights=True)
    assert list(tmp_path.iterdir()) == []


def test_a_network_timm_cannot_build_is_said_so_in_the_readme(tmp_path):
    genotype = resolve_spec("ds_r1_k3_s1_e1_c16,ir_r1_k3_s2_e3_c24_se0.25_poolskip")
    model = random_network(genotype, NetworkSettings(num_classes=3, resolution=32))
    result = export_network(model, tmp_path, ExportSettings(formats=("timm",)), random_weights=True)
    assert result.files == ("genotype.yaml", "timm.txt", "README.md") and result.parity == ()
    assert len(result.timm_problems) == 1 and "poolskip" in result.timm_problems[0]
    readme = (tmp_path / "README.md").read_text()
    assert "timm cannot build this network" in readme and "EfficientNet(" not in readme


def test_a_missing_package_names_the_pip_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "onnxscript" else real(name))
    with pytest.raises(
        ValueError, match=r"format onnx needs onnxscript, not installed: pip install 'effnas\[export\]'"
    ):
        require_packages(("onnx", "pt2"))
    require_packages(("pt2", "timm"))  # these need nothing beyond torch


def test_yaml_defaults_are_the_python_defaults():
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = typed(compose("export"))
    fields = lambda cls, value: {f.name: getattr(value, f.name) for f in dataclasses.fields(cls)}  # noqa: E731
    assert fields(NetworkSettings, cfg) == fields(NetworkSettings, NetworkSettings())
    assert fields(ExportSettings, cfg) == fields(ExportSettings, ExportSettings())


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A real ``model.pt``: a 1-channel 3-class network whose weights are far from their initial values."""
    genotype = resolve_spec(SMALL)
    model = build(genotype, num_classes=3, in_chans=1)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                noise = torch.randn(tensor.shape, generator=generator) * 0.2
                tensor.copy_(tensor.abs() + 0.5 + noise if name.endswith("running_var") else tensor + noise)
    saved = ModelFile(genotype, model.state_dict(), 3, 1, 48, [0.286], [0.353], class_names=CLASSES)
    return save_model(saved, tmp_path_factory.mktemp("train") / "model.pt")


@pytest.mark.slow
def test_export_from_a_checkpoint_computes_what_the_checkpoint_computes(cli, checkpoint, tmp_path):
    out = tmp_path / "out"
    result = cli("nas.export", f"checkpoint={checkpoint}", "formats=[onnx,timm]", "threads=1", f"hydra.run.dir={out}")
    assert result.returncode == 0, result.stderr
    assert "RANDOM" not in result.stdout and "model.onnx: onnxruntime vs PyTorch" in result.stdout
    assert all((out / name).is_file() for name in ("model.onnx", "timm.txt", "genotype.yaml", "README.md"))
    import onnxruntime as ort

    from nas.deploy.model_file import load_model

    x = torch.randn(4, 1, 48, 48, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = load_model(checkpoint).module()(x).numpy()
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"input": x.numpy()})[0]
    assert np.abs(got - expected).max() <= 1e-4 and np.abs(expected).max() > 0.1
    readme = (out / "README.md").read_text()
    assert "0. cat\n1. dog\n2. fox" in readme and "mean [0.286], std [0.353]" in readme
    assert "(N, 1, 48, 48)" in readme and "max |logit difference|" in readme
    timm = (out / "timm.txt").read_text()
    assert all(f"{name} =" in timm for name in ("arch_def", "kwargs", "bn_args"))  # what the README's snippet uses


def _bad_inputs(checkpoint: Path, tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(checkpoint.read_bytes()[:5000])  # a download cut short
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    return {
        "unknown format": (["model=efficientnet_b0", "formats=[onnx,tflite]"], "allowed: onnx, pt2, timm"),
        "genotype mismatch": ([f"checkpoint={checkpoint}", "model=efficientnet_b0"], "another network than the SPEC"),
        "class mismatch": ([f"checkpoint={checkpoint}", f"model='{SMALL}'", "num_classes=10"], "has 3 classes, not 10"),
        "corrupt checkpoint": ([f"checkpoint={corrupt}"], "is not readable"),
        "unwritable folder": (["model=efficientnet_b0", f"hydra.run.dir={blocker}/out"], "is not a folder"),
    }


@pytest.mark.parametrize(
    "case", ["unknown format", "genotype mismatch", "class mismatch", "corrupt checkpoint", "unwritable folder"]
)
def test_bad_input_is_one_line_and_leaves_nothing(cli, checkpoint, tmp_path, case):
    args, message = _bad_inputs(checkpoint, tmp_path)[case]
    out = tmp_path / "out"
    if not any(a.startswith("hydra.run.dir=") for a in args):
        args = [*args, f"hydra.run.dir={out}"]
    result = cli("nas.export", *args, "threads=1")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("python -m nas.export: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    left = {p.name for p in out.iterdir()} if out.is_dir() else set()
    assert left <= {".hydra", "export.log"}  # Hydra's own record of the run, as for every command


def test_the_command_names_the_missing_package(tmp_path, cli, monkeypatch):
    """The real entry point, where onnxruntime cannot be imported (find_spec says it is not there)."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    result = cli("nas.export", "model=efficientnet_b0", "formats=[pt2,onnx]", f"hydra.run.dir={tmp_path / 'out'}")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "python -m nas.export: error: format onnx needs onnxruntime, not installed: "
        "pip install 'effnas[export]' (or: pip install onnx onnxscript onnxruntime)"
    )
    assert not (tmp_path / "out" / "model.pt2").exists()  # checked before any work
