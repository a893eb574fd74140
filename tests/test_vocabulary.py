"""The shared vocabulary is defined once, and the records that spell it agree with it."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path
from typing import get_args

from conformance.core import vocabulary
from conformance.core.vocabulary import (
    AGENT_KINDS,
    PROCESS_AGENTS,
    REAL_TOOLS,
    SERVICES,
    AgentKind,
)
from conformance.profiles.schema import Engine
from conformance.status import Services, Status

ROOT = Path(__file__).resolve().parent.parent / "conformance"
SHARED = {name for name in vars(vocabulary) if not name.startswith("_")} - {
    "annotations",
    "dataclass",
    "Path",
    "Literal",
    "get_args",
}


def _defined(path: Path) -> set[str]:
    """The names a module defines at its top level (assignments, classes, functions)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_no_module_redefines_a_shared_name() -> None:
    redefined = {
        str(path.relative_to(ROOT.parent)): sorted(_defined(path) & SHARED)
        for path in sorted(ROOT.rglob("*.py"))
        if path.parent.name != "core" and _defined(path) & SHARED
    }
    assert not redefined


def test_the_status_services_are_the_shared_services() -> None:
    assert tuple(f.name for f in fields(Services)) == SERVICES
    assert tuple(Status().to_json()["services"]) == SERVICES


def test_agent_kinds() -> None:
    assert set(REAL_TOOLS) < set(AGENT_KINDS)
    assert set(PROCESS_AGENTS) == {*REAL_TOOLS, "command"}
    annotation: object = Engine.model_fields["type"].annotation
    assert annotation == AgentKind
    assert get_args(AgentKind) == AGENT_KINDS
