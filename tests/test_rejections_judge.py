"""The judge on hand-made statuses: refuse, withhold, warn, and what it calls a false accept."""

from __future__ import annotations

import pytest

from conformance.rejections.judge import judge
from conformance.rejections.model import RejectionCase, parse_cases
from conformance.status import ErrorCode, Services, Status


def _case(expected: dict[str, str], breaks: list[str]) -> RejectionCase:
    (case,) = parse_cases(
        {
            "cases": [
                {
                    "id": "c",
                    "class": "defective-signer",
                    "function": "sign",
                    "title": {"fr": "t", "en": "t"},
                    "explanation": {"fr": "e", "en": "e"},
                    "spec": "RFC 5280 6.3",
                    "spec_fr": "RFC 5280 6.3",
                    "producers": ["reference"],
                    "breaks": breaks,
                    "expected": expected,
                }
            ]
        }
    )
    return case


ALL = ["authentication", "integrity", "non_repudiation"]
REFUSE = _case({"osm-2008": "refuse", "modern": "refuse"}, ALL)
WITHHOLD = _case(
    {"osm-2008": "withhold:non_repudiation", "modern": "withhold:non_repudiation"},
    ["non_repudiation"],
)
WARN_THEN_REFUSE = _case({"osm-2008": "warn", "modern": "refuse"}, ["authentication"])


def _status(*services: str, error: ErrorCode | None = None) -> Status:
    status = Status(services=Services(**dict.fromkeys(services, True)))
    if error is not None:
        status.add_error(error, "what the receiver said")
    return status


def test_an_error_without_claims_is_a_refusal() -> None:
    j = judge(REFUSE, _status(error=ErrorCode.BAD_SIGNATURE), "osm-2008", receives=True)
    assert (j.outcome, j.claimed) == ("refuses", ())
    assert "bad-signature" in j.reason


def test_delivered_without_the_broken_services_is_a_refusal() -> None:
    assert judge(REFUSE, _status(), "modern", receives=True).outcome == "refuses"


def test_a_claimed_broken_service_is_a_false_accept_naming_it() -> None:
    j = judge(REFUSE, _status("integrity", "authentication"), "osm-2008", receives=True)
    assert j.outcome == "accepts"
    assert j.claimed == ("authentication", "integrity")
    assert "claimed authentication, integrity" in j.reason


def test_an_error_does_not_excuse_a_claimed_service() -> None:
    status = _status("authentication", error=ErrorCode.REVOKED_SIGNER)
    j = judge(REFUSE, status, "osm-2008", receives=True)
    assert (j.outcome, j.claimed) == ("accepts", ("authentication",))


def test_withhold_allows_the_other_services() -> None:
    held = _status("authentication", "integrity")
    assert judge(WITHHOLD, held, "osm-2008", receives=True).outcome == "refuses"
    wrong = _status("authentication", "integrity", "non_repudiation")
    j = judge(WITHHOLD, wrong, "osm-2008", receives=True)
    assert (j.outcome, j.claimed) == ("accepts", ("non_repudiation",))


def test_warn_tolerates_under_one_policy_and_not_the_other() -> None:
    accepted = _status("authentication", "integrity")
    j = judge(WARN_THEN_REFUSE, accepted, "osm-2008", receives=True)
    assert j.outcome == "refuses" and "tolerated" in j.reason
    j = judge(WARN_THEN_REFUSE, accepted, "modern", receives=True)
    assert (j.outcome, j.claimed) == ("accepts", ("authentication",))


def test_not_applicable_when_the_receiver_does_not_do_the_function() -> None:
    j = judge(REFUSE, _status("integrity"), "osm-2008", receives=False)
    assert j.outcome == "not-applicable"


@pytest.mark.parametrize("code", [ErrorCode.UNSUPPORTED_FORMAT, ErrorCode.UNSUPPORTED_FUNCTION])
def test_not_applicable_when_the_receiver_says_it_does_not_read_it(code: ErrorCode) -> None:
    assert judge(REFUSE, _status(error=code), "osm-2008", receives=True).outcome == (
        "not-applicable"
    )


def test_a_refused_algorithm_is_a_refusal() -> None:
    status = _status(error=ErrorCode.UNSUPPORTED_ALGORITHM)
    assert judge(REFUSE, status, "modern", receives=True).outcome == "refuses"


def test_harness_errors() -> None:
    j = judge(REFUSE, None, "osm-2008", receives=True, exception="OSError: disk full")
    assert j.outcome == "error" and "disk full" in j.reason
    j = judge(REFUSE, _status(error=ErrorCode.INTERNAL), "osm-2008", receives=True)
    assert j.outcome == "error"


def test_a_receiver_that_refuses_the_valid_message_proves_nothing() -> None:
    refused = _status(error=ErrorCode.UNSUPPORTED_ALGORITHM)
    j = judge(REFUSE, refused, "osm-2008", receives=True, control=refused)
    assert j.outcome == "not-applicable" and "valid message" in j.reason
    j = judge(REFUSE, refused, "osm-2008", receives=True, control=_status("integrity"))
    assert j.outcome == "refuses"
    broke = _status(error=ErrorCode.INTERNAL)
    assert judge(REFUSE, refused, "osm-2008", receives=True, control=broke).outcome == "error"


def test_unsupported_after_reading_the_valid_message_is_a_refusal() -> None:
    said = _status(error=ErrorCode.UNSUPPORTED_FUNCTION)
    j = judge(REFUSE, said, "osm-2008", receives=True, control=_status("integrity"))
    assert j.outcome == "refuses" and "unsupported-function" in j.reason
