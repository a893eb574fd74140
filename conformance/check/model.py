"""What the validator reports: one `Check` per rule and MIME part, gathered in a `CheckReport`.

Plain data: the renderings (terminal table, HTML page) are check/render.py's.
The JSON shape (`CheckReport.to_json`) is a public contract: the matrix, the
vector tools and testers' scripts read it. `message` summarises the MIME
tree; `checks` lists `{id, status, title, found, expected, reference, part}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

CheckStatus = Literal["SUCCESS", "ERROR", "WARNING", "INFO"]
STATUSES: tuple[CheckStatus, ...] = get_args(CheckStatus)
Severity = Literal["ERROR", "WARNING", "INFO"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)


@dataclass(frozen=True)
class Check:
    """The verdict of one rule on one MIME part ("1", "1.2", ...)."""

    id: str
    status: CheckStatus
    title: str
    found: str
    expected: str
    reference: str
    part: str

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "status": self.status,
            "title": self.title,
            "found": self.found,
            "expected": self.expected,
            "reference": self.reference,
            "part": self.part,
        }


@dataclass
class CheckReport:
    """Every check run on one message, under one policy."""

    message: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    policy: str = "osm-2008"

    @property
    def errors(self) -> list[Check]:
        return [c for c in self.checks if c.status == "ERROR"]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == "WARNING"]

    def by_id(self, rule_id: str) -> list[Check]:
        """The checks of one rule (one per part it applied to)."""
        return [c for c in self.checks if c.id == rule_id]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.status == s) for s in STATUSES}

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "message": self.message,
            "summary": self.counts(),
            "checks": [c.to_json() for c in self.checks],
        }
