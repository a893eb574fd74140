"""What the validator reports: one `Check` per rule and MIME part, gathered in a `CheckReport`.

Plain data: the renderings (terminal table, HTML page) are check/render.py's.
The JSON shape (`CheckReport.to_json`) is a public contract: the matrix, the
vector tools and testers' scripts read it. `message` summarises the MIME
tree; `checks` lists `{id, status, title, found, expected, reference, part}`.
Format 2 added, without changing those: `format`, `verdict`, `trust` (the
anchors and CRLs used) and, for a file checked in its CRLF form, `line_endings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

JSON_FORMAT = 2  # bumped when a key of to_json() changes meaning or goes away

CheckStatus = Literal["SUCCESS", "ERROR", "WARNING", "INFO"]
STATUSES: tuple[CheckStatus, ...] = get_args(CheckStatus)
Severity = Literal["ERROR", "WARNING", "INFO"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
VerdictStatus = Literal["conformant", "non-conformant", "incomplete"]
# The exit status of `check` for each verdict (2 is the usage error of every command).
EXIT_CODES: dict[VerdictStatus, int] = {"conformant": 0, "non-conformant": 1, "incomplete": 3}


@dataclass(frozen=True)
class Check:
    """The verdict of one rule on one MIME part ("1", "1.2", ...). `checked` False: the rule
    could not judge (no trust anchor, no CRL, no identity given): INFO, and the message's
    verdict is then incomplete rather than conformant."""

    id: str
    status: CheckStatus
    title: str
    found: str
    expected: str
    reference: str
    part: str
    checked: bool = True
    # `found` and `expected` in French where the rule wrote them so (None: English only);
    # for the person reading `check --lang fr`, never in the JSON (a contract).
    found_fr: str | None = None
    expected_fr: str | None = None
    # A title of its own (the runner's parse failure), not its rule's: its French (None: the
    # rule's French title).
    title_fr: str | None = None

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


@dataclass(frozen=True)
class Verdict:
    """The one-line answer: conformant, non-conformant (an ERROR), or incomplete (no
    ERROR, but a rule could not judge: the message is not shown conformant)."""

    status: VerdictStatus
    errors: int
    warnings: int
    unchecked: tuple[str, ...]  # the rule ids that could not judge, each once

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "errors": self.errors,
            "warnings": self.warnings,
            "not_checked": list(self.unchecked),
        }


@dataclass
class CheckReport:
    """Every check run on one message, under one policy. `trust` records the anchors and
    CRLs used (`origin`: "given", "test-pki" or "none"); `line_endings`, for a file the
    command line also checked in its CRLF form, which form verified."""

    message: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    policy: str = "osm-2008"
    trust: dict[str, Any] = field(
        default_factory=lambda: {"origin": "none", "anchors": [], "crls": []}
    )
    line_endings: dict[str, str] | None = None

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

    def verdict(self) -> Verdict:
        errors, warnings = len(self.errors), len(self.warnings)
        unchecked = tuple(dict.fromkeys(c.id for c in self.checks if not c.checked))
        status: VerdictStatus = "conformant"
        if errors:
            status = "non-conformant"
        elif unchecked:
            status = "incomplete"
        return Verdict(status, errors, warnings, unchecked)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": JSON_FORMAT,
            "policy": self.policy,
            "verdict": self.verdict().to_json(),
            "trust": self.trust,
            "message": self.message,
            "summary": self.counts(),
            "checks": [c.to_json() for c in self.checks],
        }
        if self.line_endings is not None:
            data["line_endings"] = self.line_endings
        return data
