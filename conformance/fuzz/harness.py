"""One input through both judges: the strict receiver and the validator, watched.

The receiver is called as `agent reference receive` calls it (the reference
profile's options and limits, pro02's decryption key and intermediates, the
test PKI's root and CRLs), with software keys so that a run measures the
reader, not the token; certificates are judged at the golden corpus's date.
The validator is `osm-conformance check`'s runner with the same identity,
trust and CRLs. What counts as a failure is what issue 15 lists: an
`internal` status, an exception escaping, anything written to stderr, a
validator rule that broke, an answer that changes on a second read; a time
over a second is recorded as a figure.
"""

from __future__ import annotations

import contextlib
import io
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from conformance.agents import identity_files as files
from conformance.check.runner import run_checks
from conformance.fuzz.corpus import RECIPIENT, _party
from conformance.paths import PKI_DIR
from conformance.profiles.loader import load_profile
from conformance.smime.options import Limits, ReceiveOptions
from conformance.smime.receive import read_message
from conformance.status import ErrorCode, Status
from conformance.token.files import intermediates

__all__ = ["FAILURE_CLASSES", "Outcome", "Target", "answers_in_order", "status_key"]

VALIDATION_TIME = datetime(2025, 7, 15, 8, 0, tzinfo=UTC)
SLOW_SECONDS = 1.0
# Failure classes; "slow" is a figure, not a failure of the short run.
FAILURE_CLASSES = ("internal", "exception", "stderr", "check-error", "unstable", "slow")


@dataclass
class Outcome:
    """What one input gave: the receiver's answer, the failures seen, the time taken."""

    answer: str  # the receiver's error codes ("ok" when none), e.g. "malformed"
    seconds: float
    failures: dict[str, str] = field(default_factory=dict)  # class -> detail


def status_key(status: Status) -> str:
    """The parts of a status that are its verdict (codes, services, validity), as text."""
    return status.dumps()


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

    def receive(self, message: bytes) -> tuple[bytes | None, Status]:
        """The reading of `agent reference receive` (software key, the golden date)."""
        return read_message(
            message,
            keys=[files.key(self.recipient, "encrypt", software=True)],
            trust=files.trust_anchors(self.trust_paths),
            crls=files.crls(self.crl_paths),
            directory=None,
            options=self.options,
            limits=Limits(),
            validation_time=VALIDATION_TIME,
            intermediates=intermediates(self.recipient.identity_dir),
        )

    def validate(self, message: bytes) -> list[str]:
        """The validator's rules that broke on the message (a validator bug each)."""
        report = run_checks(
            message,
            identity_dir=self.recipient.identity_dir,
            trust=self.trust_paths,
            crls=self.crl_paths,
        )
        return [
            f"{c.id}: {c.found}"
            for c in report.checks
            if c.status == "ERROR" and c.found.startswith("the validator failed")
        ]

    def run(self, message: bytes) -> Outcome:
        """Read twice and validate once, with stderr and library logging watched."""
        failures: dict[str, str] = {}
        seen = io.StringIO()
        answer = "exception"
        start = time.perf_counter()
        with _watched(seen):
            try:
                _, status = self.receive(message)
                answer = ",".join(sorted({e.code.value for e in status.errors})) or "ok"
                internal = [e.message for e in status.errors if e.code == ErrorCode.INTERNAL]
                if internal:
                    failures["internal"] = internal[0]
                elapsed = time.perf_counter() - start
                _, again = self.receive(message)
                if status_key(again) != status_key(status):
                    failures["unstable"] = _difference(status, again)
                if self.check:
                    began = time.perf_counter()
                    broken = self.validate(message)
                    elapsed += time.perf_counter() - began
                    if broken:
                        failures["check-error"] = broken[0]
            except Exception as exc:  # exactly what the fuzzer looks for
                failures["exception"] = "".join(traceback.format_exception(exc))[-2000:]
                elapsed = time.perf_counter() - start
        if seen.getvalue():
            failures["stderr"] = seen.getvalue()[:2000]
        if elapsed > SLOW_SECONDS:
            failures["slow"] = f"{elapsed:.2f} s"
        return Outcome(answer, elapsed, failures)


def answers_in_order(target: Target, messages: list[bytes]) -> list[tuple[str, str]]:
    """Each message's status key on a first read (all in order), then on a second read."""
    first = [status_key(target.receive(m)[1]) for m in messages]
    second = [status_key(target.receive(m)[1]) for m in messages]
    return list(zip(first, second, strict=True))


def _difference(first: Status, second: Status) -> str:
    one = [f"{e.code.value}: {e.message}" for e in first.errors]
    two = [f"{e.code.value}: {e.message}" for e in second.errors]
    return f"first read {one or 'no error'}; second read {two or 'no error'}"


@contextlib.contextmanager
def _watched(sink: io.StringIO) -> Iterator[None]:
    """stderr redirected to `sink`: tracebacks, warnings, and library loggers (logging's
    last-resort handler writes to whatever sys.stderr is at the time)."""
    with contextlib.redirect_stderr(sink):
        yield
