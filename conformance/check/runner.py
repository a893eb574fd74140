"""Run every rule of the catalogue on one message: `run_checks`.

The runner never raises on a message: a rule that breaks on some input is
reported as an ERROR check naming the rule and the exception (a bug of the
validator, made visible rather than hidden), and the other rules still run.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.check.catalogue import Rule, all_rules, rule_ids
from conformance.check.context import Context, build_context
from conformance.check.model import Check, CheckReport
from conformance.check.policy import DEFAULT_POLICY, load_policy
from conformance.errors import UserError


def _summary(context: Context) -> dict[str, Any]:
    headers = context.root.headers

    def field(name: str) -> str | None:
        value = headers.get(name)
        return None if value is None else " ".join(str(value).split())

    return {
        "size": len(context.message),
        "headers": {
            "from": field("from"),
            "to": field("to"),
            "subject": field("subject"),
            "date": field("date"),
            "message_id": field("message-id"),
        },
        "layers": [
            {"part": layer.part.path, "type": layer.name, "error": layer.error}
            for layer in context.layers
        ],
        "parts": [node.summary() for node in context.nodes],
    }


def _run_rule(rule: Rule, context: Context) -> list[Check]:
    checks: list[Check] = []
    severity = context.policy.severity(rule.id)
    try:
        for outcome in rule.function(context):
            status = outcome.status or ("SUCCESS" if outcome.passed else severity)
            checks.append(
                Check(
                    rule.id,
                    status,
                    rule.title,
                    outcome.found,
                    outcome.expected,
                    rule.reference,
                    outcome.part,
                )
            )
    except Exception as exc:  # a validator bug: shown, never a silent pass
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        checks.append(
            Check(
                rule.id,
                "ERROR",
                rule.title,
                f"the validator failed on this rule: {type(exc).__name__}: {exc} ({where})",
                "the rule runs to completion",
                rule.reference,
                "1",
            )
        )
    return checks


def run_checks(
    message: bytes,
    *,
    identity_dir: Path | None = None,
    trust: Sequence[Path] = (),
    crls: Sequence[Path] = (),
    policy: str = DEFAULT_POLICY,
    expected_sender: str | None = None,
    expected_recipient: str | None = None,
) -> CheckReport:
    """Check one message against every rule of the catalogue under `policy`.

    Never raises on the message's content; raises UserError for an unknown
    policy or unreadable trust, CRL or identity files (configuration, not input).
    """
    chosen = load_policy(policy, rule_ids())
    try:
        context = build_context(
            bytes(message),
            policy=chosen,
            identity_dir=identity_dir,
            trust=trust,
            crls=crls,
            expected_sender=expected_sender,
            expected_recipient=expected_recipient,
        )
    except UserError:
        raise
    except Exception as exc:  # a validator bug while parsing: one visible ERROR, no traceback
        failed = Check(
            "MIME-004",
            "ERROR",
            "the message could not be parsed",
            f"the validator failed while parsing: {type(exc).__name__}: {exc}",
            "a message the validator can walk",
            "RFC 5322 / RFC 2045",
            "1",
        )
        return CheckReport(
            message={"size": len(message), "parts": []}, checks=[failed], policy=chosen.id
        )
    report = CheckReport(message=_summary(context), policy=chosen.id)
    for rule in all_rules():
        report.checks.extend(_run_rule(rule, context))
    return report
