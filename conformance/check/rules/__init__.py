"""The rule modules, one per group of the catalogue (see `conformance.check.catalogue`),
and the helpers they share."""

from __future__ import annotations

import re

from conformance.check.catalogue import Outcome
from conformance.check.context import Context
from conformance.core import oids
from conformance.core.bilingual import Bilingual

EIGHT_BIT = re.compile(rb"[\x80-\xff]")


def graded(
    context: Context,
    kind: str,
    part: str,
    name: str,
    found: str | Bilingual | None = None,
    known: bool = True,
) -> Outcome:
    """An algorithm choice judged by the policy's grade of `kind`: SUCCESS passes, a tolerated
    grade (WARNING, INFO) is reported as such, and an unlisted (or unknown, `known` False)
    algorithm fails with the rule's severity. `found` defaults to the algorithm's name (its
    OID when it has none, `oids.shown`)."""
    grade = context.policy.grade(kind, name) if known else None
    return Outcome(
        part,
        grade == "SUCCESS",
        oids.shown(name) if found is None else found,
        ", ".join(context.policy.accepted(kind)),
        None if grade in (None, "SUCCESS") else grade,
    )
