"""The package's layers, read from its imports: nothing runs back up, nothing goes round.

Rooms, lowest first: ``console`` and ``errors`` (beside each other); ``parameters``;
``training`` and ``datasets`` (beside each other, neither importing the other);
``monitoring`` (the prediction log, which every way of using the model writes);
``pipelines``; ``tracking``; the drawing page (``demo``); Kedro's own files and the admin
command's address at the top. An import may go down or stay in its room, never up; and no
room but ``training`` reaches TensorFlow when it is imported.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from .conftest import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "src" / "mnist_pipeline"
RANKS = {
    "console": 0,
    "errors": 0,
    "parameters": 1,
    "training": 2,
    "datasets": 2,
    "monitoring": 2.5,
    "pipelines": 3,
    "tracking": 4,
    "demo": 5,
    "pipeline_registry": 6,
    "settings": 6,
    "cli": 6,
    "tracking_server": 6,
    "__main__": 6,
    "__init__": 6,
}
TENSORFLOW = ("tensorflow", "keras")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(imported module, at import time?)`` for every import in the file."""
    tree = ast.parse(path.read_text())
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    top_level = {id(node) for node in tree.body} | {
        id(child)
        for node in tree.body
        if isinstance(node, ast.If | ast.Try)
        for child in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            names = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
        else:
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        found.extend((name, id(node) in top_level) for name in names)
    return found


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@functools.cache  # the package's imports are read once per test session
def _edges(at_import_time_only: bool) -> dict[str, set[str]]:
    edges = {}
    for module, path in MODULES.items():
        edges[module] = {
            name
            for name, eager in _imports(path)
            if name in MODULES and name != module and (eager or not at_import_time_only)
        }
    return edges


def test_the_rules_know_every_room():
    assert {_room(module) for module in MODULES} <= set(RANKS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up_a_layer(module):
    room = _room(module)
    for imported in _edges(at_import_time_only=False)[module]:
        other = _room(imported)
        assert RANKS[other] <= RANKS[room], f"{module} imports {imported}, a higher layer"
        if RANKS[other] == RANKS[room] and other != room:
            pytest.fail(f"{module} imports {imported}: {room} and {other} stand side by side")


def test_no_imports_form_a_circle():
    edges = _edges(at_import_time_only=True)

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(edges[start])
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(edges.get(current, ()))
        return seen

    circles = sorted(module for module in MODULES if module in reach(module))
    assert not circles, f"import circles through {circles}"


def test_only_training_imports_tensorflow_when_imported():
    """Transitively, through the package's own modules imported at import time."""
    eager = {
        module: {name for name, at_import in _imports(path) if at_import}
        for module, path in MODULES.items()
    }

    def needs_tensorflow(module: str, seen: set[str]) -> bool:
        if module in seen:
            return False
        seen.add(module)
        if any(name.split(".")[0] in TENSORFLOW for name in eager[module]):
            return True
        return any(needs_tensorflow(name, seen) for name in eager[module] if name in MODULES)

    offenders = [
        module
        for module in MODULES
        if _room(module) != "training" and needs_tensorflow(module, set())
    ]
    assert not offenders, f"import TensorFlow when imported: {offenders}"


def test_at_most_eight_modules_beside_the_folders():
    assert len(list(PACKAGE.glob("*.py"))) <= 8
