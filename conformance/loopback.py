"""The servers the suite starts for itself on loopback (slapd, Dovecot, its SMTP hops):
a free port, whether a port is taken, starting a child and waiting until it listens,
stopping it; and why a server of the machine did not start, in one line.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

import psutil

from conformance.errors import MissingComponent

LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT_S = 10.0
_SAID_LINES = 2  # what a server said last, kept in its one-line reason
_SAID_CHARS = 300


class ServerNotStarted(MissingComponent, RuntimeError):
    """A server of the machine (slapd, Dovecot, Postfix) is there but did not start: a
    component missing in effect, as if not installed (nothing of a product was tried),
    not a bug of the suite. One line: the server, what went wrong (the command's exit
    status or errno, or the port it never opened), the last of what it said. A
    RuntimeError too, as a server's failure to start always was here."""

    def __init__(self, server: str, what: str, said: str = "") -> None:
        self.server = server
        super().__init__(f"{server} did not start: {what}" + (f": {said}" if said else ""))


def last_said(text: str) -> str:
    """The last lines a server wrote (its stderr, its log), on one line; "" if none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    said = " | ".join(lines[-_SAID_LINES:])
    return said if len(said) <= _SAID_CHARS else "..." + said[-_SAID_CHARS:]


def exit_status(code: int) -> str:
    """A child's return code in words: its exit status, or the signal that killed it."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exited with status {code}"


def _cannot_execute(exc: OSError) -> str:
    """What the OS said when it would not run a program: EACCES, ENOEXEC, ENOENT..."""
    code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return f"cannot execute {exc.filename}: {exc.strerror} ({code})"


def not_executable(server: str, exc: OSError) -> ServerNotStarted:
    """A server whose program the OS would not run."""
    return ServerNotStarted(server, _cannot_execute(exc))


def cannot_run(program: str | os.PathLike[str], *args: str) -> str | None:
    """Why a server's program does not run here, asked to print its version (`args`), or
    None when it does: a program that cannot even say its version cannot serve (an
    unusable file in its place, a broken install). Seconds at most, nothing started."""
    failed = run_failed([os.fspath(program), *args], PROBE_TIMEOUT_S)
    if failed is None:
        return None
    what, said = failed
    return what + (f": {said}" if said else "")  # nothing said: the status alone


def run_failed(
    argv: Sequence[str], timeout_s: float, named: str | None = None
) -> tuple[str, str | None] | None:
    """Run a server's tool to its end: None when it succeeded, else what went wrong in one
    line (it could not be executed, did not return in time, or its exit status; the
    command `named` so, by default its command line) and the last of what it said when
    it exited (None when it never came to an end)."""
    named = named or f"`{' '.join(argv)}`"
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            check=False,
        )
    except OSError as exc:
        return _cannot_execute(exc), None
    except subprocess.TimeoutExpired:
        return f"{named} did not return within {timeout_s:.0f} s", None
    if done.returncode == 0:
        return None
    return f"{named} {exit_status(done.returncode)}", last_said(done.stderr + done.stdout)


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens there (a server would fail to bind, and a probe
    would take that listener for the server). Bound as the servers bind (SO_REUSEADDR):
    the connections a stopped server left in TIME_WAIT do not keep another from its port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def start(
    server: str, argv: Sequence[str], out: IO[bytes], *, new_session: bool = False
) -> subprocess.Popen[bytes]:
    """`argv` started in the foreground, its stdout and stderr to `out` (its log),
    nothing on its stdin; ServerNotStarted when its program cannot be executed."""
    try:
        return subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=new_session,
        )
    except OSError as exc:
        raise not_executable(server, exc) from None


def wait_listening(
    process: subprocess.Popen[bytes],
    name: str,
    host: str,
    ports: Sequence[int],
    timeout_s: float,
    log_tail: Callable[[], str],
) -> None:
    """Return once `process` (or a process it started) listens on every port;
    ServerNotStarted naming the server, with the last lines of its log, when it exits
    first or does not listen in time. Its own listening socket, not a connection that
    succeeds: another program on a port chosen for it would answer in its place while it
    fails to bind. Where that cannot be told, a connection that succeeds."""
    deadline = time.monotonic() + timeout_s
    waiting = list(ports)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = last_said(log_tail()) or "it said nothing"
            raise ServerNotStarted(name, exit_status(process.returncode), said)
        waiting = [port for port in waiting if not _listens(process.pid, host, port)]
        if not waiting:
            return
        time.sleep(0.02)
    said = last_said(log_tail()) or "it said nothing"
    for port in waiting:
        by = _holder(host, port)
        if by is not None:
            raise ServerNotStarted(name, f"{host}:{port} is held by {by}, not {name}", said)
    raise ServerNotStarted(
        name,
        f"nothing listened on {host}:{', '.join(map(str, waiting))} within {timeout_s:.0f} s",
        said,
    )


def _listens(pid: int, host: str, port: int) -> bool:
    """Whether `pid` or a process below it listens on host:port (psutil reads the sockets
    each holds: /proc on Linux); a connection that succeeds where it cannot tell (`host`
    resolves to no address, the process table unreadable)."""
    targets = _addresses(host)
    if targets:
        with contextlib.suppress(psutil.Error):
            server = psutil.Process(pid)
            if _holds(server, targets, port):  # slapd, Dovecot's master hold theirs
                return True
            return any(_holds(child, targets, port) for child in server.children(recursive=True))
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _addresses(host: str) -> list[_Address]:
    """The addresses a connection to `host` may go to: itself when it is one, else what
    it resolves to (`localhost`: 127.0.0.1 and ::1); none when it resolves to nothing."""
    with contextlib.suppress(ValueError):
        return [ipaddress.ip_address(host)]
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0])) for info in found))


def _holds(process: psutil.Process, targets: list[_Address], port: int) -> bool:
    return any(_on(c, targets, port) for c in process.net_connections(kind="tcp"))


def _on(connection: Any, targets: list[_Address], port: int) -> bool:
    """Whether `connection` (psutil's) listens where a connection to one of `targets` on
    `port` arrives: on that address, on 0.0.0.0 or :: (every address), or on its
    IPv4-mapped IPv6 form."""
    if connection.status != psutil.CONN_LISTEN or connection.laddr.port != port:
        return False
    listening = ipaddress.ip_address(connection.laddr.ip)
    return any(_takes(listening, target) for target in targets)


def _takes(listening: _Address, target: _Address) -> bool:
    if listening == target:
        return True
    if listening.is_unspecified:
        return listening.version == target.version or listening.version == 6
    return isinstance(listening, ipaddress.IPv6Address) and listening.ipv4_mapped == target


def _holder(host: str, port: int) -> str | None:
    """Who else listens on host:port: "another process (pid N)", or without its pid where
    it is not ours to see; None when nobody does (or the table cannot be read)."""
    targets = _addresses(host)
    if not targets:
        return None
    try:
        found = [c for c in psutil.net_connections(kind="tcp") if _on(c, targets, port)]
    except psutil.Error:
        return None
    if not found:
        return None
    pid = next((c.pid for c in found if c.pid is not None), None)
    return f"another process (pid {pid})" if pid is not None else "another process"


def running(pid: int) -> bool:
    """Whether the process runs (a zombie, or a process gone, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_closed(
    host: str, ports: Sequence[int], timeout_s: float, group: int | None = None
) -> None:
    """Return once the server no longer listens on `ports` (or after `timeout_s`): a
    killed server's children close their sockets as they exit, not when the signal is
    sent, and the next server (or a caller's check) may want the port at once. With
    `group`, the server's process group, only its own listeners count: another program's
    on the port (the one that made its start fail) is not waited for."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(_still_listens(host, port, group) for port in ports):
            return
        time.sleep(0.02)


def _still_listens(host: str, port: int, group: int | None) -> bool:
    """Whether a process of `group` listens on host:port (any connection that succeeds
    when the group is not known or the sockets cannot be read)."""
    targets = _addresses(host)
    if group is not None and targets:
        with contextlib.suppress(psutil.Error):
            listening = psutil.net_connections(kind="tcp")
            return any(_in_group(c.pid, group) for c in listening if _on(c, targets, port))
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _in_group(pid: int | None, group: int) -> bool:
    if pid is None:  # not ours to see: not the server's, which the suite started
        return False
    try:
        return os.getpgid(pid) == group
    except OSError:  # gone meanwhile
        return False


def stop_child(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout_s`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout_s)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child started with `process_group=0` and whatever it started (its group);
    the child itself even if it left the group. The caller reaps it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()
