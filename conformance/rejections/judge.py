"""The judge of one rejection: what a receiver's status says about a hostile message.

A receiver passes a case when it refuses the message or delivers it without
claiming the services the attack breaks: what a user sees is the services the
receiver shows, so a status that claims authentication for a forged message
is a false accept whatever else it says. The outcome is pass-oriented:
`refuses` is "no false accept" (it is also given, with the reason saying so,
when the case's policy only warns and the receiver accepted); `accepts` names
the services wrongly claimed. How a `refuses` passed (refused, tolerated,
withheld) is recorded beside the reason, for the pages to word it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from conformance.rejections.model import Policy, RejectionCase, withheld_service
from conformance.results import Passed
from conformance.status import ErrorCode, Status

__all__ = ["OUTCOMES", "Judgement", "Outcome", "judge"]

Outcome = Literal["refuses", "accepts", "not-applicable", "error"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

# A receiver that answers with these does not do what the case attacks, unless it read
# the valid message (the control): then they are its way of refusing the hostile one.
_NOT_APPLICABLE = frozenset({ErrorCode.UNSUPPORTED_FUNCTION, ErrorCode.UNSUPPORTED_FORMAT})


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    claimed: tuple[str, ...]  # the services wrongly claimed (accepts only)
    reason: str
    # how a refuses passed (RejectionCaseResult.passed): the reason says it in English
    passed: Passed | None = None


def _said(status: Status) -> str:
    primary = status.primary_error()
    if primary is not None:
        return f"{primary.code.value}: {primary.message}"
    services = sorted(status.services.as_set())
    return "delivered, services: " + (", ".join(services) or "none")


def judge(
    case: RejectionCase,
    status: Status | None,
    policy: Policy,
    *,
    receives: bool,
    exception: str = "",
    control: Status | None = None,
) -> Judgement:
    """The outcome of `case` for a receiver whose answer was `status`.

    `receives` is False when the receiver does not do the case's function (its
    capabilities): not-applicable. `status` None means the harness broke (the
    message could not be made or the agent could not be run): error, with
    `exception` as the reason. `control`, when given, is the receiver's answer
    to the valid message (hostile.make_control): if it refused that too, its
    refusal of the hostile one proves nothing and the case is not-applicable.
    """
    if not receives:
        return Judgement("not-applicable", (), f"the receiver does not receive {case.function}")
    if status is None:
        return Judgement("error", (), f"harness error: {exception or 'no status'}")
    if control is not None and not control.ok:
        if control.broke:
            said = f"the receiver's harness broke on the valid message (internal): {_said(control)}"
            return Judgement("error", (), said)
        return Judgement(
            "not-applicable", (), f"the receiver does not read the valid message: {_said(control)}"
        )
    if status.broke:
        return Judgement("error", (), f"the receiver's harness broke (internal): {_said(status)}")
    primary = status.primary_error()
    if primary is not None and primary.code in _NOT_APPLICABLE and control is None:
        return Judgement("not-applicable", (), _said(status))
    expectation = case.expectation(policy)
    held = status.services.as_set()
    withheld = withheld_service(expectation)
    forbidden = (withheld,) if withheld is not None else case.breaks
    claimed = tuple(s for s in forbidden if s in held)
    if expectation == "warn":
        tolerated = "tolerated" if claimed else "refused"
        said = f"{tolerated} (warn under {policy}): {_said(status)}"
        return Judgement("refuses", (), said, _passed(status, tolerated=bool(claimed)))
    if claimed:
        return Judgement(
            "accepts",
            claimed,
            f"false accept ({expectation} under {policy}): claimed {', '.join(claimed)}; "
            + _said(status),
        )
    said = f"{expectation} under {policy}: {_said(status)}"
    return Judgement("refuses", (), said, _passed(status, tolerated=False))


def _passed(status: Status, *, tolerated: bool) -> Passed:
    """How a receiver whose answer was `status` passed: refused when it answered an error;
    else it delivered the message, with a service the attack breaks that the policy
    `tolerated` (warn), or without the services the case forbids."""
    if status.primary_error() is not None:
        return "refused"
    return "tolerated" if tolerated else "withheld"
