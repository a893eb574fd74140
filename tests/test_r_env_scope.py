"""No test module changes the environment when it is imported: pytest imports every module
at collection, so such a change holds for every test run after it in the process (the token
kind, OSM_CONFORMANCE_TOKEN, silently made `software` for the whole suite). A module sets
what it needs in a fixture (`monkeypatch.setenv`, `agents_support.software_keys`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
WRITES = {"setdefault", "update", "pop", "popitem", "clear", "__setitem__", "__delitem__"}
# os.putenv/unsetenv, and a MonkeyPatch made at import (`MonkeyPatch().setenv`: never undone).
CALLS = {"putenv", "unsetenv", "setenv", "delenv"}


def _is_environ(node: ast.expr) -> bool:
    """`os.environ`, or `environ` imported from os."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _changes_environment(node: ast.AST) -> bool:
    """os.environ written by a method, `[...] =`, `del` or `|=`, or os.putenv/unsetenv (or a
    MonkeyPatch's setenv/delenv) called."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method = node.func.attr
        return method in CALLS or (_is_environ(node.func.value) and method in WRITES)
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign | ast.Delete):
        targets = node.targets
    elif isinstance(node, ast.AugAssign):
        if _is_environ(node.target):
            return True  # os.environ |= {...}
        targets = [node.target]
    return any(isinstance(t, ast.Subscript) and _is_environ(t.value) for t in targets)


def _import_time_changes(tree: ast.Module) -> list[int]:
    """The lines, outside any function or class, that change the environment."""
    found: list[int] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, SCOPES):
            continue
        if _changes_environment(node):
            found.append(getattr(node, "lineno", 0))
        pending.extend(ast.iter_child_nodes(node))
    return sorted(found)


@pytest.mark.parametrize("path", sorted(TESTS.glob("*.py")), ids=lambda p: p.name)
def test_a_test_module_changes_no_environment_at_import(path: Path) -> None:
    lines = _import_time_changes(ast.parse(path.read_text(encoding="utf-8")))
    assert lines == [], f"{path.name}: the environment changed at import, lines {lines}"


def test_the_scan_finds_a_change_at_import_and_not_in_a_function() -> None:
    """test_e_vectors.py's old line and a change under `if` are found; a read, and a change
    in a function (a fixture's), are not."""
    module = ast.parse(
        "import os\n"
        'os.environ.setdefault("OSM_CONFORMANCE_TOKEN", "software")\n'
        'KIND = os.environ.get("OSM_CONFORMANCE_TOKEN")\n'
        'if True:\n    os.environ["A"] = "b"\n'
        "def fixture(monkeypatch):\n    os.environ.pop('A')\n    monkeypatch.setenv('A', 'b')\n"
        'os.environ |= {"A": "b"}\n'
        "from os import environ\n"
        'environ["A"] = "b"\n'
        'pytest.MonkeyPatch().setenv("A", "b")\n'
    )
    assert _import_time_changes(module) == [2, 5, 9, 11, 12]
