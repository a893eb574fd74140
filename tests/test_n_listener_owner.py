"""A server the suite starts is ready when ITS socket listens, not when a connection to
its port succeeds: another program already listening on a port chosen for it (taken
after the commands' own "port in use" check) answered in its place, so `directory serve
--port N` said it was serving, and served until Ctrl-C, with a slapd long gone. Now the
server's failure to bind is seen: exit 2 (`directory serve --port`, `serve --imap-port`),
ServerNotStarted from the modules, within seconds; a listener of another process for the
whole wait is named as such.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest
from mail_support import server_tls

from conformance.directory import slapd
from conformance.directory.tree import build_tree
from conformance.errors import UserError
from conformance.loopback import LOOPBACK, ServerNotStarted, free_port, wait_listening
from conformance.mail import dovecot
from conformance.pki.model import load_pki
from conformance.serve import session
from conformance.serve.accounts import Account

needs_slapd = pytest.mark.skipif(slapd.missing() is not None, reason=slapd.missing() or "")
needs_dovecot = pytest.mark.skipif(dovecot.missing() is not None, reason=dovecot.missing() or "")
ROOT = Path(__file__).resolve().parent.parent


def _listener() -> socket.socket:
    """A loopback port another program (this test) listens on: connections to it succeed."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    sock.listen(8)
    return sock


@pytest.fixture
def held() -> Iterator[int]:
    with _listener() as sock:
        yield sock.getsockname()[1]


@pytest.fixture
def lmtp_held(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Dovecot's "free" LMTP port taken by another listener before Dovecot binds it (with
    its IMAP port free, its own LMTP listener was what kept a connect check waiting)."""
    with _listener() as sock:
        port = sock.getsockname()[1]
        monkeypatch.setattr(dovecot, "free_port", lambda *_: port)
        yield port


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A server that neither exits nor listens."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


# --- wait_listening ---------------------------------------------------------------------


def test_a_port_another_process_listens_on_is_not_the_servers(
    held: int, sleeper: subprocess.Popen[bytes]
) -> None:
    with pytest.raises(ServerNotStarted) as raised:
        wait_listening(sleeper, "sleeper", LOOPBACK, [held], 1.0, lambda: "last words")
    assert str(raised.value) == (
        f"sleeper did not start: {LOOPBACK}:{held} is held by another process "
        f"(pid {os.getpid()}), not sleeper: last words"
    )


def test_a_host_name_is_resolved_not_taken_on_trust(
    held: int, sleeper: subprocess.Popen[bytes]
) -> None:
    """`--host localhost`: the addresses it resolves to are looked up among the sockets,
    as a literal address is (a connection that succeeded passed it before)."""
    with pytest.raises(ServerNotStarted, match=r"is held by another process \(pid \d+\)"):
        wait_listening(sleeper, "sleeper", "localhost", [held], 1.0, lambda: "")


def test_a_socket_of_a_process_the_server_started_is_its(tmp_path: Path) -> None:
    port = free_port()
    listen = (
        f"import socket, time; s = socket.socket(); s.bind(('{LOOPBACK}', {port})); "
        "s.listen(); time.sleep(60)"
    )
    script = tmp_path / "listen.py"
    script.write_text(listen, encoding="utf-8")
    # `; true`: the shell forks the listener instead of becoming it.
    command = ["sh", "-c", f"{sys.executable} {script}; true"]
    process = subprocess.Popen(command, start_new_session=True)
    try:
        wait_listening(process, "grandparent", LOOPBACK, [port], 10.0, lambda: "")
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the shell and the listener it started
        process.wait()


def test_where_the_sockets_cannot_be_read_a_connection_that_succeeds_is_enough(
    held: int, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    def denied(pid: int) -> None:
        raise psutil.AccessDenied(pid)

    monkeypatch.setattr(psutil, "Process", denied)
    wait_listening(sleeper, "sleeper", LOOPBACK, [held], 5.0, lambda: "")  # the connect check


# --- slapd ------------------------------------------------------------------------------


@needs_slapd
def test_slapd_on_a_port_another_program_listens_on_did_not_start(
    held: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slapd, "port_in_use", lambda *_: False)  # taken after the check
    with (
        pytest.raises(ServerNotStarted, match=r"^slapd did not start: exited with status "),
        slapd.serve(build_tree(load_pki()), port=held),
    ):
        pass


_SERVE_ON_A_TAKEN_PORT = """
import sys
import time
from conformance.cli import main
from conformance.directory import slapd
slapd.port_in_use = lambda *_: False  # the port taken after the command's check
sys.exit(main(["directory", "serve", "--port", sys.argv[1]]))
"""


@needs_slapd
def test_directory_serve_on_a_port_another_program_listens_on_is_exit_2(held: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_ON_A_TAKEN_PORT, str(held)],
        capture_output=True,
        text=True,
        timeout=60,  # the defect: "serving" until Ctrl-C
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "serving" not in done.stdout
    assert done.stderr.startswith(
        f"osm-conformance: error: directory serve: {LOOPBACK}:{held} is already in use "
        "(slapd did not start: exited with status "
    )


# --- Dovecot ----------------------------------------------------------------------------


@needs_dovecot
def test_dovecot_on_ports_another_program_listens_on_did_not_start(
    held: int, lmtp_held: int, tmp_path: Path
) -> None:
    tls = server_tls(tmp_path)
    users = {"alice@hopital-a.test": "secret"}
    with (
        pytest.raises(ServerNotStarted, match=r"^dovecot did not start: exited with status "),
        dovecot.serve(users, tls_cert=tls.cert, tls_key=tls.key, imap_port=held),
    ):
        pass


@needs_dovecot
def test_serve_with_an_imap_port_another_program_listens_on_is_a_usage_error(
    held: int, lmtp_held: int, tmp_path: Path
) -> None:
    settings = session.Settings(out=tmp_path, profile="reference", imap_port=held)
    account = Account("pro1", "Alice", "alice@hopital-a.test", "secret", "the product's user")
    with ExitStack() as stack, pytest.raises(UserError, match=r"^IMAP: the suite's dovecot did"):
        session._store(settings, [account], stack)


def test_another_programs_listener_is_not_waited_for_when_the_server_stops() -> None:
    """Stopping a server waits for its own listeners to close, not for another program's
    on the same port (a Dovecot whose start failed because the port was taken waited out
    its whole stop timeout, the other program answering every connection)."""
    from conformance.loopback import wait_closed

    with _listener() as sock:
        answering = threading.Thread(target=_answer, args=(sock,), daemon=True)
        answering.start()
        server = subprocess.Popen(["sleep", "60"], start_new_session=True)
        try:
            began = time.monotonic()
            wait_closed(LOOPBACK, [sock.getsockname()[1]], 30.0, group=server.pid)
            assert time.monotonic() - began < 10.0, "waited for a listener not the server's"
        finally:
            server.kill()
            server.wait()


def _answer(sock: socket.socket) -> None:
    """Accept and close every connection until the socket is closed."""
    with contextlib.suppress(OSError):
        while True:
            sock.accept()[0].close()
