"""The code's layout as docs/explanation/design.md states it: every module in one layer of its
table, each importing only its own layer and those above it (lazy imports too), pytest only in
the front ends, and no module or class past its size."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "pytest_livechat_token"
DESIGN = Path(__file__).parents[2] / "docs" / "explanation" / "design.md"
ENTRY_POINTS = {"__init__", "__main__"}
"""The package itself (lazy exports) and ``python -m``: above no layer, in none."""


@functools.cache
def _layers() -> list[tuple[str, frozenset[str]]]:
    rows = re.findall(r"^\| ([A-Za-z/ ]+) \| ((?:`\w+`(?:, )?)+) \|", DESIGN.read_text(), re.M)
    return [(layer, frozenset(re.findall(r"`(\w+)`", modules))) for layer, modules in rows]


@functools.cache
def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(PACKAGE.glob("*.py"))}


def _imports(tree: ast.Module) -> set[str]:
    """The package's modules and the top-level packages ``tree`` imports, wherever it does."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add(node.module or "")
            if not node.module:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def test_every_module_is_in_one_layer() -> None:
    placed = [module for _, modules in _layers() for module in modules]
    assert len(_layers()) == 4
    assert sorted(placed) == sorted(set(_modules()) - ENTRY_POINTS)


@pytest.mark.parametrize("module", sorted(set(_modules()) - ENTRY_POINTS))
def test_a_module_imports_only_its_layer_and_those_above(module: str) -> None:
    layers = _layers()
    rank = {name: index for index, (_, modules) in enumerate(layers) for name in modules}
    imports = _imports(_modules()[module])
    below = sorted(name for name in imports if rank.get(name, -1) > rank[module])
    assert below == [], f"{module} ({layers[rank[module]][0]}) imports a lower layer"
    if layers[rank[module]][0] != "front ends":
        assert "pytest" not in imports, f"{module} is below the pytest glue"
        assert "_pytest" not in imports


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_over_450_lines_and_no_class_over_300(module: str) -> None:
    source = (PACKAGE / f"{module}.py").read_text()
    assert source.count("\n") <= 450
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            assert node.end_lineno - node.lineno + 1 <= 300, node.name
