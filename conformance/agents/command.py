"""A vendor adapter: any executable that implements the agent command line.

The contract (docs/agent-cli.md) is the same as `osm-conformance agent
PROFILE ...`: `send` reads a MIME entity on stdin and writes the message;
`receive` reads a message, writes the content and the status JSON, and says
what went wrong through its exit code. Each call runs in a temporary
directory of its own, bounded in time, and what the adapter printed is kept.
Whoever needs to see each call as the adapter made it (`adapter check`) passes
an `on_call` observer: it gets one `AdapterCall` per call, with the contract
breach found, if any.

An adapter whose `capabilities` lists the protocol "osm-harness/1" is started
once per worker as `ADAPTER serve` and each verb goes over that protocol
(conformance/agents/harness.py): the same argv, stdin and cwd, without a
process start per call. An adapter that does not list it, or whose
`capabilities` verb fails, is run once per call as before; the evidence
records the same command line either way.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.serialization import Encoding

from conformance.agents.base import Evidence, ReceiveRequest, Reception, SendRequest, SendResult
from conformance.agents.harness import (
    HELLO_TIMEOUT,
    PROTOCOL,
    HarnessError,
    HarnessTimeout,
    harness_for,
)
from conformance.agents.tools import ToolRun, ToolTimeout, record, run
from conformance.core.vocabulary import Capabilities
from conformance.errors import MissingComponent, UserError
from conformance.paths import memory_dir, scratch_prefix
from conformance.status import CODE_BY_EXIT, ErrorCode, Status

# What broke the contract in one call: no answer in time, no process, no status file,
# a status that is not valid against its schema, an exit code the status contradicts.
Breach = Literal["timeout", "start", "no-status", "status", "exit-code"]


@dataclass(frozen=True)
class AdapterCall:
    """One call of the adapter: its verb, how long it took, how it exited, what broke."""

    verb: str
    function: str | None  # send: the function asked for
    seconds: float
    returncode: int | None  # None: it did not start or did not end in time
    breach: Breach | None = None
    detail: str = ""


class CommandAgent:
    def __init__(
        self,
        agent_id: str,
        argv: Sequence[str],
        capabilities: Capabilities,
        *,
        timeout: float = 60.0,
        version: str | None = None,
        on_call: Callable[[AdapterCall], None] | None = None,
        protocols: Sequence[str] | None = None,
    ) -> None:
        if not argv:
            raise ValueError("a command agent needs a command")
        self.id = agent_id
        self.argv = list(argv)
        self._capabilities = capabilities
        self.timeout = timeout
        self._version = version
        self._on_call = on_call
        # None: asked of the adapter's `capabilities` on first use
        self._protocols = None if protocols is None else tuple(protocols)

    def _record(self, call: AdapterCall) -> None:
        if self._on_call is not None:
            self._on_call(call)

    def capabilities(self) -> Capabilities:
        return self._capabilities

    def protocols(self) -> tuple[str, ...]:
        """The protocols the adapter's `capabilities` declares (none if it cannot say)."""
        if self._protocols is None:
            self._protocols = ()
            try:
                result = run([*self.argv, "capabilities"], timeout=self.timeout)
                data = json.loads(result.stdout) if result.ok else {}
            except (ToolTimeout, MissingComponent, ValueError):
                data = {}
            declared = data.get("protocols") if isinstance(data, dict) else None
            if isinstance(declared, list):
                self._protocols = tuple(p for p in declared if isinstance(p, str))
        return self._protocols

    def _call(self, args: Sequence[str], evidence: Evidence, stdin: bytes, cwd: Path) -> ToolRun:
        """One verb: over the harness protocol when the adapter speaks it, else one process.
        Raises ToolTimeout or MissingComponent (one-shot) and HarnessError (harness)."""
        if PROTOCOL not in self.protocols():
            return run(
                [*self.argv, *args], evidence=evidence, input=stdin, timeout=self.timeout, cwd=cwd
            )
        try:
            # A `serve` that never says hello costs at most a call's time, not 30 s.
            hello = min(HELLO_TIMEOUT, self.timeout)
            harness = harness_for([*self.argv, "serve"], hello_timeout=hello)
            reply = harness.call(args, stdin=stdin, cwd=str(cwd), timeout=self.timeout)
        except HarnessError as exc:
            evidence.notes.append(f"$ {' '.join([*self.argv, *args])}  -> harness error: {exc}")
            raise
        result = ToolRun([*self.argv, *args], reply.exit, reply.stdout, reply.stderr, reply.seconds)
        record(evidence, result)
        return result

    def version(self) -> str:
        if self._version is None:
            ev = Evidence()
            try:
                result = self._call(["version"], ev, b"", Path.cwd())
                text = result.stdout.decode("utf-8", "replace").strip()
                self._version = text.splitlines()[0] if result.ok and text else "unknown"
            except (ToolTimeout, MissingComponent, HarnessError):
                self._version = "unknown"
        return self._version

    def send(self, request: SendRequest) -> SendResult:
        ev = Evidence()
        with tempfile.TemporaryDirectory(prefix=scratch_prefix(self.id), dir=memory_dir()) as tmp:
            work = Path(tmp)
            args = [
                "send",
                "--function",
                request.function,
                "--from",
                str(request.sender.identity_dir),
                "--subject",
                request.subject,
            ]
            for i, cert in enumerate(request.recipients):
                path = work / f"recipient-{i}.pem"
                path.write_bytes(cert.public_bytes(Encoding.PEM))
                args += ["--to", str(path)]
            if not request.recipients and request.directory is not None:
                # A first contact: the adapter's product finds the certificates itself.
                for mail in request.recipient_emails:
                    args += ["--to-address", mail]
                args += ["--directory", request.directory]
            directories = _common_directories(request)
            if directories:
                args += ["--recipient-in", ",".join(sorted(directories))]
            if request.date:
                args += ["--date", request.date]
            if request.message_id:
                args += ["--message-id", request.message_id]
            started = time.perf_counter()
            try:
                result = self._call(args, ev, request.content, work)
            except ToolTimeout as exc:
                reason = f"adapter timed out: {exc}"
                self._record(
                    _adapter_call("send", request.function, started, None, "timeout", reason)
                )
                return SendResult(None, ErrorCode.INTERNAL, reason, ev)
            except MissingComponent as exc:  # `run` reports a command it cannot start so
                reason = f"adapter did not start: {exc}"
                self._record(
                    _adapter_call("send", request.function, started, None, "start", reason)
                )
                return SendResult(None, ErrorCode.INTERNAL, reason, ev)
            except HarnessError as exc:
                reason = f"adapter harness: {exc}"
                hung = _harness_breach(exc)
                self._record(_adapter_call("send", request.function, started, None, hung, reason))
                return SendResult(None, ErrorCode.INTERNAL, reason, ev)
        code = result.returncode
        breach: Breach | None = None
        detail = ""
        if code == 0 and not result.stdout:
            breach, detail = "exit-code", "send exited 0 but printed no message"
        elif code not in (0, *CODE_BY_EXIT):
            breach, detail = "exit-code", f"send exited {code}, not an exit code of the contract"
        self._record(_adapter_call("send", request.function, started, code, breach, detail))
        if code == 0 and result.stdout:
            return SendResult(result.stdout, evidence=ev)
        error = CODE_BY_EXIT.get(code, ErrorCode.INTERNAL)
        reason = result.stderr.decode("utf-8", "replace").strip()[-500:] or (
            f"adapter exited {code}" + ("" if result.stdout else " with no message")
        )
        return SendResult(None, error, reason, ev)

    def receive(self, request: ReceiveRequest) -> Reception:
        ev = Evidence()
        with tempfile.TemporaryDirectory(prefix=scratch_prefix(self.id), dir=memory_dir()) as tmp:
            work = Path(tmp)
            status_path = work / "status.json"
            args = [
                "receive",
                "--identity",
                str(request.recipient.identity_dir),
                "--status-out",
                str(status_path),
            ]
            for p in request.trust:
                args += ["--trust", str(p)]
            for p in request.crls:
                args += ["--crl", str(p)]
            started = time.perf_counter()
            try:
                result = self._call(args, ev, request.message, work)
            except ToolTimeout as exc:
                return self._broken(f"adapter timed out: {exc}", ev, started, None, "timeout")
            except MissingComponent as exc:  # `run` reports a command it cannot start so
                return self._broken(f"adapter did not start: {exc}", ev, started, None, "start")
            except HarnessError as exc:
                hung = _harness_breach(exc)
                return self._broken(f"adapter harness: {exc}", ev, started, None, hung)
            code = result.returncode
            try:
                status = Status.loads(status_path.read_bytes())
            except FileNotFoundError:
                reason = f"adapter exited {code} and wrote no status (--status-out)"
                return self._broken(reason, ev, started, code, "no-status")
            except ValueError as exc:
                return self._broken(f"adapter wrote a bad status: {exc}", ev, started, code)
        expected = status.exit_code()
        if code != expected:
            # Which one to believe is unknown: the adapter is broken, not the message.
            primary = status.primary_error()
            said = f" ({primary.code.value})" if primary is not None else " (no error)"
            reason = (
                f"adapter's exit code {code} disagrees with its status, whose errors give "
                f"{expected}{said}"
            )
            return self._broken(reason, ev, started, code, "exit-code")
        self._record(_adapter_call("receive", None, started, code))
        content = result.stdout if code == 0 or result.stdout else None
        return Reception(content, status, ev)

    def _broken(
        self,
        message: str,
        ev: Evidence,
        started: float,
        returncode: int | None,
        breach: Breach = "status",
    ) -> Reception:
        """The adapter broke the contract: an `internal` status (an error, never a verdict)."""
        self._record(_adapter_call("receive", None, started, returncode, breach, message))
        status = Status()
        status.add_error(ErrorCode.INTERNAL, message)
        return Reception(None, status, ev)


def _common_directories(request: SendRequest) -> frozenset[str]:
    """Every directory some recipient is listed in: one list for all, so a recipient
    in the CPS directory keeps the message S/MIME, as the in-process agent decides."""
    if not request.recipient_parties:
        return frozenset()
    return frozenset().union(*(p.directories for p in request.recipient_parties))


def _adapter_call(
    verb: str,
    function: str | None,
    started: float,
    returncode: int | None,
    breach: Breach | None = None,
    detail: str = "",
) -> AdapterCall:
    seconds = time.perf_counter() - started
    return AdapterCall(verb, function, seconds, returncode, breach, detail)


def _harness_breach(exc: HarnessError) -> Breach:
    """A harness call that did not answer in time hung (as a one-shot call past its
    timeout); any other harness failure is a `serve` that did not start or broke the
    protocol."""
    return "timeout" if isinstance(exc, HarnessTimeout) else "start"


def runnable(argv: tuple[str, ...], where: str) -> tuple[str, ...]:
    """`argv`, or a usage error naming its program when it cannot be run at all: a wrong
    path is the tester's mistake, not checks the adapter fails (`run` and `adapter check`
    both ask here)."""
    program = argv[0]
    path = Path(program)
    bare = "/" not in program  # looked up on PATH only, as the shell does
    if bare and shutil.which(program) is not None:
        return argv
    if path.is_dir():
        raise UserError(f"{where}: {program}: a directory, not a program")
    if bare and not path.exists():
        raise UserError(f"{where}: {program!r} is not a program on PATH")
    if bare:  # what is here by that name is named, so that the fix (./NAME) is plain
        here = (
            f"did you mean ./{program}?"
            if os.access(path, os.X_OK)
            else f"./{program} is here but not executable (chmod +x {program})"
        )
        raise UserError(f"{where}: {program}: not on PATH; {here}")
    if not path.is_file():
        missing = "no such file" if not path.exists() else "not a file"
        raise UserError(f"{where}: {program}: {missing}")
    if not os.access(path, os.X_OK):
        raise UserError(f"{where}: {program}: not executable (chmod +x {program})")
    return argv
