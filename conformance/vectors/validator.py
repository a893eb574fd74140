"""The message validator (conformance.check) as verify uses it, when it is installed.

The validator is its own package; while it is absent the report says so for
every message ("validator not available") instead of inventing a result.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.check.render import text_table
from conformance.errors import UserError

# The validator's check statuses, most telling first.
STATUSES = ("ERROR", "WARNING", "INFO", "SUCCESS")
UNAVAILABLE = "validator not available (conformance.check is not installed)"


@dataclass
class Validation:
    """What the validator said about one message (or why it said nothing)."""

    available: bool
    counts: dict[str, int] = field(default_factory=dict)  # check status -> how many
    failed: list[str] = field(default_factory=list)  # "id [part]: title (found ...)", ERROR only
    warnings: list[str] = field(default_factory=list)  # the same for the WARNINGs
    error_ids: list[str] = field(default_factory=list)  # rule ids of the ERRORs, sorted
    text: str = ""
    data: dict[str, Any] | None = None
    # The CMS layers the validator opened (`check_message`): what the message really
    # used is read from them, not from a second reading.
    layers: tuple[Any, ...] = ()

    def summary(self) -> str:
        if not self.available:
            return "n/a"
        return ", ".join(f"{self.counts[s]} {s.lower()}" for s in STATUSES if self.counts.get(s))


def _check_message() -> Any | None:
    try:
        module = importlib.import_module("conformance.check.runner")
    except ModuleNotFoundError as exc:
        if exc.name in ("conformance.check", "conformance.check.runner"):
            return None
        raise
    return getattr(module, "check_message", None)


def validate(
    message: bytes,
    *,
    identity_dir: Path | None,
    trust: tuple[Path, ...],
    crls: tuple[Path, ...],
    expected_sender: str | None = None,
    expected_recipient: str | None = None,
) -> Validation:
    check_message = _check_message()
    if check_message is None:
        return Validation(available=False, text=UNAVAILABLE)
    try:
        checked = check_message(
            message,
            identity_dir=identity_dir,
            trust=trust,
            crls=crls,
            expected_sender=expected_sender,
            expected_recipient=expected_recipient,
        )
        report = checked.report
        text = text_table(report)
    except (UserError, ImportError) as exc:  # the validator's own set-up, not this message
        return Validation(available=False, text=f"validator could not run: {exc}")
    counts: Counter[str] = Counter()
    failed: list[str] = []
    warnings: list[str] = []
    for check in report.checks:
        status = str(check.status)
        counts[status] += 1
        if status in ("ERROR", "WARNING"):
            found = f" (found {check.found})" if check.found else ""
            line = f"{check.id} [{check.part}]: {check.title}{found}"
            (failed if status == "ERROR" else warnings).append(line)
    data = report.to_json()
    return Validation(
        available=True,
        counts=dict(counts),
        failed=failed,
        warnings=warnings,
        error_ids=sorted({line.split(" ", 1)[0] for line in failed}),
        text=text,
        data=data if isinstance(data, dict) else {"report": data},
        layers=checked.layers,
    )
