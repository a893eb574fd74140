"""The suite's own Dovecot: one IMAP mailbox per test identity, filled by LMTP.

Never the system's Dovecot nor its /etc/dovecot configuration: this one is configured by
the suite in a temporary directory (its own base_dir, state, log, passwd-file and
maildirs), runs in the foreground (`dovecot -F -c CONF`) as a child of the suite, listens
on free loopback ports, and is stopped when the context ends, however it ends.

The last hop of a route hands its messages to the LMTP listener (RFC 2033, as a real MTA
hands them to Dovecot); the receiving side reads them back over IMAP after STARTTLS with
the server certificate verified, logged in as the recipient with its test password.

What Dovecot adds to a message on the way in (its own defaults, kept because a real
mailbox server adds them too), on top of the message and nothing else: `Return-Path:` with
the envelope sender; `Delivered-To:` with the recipient, only when the LMTP transaction has
that single recipient; and `Received: from ... by dovecot.localhost with LMTP id ...
(envelope-from <sender>)` (`(using TLSv1.3 ...)` and `with LMTPS` when the LMTP client used
STARTTLS), with `for <recipient>` again only for a single recipient. The
rest is served byte for byte as it arrived (Dovecot's LMTP announces 8BITMIME: nothing is
converted).

LMTP answers the end of DATA once per recipient (RFC 2033 4.2): a client that hands one
message for several recipients must read every answer (smtplib.LMTP reads only the first).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import imaplib
import os
import pwd
import re
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from conformance.errors import MissingComponent
from conformance.loopback import (
    LOOPBACK,
    ServerNotStarted,
    cannot_run,
    free_port,
    kill_group,
    start,
    stop_child,
    wait_closed,
    wait_listening,
)
from conformance.mail.endpoint import Endpoint
from conformance.mail.store import Delivery, MailStore, StoreError

DOVECOT = Path("/usr/sbin/dovecot")
LMTP = Path("/usr/lib/dovecot/lmtp")
IMAP = Path("/usr/lib/dovecot/imap")
HOSTNAME = "dovecot.localhost"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 3.0
IMAP_TIMEOUT_S = 15.0
# Characters a passwd-file user name cannot hold (its field separator, line breaks) and
# that no test address has.
_BAD_USER = re.compile(r"[:\s]")


def _mail_owner() -> tuple[int, int]:
    """Who owns the maildirs: Dovecot refuses mail access as root, and we run as root, so
    a fixed unprivileged system user (Debian's `mail`, else `nobody`)."""
    for name in ("mail", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise MissingComponent("neither a 'mail' nor a 'nobody' user to own the Dovecot mailboxes")


def missing() -> str | None:
    """Why the suite cannot run its Dovecot here, or None when it can."""
    for path, package in (
        (DOVECOT, "dovecot-imapd"),
        (IMAP, "dovecot-imapd"),
        (LMTP, "dovecot-lmtpd"),
    ):
        if not path.exists():
            return f"{path} missing: IMAP delivery needs Dovecot (apt-get install {package})"
    if os.geteuid() != 0:
        return "Dovecot started by the suite needs root here (it switches to its own users)"
    for user in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"no '{user}' user: Dovecot is not set up (apt-get install dovecot-imapd)"
    try:
        _mail_owner()
    except MissingComponent as exc:
        return str(exc)
    broken = cannot_run(DOVECOT, "--version")
    if broken is not None:
        return f"IMAP delivery needs a Dovecot that runs: {broken}"
    return None


def _passwd(users: Mapping[str, str], mail: Path) -> str:
    """A passwd-file: user, password (base64, so any character of a test password is
    kept), home; uid and gid are the global mail_uid/mail_gid."""
    lines = []
    for address, password in users.items():
        if not address or _BAD_USER.search(address):
            raise ValueError(f"test identity {address!r}: not usable as a mailbox name")
        secret = base64.b64encode(password.encode("utf-8")).decode("ascii")
        lines.append(f"{address}:{{PLAIN.B64}}{secret}::::{mail / address}::")
    return "\n".join(lines) + "\n"


def _config(
    work: Path, ports: tuple[int, int], tls: tuple[Path, Path], owner: tuple[int, int]
) -> Path:
    """dovecot.conf: nothing included from /etc/dovecot, everything under `work`."""
    imap_port, lmtp_port = ports
    tls_cert, tls_key = tls
    text = f"""\
base_dir = {work / "run"}
state_dir = {work / "state"}
log_path = {work / "dovecot.log"}
info_log_path = {work / "dovecot.log"}
protocols = imap lmtp
# The name in its Received: header and IMAP greeting, the same on every machine.
hostname = {HOSTNAME}
listen = {LOOPBACK}
ssl = required
ssl_cert = <{tls_cert}
ssl_key = <{tls_key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
first_valid_uid = {owner[0]}
first_valid_gid = {owner[1]}
mail_uid = {owner[0]}
mail_gid = {owner[1]}
mail_location = maildir:~/Maildir
mail_fsync = never
# No stats service: a process of ours would otherwise wait 5 s at shutdown for its handshake.
stats_writer_socket_path =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {work / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {work / "passwd"}
}}
service imap-login {{
  inet_listener imap {{
    address = {LOOPBACK}
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {LOOPBACK}
    port = {lmtp_port}
  }}
}}
# The passwd-file lives in the suite's private (0700, root) temp dir: auth reads it as root.
service auth {{
  user = root
}}
service auth-worker {{
  user = root
}}
"""
    path = work / "dovecot.conf"
    path.write_text(text, encoding="utf-8")
    return path


class DovecotStore:
    """A running Dovecot: LMTP in (`inbound`), IMAP out (`take`)."""

    def __init__(
        self, users: Mapping[str, str], imap: Endpoint, lmtp: Endpoint, trust: Path
    ) -> None:
        self._users = dict(users)
        self.imap = imap
        self._lmtp = lmtp
        self._trust = trust

    @property
    def delivery(self) -> Delivery:
        return "imap"

    @property
    def inbound(self) -> Endpoint:
        return self._lmtp

    @functools.cached_property
    def _context(self) -> ssl.SSLContext:
        """Built at the first take (a trust file that cannot be read is that take's
        StoreError), then shared by every take."""
        context = ssl.create_default_context(cafile=str(self._trust))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def take(self, recipient: str, message_id: str) -> bytes:
        password = self._users.get(recipient)
        if password is None:
            raise StoreError(f"{recipient}: no mailbox in this store")
        if not message_id or any(c in message_id for c in '"\\\r\n'):
            raise StoreError(f"Message-ID {message_id!r}: cannot be searched for")
        try:
            imap = imaplib.IMAP4(self.imap.host, self.imap.port, timeout=IMAP_TIMEOUT_S)
        except OSError as exc:
            raise StoreError(f"IMAP {self.imap}: {exc}") from exc
        try:
            imap.starttls(self._context)
            # AUTHENTICATE PLAIN (RFC 4616: UTF-8), since LOGIN only takes ASCII in imaplib.
            secret = f"\0{recipient}\0{password}".encode()
            imap.authenticate("PLAIN", lambda _challenge: secret)
            imap.select("INBOX")
            # A message handed over by LMTP is in the mailbox when the LMTP answer comes;
            # one still in flight behind a queueing hop is the route's to wait for.
            found = _search(imap, message_id)
            if not found:
                raise StoreError(f"{recipient}: no message with Message-ID {message_id}")
            body = _fetch(imap, found[0], recipient, message_id)
            imap.store(found[0].decode("ascii"), "+FLAGS.SILENT", "(\\Deleted)")
            imap.expunge()
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                imap.logout()
            return body
        except (imaplib.IMAP4.error, OSError) as exc:
            # ssl.SSLError (a certificate not verified) is an OSError.
            raise StoreError(f"IMAP {self.imap} as {recipient}: {exc}") from exc
        finally:
            with contextlib.suppress(OSError):
                imap.shutdown()


def _search(imap: imaplib.IMAP4, message_id: str) -> list[bytes]:
    status, data = imap.search(None, "HEADER", "Message-ID", f'"{message_id}"')
    if status != "OK" or not data or not data[0]:
        return []
    return list(data[0].split())


def _fetch(imap: imaplib.IMAP4, number: bytes, recipient: str, message_id: str) -> bytes:
    """BODY.PEEK[]: the whole message as the server serves it, without setting \\Seen."""
    status, data = imap.fetch(number.decode("ascii"), "(BODY.PEEK[])")
    for item in data if status == "OK" else []:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    raise StoreError(f"{recipient}: FETCH of Message-ID {message_id} returned nothing")


def _log_tail(work: Path) -> str:
    """The end of what Dovecot said: its log, and what it printed before it had one."""
    text = ""
    for name in ("dovecot.out", "dovecot.log"):
        with contextlib.suppress(OSError):
            text += (work / name).read_text(encoding="utf-8", errors="replace")
    return text.strip()[-800:]


def _stop(process: subprocess.Popen[bytes], ports: Sequence[int]) -> None:
    """The master stops its children when it gets SIGTERM; whatever is left of the
    process group (a child that did not follow) is killed, and its ports are closed on
    return."""
    stop_child(process, STOP_TIMEOUT_S)
    kill_group(process)
    wait_closed(LOOPBACK, ports, STOP_TIMEOUT_S, group=process.pid)


@contextlib.contextmanager
def serve(
    users: Mapping[str, str],
    *,
    tls_cert: Path,
    tls_key: Path,
    tls_trust: Path | None = None,
    imap_port: int | None = None,
) -> Iterator[DovecotStore]:
    """A Dovecot with a mailbox for each `users` address (value: its password), IMAP with
    STARTTLS (`tls_cert`/`tls_key`) and LMTP on free loopback ports, stopped when the
    context ends. `tls_trust`: what the IMAP reader trusts to verify the server
    certificate (the test root); None: the certificate itself (a self-signed one).
    `imap_port`: IMAP on this port instead of a free one (`serve`'s fixed port, which a
    configured mail client keeps). MissingComponent when it cannot run here (`missing()`),
    ServerNotStarted (one) when it is there but does not start."""
    reason = missing()
    if reason is not None:
        raise MissingComponent(reason)
    work = Path(tempfile.mkdtemp(prefix="osm-dovecot-"))
    try:
        owner = _mail_owner()
        # The mail user reaches its maildirs through the private temp dir (x, not r).
        work.chmod(0o711)
        (work / "mail").mkdir(mode=0o700)
        os.chown(work / "mail", *owner)
        passwd = work / "passwd"
        passwd.touch(mode=0o600)
        passwd.write_text(_passwd(users, work / "mail"), encoding="utf-8")
        for attempt in range(3):
            # A free port may be taken between the probe and Dovecot's bind: try again.
            ports = (imap_port or free_port(), free_port())
            config = _config(work, ports, (tls_cert, tls_key), owner)
            with (work / "dovecot.out").open("wb") as out:
                argv = [str(DOVECOT), "-F", "-c", str(config)]
                process = start("dovecot", argv, out, new_session=True)
            try:
                wait_listening(
                    process, "dovecot", LOOPBACK, ports, START_TIMEOUT_S, lambda: _log_tail(work)
                )
            except ServerNotStarted:
                _stop(process, ports)
                if attempt == 2 or imap_port:
                    raise
                continue
            except BaseException:  # a SIGTERM or Ctrl-C while it starts: its own session
                _stop(process, ports)  # gets no signal of ours, so it is stopped here
                raise
            try:
                yield DovecotStore(
                    users,
                    Endpoint(LOOPBACK, ports[0], "imap"),
                    Endpoint(LOOPBACK, ports[1], "lmtp"),
                    tls_trust or tls_cert,
                )
            finally:
                _stop(process, ports)
            return
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _is_a_store(store: DovecotStore) -> MailStore:
    """mypy checks here that DovecotStore keeps the MailStore protocol."""
    return store
