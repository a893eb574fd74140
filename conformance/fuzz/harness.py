"""One input through both judges: the strict receiver and the validator, watched.

The receiver is called as `agent reference receive` calls it
(`read_message_bounded`: a message over `Limits.spool_above_bytes` is read
from a spool; the reference profile's options and limits, pro02's decryption
key and intermediates, the test PKI's root and CRLs), with software keys so
that a run measures the reader, not the token; certificates are judged at the
golden corpus's date. Each input is read a third time by the other reader:
from a spool with every body over 64 bytes left in it (`SPOOL_ALL`, as
tests/test_large_messages.py compares them) when it is small, in memory when
it is over the spool threshold. The validator is `osm-conformance check`'s
runner with the same identity, trust and CRLs.

What counts as a failure is what issue 15 lists: an `internal` status, an
exception escaping, anything written to stderr, a validator rule that broke,
an answer that changes on a second read; and besides: the spooled and the
in-memory readings giving different verdicts (`spool-differs`: codes,
services, validity, content; the wording of an error may differ), the
validator and the receiver contradicting each other (`disagree`, as
`fuzz.agree` defines it), an input still being judged after `STOP_SECONDS`
(`timeout`: stopped there, so that one input cannot eat the run). A time over
a second, for one reading or for the first reading and the validator
together, is recorded as a figure (`slow`).
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from types import FrameType
from typing import TypeVar

from conformance.agents import identity_files as files
from conformance.check.model import CheckReport
from conformance.check.runner import run_checks
from conformance.fuzz.agree import disagreement
from conformance.fuzz.corpus import RECIPIENT, _party
from conformance.paths import PKI_DIR
from conformance.profiles.loader import load_profile
from conformance.smime.options import Limits, ReceiveOptions
from conformance.smime.receive_spooled import read_message_bounded
from conformance.status import ErrorCode, Status
from conformance.token.files import intermediates

__all__ = [
    "FAILURE_CLASSES",
    "SPOOL_ALL",
    "Outcome",
    "Target",
    "answers_in_order",
    "reading_key",
    "status_key",
]

T = TypeVar("T")
VALIDATION_TIME = datetime(2025, 7, 15, 8, 0, tzinfo=UTC)
SLOW_SECONDS = 1.0
STOP_SECONDS = 10.0  # a right reader takes well under a second on the largest input
# Failure classes, the worst first (a saved input is named after its worst); "slow" is a
# figure, not a failure of the short run.
FAILURE_CLASSES = (
    "internal",
    "exception",
    "stderr",
    "check-error",
    "timeout",
    "unstable",
    "spool-differs",
    "disagree",
    "slow",
)
# Every message spooled, every body over 64 bytes left in the spool: the spooled reader's
# every path on a small message. IN_MEMORY: no message spooled, for the large ones.
SPOOL_ALL = Limits(spool_above_bytes=0, spool_part_bytes=64)
IN_MEMORY = replace(Limits(), spool_above_bytes=Limits().max_message_bytes)


@dataclass
class Outcome:
    """What one input gave: the receiver's answer, the failures seen, the time taken."""

    answer: str  # the receiver's error codes ("ok" when none), e.g. "malformed"
    seconds: float
    failures: dict[str, str] = field(default_factory=dict)  # class -> detail


def status_key(status: Status) -> str:
    """The parts of a status that are its verdict (codes, services, validity), as text."""
    return status.dumps()


def reading_key(content: bytes | None, status: Status) -> tuple[str, bytes | None]:
    """What two readers of one message must agree on: the status without the wording of
    its errors (a spool and a buffer name the same defect in different words), and the
    content."""
    data = status.to_json()
    data["errors"] = [e["code"] for e in data["errors"]]
    return json.dumps(data, sort_keys=True), content


class _Stopped(BaseException):
    """Raised into a reading past its deadline; a BaseException, so that no reader's
    `except Exception` turns it into an answer."""


class Target:
    """The receiver's and the validator's fixed inputs, loaded once for a whole run."""

    def __init__(self, *, check: bool = True) -> None:
        self.check = check
        ca = PKI_DIR / "ca"
        self.trust_paths = (ca / "root.pem",)
        self.crl_paths = (ca / "root.crl.pem", ca / "intermediate.crl.pem")
        self.recipient = _party(RECIPIENT)

    @cached_property
    def options(self) -> ReceiveOptions:
        return load_profile("reference").receive_options()

    def receive(
        self,
        message: bytes,
        limits: Limits = Limits(),  # noqa: B008 (frozen dataclass)
    ) -> tuple[bytes | None, Status]:
        """The reading of `agent reference receive` (software key, the golden date)."""
        return read_message_bounded(
            message,
            keys=[files.key(self.recipient, "encrypt", software=True)],
            trust=files.trust_anchors(self.trust_paths),
            crls=files.crls(self.crl_paths),
            directory=None,
            options=self.options,
            limits=limits,
            validation_time=VALIDATION_TIME,
            intermediates=intermediates(self.recipient.identity_dir),
        )

    def other_reading(self, message: bytes) -> tuple[tuple[str, str], tuple[bytes | None, Status]]:
        """The message read by the reader `receive` did not use: (the names of `receive`'s
        reader and of this one, this one's reading)."""
        if len(message) <= Limits().spool_above_bytes:
            return ("in memory", "spooled"), self.receive(message, SPOOL_ALL)
        return ("spooled", "in memory"), self.receive(message, IN_MEMORY)

    def report(self, message: bytes) -> CheckReport:
        """`osm-conformance check` of the message with the receiver's identity and trust."""
        return run_checks(
            message,
            identity_dir=self.recipient.identity_dir,
            trust=self.trust_paths,
            crls=self.crl_paths,
        )

    def validate(self, message: bytes) -> list[str]:
        """The validator's rules that broke on the message (a validator bug each)."""
        return _broken(self.report(message))

    def run(self, message: bytes) -> Outcome:
        """Read twice, read by the other reader, validate once, with stderr watched and a
        deadline."""
        outcome = Outcome("exception", 0.0)
        failures = outcome.failures
        times: dict[str, float] = {}
        seen = io.StringIO()
        with _watched(seen):
            try:
                with _deadline(STOP_SECONDS):
                    self._judge(message, outcome, times)
            except _Stopped:
                stage = next((s for s in _STAGES if s not in times), "judging")
                failures["timeout"] = f"stopped after {STOP_SECONDS:g} s, in {stage}"
                if stage == "receive":
                    outcome.answer = "stopped"
                times["stopped"] = STOP_SECONDS
            except Exception as exc:  # exactly what the fuzzer looks for
                failures["exception"] = "".join(traceback.format_exception(exc))[-2000:]
        if seen.getvalue():
            failures["stderr"] = seen.getvalue()[:2000]
        outcome.seconds = max(
            times.get("receive", 0.0) + times.get("check", 0.0),
            times.get("other reader", 0.0),
            times.get("stopped", 0.0),
        )
        if outcome.seconds > SLOW_SECONDS and "timeout" not in failures:
            failures["slow"] = ", ".join(f"{name} {t:.2f} s" for name, t in times.items())
        return outcome

    def _judge(self, message: bytes, outcome: Outcome, times: dict[str, float]) -> None:
        """Each stage timed into `times`, the answer and the failures into `outcome`."""
        failures = outcome.failures
        content, status = _timed(times, "receive", lambda: self.receive(message))
        outcome.answer = ",".join(sorted({e.code.value for e in status.errors})) or "ok"
        internal = [e.message for e in status.errors if e.code == ErrorCode.INTERNAL]
        if internal:
            failures["internal"] = internal[0]
        _, again = _timed(times, "second read", lambda: self.receive(message))
        if status_key(again) != status_key(status):
            failures["unstable"] = _difference(status, again, ("first read", "second read"))
        names, (content2, status2) = _timed(
            times, "other reader", lambda: self.other_reading(message)
        )
        if not failures and reading_key(content2, status2) != reading_key(content, status):
            failures["spool-differs"] = _difference(status, status2, names)
        if self.check:
            report = _timed(times, "check", lambda: self.report(message))
            broken = _broken(report)
            if broken:
                failures["check-error"] = broken[0]
            elif not failures and (contradiction := disagreement(status, report)):
                failures["disagree"] = contradiction


# The stages of `Target._judge`, in order: the one a stopped input was in.
_STAGES = ("receive", "second read", "other reader", "check")


def _timed(times: dict[str, float], name: str, work: Callable[[], T]) -> T:
    began = time.perf_counter()
    result = work()
    times[name] = time.perf_counter() - began
    return result


def _broken(report: CheckReport) -> list[str]:
    """The rules the validator failed on (check/runner.py: INFO, not checked, saying so)."""
    return [
        f"{c.id}: {c.found}"
        for c in report.checks
        if not c.checked and c.found.startswith("the validator failed")
    ]


def answers_in_order(target: Target, messages: list[bytes]) -> list[tuple[str, str]]:
    """Each message's status key on a first read (all in order), then on a second read."""
    first = [status_key(target.receive(m)[1]) for m in messages]
    second = [status_key(target.receive(m)[1]) for m in messages]
    return list(zip(first, second, strict=True))


def _difference(first: Status, second: Status, names: tuple[str, str]) -> str:
    one = [f"{e.code.value}: {e.message}" for e in first.errors]
    two = [f"{e.code.value}: {e.message}" for e in second.errors]
    if [e.code for e in first.errors] == [e.code for e in second.errors]:
        same = f"{names[0]} and {names[1]}: the same error codes {one or '(none)'}"
        return same + ", another status or content"
    return f"{names[0]} {one or 'no error'}; {names[1]} {two or 'no error'}"


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """`_Stopped` raised into the work once `seconds` have passed (a timer signal, so
    only in the main thread; elsewhere no deadline)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _watched(sink: io.StringIO) -> Iterator[None]:
    """stderr redirected to `sink`: tracebacks, warnings, and library loggers (logging's
    last-resort handler writes to whatever sys.stderr is at the time)."""
    with contextlib.redirect_stderr(sink):
        yield
