"""``model.pt``: a trained network as one file — its genotype, weights, input settings and metrics.

Written by the final training (``python -m nas.train train=final``), read by ``nas.export``.
Everything in it is plain data (tensors, numbers, strings, lists, dicts), so it loads with
``torch.load(path, weights_only=True)`` and rebuilds with ``search_spaces.build`` alone.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from search_spaces.build import build
from search_spaces.codec import format_blocks, genotype_from_dict, genotype_to_dict
from search_spaces.genotype import Genotype

FORMAT = "effnas-model/1"
REQUIRED = ("genotype", "state_dict", "num_classes", "in_chans", "resolution", "mean", "std")


@dataclass
class ModelFile:
    """A trained network: build it with :meth:`module`; ``mean``/``std`` normalise ``x / 255`` per channel."""

    genotype: Genotype
    state_dict: dict[str, torch.Tensor]
    num_classes: int
    in_chans: int
    resolution: int  # the input side it was trained at
    mean: list[float]
    std: list[float]
    width: float = 1.0
    depth: float = 1.0
    class_names: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def module(self) -> nn.Module:
        """The network with these weights, in eval mode."""
        model = build(
            self.genotype, width=self.width, depth=self.depth, num_classes=self.num_classes, in_chans=self.in_chans
        )
        model.load_state_dict(self.state_dict)
        return model.eval()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(format=FORMAT, genotype=genotype_to_dict(self.genotype), state_dict=self.state_dict)
        return data

    def check_matches(self, genotype: Genotype, num_classes: int | None = None) -> None:
        """``ValueError`` when this file holds another network than ``genotype`` (or another class count)."""
        ours, theirs = format_blocks(self.genotype), format_blocks(genotype)
        if ours != theirs:
            raise ValueError(
                f"the checkpoint holds another network than the SPEC: its blocks {','.join(ours)} "
                f"differ from {','.join(theirs)} (give the SPEC it was trained from, or leave model= out)"
            )
        if num_classes is not None and num_classes != self.num_classes:
            raise ValueError(f"the checkpoint has {self.num_classes} classes, not {num_classes}")


def save_model(model: ModelFile, path: str | Path) -> Path:
    """Write ``path`` atomically: a temporary file in the same folder, then a rename."""
    return save_atomic(model.to_dict(), path)


def error_line(err: BaseException, limit: int = 120) -> str:
    """An exception's first line (its type when it has no message, as an empty file's ``EOFError``)."""
    return (str(err).splitlines() or [type(err).__name__])[0][:limit]


def read_checkpoint_file(path: Path, fmt: str, what: str, fix: str = "") -> dict[str, Any]:
    """A training checkpoint of format ``fmt`` (a dict); ``ValueError`` in one line for a file that is not one.

    ``what`` names the kind of file in the messages; ``fix`` says what to do about an unreadable one.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated, empty or foreign file: the same one-line error
        raise ValueError(f"{path} is not readable ({error_line(err, 100)}){fix}") from None
    if not isinstance(state, dict) or state.get("format") != fmt:
        raise ValueError(f"{path} is not a {what} (expected format {fmt!r})")
    return state


def differing(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The keys of ``ours`` whose values ``theirs`` does not share: what makes two runs' identities differ."""
    return sorted(k for k in ours if ours[k] != theirs.get(k))


def save_atomic(data: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename: a reader never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_model(path: str | Path) -> ModelFile:
    """Read a ``model.pt``; ``FileNotFoundError`` / ``ValueError`` say what is wrong with it in one line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist (python -m nas.train train=final writes model.pt)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # garbage, or objects weights_only refuses: not a file of ours
        raise ValueError(
            f"checkpoint {path} is not readable: torch.load(weights_only=True) found no plain tensors and values in it"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"checkpoint {path} is not readable ({error_line(err)})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a model file written by nas.train (expected format {FORMAT!r})")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ValueError(f"{path} is an incomplete model file: {', '.join(missing)} missing")
    fields = {k: v for k, v in data.items() if k != "format"}
    try:
        fields["genotype"] = genotype_from_dict(data["genotype"])
        return ModelFile(**fields)
    except (TypeError, KeyError) as err:
        raise ValueError(f"{path} is not a valid model file: {err}") from None
