"""Studies written by an earlier version resume under their own names and train nothing again.

``data/studies_v1.db`` was written by the code of commit 1d92d1c (before study identities carried a
version), ``data/studies_v2.db`` by the code of commit 7002721 (identity version 2, before the
supernet), with the command lines below (where that code needed ``+proxy.schedule=cosine``, the
schema now has the key); ``data/mobilenet_eps.yaml`` is MobileNetV2 with timm's BatchNorm epsilon
(an identity field that older code recorded only when not the default).
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import optuna
import pytest

DATA = Path(__file__).parent / "data"
TINY = [
    "dataset=digits",
    "proxy=tiny",
    "proxy.epochs=1",
    "proxy.train_size=256",
    "proxy.val_size=128",
    "proxy.test_size=128",
    "threads=1",
    "progress=false",
]
V1_STUDIES = {
    "search-efficientnet_b0-digits-tpe-soft-seed0-dd9863f0": ("nas.search", ["search.n_trials=2"]),
    "search-efficientnet_b0-digits-tpe-hard-seed1-ebacc4de": (
        "nas.search",
        [
            "search.n_trials=2",
            "objective=hard",
            "proxy.schedule=cosine",
            "search.prescreen.score=synflow",
            "search.prescreen.pool=4",
            "search.prescreen.top=1",
            "search.prescreen.batch_size=16",
            "seed=1",
        ],
    ),
    "search-mobilenet_v2-digits-random-soft-seed0-95a402fe": (
        "nas.search",
        ["search.n_trials=1", f"space.reference={DATA / 'mobilenet_eps.yaml'}", "search.sampler=random"],
    ),
    "grid-efficientnet_b0-phi1-digits-bb7d8b9c": (
        "scaling.grid",
        [
            "phi=1",
            "baseline=efficientnet_b0",
            "grid.alpha_max=1.2",
            "grid.beta_max=1.1",
            "grid.gamma_max=1.1",
            "grid.step=0.1",
            "grid.tolerance=0.3",
            "grid.rule=constraint",  # the rule and the single seed every grid had before version 4
            "grid.max_seeds=1",
            "latency=false",
        ],
    ),
    "compare-efficientnet_b0-digits-3661c22a": (
        "scaling.compare",
        ["baseline=efficientnet_b0", "phis=[1]", "methods=[depth]", "latency=false"],
    ),
}


V2_STUDIES = {
    "search-efficientnet_b0-digits-tpe-soft-seed0-dd9863f0": V1_STUDIES[
        "search-efficientnet_b0-digits-tpe-soft-seed0-dd9863f0"
    ],
    "search-efficientnet_b0-digits-tpe-hard-seed1-0ed936af": (
        "nas.search",
        [
            "search.n_trials=2",
            "objective=hard",
            "search.prescreen.score=synflow",
            "search.prescreen.pool=4",
            "search.prescreen.top=1",
            "search.prescreen.batch_size=16",
            "seed=1",
        ],
    ),
    "grid-efficientnet_b0-phi1-digits-bb7d8b9c": V1_STUDIES["grid-efficientnet_b0-phi1-digits-bb7d8b9c"],
}
EARLIER = {"studies_v1.db": V1_STUDIES, "studies_v2.db": V2_STUDIES}


@pytest.mark.parametrize(("db", "name"), [(db, name) for db, studies in EARLIER.items() for name in studies])
def test_a_study_of_an_earlier_version_resumes_under_its_name(db, name, tmp_path, monkeypatch, capsys):
    shutil.copy(DATA / db, tmp_path / "studies.db")
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    before = {t.number: t.state for t in optuna.load_study(study_name=name, storage=storage).trials}
    module, extra = EARLIER[db][name]
    argv = [module, *TINY, *extra, f"study.storage={storage}", f"hydra.run.dir={tmp_path / 'run'}"]
    monkeypatch.setattr(sys, "argv", argv)
    entry = "nas.search.__main__" if module == "nas.search" else module  # nas.search is a package
    importlib.import_module(entry).main()
    out = capsys.readouterr().out
    assert f"study {name!r} on {storage} (resumed" in out
    assert sorted(optuna.get_all_study_names(storage)) == sorted(EARLIER[db])  # no new study
    after = {t.number: t.state for t in optuna.load_study(study_name=name, storage=storage).trials}
    assert after == before  # nothing trained again
    assert (tmp_path / "run" / "summary.json").is_file()
