"""``python -m nas.export model=SPEC [checkpoint=model.pt] formats=[onnx,pt2,timm]``: a network as portable files.

Writes ``model.onnx``, ``model.pt2``, ``timm.txt`` (as asked), ``genotype.yaml`` and ``README.md``
into the run directory; each network file is run after writing and compared with PyTorch.  Bad
input is one line and exit status 2; a file that computes other logits is one line and exit status 1.
Either way nothing of this run is left in the folder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from nas.cli.app import hydra_entry, run_dir
from nas.cli.references import resolve_model
from nas.cli.schema import ExportCommand, slug
from nas.deploy.export import ExportResult, export_network, network_to_export, require_packages
from nas.deploy.formats import ParityError

PROG = "python -m nas.export"


def export_slug(model: Any, checkpoint: Any) -> str:
    """The run directory's name: the SPEC's slug, else ``checkpoint-<the checkpoint's folder>``."""
    if model is not None:
        return slug(model)
    if checkpoint is not None:
        return f"checkpoint-{slug(Path(str(checkpoint)).expanduser().absolute().parent.name or 'root')}"
    return "none"


def run(cfg: ExportCommand) -> ExportResult:
    """Check the formats and their packages first, then export the network into the run directory."""
    formats = cfg.formats
    require_packages(formats)  # before any work: a missing package is a one-line fix
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    genotype = None if cfg.model is None else resolve_model(cfg.model, cfg.study.storage)
    model, random_weights = network_to_export(genotype, cfg.checkpoint, cfg, cfg.seed)
    if random_weights:
        print(
            "WARNING: no checkpoint given: the exported network has RANDOM WEIGHTS, for deployment tests only "
            "(checkpoint=model.pt exports a trained one)",
            flush=True,
        )
    out = run_dir()
    print(
        f"exporting {model.genotype.name} ({model.num_classes} classes, input {model.in_chans}x{model.resolution}"
        f"x{model.resolution}) as {', '.join(formats)}",
        flush=True,
    )
    try:
        result = export_network(model, out, cfg, random_weights)
    except ParityError as err:
        print(f"{PROG}: error: {' '.join(str(err).split())}", file=sys.stderr, flush=True)
        sys.exit(1)
    for parity in result.parity:
        print(parity.describe())
    if result.timm_problems:
        print(f"timm.txt: timm cannot build this network: {'; '.join(result.timm_problems)}")
    print(f"wrote {', '.join(result.files)}")
    print(f"outputs: {out}")
    return result


main = hydra_entry(PROG, "export", run, resolvers={"export_slug": export_slug})

if __name__ == "__main__":
    main()
