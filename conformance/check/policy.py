"""Policies as data: per rule the severity of a failure, per algorithm its grade.

A policy is a YAML file in conformance/check/policies/ (`osm-2008`: what the
homologation of the time accepted; `modern`: today's practice). It names the
severity (ERROR, WARNING, INFO) of every rule of the catalogue, and grades
the algorithms a message may use: an algorithm listed with SUCCESS is
accepted, one listed with WARNING or INFO is tolerated and reported, one not
listed fails with the rule's severity.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

import yaml

from conformance.check.model import SEVERITIES, STATUSES, CheckStatus, Severity
from conformance.errors import UserError

ALGORITHM_KINDS = (
    "digest",
    "signature",
    "content_cipher",
    "key_transport",
    "certificate_signature",
)
DEFAULT_POLICY = "osm-2008"
THRESHOLDS = ("min_rsa_bits", *(f"algorithms.{kind}" for kind in ALGORITHM_KINDS))
"""The thresholds a policy must cite, as profile facts are: sourced, or assumed with a reason."""
_CITATION_KEYS = ("source", "quote", "note", "assumed", "reason")


@dataclass(frozen=True)
class Citation:
    """Where a threshold comes from: a document (and the place in it), or an assumption."""

    source: str | None = None
    quote: str | None = None
    note: str | None = None
    assumed: bool = False
    reason: str | None = None

    @property
    def label(self) -> str:
        """One line for the rule reference: `source: ...` or `assumed: ...`."""
        if self.assumed:
            return f"assumed: {self.reason}"
        text = f"source: {self.source}"
        if self.quote:
            text += f' ("{self.quote}")'
        return f"{text}; {self.note}" if self.note else text


@dataclass(frozen=True)
class Policy:
    id: str
    title: str
    description: str
    severities: dict[str, Severity]
    grades: dict[str, dict[str, CheckStatus]]
    min_rsa_bits: int
    provenance: dict[str, Citation]
    title_fr: str | None = None  # the title on a French report (`check --lang fr`)

    def title_in(self, lang: str) -> str:
        """The title in `lang`: the French one on a French report when the policy gives it."""
        return self.title_fr if lang == "fr" and self.title_fr else self.title

    def severity(self, rule_id: str) -> Severity:
        return self.severities.get(rule_id, "ERROR")

    def grade(self, kind: str, name: str) -> CheckStatus | None:
        """The status of an algorithm choice; None when the policy does not list it (refused)."""
        return self.grades.get(kind, {}).get(name)

    def accepted(self, kind: str) -> list[str]:
        return [n for n, s in self.grades.get(kind, {}).items() if s == "SUCCESS"]


def policy_names() -> list[str]:
    folder = resources.files("conformance.check") / "policies"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def _fail(where: str, what: str) -> UserError:
    return UserError(f"policy {where}: {what}")


def parse_policy(data: Any, where: str, rule_ids: Collection[str]) -> Policy:
    """Validate a policy's YAML data against the catalogue's `rule_ids` (a severity
    for each, no other); UserError naming the file and field at fault."""
    if not isinstance(data, dict):
        raise _fail(where, "expected a mapping at the top level")
    for key in ("id", "title", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _fail(where, f"field {key!r} must be a non-empty string")
    title_fr = data.get("title_fr")
    if title_fr is not None and (not isinstance(title_fr, str) or not title_fr.strip()):
        raise _fail(where, "field 'title_fr' must be a non-empty string")
    severities = data.get("severity")
    if not isinstance(severities, dict):
        raise _fail(where, "field 'severity' must map rule ids to ERROR, WARNING or INFO")
    known = set(rule_ids)
    unknown = sorted(set(map(str, severities)) - known)
    if unknown:
        raise _fail(where, f"severity: unknown rule id(s) {', '.join(unknown)}")
    missing = sorted(known - set(map(str, severities)))
    if missing:
        raise _fail(where, f"severity: no severity for rule(s) {', '.join(missing)}")
    for rule_id, value in severities.items():
        if value not in SEVERITIES:
            raise _fail(
                where, f"severity.{rule_id}: {value!r} is not one of {', '.join(SEVERITIES)}"
            )
    algorithms = data.get("algorithms")
    if not isinstance(algorithms, dict):
        raise _fail(where, "field 'algorithms' must be a mapping")
    grades: dict[str, dict[str, CheckStatus]] = {}
    for kind in ALGORITHM_KINDS:
        table = algorithms.get(kind)
        if not isinstance(table, dict) or not table:
            raise _fail(where, f"algorithms.{kind} must map algorithm names to a status")
        for name, status in table.items():
            if status not in STATUSES:
                raise _fail(
                    where,
                    f"algorithms.{kind}.{name}: {status!r} is not one of {', '.join(STATUSES)}",
                )
        grades[kind] = {str(k): cast(CheckStatus, v) for k, v in table.items()}
    extra = sorted(set(algorithms) - set(ALGORITHM_KINDS))
    if extra:
        raise _fail(where, f"algorithms: unknown kind(s) {', '.join(extra)}")
    bits = data.get("min_rsa_bits")
    if not isinstance(bits, int) or isinstance(bits, bool) or bits < 512:
        raise _fail(where, "field 'min_rsa_bits' must be an integer of at least 512")
    return Policy(
        id=data["id"],
        title=data["title"].strip(),
        description=" ".join(data["description"].split()),
        severities={str(k): cast(Severity, v) for k, v in severities.items()},
        grades=grades,
        min_rsa_bits=bits,
        provenance=_parse_provenance(data.get("provenance"), where),
        title_fr=title_fr.strip() if title_fr else None,
    )


def _parse_provenance(data: Any, where: str) -> dict[str, Citation]:
    """A citation for every threshold, like a profile's facts: sourced, or assumed with a reason."""
    if not isinstance(data, dict):
        raise _fail(where, f"field 'provenance' must cite each of {', '.join(THRESHOLDS)}")
    unknown = sorted(set(map(str, data)) - set(THRESHOLDS))
    if unknown:
        raise _fail(where, f"provenance: unknown threshold(s) {', '.join(unknown)}")
    missing = [t for t in THRESHOLDS if t not in data]
    if missing:
        raise _fail(where, f"provenance: no citation for {', '.join(missing)}")
    out: dict[str, Citation] = {}
    for key in THRESHOLDS:
        entry = data[key]
        at = f"provenance.{key}"
        if not isinstance(entry, dict) or set(map(str, entry)) - set(_CITATION_KEYS):
            raise _fail(where, f"{at}: expected a mapping of {', '.join(_CITATION_KEYS)}")
        texts = {k: entry.get(k) for k in ("source", "quote", "note", "reason")}
        for name, value in texts.items():
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise _fail(where, f"{at}.{name} must be a non-empty string")
        assumed = entry.get("assumed", False)
        if not isinstance(assumed, bool):
            raise _fail(where, f"{at}.assumed must be true or false")
        if assumed and texts["source"] is not None:
            raise _fail(where, f"{at}: a threshold is either assumed or sourced, not both")
        if assumed and texts["reason"] is None:
            raise _fail(where, f"{at}: an assumed threshold needs its reason")
        if not assumed and texts["source"] is None:
            raise _fail(where, f"{at}: cite a source, or set assumed: true with a reason")
        out[key] = Citation(
            source=texts["source"],
            quote=texts["quote"],
            note=texts["note"],
            assumed=assumed,
            reason=" ".join(texts["reason"].split()) if texts["reason"] else None,
        )
    return out


@functools.cache
def load_policy(name: str, rule_ids: frozenset[str]) -> Policy:
    """A shipped policy by name, checked against the catalogue's `rule_ids`
    (`catalogue.rule_ids()`); UserError listing the known names otherwise."""
    if name not in policy_names():
        raise UserError(f"unknown policy {name!r}; known policies: {', '.join(policy_names())}")
    resource = resources.files("conformance.check") / "policies" / f"{name}.yaml"
    where = f"conformance/check/policies/{name}.yaml"
    try:
        data = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _fail(where, f"invalid YAML: {exc}") from None
    policy = parse_policy(data, where, rule_ids)
    if policy.id != name:
        raise _fail(where, f"id {policy.id!r} differs from the file name")
    return policy


__all__ = [
    "ALGORITHM_KINDS",
    "THRESHOLDS",
    "Citation",
    "Policy",
    "load_policy",
    "parse_policy",
    "policy_names",
]
