"""The code's layout, read from the packages themselves: each private subpackage is one layer
(pure logic, I/O, orchestration, the front end's parts) and the modules at the top are the front
ends; a module imports only its own layer and those below it, counting lazy (function-level)
and ``TYPE_CHECKING`` imports; pytest only in the front ends; nothing imports the pytest glue;
no import cycle between modules; no class past its size."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import pytest_livechat_token

PACKAGE = Path(pytest_livechat_token.__file__).parent  # the one imported: a wheel's too
NAME = PACKAGE.name
LAYERS = {
    "_base": 0,  # pure logic
    "_store": 1,  # I/O: the cache on disk
    "_auth": 1,  # I/O: the accounts server, the person, the browser, the loopback receiver
    "_api": 1,  # I/O: the Web API clients
    "_rtm": 1,  # I/O: RTM sessions
    "_core": 2,  # orchestration
    "_plugin": 3,  # the pytest front end's parts
    "": 3,  # the front ends: plugin, fixtures, cli (and the package's lazy exports)
}
FRONT = 3
GLUE = f"{NAME}.plugin"
"""What nothing imports: pytest loads it, and it imports the rest."""


@functools.cache
def _modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name (``pytest_livechat_token._core.run``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = ast.parse(path.read_text())
    return found


def _package_of(module: str) -> str:
    """The subpackage a module is in (``_core``), or "" at the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ""


def _is_package(module: str) -> bool:
    return module == NAME or (PACKAGE / Path(*module.split(".")[1:]) / "__init__.py").exists()


def _imports(module: str) -> set[str]:
    """The package's modules and the other top-level packages ``module`` imports, wherever
    it does (in a function, under ``TYPE_CHECKING``): absolute dotted names."""
    tree = _modules()[module]
    here = module if _is_package(module) else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in _modules() else target)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module if node.module.startswith(NAME) else node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name if alias.name.startswith(NAME) else alias.name.split(".")[0]
                for alias in node.names
            )
    return found


def _ours(module: str) -> set[str]:
    """The package's modules ``module`` imports (its subpackages' ``__init__`` aside, which
    hold only a docstring)."""
    return {
        name
        for name in _imports(module)
        if name.startswith(NAME) and name in _modules() and name != module
    }


def test_every_subpackage_is_a_layer() -> None:
    subpackages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert subpackages == set(LAYERS) - {""}
    assert all(name.startswith("_") for name in subpackages), "private: the API is __init__'s"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_a_module_imports_only_its_layer_and_those_below(module: str) -> None:
    rank = LAYERS[_package_of(module)]
    above = sorted(name for name in _ours(module) if LAYERS[_package_of(name)] > rank)
    assert above == [], f"{module} (layer {rank}) imports a higher layer"
    if rank < FRONT:
        assert not {"pytest", "_pytest"} & _imports(module), f"{module} is below the pytest glue"
    assert module == GLUE or GLUE not in _imports(module), "nothing imports the pytest glue"


def test_no_import_cycle() -> None:
    """No two modules import each other, however far round (Tarjan's strongly connected
    components of the import graph, lazy and ``TYPE_CHECKING`` imports counted)."""
    graph = {module: _ours(module) for module in _modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_class_over_300_lines(module: str) -> None:
    """A class past 300 lines does two jobs; a module's length is no such sign (modules are
    merged where a split by size only made fragments)."""
    for node in ast.walk(_modules()[module]):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            assert node.end_lineno - node.lineno + 1 <= 300, node.name
