"""Where supernets are kept, and which one a run may use: its own (by identity), or a given file that fits.

``auto`` looks for the supernet whose identity is this run's under the store folder (a name with a
hash of the identity, as study names are made), trains it when it is missing and continues it when
it was stopped.  A given file is used when it was trained for the same space, data and proxy (its
own training settings may differ) and trained to the end; anything else is refused in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nas.studies.study import experiment_name
from nas.supernet.training import (
    StepCallback,
    SupernetRun,
    Trained,
    read_checkpoint,
    task_identity,
    train_supernet,
)

CHECKPOINT = "supernet.pt"


def stored_path(run: SupernetRun, store: Path) -> Path:
    """``store/supernet-<reference>-<dataset>-<hash of the identity>/supernet.pt``."""
    readable = [run.space.reference.name, run.dataset.get("name")]
    return Path(store) / experiment_name("supernet", readable, run.identity()) / CHECKPOINT


def check_supernet_file(path: Path, expected: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint at ``path`` when it is a finished supernet for the task ``expected`` describes
    (:func:`~nas.supernet.training.task_identity`); ``ValueError`` / ``FileNotFoundError`` in one line otherwise."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"supernet checkpoint {path} does not exist (python -m nas.supernet writes one)")
    state = read_checkpoint(path)
    theirs = state.get("identity", {})
    differ = [k for k in expected if expected[k] != theirs.get(k)]
    if differ:
        raise ValueError(
            f"{path} is a supernet for another {', '.join(differ)}: train one for this run "
            "(search.supernet=auto, or python -m nas.supernet with the same settings)"
        )
    if not state.get("complete"):
        raise ValueError(
            f"{path} was stopped at step {state.get('step')}: run python -m nas.supernet with its settings to finish it"
        )
    return state


def load_supernet(run: SupernetRun, path: Path) -> Trained:
    """A finished supernet from ``path`` for ``run``; ``ValueError`` when it is another task's or unfinished."""
    state = check_supernet_file(path, task_identity(run.space, run.proxy, run.dataset))
    net = run.build()
    net.load_state_dict(state["model"])
    return Trained(net, state["step"], state["seconds"], list(state["history"]), complete=True)


def obtain_supernet(
    run: SupernetRun, choice: str, store: Path, progress: StepCallback | None = None
) -> tuple[Trained, Path]:
    """``auto``: this run's own supernet, trained or continued as needed; else the file ``choice`` names."""
    if choice != "auto":
        return load_supernet(run, Path(choice)), Path(choice)
    path = stored_path(run, store)
    path.parent.mkdir(parents=True, exist_ok=True)
    return train_supernet(run, path, progress), path
