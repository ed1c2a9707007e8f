"""Every benchmark test writes its records into a temporary folder, never into benchmarks/results."""

from __future__ import annotations

import os

import pytest
from filelock import FileLock

from benchmarks import common


@pytest.fixture(autouse=True)
def results_dir(tmp_path, monkeypatch):
    """``common.RESULTS_DIR`` pointed at a fresh folder; the committed records stay untouched."""
    committed = common.RESULTS_DIR
    before = _snapshot(committed)
    folder = tmp_path / "results"
    monkeypatch.setattr(common, "RESULTS_DIR", folder)
    yield folder
    assert _snapshot(committed) == before


def _snapshot(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}


TINY_TASK = ["proxy=tiny", "dataset=digits", "proxy.train_size=256", "proxy.epochs=1", "threads=2"]
"""A task that trains a candidate in a fraction of a second: the tiny bank's and its users'."""


@pytest.fixture(scope="session")
def tiny_bank(tmp_path_factory):
    """A candidate bank of 6 members (3 per half, all with the 5x budget) built on ``TINY_TASK``.

    Built once per test run: pytest-xdist's workers share it through their common temporary folder.
    """
    from benchmarks import bank

    shared = tmp_path_factory.getbasetemp()
    folder = (shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared) / "tiny-bank"
    with FileLock(f"{folder}.lock"):
        if not (folder / "bank.json").is_file():
            folder.mkdir(parents=True, exist_ok=True)
            argv = ["--size", "6", "--five-x", "3", "--storage", str(folder / "bank.db"), "--results-dir", str(folder)]
            bank.main([*argv, *TINY_TASK])
    return folder / "bank.json"
