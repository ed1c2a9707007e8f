"""SPEC strings: SCHEME:NAME through entry points, and search_spaces never importing nas or scaling."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import search_spaces.spec as spec
from search_spaces.codec import save_genotype
from search_spaces.genotype import Genotype
from search_spaces.references import reference
from search_spaces.spec import SCHEME_GROUP, resolve_spec, spec_schemes, split_scheme

PACKAGE = Path(spec.__file__).parent


def test_schemes_are_split_from_names_but_drive_letters_and_blocks_are_not_schemes():
    assert split_scheme("search:my-study") == ("search", "my-study")
    assert split_scheme(" grid: g ") == ("grid", "g")
    assert split_scheme("C:/runs/best.yaml") is None
    assert split_scheme("ds_r1_k3_s1_e1_c16,ir_r2_k3_s2_e6_c24") is None
    assert split_scheme("efficientnet_b0") is None


def test_the_installed_package_registers_the_search_scheme():
    (entry,) = [e for e in importlib.metadata.entry_points(group=SCHEME_GROUP) if e.name == "search"]
    assert entry.value == "nas.search.best:best_genotype"
    assert spec_schemes()["search"] == entry


def test_an_unknown_scheme_names_the_known_ones(monkeypatch):
    with pytest.raises(ValueError, match=r"unknown SPEC scheme 'magic' in magic:x; known schemes: search:NAME \("):
        resolve_spec("magic:x")
    monkeypatch.setattr(spec, "spec_schemes", dict)  # a checkout used without installing the package
    with pytest.raises(ValueError, match=r"known schemes: none \(schemes are entry points .* pip install -e \."):
        resolve_spec("search:x")


def test_a_scheme_resolver_gets_the_name_and_the_storage(monkeypatch):
    calls = []

    class Entry:
        value = "tests:resolver"

        def load(self):
            return lambda name, storage=None: calls.append((name, storage)) or reference("mobilenet_v2")

    monkeypatch.setattr(spec, "spec_schemes", lambda: {"fake": Entry()})
    assert resolve_spec("fake:one", storage="sqlite:///x.db") == reference("mobilenet_v2")
    assert resolve_spec("fake:two") == reference("mobilenet_v2")
    assert calls == [("one", "sqlite:///x.db"), ("two", None)]
    with pytest.raises(ValueError, match="SPEC fake: names nothing; write fake:NAME"):
        resolve_spec("fake:")


def test_a_genotype_file_whose_name_looks_like_a_scheme_is_still_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_genotype(reference("mobilenet_v2"), tmp_path / "search:old.yaml")
    assert resolve_spec("search:old.yaml") == reference("mobilenet_v2")
    assert isinstance(resolve_spec("ds_r1_k3_s1_e1_c16"), Genotype)


def test_search_spaces_never_imports_nas_or_scaling():
    """Not even inside a function: a SPEC scheme reaches nas through its entry point only."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not [n for n in names if n.split(".")[0] in ("nas", "scaling")], f"{path.name}: {names}"
    code = "import sys, search_spaces.show; search_spaces.resolve_spec('efficientnet_b0'); print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'nas" not in loaded and "'scaling" not in loaded
