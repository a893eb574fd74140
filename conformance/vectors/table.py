"""The terminal report of `vectors verify`: a grid, then who read what with which services."""

from __future__ import annotations

from collections import defaultdict

from conformance.vectors.common import real_id
from conformance.vectors.verify import SERVICE_LETTERS, Checked, Reading, VerifyReport

MARKS = {"pass": "✓", "fail": "✗", "unsupported": "–", "error": "!", "partial": "◐"}
NOT_JUDGED = "?"


def _services(reading: Reading) -> str:
    held = "".join(letter for name, letter in SERVICE_LETTERS.items() if reading.services.get(name))
    return held or "-"


def _grid(report: VerifyReport) -> list[str]:
    width = max(len(m.entry.file) for m in report.messages)
    fwidth = max(len(m.function) for m in report.messages)
    numbers = " ".join(f"{n:>2}" for n in range(1, len(report.receivers) + 1))
    lines = [f"{'message':<{width}}  {'function':<{fwidth}}  {numbers}   validator"]
    for item in report.messages:
        marks = " ".join(
            f"{NOT_JUDGED if item.input_error else MARKS[r.verdict]:>2}" for r in item.readings
        )
        lines.append(
            f"{item.entry.file:<{width}}  {item.function:<{fwidth}}  {marks}   "
            f"{item.validation.summary()}"
        )
    legend = "  ".join(f"{n} {r}" for n, r in enumerate(report.receivers, 1))
    lines.append("receivers: " + legend)
    lines.append(
        "✓ pass  ✗ fail  – unsupported  ! harness error or receiver not installed here  "
        "? not judged (manifest wrong)"
    )
    return lines


def _details(item: Checked) -> list[str]:
    lines = [
        "",
        f"{item.entry.file}: {item.function} to {item.entry.recipient} <{item.recipient.email}>",
    ]
    if item.input_error:
        lines.append(f"  NOT JUDGED: {item.input_error}")
    passed: dict[str, list[str]] = defaultdict(list)
    for reading in item.readings:
        if reading.verdict == "pass":
            passed[_services(reading)].append(reading.receiver)
    for services, who in sorted(passed.items()):
        lines.append(f"  read with {services}: {', '.join(who)}")
    for reading in item.readings:
        if reading.verdict != "pass":
            lines.append(f"  {reading.verdict} {reading.receiver}: {reading.reason}")
    for difference in item.undeclared:
        lines.append(f"  not as declared: {difference}")
    if not item.validation.available:
        lines.append(f"  validator: {item.validation.text}")
    for status, found in (("ERROR", item.validation.failed), ("WARNING", item.validation.warnings)):
        for line in found[:8]:
            lines.append(f"  validator {status} {line}")
        if len(found) > 8:
            lines.append(f"  ... {len(found) - 8} more validator {status.lower()}s")
    return lines


def verify_table(report: VerifyReport) -> str:
    lines = [
        f"vectors verify: {len(report.messages)} message(s) of the real {report.product} "
        f"(row {real_id(report.product)}), read by {len(report.receivers)} receiver profile(s)",
        "",
        *_grid(report),
        "services: A authentication, I integrity, N non-repudiation, C confidentiality",
    ]
    for item in report.messages:
        lines += _details(item)
    lines += by_rule(report)
    return "\n".join(lines)


def by_rule(report: VerifyReport) -> list[str]:
    """The validator's errors and warnings over every message, grouped by rule id."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in report.messages:
        for status, checks in (
            ("ERROR", item.validation.failed),
            ("WARNING", item.validation.warnings),
        ):
            for rule in dict.fromkeys(line.split(" ", 1)[0] for line in checks):
                found[(status, rule)].append(item.entry.file)
    if not found:
        return []
    lines = ["", "validator, by rule id (docs/check-rules.md):"]
    for (status, rule), files in sorted(found.items()):
        lines.append(f"  {status:<7} {rule}: {len(files)} message(s): {', '.join(files)}")
    return lines
