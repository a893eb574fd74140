"""The import graph: no circle between subpackages, none between the files of one package.

Every import statement of every module counts, including those inside
functions and under ``TYPE_CHECKING``: a lazy import hides a circle from the
interpreter, not from the design. The graph is read from the source (AST),
not from ``sys.modules``, so nothing is imported to check it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "conformance"


@dataclass(frozen=True)
class Edge:
    """One import statement: `source` imports `target` at `where` (path:line)."""

    source: str
    target: str
    where: str


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_edges(root: Path, package: str) -> tuple[set[str], list[Edge]]:
    """Every module of `package` under `root`, and every import statement between them."""
    files = {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    modules = set(files)
    edges: list[Edge] = []
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            for target in imported(node, name, is_package, modules):
                if target == package or target.startswith(package + "."):
                    edges.append(Edge(name, target, where))
    return modules, edges


def imported(node: ast.AST, name: str, is_package: bool, modules: set[str]) -> Iterable[str]:
    """The modules one statement imports (a `from M import x` names M.x when x is a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join([*base, *([node.module] if node.module else [])])
    else:
        module = node.module or ""
    return [
        f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
        for alias in node.names
    ]


def collapse(module: str, package: str) -> str | None:
    """The child of `package` that `module` lies in (the package itself for its __init__)."""
    if module == package:
        return package
    if not module.startswith(package + "."):
        return None
    return f"{package}.{module[len(package) + 1 :].split('.')[0]}"


def find_cycle(edges: list[Edge], package: str) -> list[Edge] | None:
    """A circle among the children of `package`, as the import statements that close it."""
    graph: dict[str, dict[str, Edge]] = {}
    for edge in edges:
        source, target = collapse(edge.source, package), collapse(edge.target, package)
        if source is None or target is None or source == target:
            continue
        graph.setdefault(source, {}).setdefault(target, edge)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[tuple[str, Edge | None]] = []

    def visit(node: str) -> list[Edge] | None:
        state[node] = 1
        for target, edge in sorted(graph.get(node, {}).items()):
            if state.get(target) == 1:
                start = next(i for i, (n, _) in enumerate(path) if n == target)
                return [e for _, e in path[start + 1 :] if e is not None] + [edge]
            if target not in state:
                path.append((target, edge))
                found = visit(target)
                if found:
                    return found
                path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            path[:] = [(start, None)]
            found = visit(start)
            if found:
                return found
    return None


def describe(cycle: list[Edge]) -> str:
    return "\n".join(f"  {e.source} -> {e.target}  ({e.where})" for e in cycle)


MODULES, EDGES = read_edges(ROOT, PACKAGE)
PACKAGES = sorted(module_name(p, ROOT) for p in (ROOT / PACKAGE).rglob("__init__.py"))


def test_no_cycle_between_subpackages() -> None:
    cycle = find_cycle(EDGES, PACKAGE)
    assert cycle is None, "import circle between subpackages:\n" + describe(cycle or [])


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != PACKAGE])
def test_no_cycle_between_files_of_a_package(package: str) -> None:
    cycle = find_cycle(EDGES, package)
    assert cycle is None, f"import circle inside {package}:\n" + describe(cycle or [])


def test_core_imports_nothing_above_it() -> None:
    core = f"{PACKAGE}.core"
    upward = [e for e in EDGES if collapse(e.source, core) and not collapse(e.target, core)]
    assert not upward, f"{core} imports from above it:\n" + describe(upward)


def test_the_check_finds_a_cycle(tmp_path: Path) -> None:
    """The graph check itself can fail: a planted circle (lazy, TYPE_CHECKING) is found."""
    pkg = tmp_path / "toy"
    (pkg / "a").mkdir(parents=True)
    (pkg / "b").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "b" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("from ..b import y\n")
    (pkg / "b" / "y.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from toy.a.x import Z\n"
        "def f() -> None:\n    from . import z\n"
    )
    (pkg / "b" / "z.py").write_text("")
    _, edges = read_edges(tmp_path, "toy")
    cycle = find_cycle(edges, "toy")
    assert cycle is not None
    assert {(e.source, e.target) for e in cycle} == {("toy.a.x", "toy.b.y"), ("toy.b.y", "toy.a.x")}
    assert find_cycle(edges, "toy.b") is None
    (pkg / "b" / "z.py").write_text("def g() -> None:\n    from .y import f\n")
    _, edges = read_edges(tmp_path, "toy")
    inner = find_cycle(edges, "toy.b")
    assert inner is not None
    assert {(e.source, e.target) for e in inner} == {("toy.b.y", "toy.b.z"), ("toy.b.z", "toy.b.y")}


# The layers of docs/design.md, from the bottom; a module imports only from its
# own layer and those below. Each package's `cli` module and the benchmarks are
# entry points, in the command-line layer whatever package holds them.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    (
        "errors",
        "paths",
        "pem_files",
        "json_files",
        "status",
        "functions",
        "results",
        "replay_note",
        "search",
        "cli_support",
        "loopback",
        "signals",
    ),
    ("pki", "token", "directory"),
    ("mail",),
    ("smime",),
    ("scenarios",),
    ("check",),
    ("apicrypt", "profiles", "agents"),
    ("rejections",),
    ("report",),
    ("matrix",),
    ("adapters", "choose"),
    ("vectors",),
    ("serve",),
    ("fuzz",),
    (
        "cli",
        "__main__",
        "pytest_plugin",
        "schemas",
        "bench",
        "bench_compare",
        "bench_large",
        "matrix.bench",
        "directory_cli",
    ),
)


def layer_of(module: str) -> int:
    """The layer of a module: its `cli` modules and benchmarks are command line."""
    relative = module.removeprefix(PACKAGE + ".")
    if relative.split(".")[-1] == "cli" or relative == PACKAGE:
        return len(LAYERS) - 1
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, names in enumerate(LAYERS):
        for name in names:
            inside = relative == name or relative.startswith(name + ".")
            if inside and (best is None or len(name) > best[0]):
                best = (len(name), index)
    assert best is not None, f"{module} is in no layer of LAYERS: add it (and to docs/design.md)"
    return best[1]


def test_no_layer_imports_a_higher_one() -> None:
    upward = [
        e
        for e in EDGES
        if e.source != PACKAGE and e.target != PACKAGE and layer_of(e.target) > layer_of(e.source)
    ]
    assert not upward, "imports from a higher layer (docs/design.md, Layers):\n" + describe(upward)
