"""Every benchmark test writes its records into a temporary folder, never into benchmarks/results."""

from __future__ import annotations

import pytest

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
