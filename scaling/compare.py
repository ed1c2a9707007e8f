"""``python -m scaling.compare baseline=SPEC``: compound scaling against single-dimension scaling.

Every method scales the baseline to ``2**phi`` times its FLOPs (``scaling.compare_study``); each
model is proxy-trained as one trial of a study, so a comparison resumes where it stopped and
several workers can share it.  The accuracies are plotted against FLOPs, as in EfficientNet's
Figure 8 and Table 3; rows are in ``compare.csv``.
"""

from __future__ import annotations

from typing import Any

from nas.cli.app import console, finish, hydra_entry, run_dir
from nas.cli.references import resolve_model
from scaling.compare_study import run_compare
from scaling.grid_reference import resolve_coefficients
from scaling.schema import CompareCommand

PROG = "python -m scaling.compare"


def run(cfg: CompareCommand) -> dict[str, Any]:
    baseline = resolve_model(cfg.baseline, cfg.study.storage)
    triple = resolve_coefficients(cfg.coefficients, cfg.study.storage).triple
    place = {"study": cfg.study, "worker": cfg.worker_settings(), "out": run_dir()}
    return finish(run_compare(baseline, triple, cfg, **place, progress=console(PROG, cfg.progress)))


main = hydra_entry(PROG, "compare", run, workers=True)

if __name__ == "__main__":
    main()
