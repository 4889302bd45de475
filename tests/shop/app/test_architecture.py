"""The layout's promises, checked on the source: one direction of dependency, no import circle,
the factory imported only by the entry points, small modules, and no view that opens a
transaction. Pure: reads files, imports nothing of the project."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("inventory", "scheduling", "shop")
LAYER = {"inventory": 0, "scheduling": 1, "shop": 2}
MAX_LINES = 600
# Only what starts the app may import the factory: gunicorn names it by string, the CLI runs it.
FACTORY_IMPORTERS = re.compile(r"^shop\.(cli|commands\..+)$")
VIEW_MODULE = re.compile(r"(^|/)(pages|api|[a-z_]+_pages|[a-z_]+_api)\.py$")
OPENS_TRANSACTION = re.compile(r"transaction\(|\bsessions\(\)|\.begin\(\)|\b_tx\(\)")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                parts = name.split(".")
                if path.name != "__init__.py":
                    parts = parts[:-1]
                base = ".".join([*parts[: len(parts) - node.level + 1], node.module])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        found.update(t for t in targets if t in known and t != name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_of_the_three_packages_has_no_cycle() -> None:
    assert _cycles(_graph()) == []


def test_no_package_imports_a_package_above_it() -> None:
    upward = defaultdict(list)
    for name, targets in _graph().items():
        for target in targets:
            if LAYER[target.split(".")[0]] > LAYER[name.split(".")[0]]:
                upward[name].append(target)
    assert dict(upward) == {}


def test_only_the_entry_points_import_the_app_factory() -> None:
    importers = sorted(name for name, targets in _graph().items() if "shop.app" in targets)
    assert [name for name in importers if not FACTORY_IMPORTERS.match(name)] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_longer_than_six_hundred_lines(package: str) -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_view_opens_a_transaction_or_a_session() -> None:
    offenders = []
    for path in (ROOT / "shop").rglob("*.py"):
        if not VIEW_MODULE.search(path.as_posix()):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if OPENS_TRANSACTION.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
