"""osm-gpgsm-harness: the suite's gpgsm calls answered by `gpgsm --server` (Assuan).

A long-lived process speaking osm-harness/1 (JSON lines, ../README.md). Each
request carries the argv the `gpgsm` command line would have received; the
options that configure gpgsm as a whole (--homedir, --disable-crl-checks,
--digest-algo, --include-certs, --cipher-algo, the pinentry and passphrase)
select a `gpgsm --server` started with exactly those options and kept open,
and the command (--sign, --detach-sign, --encrypt, --decrypt, --verify with
--local-user, --recipient and --output) becomes its Assuan commands, the files
handed over as descriptors (INPUT FD, OUTPUT FD, MESSAGE FD). The server's
status lines are printed as the command line prints them with --status-fd 1
("[GNUPG:] ..."), and what it logs on stderr during the request is the reply's
stderr. Anything else (--import, --list-secret-keys, --call-dirmngr, reading
stdin) is declined, so the command line runs it. See README.md for the exit
code, which a server does not report, and for the servers' wear.

Standard library only: it runs with the interpreter that runs the suite.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field

PROTOCOL = "osm-harness/1"
DECLINED = "osm-harness: not implemented here: "
# Options that configure gpgsm as a whole: the server starts with them.
GLOBAL_FLAGS = {"--batch", "--no-tty", "--disable-crl-checks"}
GLOBAL_VALUED = {
    "--homedir",
    "--pinentry-mode",
    "--digest-algo",
    "--cipher-algo",
    "--include-certs",
}
COMMANDS = {"--sign", "--detach-sign", "--encrypt", "--decrypt", "--verify"}
# Status keywords after which the command line exits non-zero (gpgsm logs an error).
FAILING_STATUS = {
    "BADSIG",
    "ERRSIG",
    "ERROR",
    "FAILURE",
    "INV_RECP",
    "INV_SGNR",
    "NO_SECKEY",
    "DECRYPTION_FAILED",
    "TRUST_NEVER",
    "TRUST_UNDEFINED",
}


# gpgsm 2.2's ENCRYPT leaks its session key's cipher context (opened in libgcrypt's secure
# memory, a 16 KiB pool, and never closed: encrypt.c frees the DEK without
# gcry_cipher_close): after 5 (3DES) to 7 (AES) encryptions a `gpgsm --server` answers
# "failed to create cipher context: Cannot allocate memory", which a one-shot gpgsm never
# reaches. SIGN, DECRYPT and VERIFY leak nothing (hundreds run on one server). So a server
# that ENCRYPTs is replaced before its pool runs out: the first one serves until an
# encryption fails so (that request runs again on a fresh server), and the number it
# managed becomes the budget of every later server started with the same options.
WORN_OUT = (b"Cannot allocate memory", b"Out of core", b"out of core")
LEAKING = {"--encrypt"}


# A server's options and passphrase: the requests it can answer.
ServerKey = tuple[tuple[str, ...], bytes | None]


class Declined(Exception):
    """An argv this harness does not implement: the command line runs it."""


class AssuanError(Exception):
    """The server broke the protocol or went away: the harness cannot answer."""


@dataclass
class Call:
    """One gpgsm command line, split into the server's options and the command."""

    server: tuple[str, ...]
    passphrase_fd: str | None = None
    command: str = ""
    files: list[str] = field(default_factory=list)
    output: str | None = None
    signers: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)


def parse(argv: list[str]) -> Call:
    server: list[str] = []
    call = Call(())
    i = 0
    while i < len(argv):
        arg = argv[i]
        value = argv[i + 1] if i + 1 < len(argv) else None
        if arg in GLOBAL_FLAGS:
            server.append(arg)
        elif arg in GLOBAL_VALUED or arg in {
            "--status-fd",
            "--passphrase-fd",
            "--local-user",
            "--recipient",
            "--output",
        }:
            if value is None:
                raise Declined(f"{arg} without a value")
            i += 1
            if arg in GLOBAL_VALUED:
                server += [arg, value]
            elif arg == "--status-fd":
                if value != "1":
                    raise Declined(f"--status-fd {value}")
            elif arg == "--passphrase-fd":
                call.passphrase_fd = value
            elif arg == "--local-user":
                call.signers.append(value)
            elif arg == "--recipient":
                call.recipients.append(value)
            else:
                call.output = value
        elif arg in COMMANDS:
            if call.command:
                raise Declined(f"{call.command} with {arg}")
            call.command = arg
        elif arg.startswith("-"):
            raise Declined(f"option {arg}")
        else:
            call.files.append(arg)
        i += 1
    call.server = tuple(server)
    if not call.command:
        raise Declined("no --sign, --detach-sign, --encrypt, --decrypt or --verify")
    if call.passphrase_fd not in (None, "0"):
        raise Declined(f"--passphrase-fd {call.passphrase_fd}")
    if call.command == "--verify":
        # SIG [CONTENT]: a detached signature with its content, or an opaque one.
        if (len(call.files) == 2 and call.output is None) or len(call.files) == 1:
            return call
        raise Declined(f"--verify with {len(call.files)} file(s) and --output")
    if len(call.files) != 1 or call.output is None:
        raise Declined(f"{call.command} without one input file and --output (stdio)")
    return call


class Server:
    """One `gpgsm --server`, on a socket so that files go over as descriptors."""

    def __init__(self, gpgsm: str, options: tuple[str, ...], passphrase: bytes | None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        keep = [theirs.fileno()]
        argv = [gpgsm, *options]
        reader = None
        if passphrase is not None:
            reader, writer = os.pipe()
            os.write(writer, passphrase)  # a passphrase line fits in a pipe's buffer
            os.close(writer)
            keep.append(reader)
            argv += ["--passphrase-fd", str(reader)]
        argv.append("--server")
        env = dict(os.environ)
        env["_assuan_connection_fd"] = str(theirs.fileno())  # libassuan: a socket server
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=keep,
            env=env,
        )
        theirs.close()
        if reader is not None:
            os.close(reader)
        self.sock = ours
        assert self.proc.stderr is not None
        self.stderr_fd = self.proc.stderr.fileno()
        os.set_blocking(self.stderr_fd, False)
        self.pending = b""
        self.log = bytearray()
        self.status: list[str] = []
        self.requests = 0
        self.key: ServerKey = (options, passphrase)
        self.leaky = 0  # requests that leak secure memory (LEAKING) it has run
        # One selector for the server's life: a request makes several round trips.
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.selector.register(self.stderr_fd, selectors.EVENT_READ)
        ok, line = self.response()
        if not ok:
            raise AssuanError(f"gpgsm --server did not greet: {line}")

    def retire(self) -> None:
        """Ask the server to end, without waiting for it (`ended` tells when it has)."""
        with contextlib.suppress(OSError):
            self.sock.sendall(b"BYE\n")
        self.sock.close()
        self.selector.close()

    def ended(self) -> bool:
        if self.proc.poll() is None:
            return False
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return True

    def close(self) -> None:
        self.retire()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.ended()

    def _drain_stderr(self) -> None:
        while True:
            try:
                chunk = os.read(self.stderr_fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                # The server closed its stderr (it is ending): stop watching it.
                with contextlib.suppress(KeyError, ValueError):
                    self.selector.unregister(self.stderr_fd)
                return
            self.log += chunk

    def response(self) -> tuple[bool, str]:
        """Read lines up to OK or ERR, keeping status lines and the server's log."""
        while True:
            while b"\n" in self.pending:
                raw, self.pending = self.pending.split(b"\n", 1)
                line = raw.decode("utf-8", "replace")
                if line.startswith("S "):
                    self.status.append(line[2:])
                elif line == "OK" or line.startswith("OK "):
                    self._drain_stderr()
                    return True, line
                elif line.startswith("ERR "):
                    self._drain_stderr()
                    return False, line
                elif line.startswith("INQUIRE "):
                    self.sock.sendall(b"CAN\n")  # nothing to give: gpgsm reports it
                # "#" comments and "D" lines (none for these commands) are skipped.
            for key, _ in self.selector.select():
                if key.fd == self.stderr_fd:
                    self._drain_stderr()
                else:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise AssuanError("gpgsm --server closed the connection")
                    self.pending += chunk

    def command(self, line: str, fd: int | None = None) -> tuple[bool, str]:
        if fd is not None:
            socket.send_fds(self.sock, [b"# descriptor %d is in flight\n" % fd], [fd])
        self.sock.sendall(line.encode("utf-8") + b"\n")
        return self.response()


class Harness:
    def __init__(self) -> None:
        gpgsm = shutil.which("gpgsm")
        if gpgsm is None:
            raise SystemExit("gpgsm is not installed")
        self.gpgsm = gpgsm
        self.servers: dict[ServerKey, Server] = {}
        # Per server options: how many leaking requests a server managed before its
        # secure memory ran out (learnt from the first that did; WORN_OUT above).
        self.budget: dict[ServerKey, int] = {}
        self.retiring: list[Server] = []  # told BYE, not yet reaped

    def version(self) -> str:
        out = subprocess.run([self.gpgsm, "--version"], capture_output=True, check=False)
        return out.stdout.decode("utf-8", "replace").splitlines()[0] if out.stdout else "unknown"

    def _retire(self, server: Server) -> None:
        server.retire()
        self.retiring.append(server)

    def server(self, call: Call, stdin: bytes, fresh: bool = False) -> Server:
        self.retiring = [s for s in self.retiring if not s.ended()]
        passphrase = stdin.split(b"\n", 1)[0] + b"\n" if call.passphrase_fd == "0" else None
        key = (call.server, passphrase)
        server = self.servers.get(key)
        spent = (
            server is not None
            and call.command in LEAKING
            and server.leaky >= self.budget.get(key, sys.maxsize)
        )
        if server is not None and (fresh or spent or server.proc.poll() is not None):
            self._retire(server)
            server = None
        if server is None:
            server = self.servers[key] = Server(self.gpgsm, call.server, passphrase)
        server.requests += 1
        if call.command in LEAKING:
            server.leaky += 1
        return server

    def run(self, argv: list[str], stdin: bytes) -> tuple[int, bytes, bytes]:
        call = parse(argv)
        for attempt in range(2):
            server = self.server(call, stdin, fresh=attempt > 0)
            try:
                code, out, err = self._run(server, call)
            except (AssuanError, OSError):
                # A dead or confused server: the next request starts a fresh one.
                self.servers = {k: s for k, s in self.servers.items() if s is not server}
                server.proc.kill()
                self._retire(server)
                raise
            if code == 0 or not any(sign in err for sign in WORN_OUT):
                break
            note = ""
            if call.command in LEAKING:
                managed = max(1, server.leaky - 1)
                self.budget[server.key] = min(self.budget.get(server.key, managed), managed)
                note = f"; later servers run {self.budget[server.key]} {call.command} each"
            sys.stderr.write(
                f"osm-gpgsm-harness: gpgsm --server worn out after {server.requests} "
                f"requests; the request runs again on a fresh server{note}\n"
            )
        return code, out, err

    def _run(self, server: Server, call: Call) -> tuple[int, bytes, bytes]:
        server.log.clear()
        server.status.clear()
        ok, _ = server.command("RESET")
        opened: list[int] = []
        try:
            steps: list[tuple[str, int | None]] = []
            for signer in call.signers:
                steps.append((f"SIGNER {signer}", None))
            for recipient in call.recipients:
                steps.append((f"RECIPIENT {recipient}", None))
            source = os.open(call.files[0], os.O_RDONLY)
            opened.append(source)
            steps.append(("INPUT FD", source))
            if call.command == "--verify" and len(call.files) == 2:
                content = os.open(call.files[1], os.O_RDONLY)
                opened.append(content)
                steps.append(("MESSAGE FD", content))
            if call.output is not None:
                out = os.open(call.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
                opened.append(out)
                steps.append(("OUTPUT FD", out))
            steps.append(
                {
                    "--sign": ("SIGN", None),
                    "--detach-sign": ("SIGN --detached", None),
                    "--encrypt": ("ENCRYPT", None),
                    "--decrypt": ("DECRYPT", None),
                    "--verify": ("VERIFY", None),
                }[call.command]
            )
            for text, fd in steps:
                ok, _line = server.command(text, fd)
                if not ok:
                    break
        finally:
            for fd in opened:
                os.close(fd)
        stdout = "".join(f"[GNUPG:] {s}\n" for s in server.status).encode("utf-8")
        failed = not ok or any(s.split(" ", 1)[0] in FAILING_STATUS for s in server.status)
        return (2 if failed else 0), stdout, bytes(server.log)

    def close(self) -> None:
        for server in [*self.servers.values(), *self.retiring]:
            server.close()


def _reply(rid: object, code: int, out: bytes, err: bytes) -> None:
    reply = {
        "id": rid,
        "exit": code,
        "stdout": base64.b64encode(out).decode("ascii"),
        "stderr": base64.b64encode(err).decode("ascii"),
    }
    sys.stdout.write(json.dumps(reply, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main() -> int:
    harness = Harness()
    hello = {"protocol": PROTOCOL, "implementation": "gpgsm-server", "version": harness.version()}
    sys.stdout.write(json.dumps(hello, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    home = os.getcwd()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                rid = request["id"]
                argv = request["argv"]
                stdin = base64.b64decode(request.get("stdin") or "", validate=True)
                cwd = request.get("cwd") or home
                if not isinstance(rid, int) or not all(isinstance(a, str) for a in argv):
                    raise ValueError("id is not an integer or argv not a list of strings")
                os.chdir(cwd)
            except (ValueError, KeyError, TypeError, OSError) as exc:
                rid = request.get("id") if isinstance(request, dict) else None
                _reply(rid, 2, b"", f"osm-harness: bad request: {exc}\n".encode())
                continue
            try:
                code, out, err = harness.run(argv, stdin)
            except Declined as exc:
                code, out, err = 2, b"", f"{DECLINED}{exc}\n".encode()
            except (AssuanError, OSError) as exc:
                # The server died or broke the protocol: the command line runs this call
                # (the evidence says so) and the next request starts a fresh server.
                code, out, err = 2, b"", f"{DECLINED}gpgsm --server failed: {exc}\n".encode()
            _reply(rid, code, out, err)
    finally:
        harness.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
