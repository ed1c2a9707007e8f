"""``python -m scaling.compare baseline=SPEC``: compound scaling against single-dimension scaling.

Every method scales the baseline to ``2**phi`` times its FLOPs (``scaling.compare_study``); each
model is proxy-trained as one trial of a study, so a comparison resumes where it stopped and
several workers can share it.  The accuracies are plotted against FLOPs, as in EfficientNet's
Figure 8 and Table 3; rows are in ``compare.csv``.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from nas.cli.app import hydra_entry, plain, proxy_task, scaled_latency
from nas.cli.command import study_command
from scaling.coefficients import parse_coefficients
from scaling.compare_study import METHODS, CompareJob, method_multipliers
from scaling.compound import parse_phis
from search_spaces.spec import resolve_spec

__all__ = ["METHODS", "method_multipliers", "run"]

PROG = "python -m scaling.compare"


def run(cfg: DictConfig) -> dict[str, Any]:
    job = CompareJob(
        baseline=resolve_spec(cfg.baseline, storage=cfg.study.storage),
        coefficients=parse_coefficients(plain(cfg.coefficients), storage=cfg.study.storage).triple,
        phis=tuple(parse_phis(plain(cfg.phis))),
        methods=tuple(str(m) for m in plain(cfg.methods)),
        latency=scaled_latency(cfg),
        x=cfg.compare.x,
        **proxy_task(cfg),
    )
    return study_command(PROG, job, cfg)


main = hydra_entry(PROG, "compare", run, workers=True)

if __name__ == "__main__":
    main()
