"""``python -m nas.search``: MnasNet-style search for the baseline network, driven by Optuna.

The entry resolves the reference SPEC (``search:STUDY`` too) and hands the typed config to
:func:`~nas.search.run.run_search`, which opens or resumes the study and runs this worker's trials.
"""

from __future__ import annotations

from typing import Any

from nas.cli.app import console, finish, hydra_entry, run_dir
from nas.cli.references import resolve_model
from nas.cli.schema import SearchCommand
from nas.search.run import run_search

PROG = "python -m nas.search"


def run(cfg: SearchCommand) -> dict[str, Any]:
    reference = resolve_model(cfg.space.reference, cfg.study.storage)
    progress = console(PROG, cfg.progress)
    return finish(
        run_search(reference, cfg, study=cfg.study, worker=cfg.worker_settings(), out=run_dir(), progress=progress)
    )


main = hydra_entry(PROG, "search", run, workers=True)

if __name__ == "__main__":
    main()
