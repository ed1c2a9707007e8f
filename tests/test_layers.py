"""The house's shape: imports point down the layers, nothing imports a command, no module imports itself back.

Layers, lowest first: ``search_spaces``; in ``nas`` the proxy task, then the study machinery,
then zero-cost screening and the supernet, then the search (deployment beside them); then ``scaling``'s library;
then the command edge (``nas.cli``, and ``scaling``'s schema).  The commands (``python -m``
modules, whatever package names them) stand above all of it.  Imports inside functions count.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("search_spaces", "nas", "scaling")
COMMANDS = {
    "nas.search.__main__",
    "nas.supernet.__main__",
    "nas.train",
    "nas.export",
    "nas.prescreen",
    "nas.report",
    "scaling.grid",
    "scaling.family",
    "scaling.compare",
    "scaling.pipeline",
    "search_spaces.show",
    "search_spaces.latency.__main__",
}
SCALING_EDGE = {"scaling.schema", "scaling.stage_commands"}
NAS_LIBRARY = ("nas.proxy", "nas.studies", "nas.screening", "nas.supernet", "nas.search", "nas.deploy")
MAY_IMPORT = {  # room: the rooms it may import (besides itself)
    "search_spaces": (),
    "nas.proxy": ("search_spaces",),
    "nas.studies": ("search_spaces", "nas.proxy"),
    "nas.screening": ("search_spaces", "nas.proxy"),
    "nas.deploy": ("search_spaces", "nas.proxy"),
    "nas.supernet": ("search_spaces", "nas.proxy", "nas.studies", "nas.deploy"),
    "nas.search": ("search_spaces", "nas.proxy", "nas.studies", "nas.screening", "nas.supernet"),
    "nas.cli": ("search_spaces", *NAS_LIBRARY),
    "scaling": ("search_spaces", *NAS_LIBRARY, "nas"),
    "scaling.edge": ("search_spaces", *NAS_LIBRARY, "nas", "nas.cli", "scaling"),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of the house that ``name`` imports (a name imported from a package counts as its module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])]
                )
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def room(module: str) -> str:
    if module in SCALING_EDGE:
        return "scaling.edge"
    if module.startswith("scaling"):
        return "scaling"
    for prefix in ("nas.cli", *NAS_LIBRARY):
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return "search_spaces" if module.startswith("search_spaces") else module


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_imports_point_down_the_layers():
    back_up = []
    for module, targets in graph().items():
        if module in COMMANDS or module in ("nas",):
            continue
        allowed = (room(module), *MAY_IMPORT[room(module)])
        back_up += [f"{module} -> {t}" for t in targets if room(t) not in allowed and t not in ("nas", "scaling")]
    assert not back_up, back_up


def test_nothing_imports_a_command():
    importers = [f"{m} -> {t}" for m, targets in graph().items() for t in targets if t in COMMANDS]
    assert not importers, importers


def test_no_module_imports_itself_back():
    edges = {
        m: {t for t in ts if not (ROOT / Path(*t.split("."), "__init__.py")).exists()} for m, ts in graph().items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_nas_holds_rooms_and_commands_only():
    loose = {p.stem for p in (ROOT / "nas").glob("*.py")} - {"__init__"}
    assert loose == {m.split(".")[1] for m in COMMANDS if m.startswith("nas.") and m.count(".") == 1}
    rooms = sorted(p.name for p in (ROOT / "nas").iterdir() if (p / "__init__.py").is_file())
    assert rooms == ["cli", "deploy", "proxy", "screening", "search", "studies", "supernet"]
    for name in rooms:  # each room says what it owns
        doc = ast.get_docstring(ast.parse((ROOT / "nas" / name / "__init__.py").read_text()))
        assert doc and len(doc) > 80, name
