"""A network as portable files in one folder: ``model.onnx``, ``model.pt2``, ``timm.txt``, ``genotype.yaml``, ``README.md``.

Every file is written to a temporary folder inside the output folder and moved into place only
when all of them are written and checked, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from nas.deploy.formats import Parity, check_parity, example_input, onnx_runner, pt2_runner, write_onnx, write_pt2
from nas.deploy.model_file import ModelFile, load_model
from nas.deploy.readme import readme_text
from search_spaces.build import build
from search_spaces.codec import save_genotype
from search_spaces.genotype import Genotype
from search_spaces.rounding import apply_multipliers

FORMATS = ("onnx", "pt2", "timm")
FILES = {"onnx": "model.onnx", "pt2": "model.pt2", "timm": "timm.txt"}
PACKAGES = {"onnx": ("onnx", "onnxscript", "onnxruntime")}  # what each format needs beyond torch
INSTALL_HINT = "pip install 'effnas[export]' (or: pip install onnx onnxscript onnxruntime)"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ExportSettings:
    """What to write and how strictly to check it."""

    formats: Any = FORMATS  # any of onnx, pt2, timm (a list, or one name); genotype.yaml and README.md always
    opset: int = 18  # ONNX opset (>= 17)
    tolerance: float = 1e-4  # the largest |logit difference| allowed between an exported file and PyTorch
    seed: int = 0  # the random inputs of the parity check (and the random weights without a checkpoint)
    threads: int | None = None  # CPU threads for PyTorch and onnxruntime (None: their defaults)

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", check_formats(self.formats))
        if not isinstance(self.opset, int) or self.opset < 17:
            raise ValueError(f"opset must be an integer >= 17, got {self.opset!r}")
        if not self.tolerance > 0:
            raise ValueError(f"tolerance must be positive, got {self.tolerance!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or null, got {self.threads!r}")


@dataclass(frozen=True)
class NetworkSettings:
    """The network without a checkpoint (random weights); with one, each value set must match it."""

    num_classes: int | None = None  # None: 1000, or the checkpoint's
    in_chans: int | None = None  # None: 3, or the checkpoint's
    resolution: int | None = None  # input side in pixels; None: the genotype's own, or the checkpoint's
    width: float | None = None  # width and depth multipliers of a random network (None: 1.0, or the checkpoint's)
    depth: float | None = None
    mean: tuple[float, ...] | None = None  # per-channel mean of x / 255; None: ImageNet's for 3 channels, else 0.5
    std: tuple[float, ...] | None = None  # per-channel std of x / 255; None: ImageNet's for 3 channels, else 0.5

    def __post_init__(self) -> None:
        for key in ("num_classes", "in_chans", "resolution"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{key} must be a positive integer or null, got {value!r}")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the folder, its files, the parity of each checked file."""

    out: Path
    files: tuple[str, ...]
    parity: tuple[Parity, ...]
    random_weights: bool
    timm_problems: tuple[str, ...] = ()  # why timm cannot rebuild the network (timm.txt says so too)


def check_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """The requested formats in order, each once; ``ValueError`` names an unknown one and the allowed."""
    names = [formats] if isinstance(formats, str) else list(formats)
    unknown = [str(f) for f in names if f not in FORMATS]
    if unknown or not names:
        what = f"unknown export format {', '.join(unknown)}" if unknown else "no export format given"
        raise ValueError(f"{what}; allowed: {', '.join(FORMATS)} (e.g. formats=[onnx,pt2])")
    return tuple(dict.fromkeys(names))


def missing_packages(formats: Sequence[str]) -> list[str]:
    """The Python packages the ``formats`` need that are not installed."""
    needed = dict.fromkeys(p for f in formats for p in PACKAGES.get(f, ()))
    return [p for p in needed if importlib.util.find_spec(p) is None]


def require_packages(formats: Sequence[str]) -> None:
    """``ValueError`` with the ``pip install`` line when a requested format's packages are missing."""
    missing = missing_packages(formats)
    if missing:
        wanting = ", ".join(f for f in formats if set(PACKAGES.get(f, ())) & set(missing))
        raise ValueError(f"format {wanting} needs {', '.join(missing)}, not installed: {INSTALL_HINT}")


def network_to_export(
    genotype: Genotype | None, checkpoint: str | Path | None, network: NetworkSettings, seed: int = 0
) -> tuple[ModelFile, bool]:
    """The network and its weights, and whether they are random: from ``checkpoint``, else ``genotype`` at random."""
    if genotype is None and checkpoint is None:
        raise ValueError("nothing to export: give model=SPEC, checkpoint=model.pt, or both")
    if checkpoint is None:
        return random_network(genotype, network, seed), True
    model = load_model(checkpoint)
    if genotype is not None:
        model.check_matches(genotype, network.num_classes)
    _check_same(model, network)
    if network.resolution is not None:
        model = replace(model, resolution=network.resolution)
    return model, False


def _check_same(model: ModelFile, network: NetworkSettings) -> None:
    """A setting given beside a checkpoint must agree with it (the input side excepted)."""
    for key in ("num_classes", "in_chans", "width", "depth", "mean", "std"):
        given, held = getattr(network, key), getattr(model, key)
        if given is not None and _plain(given) != _plain(held):
            raise ValueError(f"{key}={_plain(given)} differs from the checkpoint's {_plain(held)} (leave it unset)")


def _plain(value: object) -> object:
    return [float(v) for v in value] if isinstance(value, (list, tuple)) else value


def random_network(genotype: Genotype, network: NetworkSettings, seed: int = 0) -> ModelFile:
    """``genotype`` with random weights, its BatchNorm statistics taken from noise, its logits scaled to std 1.

    A freshly initialised network's logits are vanishingly small (about 1e-13 for B0), which would
    make any parity figure meaningless; with statistics from noise alone they swing from 1 to 50
    with the seed and the class count.  Logits of a trained network's order keep figures comparable.
    """
    in_chans = network.in_chans or 3
    mean, std = _normalisation(network, in_chans)
    width, depth = network.width or 1.0, network.depth or 1.0
    num_classes = network.num_classes or 1000
    resolution = network.resolution or genotype.resolution
    # Seeded weights and drop-connect draws, without touching the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build(genotype, width=width, depth=depth, num_classes=num_classes, in_chans=in_chans)
        _statistics_from_noise(model, in_chans, resolution)
    return ModelFile(
        genotype, model.state_dict(), num_classes, in_chans, resolution, mean, std, width, depth, config={"seed": seed}
    )


def _normalisation(network: NetworkSettings, in_chans: int) -> tuple[list[float], list[float]]:
    """Per-channel mean and std: as given, else ImageNet's for RGB and 0.5 for any other channel count."""
    mean = network.mean or (IMAGENET_MEAN if in_chans == 3 else (0.5,) * in_chans)
    std = network.std or (IMAGENET_STD if in_chans == 3 else (0.5,) * in_chans)
    for name, values in (("mean", mean), ("std", std)):
        if len(values) != in_chans:
            raise ValueError(f"{name} has {len(values)} values for {in_chans} input channels")
    if any(s <= 0 for s in std):
        raise ValueError(f"std must be positive, got {list(std)}")
    return [float(m) for m in mean], [float(s) for s in std]


@torch.no_grad()
def _statistics_from_noise(model: torch.nn.Module, in_chans: int, resolution: int) -> None:
    """BatchNorm statistics from two batches of noise, then the classifier scaled to logits of std 1."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a plain average over the noise batches
    model.train()
    noise = [torch.randn(8, in_chans, resolution, resolution) for _ in range(2)]
    for x in noise:
        model(x)
    model.eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            # Noise leaves about 40% of channels nearly constant (depthwise outputs are tiny under a fan-out
            # init); normalising them scales float32 rounding up 30x, far beyond a trained network's.
            module.running_var.clamp_(min=1e-2)
    logits = torch.cat([model(x) for x in noise])
    model.classifier.weight.div_(logits.std().clamp_min(1e-12))
    model.classifier.bias.zero_()


def exported_genotype(model: ModelFile) -> Genotype:
    """The genotype of the network exactly as exported: multipliers applied, the export's input side."""
    genotype = apply_multipliers(model.genotype, model.width, model.depth)
    # A genotype's resolution is at least 32; a 28 px network (Fashion-MNIST) keeps the genotype's own.
    return replace(genotype, resolution=model.resolution) if model.resolution >= 32 else genotype


def export_network(model: ModelFile, out: Path, settings: ExportSettings, random_weights: bool) -> ExportResult:
    """Write ``settings.formats`` for ``model`` into ``out``, check each, then the genotype and the README."""
    formats = check_formats(settings.formats)
    require_packages(formats)
    try:
        module = model.module()
    except RuntimeError as err:  # load_state_dict: missing, unexpected or misshapen weights
        raise ValueError(f"the checkpoint's weights do not fit its network: {str(err).splitlines()[0]}") from None
    example = example_input(model.in_chans, model.resolution)
    shape = (model.in_chans, model.resolution, model.resolution)
    checks, problems = [], ()
    with staged(out) as stage:
        genotype = exported_genotype(model)
        save_genotype(genotype, stage / "genotype.yaml", metrics=model.metrics or None)
        if "onnx" in formats:
            path = write_onnx(module, example, stage / FILES["onnx"], settings.opset)
            run = onnx_runner(path, settings.threads)
            checks.append(check_parity(module, run, path.name, "onnxruntime", shape, settings.tolerance, settings.seed))
        if "pt2" in formats:
            path = write_pt2(module, example, stage / FILES["pt2"])
            run = pt2_runner(path)
            checks.append(
                check_parity(module, run, path.name, "torch.export.load", shape, settings.tolerance, settings.seed)
            )
        if "timm" in formats:
            text, problems = timm_text(genotype)
            (stage / FILES["timm"]).write_text(text)
        files = ("genotype.yaml", *(FILES[f] for f in formats), "README.md")
        text = readme_text(model, genotype, files, tuple(checks), random_weights, settings.opset, problems)
        (stage / "README.md").write_text(text)
    return ExportResult(out, files, tuple(checks), random_weights, problems)


def timm_text(genotype: Genotype) -> tuple[str, tuple[str, ...]]:
    """``timm.txt`` for ``genotype`` (timm's ``arch_def`` and settings), and why timm cannot build it, if so."""
    from search_spaces.timm_compat import timm_arch_text, timm_problems

    text = timm_arch_text(genotype)  # for a network timm cannot build: the reasons, as comments
    return (text if text.endswith("\n") else text + "\n"), tuple(timm_problems(genotype))


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A temporary folder inside ``out`` whose files move into ``out`` on success; removed whatever happens."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    except OSError as err:
        raise ValueError(f"output folder {out} is not writable ({err.strerror or err})") from None
    try:
        yield stage
        _publish(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _publish(stage: Path, out: Path) -> None:
    """Move every staged file into ``out``; if one move fails, take back those already moved."""
    moved: list[Path] = []
    try:
        for path in sorted(stage.iterdir()):
            os.replace(path, out / path.name)
            moved.append(out / path.name)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise
