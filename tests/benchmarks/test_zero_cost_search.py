"""The equal-time search comparison keeps each finished search, so a stopped run loses at most one."""

from __future__ import annotations

import json

import pytest

from benchmarks import zero_cost_search
from nas.search.settings import SearchPrescreen


def test_a_stopped_comparison_continues_with_the_next_search(tmp_path, monkeypatch):
    ran, stop_at = [], [("tpe", 1)]

    def search(task, method, seed, budget, prescreen, bank, plan=None):
        if (method, seed) in stop_at:  # a stop during the second seed's second search
            raise KeyboardInterrupt
        ran.append((method, seed))
        reward = 0.5 + 0.01 * seed + (0.02 if method == "tpe" else 0.0)
        return {"best_reward": reward, "trials_in_time": 2, "trials": [], "curve": []}

    monkeypatch.setattr(zero_cost_search, "timed_search", search)
    kept = tmp_path / "searches.json"
    args = (None, ["random", "tpe"], [0, 1, 2], 60.0, SearchPrescreen(), {"candidates": []}, None, kept)
    with pytest.raises(KeyboardInterrupt):
        zero_cost_search.compare_searches(*args)
    assert ran == [("random", 0), ("tpe", 0), ("random", 1)]
    assert json.loads(kept.read_text())["runs"]["random"].keys() == {"0", "1"}
    stop_at.clear()
    summary = zero_cost_search.compare_searches(*args)
    assert ran[3:] == [("tpe", 1), ("random", 2), ("tpe", 2)]  # nothing finished is searched again
    assert summary["paired"]["tpe vs random"]["differences"] == [0.02, 0.02, 0.02]
    # another budget is another comparison: the kept searches are not read
    ran.clear()
    zero_cost_search.compare_searches(*args[:3], 30.0, *args[4:])
    assert len(ran) == 6
