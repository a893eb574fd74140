"""A real MTA hop: a Postfix instance the suite configures and starts, relaying to the next
hop, so that what Postfix itself does to a message (its MIME conversion of 8-bit content
for a next hop without 8BITMIME, its Received: header, its size limit) is measured, not
imitated.

Never the system's Postfix: this one has its own configuration directory (main.cf and
master.cf written here; `postfix -c DIR`), queue and data directories in a temporary
directory, listens on a free loopback port (STARTTLS offered with the test PKI's server
certificate; opportunistic STARTTLS to the next hop, as relays between domains do),
resolves nothing (no DNS, a literal relayhost, or LMTP to a Dovecot store), delivers
nothing locally, and is stopped with `postfix -c DIR stop` when the context ends,
however it ends; whatever is left of its process group is then killed. Postfix refuses to
run as a non-root user here, so the hop needs root.

Postfix keeps its defaults where they are the behaviour under test: message_size_limit
(10240000 bytes: its 552 to a larger message is a gateway finding, so
HopSettings.max_message_bytes is ignored by this hop), disable_mime_output_conversion = no
(8-bit text converted to quoted-printable when the next hop does not announce 8BITMIME;
note that Postfix takes SMTPUTF8 to imply 8BITMIME),
and the headers it adds (Received: on top; Message-Id: and Date: to a message that has
none, as it does for clients on its own interfaces).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from conformance.errors import MissingComponent
from conformance.loopback import (
    LOOPBACK,
    ServerNotStarted,
    exit_status,
    free_port,
    last_said,
    not_executable,
)
from conformance.mail.endpoint import Endpoint, HopSettings
from conformance.paths import PKI_DIR
from conformance.pki.model import SERVER_CERT_FILE, SERVER_KEY_FILE

POSTFIX = Path("/usr/sbin/postfix")
DAEMON_DIRECTORY = Path("/usr/lib/postfix/sbin")
COMMAND_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
# Postfix's own default, stated here so that a test can go over it (not set in main.cf).
DEFAULT_MESSAGE_SIZE_LIMIT = 10240000


class ServerTLS(NamedTuple):
    """A server certificate (PEM: the certificate, then its issuers) and its key."""

    cert: Path
    key: Path


def pki_server_tls() -> ServerTLS | None:
    """The test PKI's `server-localhost` certificate and key, when the PKI has them."""
    found = ServerTLS(PKI_DIR / SERVER_CERT_FILE, PKI_DIR / SERVER_KEY_FILE)
    return found if found.cert.is_file() and found.key.is_file() else None


# Only the services a relay needs; none chrooted (the queue is in the suite's temp dir).
_MASTER_CF = """\
{listen} inet n - n - - smtpd
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
tlsmgr    unix - - n 1000? 1 tlsmgr
lmtp      unix - - n - - lmtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def missing() -> str | None:
    """Why the suite cannot run its Postfix hop here, or None when it can."""
    for path in (POSTFIX, DAEMON_DIRECTORY / "master", DAEMON_DIRECTORY / "smtpd"):
        if not path.exists():
            return f"{path} missing: the Postfix hop needs Postfix (apt-get install postfix)"
    if os.geteuid() != 0:
        return "Postfix refuses to run as a non-root user here: the Postfix hop needs root"
    try:
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError:
        return (
            "no 'postfix' user or 'postdrop' group: Postfix is not set up (apt-get install postfix)"
        )
    return None


def _main_cf(work: Path, listen: int, next_hop: Endpoint, tls: ServerTLS | None) -> str:
    settings: dict[str, object] = {
        "compatibility_level": "3.6",
        "queue_directory": work / "queue",
        "data_directory": work / "data",
        "maillog_file": work / "maillog",
        "maillog_file_prefixes": work,  # else Postfix refuses (silently) to log there
        "syslog_name": f"postfix-osm-{listen}",
        "mail_owner": "postfix",
        "setgid_group": "postdrop",
        "myhostname": "postfix-hop.localhost",
        "mydomain": "localhost",
        "myorigin": "$myhostname",
        # No local delivery: every recipient is relayed, whatever its domain.
        "mydestination": "",
        "local_recipient_maps": "",
        "local_transport": "error:no local delivery on this hop",
        "alias_maps": "",
        "alias_database": "",
        **_next_hop(next_hop),
        "mynetworks": "127.0.0.0/8",
        "smtpd_relay_restrictions": "permit_mynetworks, reject",
        "inet_interfaces": LOOPBACK,
        "inet_protocols": "ipv4",
        # No DNS: the relayhost is a literal address.
        "smtp_dns_support_level": "disabled",
        "smtp_host_lookup": "native",
        # Opportunistic TLS to the next hop (as most relays do), none offered by smtpd.
        "smtp_tls_security_level": "may",
        **_smtpd_tls(tls),
        # A message goes out as soon as it is queued; a deferred one is retried soon.
        "in_flow_delay": "0s",
        "queue_run_delay": "1s",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "2s",
        "smtp_connect_timeout": "5s",
        "biff": "no",
        "append_dot_mydomain": "no",
        "readme_directory": "no",
        "notify_classes": "",
    }
    return "".join(f"{name} = {value}\n" for name, value in settings.items())


def _smtpd_tls(tls: ServerTLS | None) -> dict[str, object]:
    """STARTTLS offered, not required, as a relay between domains does (RFC 3207)."""
    if tls is None:
        return {"smtpd_tls_security_level": "none"}
    # The key first, then the certificate and its issuers (Postfix 3.4 chain files).
    return {"smtpd_tls_security_level": "may", "smtpd_tls_chain_files": f"{tls.key}, {tls.cert}"}


def _next_hop(next_hop: Endpoint) -> dict[str, str]:
    """Where everything goes: the relayhost for an SMTP next hop; for an LMTP server (a
    Dovecot store), Postfix's own LMTP client, as a real Postfix hands mail to Dovecot."""
    if next_hop.protocol == "smtp":
        return {"relayhost": f"[{next_hop.host}]:{next_hop.port}"}
    if next_hop.protocol == "lmtp":
        return {
            "relayhost": "",
            "default_transport": f"lmtp:inet:[{next_hop.host}]:{next_hop.port}",
        }
    raise ValueError(
        f"the Postfix hop relays by SMTP or LMTP, not to an {next_hop.protocol} server"
    )


def _run(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(POSTFIX), "-c", str(work / "conf"), *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def _log_tail(work: Path) -> str:
    with contextlib.suppress(OSError):
        return (work / "maillog").read_text(encoding="utf-8", errors="replace").strip()[-800:]
    return ""


def _said(work: Path, done: subprocess.CompletedProcess[str] | None = None) -> str:
    """The last of what Postfix said at its start: `postfix start`'s own output, else the
    log its daemons wrote."""
    output = (done.stderr + done.stdout) if done is not None else ""
    return last_said(output) or last_said(_log_tail(work)) or "it said nothing"


def _master_pid(work: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((work / "queue" / "pid" / "master.pid").read_text().strip())
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(work: Path) -> None:
    """`postfix stop` (the master stops its children), then whatever remains of the
    master's process group is killed: the master is a session leader."""
    pid = _master_pid(work)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        _run(work, "stop")
    if pid is None:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _start(work: Path) -> None:
    """`postfix start` runs `postfix check` first (it makes the queue's subdirectories and
    refuses a broken set-up), then waits until the master is ready (`master -w`).
    ServerNotStarted (one line) when it cannot be executed, fails or does not return."""
    try:
        done = _run(work, "start")
    except OSError as exc:
        raise not_executable("postfix", exc) from None
    except subprocess.TimeoutExpired:
        what = f"`postfix start` did not return within {COMMAND_TIMEOUT_S:.0f} s"
        raise ServerNotStarted("postfix", what, _said(work)) from None
    if done.returncode != 0:
        what = f"`postfix start` {exit_status(done.returncode)}"
        raise ServerNotStarted("postfix", what, _said(work, done))


@contextlib.contextmanager
def postfix_hop(
    next_hop: Endpoint, settings: HopSettings, *, tls: ServerTLS | None = None
) -> Iterator[Endpoint]:
    """A Postfix relaying everything it receives to `next_hop`, listening on a free
    loopback port. `settings.max_message_bytes` is ignored: Postfix keeps its default
    message_size_limit (10240000), and its 552 above it is what the hop measures.
    `tls`: the certificate its smtpd offers STARTTLS with (None: the test PKI's
    server-localhost certificate when the PKI has one, else no STARTTLS).
    MissingComponent when it cannot run here (`missing()`), ServerNotStarted (one) when
    it is there but does not start."""
    del settings  # the real MTA's own limits are the point of this hop
    tls = tls or pki_server_tls()
    reason = missing()
    if reason is not None:
        raise MissingComponent(reason)
    _next_hop(next_hop)  # a next hop Postfix cannot hand mail to: refused before starting
    work = Path(tempfile.mkdtemp(prefix="osm-postfix-"))
    try:
        # Postfix's daemons run as the postfix user: they must reach the queue below.
        work.chmod(0o755)
        (work / "conf").mkdir()
        (work / "queue").mkdir()  # root's; `postfix check` makes its subdirectories
        (work / "data").mkdir()
        owner = pwd.getpwnam("postfix")
        os.chown(work / "data", owner.pw_uid, owner.pw_gid)
        for attempt in range(3):
            # A free port may be taken between the probe and smtpd's bind: try again.
            listen = free_port()
            (work / "conf" / "main.cf").write_text(_main_cf(work, listen, next_hop, tls))
            (work / "conf" / "master.cf").write_text(
                _MASTER_CF.format(listen=f"{LOOPBACK}:{listen}")
            )
            try:
                _start(work)
            except ServerNotStarted:
                _stop(work)
                if attempt == 2:
                    raise
                continue
            except BaseException:  # a SIGTERM or Ctrl-C while it starts: its master leads
                _stop(work)  # a session of its own, which gets no signal of ours
                raise
            try:
                yield Endpoint(LOOPBACK, listen, "smtp")
            finally:
                _stop(work)
            return
    finally:
        shutil.rmtree(work, ignore_errors=True)
