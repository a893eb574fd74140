"""A validator failure is the suite's error, never the message's non-conformance.

Before: a rule that raised (or a message the validator failed to parse) was an ERROR
check, so `check` said "non-conformant" (exit 1) and the matrix and `vectors verify`
recorded the rule id in the product's `nonconformant` list."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from check_support import TRUST, signed_letter

from conformance.check import catalogue, runner
from conformance.check.catalogue import Outcome, get_rule
from conformance.check.context import Context
from conformance.check.model import CheckReport
from conformance.cli import main
from conformance.matrix.evidence import nonconformant
from conformance.vectors.validator import validate


def _broken(context: Context) -> Iterator[Outcome]:
    raise RuntimeError("boom")


@pytest.fixture
def broken_rule(monkeypatch: pytest.MonkeyPatch) -> str:
    rule = get_rule("CERT-002")
    assert rule is not None
    monkeypatch.setitem(catalogue._RULES, rule.id, replace(rule, function=_broken))
    return rule.id


def _not_a_finding(report: CheckReport, rule_id: str) -> None:
    (check,) = report.by_id(rule_id)
    assert check.found.startswith("the validator failed")
    assert (check.status, check.checked) == ("INFO", False)
    assert report.errors == []
    verdict = report.verdict()
    assert (verdict.status, verdict.unchecked, verdict.exit_code) == ("incomplete", (rule_id,), 3)
    assert nonconformant(report) == []  # the matrix's record of the sender's message


def test_a_rule_that_breaks_makes_the_verdict_incomplete(broken_rule: str) -> None:
    report = runner.run_checks(signed_letter(), **TRUST)  # type: ignore[arg-type]
    _not_a_finding(report, broken_rule)
    (check,) = report.by_id(broken_rule)
    assert check.found.startswith("the validator failed on this rule: RuntimeError: boom (")


def test_a_parse_failure_makes_the_verdict_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    def unparsable(message: bytes, **options: object) -> None:
        raise ValueError("bad input")

    monkeypatch.setattr(runner, "build_context", unparsable)
    _not_a_finding(runner.run_checks(b"x", **TRUST), "MIME-004")  # type: ignore[arg-type]


def test_check_exits_3_not_1(
    broken_rule: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(signed_letter())
    assert main(["check", "--lang", "en", str(message)]) == 3
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Verdict: incomplete") and broken_rule in first


def test_vectors_verify_does_not_record_it_as_nonconformant(broken_rule: str) -> None:
    validation = validate(
        signed_letter(),
        identity_dir=None,
        trust=tuple(TRUST["trust"]),
        crls=tuple(TRUST["crls"]),
    )
    assert validation.available
    assert validation.error_ids == [] and validation.failed == []
    assert validation.counts.get("INFO", 0) >= 1
