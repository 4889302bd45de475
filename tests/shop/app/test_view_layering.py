"""The planning and production views reach the database only through shop.runtime's run/read
and the areas' services (issue 9): they open no session or transaction of their own, import no
private name of another module and do not import the app factory. Read from the source, so
these run without a database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VIEW_MODULES = [
    "shop/planning/pages.py",
    "shop/planning/api.py",
    "shop/production/pages.py",
    "shop/production/scheduler_pages.py",
]
OPENERS = {"transaction", "_tx", "sessions", "begin"}


def _tree(path: str) -> ast.Module:
    return ast.parse((ROOT / path).read_text(encoding="utf-8"), filename=path)


def _called_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return ""


@pytest.mark.parametrize("path", VIEW_MODULES)
def test_views_open_no_session_or_transaction(path: str) -> None:
    opened = [
        f"{path}:{node.lineno} {_called_name(node)}()"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Call) and _called_name(node) in OPENERS
    ]
    assert opened == []


@pytest.mark.parametrize("path", VIEW_MODULES)
def test_views_import_no_private_name_and_not_the_factory(path: str) -> None:
    tree = _tree(path)
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and alias.name != "__future__"
    ]
    factory = [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.ImportFrom) and node.module == "shop.app")
        or (isinstance(node, ast.Import) and any(a.name == "shop.app" for a in node.names))
    ]
    # Every import at module level: none hidden inside a function to dodge a cycle.
    top_level = {id(node) for node in tree.body}
    hidden = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top_level
    ]
    assert (private, factory, hidden) == ([], [], [])


def test_the_wiring_modules_only_wire() -> None:
    """web.py of planning and production define init_app and nothing a request runs."""
    for path in ("shop/planning/web.py", "shop/production/web.py"):
        functions = [n.name for n in _tree(path).body if isinstance(n, ast.FunctionDef)]
        assert functions == ["init_app"], path
