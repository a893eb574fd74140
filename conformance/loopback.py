"""The servers the suite starts for itself on loopback (slapd, Dovecot, its SMTP hops):
a free port, whether a port is taken, waiting until a child process listens, stopping it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence

LOOPBACK = "127.0.0.1"


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


def wait_listening(
    process: subprocess.Popen[bytes],
    name: str,
    host: str,
    ports: Sequence[int],
    timeout_s: float,
    log_tail: Callable[[], str],
) -> None:
    """Return once `process` accepts connections on every port; RuntimeError naming the
    server, with the end of its log, when it exits first or does not listen in time."""
    deadline = time.monotonic() + timeout_s
    waiting = list(ports)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}): {log_tail()}")
        while waiting:
            try:
                with socket.create_connection((host, waiting[0]), timeout=0.2):
                    waiting.pop(0)
            except OSError:
                break
        if not waiting:
            return
        time.sleep(0.02)
    raise RuntimeError(
        f"{name} did not listen on {host}:{', '.join(map(str, ports))} within "
        f"{timeout_s:.0f} s: {log_tail()}"
    )


def wait_closed(host: str, ports: Sequence[int], timeout_s: float) -> None:
    """Return once nothing accepts connections on `ports` (or after `timeout_s`): a
    killed server's children close their sockets as they exit, not when the signal is
    sent, and the next server (or a caller's check) may want the port at once."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        open_ports = 0
        for port in ports:
            try:
                with socket.create_connection((host, port), timeout=0.2):
                    open_ports += 1
            except OSError:
                pass
        if not open_ports:
            return
        time.sleep(0.02)


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
