"""The ``README.md`` of an export folder: what the network expects and how to load each file without effnas."""

from __future__ import annotations

from collections.abc import Sequence

from nas.deploy.formats import INPUT_NAME, OUTPUT_NAME, Parity
from nas.deploy.model_file import ModelFile
from search_spaces.codec import format_blocks
from search_spaces.genotype import Genotype

RANDOM_WARNING = (
    "**Random weights: this network was not trained.** It was exported from its genotype alone "
    "(random initialisation, BatchNorm statistics from noise) for deployment tests; its outputs mean nothing."
)


def readme_text(
    model: ModelFile,
    genotype: Genotype,
    files: Sequence[str],
    parity: Sequence[Parity],
    random_weights: bool,
    opset: int,
    timm_problems: Sequence[str] = (),
) -> str:
    """The folder's README: input, normalisation, classes, files, parity figures and loading snippets."""
    parts = [f"# {genotype.name}: exported by effnas (`python -m nas.export`)\n"]
    if random_weights:
        parts.append(RANDOM_WARNING + "\n")
    parts += [_inputs(model), _files(files, opset), _parity(parity), _classes(model)]
    parts.append(_snippets(model, files, timm_problems))
    return "\n".join(parts)


def _inputs(model: ModelFile) -> str:
    c, r = model.in_chans, model.resolution
    colours = "RGB" if c == 3 else ("greyscale" if c == 1 else f"{c} channels")
    lines = [
        "## Input and output\n",
        f"- input `{INPUT_NAME}`: float32, shape (N, {c}, {r}, {r}): N images of {r}x{r} pixels, {colours}, "
        "channels first; any batch size N",
        f"- normalisation: `x = (pixels / 255 - mean) / std` per channel, pixels in 0..255, "
        f"mean {_floats(model.mean)}, std {_floats(model.std)}",
        f"- output `{OUTPUT_NAME}`: float32, shape (N, {model.num_classes}); softmax over axis 1 gives probabilities",
        f"- network: {', '.join(format_blocks(model.genotype))} (width x{model.width:g}, depth x{model.depth:g})",
    ]
    metrics = {k: v for k, v in model.metrics.items() if isinstance(v, (int, float, str))}
    if metrics:
        lines.append("- metrics: " + ", ".join(f"{k} {_value(v)}" for k, v in metrics.items()))
    return "\n".join(lines) + "\n"


def _files(files: Sequence[str], opset: int) -> str:
    about = {
        "model.onnx": f"ONNX, opset {opset}, dynamic batch axis (onnxruntime, TensorRT, OpenVINO, ...)",
        "model.pt2": "`torch.export` program with a dynamic batch dimension (PyTorch >= 2.6, no effnas needed)",
        "timm.txt": "the architecture in timm's notation: `arch_def`, the `EfficientNet` settings, the lines that rebuild it",
        "genotype.yaml": "the architecture as exported (multipliers applied), as effnas block strings",
        "README.md": "this file",
    }
    return "## Files\n\n" + "\n".join(f"- `{name}`: {about[name]}" for name in files) + "\n"


def _parity(parity: Sequence[Parity]) -> str:
    if not parity:
        return "## Parity\n\nNo exported network file was checked (no onnx or pt2 format).\n"
    lines = [f"- {p.describe()}" for p in parity]
    return "## Parity with PyTorch (measured at export)\n\n" + "\n".join(lines) + "\n"


def _classes(model: ModelFile) -> str:
    if not model.class_names:
        return f"## Classes\n\n{model.num_classes} outputs without names: output i is class i.\n"
    lines = [f"{i}. {name}" for i, name in enumerate(model.class_names)]
    return "## Classes (output index: name)\n\n```\n" + "\n".join(lines) + "\n```\n"


def _snippets(model: ModelFile, files: Sequence[str], timm_problems: Sequence[str]) -> str:
    c, r = model.in_chans, model.resolution
    norm = (
        f"mean = np.array({_floats(model.mean)}, dtype=np.float32).reshape(1, {c}, 1, 1)\n"
        f"std = np.array({_floats(model.std)}, dtype=np.float32).reshape(1, {c}, 1, 1)\n"
        f"pixels = np.zeros((1, {c}, {r}, {r}), dtype=np.uint8)  # your images: N x {c} x {r} x {r}, 0..255\n"
        "x = ((pixels / 255.0 - mean) / std).astype(np.float32)\n"
    )
    parts = ["## Load without effnas\n"]
    if "model.onnx" in files:
        parts.append(
            "onnxruntime (`pip install onnxruntime numpy`):\n\n```python\nimport numpy as np\nimport onnxruntime as ort\n\n"
            f'session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])\n{norm}'
            f'logits = session.run(["{OUTPUT_NAME}"], {{"{INPUT_NAME}": x}})[0]\n```\n'
        )
    if "model.pt2" in files:
        parts.append(
            "PyTorch (`pip install torch numpy`):\n\n```python\nimport numpy as np\nimport torch\n\n"
            f'model = torch.export.load("model.pt2").module()\n{norm}'
            "with torch.no_grad():\n    logits = model(torch.from_numpy(x))\n```\n"
        )
    if "timm.txt" in files and timm_problems:
        parts.append("timm cannot build this network (`timm.txt` says why): " + "; ".join(timm_problems) + ".\n")
    elif "timm.txt" in files:
        parts.append(_timm_snippet(model))
    return "\n".join(parts)


def _timm_snippet(model: ModelFile) -> str:
    """timm rebuilds the architecture from ``timm.txt``; the trained weights travel in the ONNX and pt2 files."""
    return (
        "timm (`pip install timm`): `timm.txt` defines `arch_def`, `kwargs` and `bn_args` as Python literals; with "
        "them timm's `EfficientNet` rebuilds this architecture, with fresh weights (the trained ones are in "
        "`model.onnx` and `model.pt2`):\n\n"
        "```python\nfrom functools import partial\n\nfrom timm.models._efficientnet_builder import decode_arch_def\n"
        "from timm.models.efficientnet import EfficientNet\nfrom torch import nn\n\n"
        "# arch_def, kwargs, bn_args = ...  as in timm.txt\n"
        f"model = EfficientNet(decode_arch_def(arch_def), num_classes={model.num_classes}, in_chans={model.in_chans}, "
        "round_chs_fn=int, norm_layer=partial(nn.BatchNorm2d, **bn_args), **kwargs)\n```\n"
    )


def _floats(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in values) + "]"


def _value(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
