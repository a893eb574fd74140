"""A vendor adapter: any executable that implements the agent command line.

The contract (docs/agent-cli.md) is the same as `osm-conformance agent
PROFILE ...`: `send` reads a MIME entity on stdin and writes the message;
`receive` reads a message, writes the content and the status JSON, and says
what went wrong through its exit code. Each call runs in a temporary
directory of its own, bounded in time, and what the adapter printed is kept.

An adapter whose `capabilities` lists the protocol "osm-harness/1" is started
once per worker as `ADAPTER serve` and each verb goes over that protocol
(conformance/agents/harness.py): the same argv, stdin and cwd, without a
process start per call. An adapter that does not list it, or whose
`capabilities` verb fails, is run once per call as before; the evidence
records the same command line either way.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from conformance.agents.base import Evidence, ReceiveRequest, Reception, SendRequest, SendResult
from conformance.agents.harness import PROTOCOL, HarnessError, harness_for
from conformance.agents.tools import ToolRun, ToolTimeout, record, run
from conformance.core.vocabulary import Capabilities
from conformance.errors import MissingComponent
from conformance.status import CODE_BY_EXIT, ErrorCode, Status


class CommandAgent:
    def __init__(
        self,
        agent_id: str,
        argv: Sequence[str],
        capabilities: Capabilities,
        *,
        timeout: float = 60.0,
        version: str | None = None,
        protocols: Sequence[str] | None = None,
    ) -> None:
        if not argv:
            raise ValueError("a command agent needs a command")
        self.id = agent_id
        self.argv = list(argv)
        self._capabilities = capabilities
        self.timeout = timeout
        self._version = version
        # None: asked of the adapter's `capabilities` on first use
        self._protocols = None if protocols is None else tuple(protocols)

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
            harness = harness_for([*self.argv, "serve"])
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
        with tempfile.TemporaryDirectory(prefix=f"osm-{self.id}-") as tmp:
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
            directories = _common_directories(request)
            if directories:
                args += ["--recipient-in", ",".join(sorted(directories))]
            if request.date:
                args += ["--date", request.date]
            if request.message_id:
                args += ["--message-id", request.message_id]
            try:
                result = self._call(args, ev, request.content, work)
            except ToolTimeout as exc:
                return SendResult(None, ErrorCode.INTERNAL, f"adapter timed out: {exc}", ev)
            except MissingComponent as exc:  # `run` reports a command it cannot start so
                return SendResult(None, ErrorCode.INTERNAL, f"adapter did not start: {exc}", ev)
            except HarnessError as exc:
                return SendResult(None, ErrorCode.INTERNAL, f"adapter harness: {exc}", ev)
        if result.returncode == 0 and result.stdout:
            return SendResult(result.stdout, evidence=ev)
        code = CODE_BY_EXIT.get(result.returncode, ErrorCode.INTERNAL)
        reason = result.stderr.decode("utf-8", "replace").strip()[-500:] or (
            f"adapter exited {result.returncode}" + ("" if result.stdout else " with no message")
        )
        return SendResult(None, code, reason, ev)

    def receive(self, request: ReceiveRequest) -> Reception:
        ev = Evidence()
        with tempfile.TemporaryDirectory(prefix=f"osm-{self.id}-") as tmp:
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
            try:
                result = self._call(args, ev, request.message, work)
            except ToolTimeout as exc:
                return _broken(f"adapter timed out: {exc}", ev)
            except MissingComponent as exc:  # `run` reports a command it cannot start so
                return _broken(f"adapter did not start: {exc}", ev)
            except HarnessError as exc:
                return _broken(f"adapter harness: {exc}", ev)
            try:
                status = Status.from_json(json.loads(status_path.read_text(encoding="utf-8")))
            except FileNotFoundError:
                return _broken(f"adapter exited {result.returncode} and wrote no status", ev)
            except (json.JSONDecodeError, ValueError) as exc:
                return _broken(f"adapter wrote a bad status: {exc}", ev)
        expected = status.exit_code()
        if result.returncode != expected:
            # Which one to believe is unknown: the adapter is broken, not the message.
            return _broken(
                f"adapter's exit code {result.returncode} disagrees with its status "
                f"(which gives {expected})",
                ev,
            )
        content = result.stdout if result.returncode == 0 or result.stdout else None
        return Reception(content, status, ev)


def _common_directories(request: SendRequest) -> frozenset[str]:
    """Every directory some recipient is listed in: one list for all, so a recipient
    in the CPS directory keeps the message S/MIME, as the in-process agent decides."""
    if not request.recipient_parties:
        return frozenset()
    return frozenset().union(*(p.directories for p in request.recipient_parties))


def _broken(message: str, ev: Evidence) -> Reception:
    status = Status()
    status.add_error(ErrorCode.INTERNAL, message)
    return Reception(None, status, ev)
