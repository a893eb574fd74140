"""The numbered catalogue of conformance rules.

Each rule is a small function registered with `@rule(...)` under a stable id
(HDR-001, MIME-003, ...): ids are never reused or renumbered, because
testers' reports and the matrix refer to them. A rule yields one `Outcome`
per MIME part (or certificate, or CMS object) it applies to, and nothing
when it does not apply; its severity comes from the policy, not from here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.check.model import CheckStatus
from conformance.core.bilingual import Bilingual

if TYPE_CHECKING:
    from conformance.check.context import Context

GROUPS: dict[str, str] = {
    "HDR": "RFC 5322 headers",
    "MIME": "MIME structure",
    "SMIME": "S/MIME layer",
    "CMS": "CMS signature",
    "ENC": "Encryption",
    "CERT": "Certificates",
    "PAY": "Payload",
}
RULE_MODULES = ("headers", "mime", "smime", "cms", "encryption", "certificates", "payload")
_ID = re.compile(r"^(HDR|MIME|SMIME|CMS|ENC|CERT|PAY)-\d{3}$")


@dataclass(frozen=True)
class Outcome:
    """One finding of a rule. `status` None: SUCCESS when `passed`, else the policy's severity.

    A rule sets `status` itself for graded algorithm choices (the policy's
    grade), and INFO when it could not judge ("not checked: no trust anchors
    given"), which it says with `checked` False (`not_checked` builds those).
    """

    part: str
    passed: bool
    found: str | Bilingual  # Bilingual: written in French too (check --lang fr shows it)
    expected: str | Bilingual
    status: CheckStatus | None = None
    checked: bool = True


def not_checked(part: str, found: str | Bilingual, expected: str | Bilingual) -> Outcome:
    """A rule that could not judge: INFO, and the message's verdict is incomplete."""
    return Outcome(part, False, found, expected, "INFO", checked=False)


RuleFunction = Callable[["Context"], Iterable[Outcome]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    reference: str
    description: str
    function: RuleFunction

    @property
    def group(self) -> str:
        return self.id.split("-", 1)[0]


_RULES: dict[str, Rule] = {}


def rule(
    rule_id: str, title: str, reference: str, description: str
) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule function under its stable id."""
    if not _ID.match(rule_id):
        raise ValueError(f"rule id {rule_id!r} is not GROUP-NNN")

    def register(function: RuleFunction) -> RuleFunction:
        if rule_id in _RULES and _RULES[rule_id].function is not function:
            raise ValueError(f"rule id {rule_id} registered twice")
        _RULES[rule_id] = Rule(rule_id, title, reference, description, function)
        return function

    return register


def _sort_key(rule_id: str) -> tuple[int, int]:
    group, number = rule_id.split("-")
    return (list(GROUPS).index(group), int(number))


# The catalogue in order, with the registry it was sorted from (a copy: a rule
# registered or replaced since, a test's included, sorts it again).
_ordered: tuple[dict[str, Rule], list[Rule]] | None = None


def all_rules() -> list[Rule]:
    """Every rule, in catalogue order (group, then number). Sorted once: every message
    checked asks for it several times."""
    global _ordered
    for name in RULE_MODULES:
        importlib.import_module(f"conformance.check.rules.{name}")
    if _ordered is None or _ordered[0] != _RULES:
        _ordered = (dict(_RULES), [_RULES[i] for i in sorted(_RULES, key=_sort_key)])
    return list(_ordered[1])


def rule_ids() -> frozenset[str]:
    """The ids of every rule: what a policy must give a severity to."""
    return frozenset(r.id for r in all_rules())


def get_rule(rule_id: str) -> Rule | None:
    return {r.id: r for r in all_rules()}.get(rule_id)
