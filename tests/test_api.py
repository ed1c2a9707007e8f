"""The README's Python example, run as written (in a temporary directory), and the API's types."""

from __future__ import annotations

import contextlib
import io

import pytest

README_EXAMPLE = """
from nas import DatasetSpec, ProxyConfig, SearchConfig, SearchSettings, run_search
from scaling import GridConfig, GridSettings, make_family, run_grid
from search_spaces import Target, reference

data = DatasetSpec("digits")
tiny = ProxyConfig(epochs=1, width=0.25, train_size=512, val_size=256, test_size=256)
found = run_search(reference("efficientnet_b0"), SearchConfig(data, tiny, search=SearchSettings(n_trials=3)))
print(found.best)  # the best genotype, its params, FLOPs, val_acc, reward
small = GridSettings(step=0.1, alpha_max=1.2, rule="constraint", max_seeds=1)  # the paper's rule, one seed: 5 points
grid = GridConfig(data, tiny, phi=1, grid=small, latency=False)  # latency=True (the default) also times each point
coefficients = run_grid(found.genotype, grid, out="runs/api/grid")
for member in make_family(found.genotype, coefficients.triple, phis=[1, 2], latency=False):
    print(member.genotype.name, member.params, member.flops, f"{member.flops_ratio:.2f}x")
print(Target().cost(reference("efficientnet_b0")))  # Cost(params=5288548, flops=399352864)
"""


@pytest.mark.slow
def test_the_readme_python_example_runs_as_written(tmp_path, monkeypatch):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert README_EXAMPLE.strip() in readme, "the README's Python example differs from the one tested here"
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(README_EXAMPLE, "README.md", "exec"), namespace)
    found, coefficients = namespace["found"], namespace["coefficients"]
    assert found.status == 0 and found.summary["n_trials"] == 3 and found.best["val_acc"] > 0.1
    assert (tmp_path / "runs" / "api" / "search" / "best.yaml").is_file()
    assert not (tmp_path / "runs" / "studies.db").exists()  # the API's studies live in memory unless given a storage
    assert coefficients.status == 0 and len(coefficients.triple) == 3
    assert (tmp_path / "runs" / "api" / "grid" / "coefficients.yaml").is_file()
    lines = printed.getvalue().splitlines()
    assert lines[-1] == "Cost(params=5288548, flops=399352864)"
    assert any(line.startswith(f"{found.genotype.name}_phi2 ") for line in lines)


@pytest.mark.slow
def test_the_api_is_exported_lazily_and_fails_clearly():
    import nas
    import scaling

    assert nas.run_search.__module__ == "nas.search.run" and scaling.run_grid.__module__ == "scaling.grid_study"
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        nas.nothing  # noqa: B018
    from scaling import make_family

    members = make_family("efficientnet_b0", (1.2, 1.1, 1.15), phis=[1])
    # held to 2x the real FLOPs: 224 x 1.15**0.51 = 241 px, not the nominal 224 x 1.15 = 258
    assert [m.phi for m in members] == [0.0, 1.0] and members[1].genotype.resolution == 241
    with pytest.raises(ValueError, match="phis must be"):
        make_family("efficientnet_b0", (1.2, 1.1, 1.15), phis=[0])
    with pytest.raises(ValueError, match="cost_tolerance must be a number > 0, got -1"):
        make_family("efficientnet_b0", (1.2, 1.1, 1.15), phis=[1], cost_tolerance=-1)


def test_train_genotype_scores_one_network():
    from nas import DatasetSpec, ProxyConfig, TaskConfig, train_genotype
    from search_spaces import resolve_spec

    proxy = ProxyConfig(epochs=2, width=1.0, train_size=512, val_size=256, test_size=256)
    small = resolve_spec("ds_r1_k3_s1_e1_c16,ir_r1_k3_s2_e3_c24_se0.25,ir_r1_k5_s2_e3_c40")
    result = train_genotype(small, TaskConfig(DatasetSpec("digits"), proxy))
    assert result.ok and result.val_acc > 0.3 and result.test_acc > 0.3


def test_the_api_says_nothing_and_writes_nothing_but_its_outputs(tmp_path, monkeypatch, capfd):
    import warnings

    import optuna

    from nas import DatasetSpec, ProxyConfig, SearchConfig, SearchSettings, run_search

    monkeypatch.chdir(tmp_path)
    optuna.logging.set_verbosity(optuna.logging.INFO)  # as a fresh Python has it
    tiny = ProxyConfig(epochs=1, width=0.25, train_size=256, val_size=128, test_size=128)
    config = SearchConfig(DatasetSpec("digits"), tiny, search=SearchSettings(n_trials=2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = run_search("efficientnet_b0", config, out=tmp_path / "out")
    out, err = capfd.readouterr()
    assert found.status == 0 and found.summary["storage"] == "memory"
    assert out == "" and "[I " not in err and "Trial " not in err, (out, err)
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]
    assert optuna.logging.get_verbosity() == optuna.logging.INFO  # put back as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no runs/studies.db beside it
