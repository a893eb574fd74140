"""One `serve` session: the servers started, the drops delivered, stopped even on failure.

Order: the product's profile and the ports are checked first (a clear error before
anything starts); the messages are exported; the mail store starts (Dovecot with a
mailbox per test account, or maildirs), the dropped messages go into the product's inbox
through the store's own inbound door (LMTP for Dovecot), as a real MTA would deliver
them; then the submission server and the record form start. Everything started is
stopped when the session ends, whatever ends it.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

from conformance.agents.factory import close_agent, make_agent
from conformance.errors import UserError
from conformance.loopback import LOOPBACK, port_in_use
from conformance.mail import dovecot
from conformance.mail.delivery import DeliveryError
from conformance.mail.endpoint import Endpoint
from conformance.mail.maildir import MaildirStore
from conformance.mail.route import envelope_sender
from conformance.mail.smtp_server import Envelope, ServerOptions, log_to, smtp_server, submit
from conformance.mail.store import MailStore
from conformance.paths import output_folder
from conformance.pki.model import load_pki
from conformance.serve.accounts import ACCOUNTS_FILE, Account, make_accounts, write_accounts
from conformance.serve.collect import RECEIVED_DIR, Collector
from conformance.serve.drops import DROPPED_FILE, VECTORS_DIR, Drop, prepare, tagged, write_dropped
from conformance.serve.judge import READER, make_context
from conformance.serve.record import Record, record_form
from conformance.serve.summary import JUDGED_FILE, SUMMARY_HTML, SUMMARY_MD
from conformance.vectors.common import shipped_profile, shipped_profiles
from conformance.vectors.export import RECORD_FILE, software_keys
from conformance.vectors.manifest import ExportManifest

MAILDIR_DIR = "maildir"
SMTP_LOG = "smtp.log"  # what the session's SMTP servers logged, off the tester's terminal
DROP_SENDER = "osm-conformance@localhost"
# SIZE announced by the submission server (RFC 1870), 552 above it: without a limit a
# client could make the session hold any amount of mail data in memory (a message costs
# about five times its size while it is received). `--max-message-bytes` raises it for an
# imaging series.
SUBMISSION_SIZE_LIMIT = 64 * 1024**2


@dataclass(frozen=True)
class Settings:
    out: Path
    profile: str
    listen: str = "127.0.0.1"
    smtp_port: int = 0
    imap_port: int = 0
    web_port: int = 0
    senders: tuple[str, ...] = ()
    maildir: bool = False  # maildirs even when Dovecot is installed
    max_message_bytes: int = SUBMISSION_SIZE_LIMIT


@dataclass
class Running:
    settings: Settings
    manifest: ExportManifest
    accounts: list[Account]
    drops: list[Drop]
    smtp: Endpoint
    imap: Endpoint | None
    imap_missing: str | None  # why there is no IMAP
    web: tuple[str, int]
    collector: Collector
    undelivered: list[str]  # drops the store refused, with its answer

    @property
    def inbox(self) -> Account:
        return next(a for a in self.accounts if a.email == self.manifest.recipient_email)


Say = Callable[[str], None]


def _check_ports(settings: Settings) -> None:
    if port_in_use(settings.listen, 0):  # not even a free port: not an address of this host
        raise UserError(f"--listen {settings.listen}: not an IPv4 address this machine has")
    taken = [
        f"--{name}-port {port}: {settings.listen}:{port} is already in use"
        for name, port in (("smtp", settings.smtp_port), ("web", settings.web_port))
        if port and port_in_use(settings.listen, port)
    ]
    imap = settings.imap_port
    dovecot_used = not settings.maildir and dovecot.missing() is None
    if imap and dovecot_used and port_in_use(LOOPBACK, imap):
        taken.append(f"--imap-port {imap}: {LOOPBACK}:{imap} is already in use")
    if taken:
        raise UserError("; ".join(taken) + " (choose another port, or 0 for any free one)")


def _roles(manifest: ExportManifest) -> list[tuple[str, str]]:
    roles = [
        (manifest.recipient, f"the product's user ({manifest.product}): its inbox gets the drops"),
        (manifest.sender_identity, f"the product's second user ({manifest.product})"),
    ]
    for vector in manifest.vectors:
        roles.append((vector.sender_identity, f"correspondent: the {vector.sender} agent's user"))
    return roles


@contextmanager
def serving(settings: Settings, say: Say = lambda _: None) -> Iterator[Running]:
    """Start everything, deliver the drops, yield; stop everything when the block ends."""
    shipped_profile(settings.profile)
    for sender in settings.senders:
        shipped_profile(sender)
    _check_ports(settings)
    out = output_folder(settings.out)
    say(f"exporting the messages for {settings.profile} into {out / VECTORS_DIR} ...")
    manifest, drops = prepare(settings.profile, out, settings.senders or None)
    vectors = out / VECTORS_DIR
    accounts = make_accounts(vectors / "identities", _roles(manifest))
    write_accounts(accounts, out / ACCOUNTS_FILE)
    with ExitStack() as stack:
        stack.enter_context(log_to(out / SMTP_LOG))
        store, imap, missing = _store(settings, accounts, stack)
        drops, undelivered = _deliver(drops, manifest, vectors, store)
        write_dropped(drops, out / DROPPED_FILE)
        reader = make_agent(software_keys(shipped_profiles()[READER]))
        stack.callback(close_agent, reader)
        collector = Collector(out, make_context(manifest, vectors), reader)
        stack.callback(collector.close)
        smtp = stack.enter_context(_submission(settings, accounts, collector, store))
        try:
            web = stack.enter_context(
                record_form(Record(out, drops), out, settings.listen, settings.web_port)
            )
        except OSError as exc:
            raise UserError(
                f"--web-port {settings.web_port}: cannot listen on {settings.listen}: "
                f"{exc.strerror or exc}"
            ) from None
        yield Running(
            settings, manifest, accounts, drops, smtp, imap, missing, web, collector, undelivered
        )


def _store(
    settings: Settings, accounts: list[Account], stack: ExitStack
) -> tuple[MailStore, Endpoint | None, str | None]:
    """Dovecot with a mailbox per account when installed (and not --maildir), else the
    maildirs of OUT/maildir/; with why there is no IMAP."""
    missing = "--maildir given" if settings.maildir else dovecot.missing()
    if missing is None:
        pki = load_pki()
        try:
            store = stack.enter_context(
                dovecot.serve(
                    {a.email: a.password for a in accounts},
                    tls_cert=pki.server_certificate_path(),
                    tls_key=pki.server_key_path(),
                    tls_trust=pki.trust_paths()[0],
                    imap_port=settings.imap_port or None,
                )
            )
        except RuntimeError as exc:  # ServerNotStarted: one line, its last words (a port taken)
            raise UserError(f"IMAP: the suite's {exc}; --maildir serves without it") from None
        return store, store.imap, None
    root = settings.out / MAILDIR_DIR
    shutil.rmtree(root, ignore_errors=True)  # the drops of an earlier session: not twice
    maildirs = stack.enter_context(MaildirStore(root))
    for account in accounts:  # every mailbox there from the start, empty or not
        maildirs.maildir(account.email)
    return maildirs, None, missing


def _deliver(
    drops: list[Drop], manifest: ExportManifest, vectors: Path, store: MailStore
) -> tuple[list[Drop], list[str]]:
    """Each message into the product's inbox through the store's inbound door, tagged;
    those the store refused, each with its reason (the others are dropped all the same)."""
    done: list[Drop] = []
    refused: list[str] = []
    for drop in drops:
        message, subject = tagged((vectors / drop.file).read_bytes(), drop.id)
        sender = envelope_sender(message, DROP_SENDER)
        try:
            submit(store.inbound, message, sender, [manifest.recipient_email])
        except DeliveryError as exc:
            refused.append(f"{drop.id} ({drop.file}): {exc}")
            continue
        done.append(replace(drop, subject=subject))
    return done, refused


@contextmanager
def _submission(
    settings: Settings, accounts: list[Account], collector: Collector, store: MailStore
) -> Iterator[Endpoint]:
    """The submission server: STARTTLS, then AUTH PLAIN with an account's password; each
    message kept and judged, and delivered to the recipients that have a mailbox here."""
    mailboxes = {a.email.lower() for a in accounts}

    def on_message(envelope: Envelope) -> None:
        collector.keep(envelope.content, envelope.mail_from, list(envelope.rcpt_tos), envelope.user)
        local = [r for r in envelope.rcpt_tos if r.lower() in mailboxes]
        for recipient in local:  # one at a time: an LMTP answer per recipient
            with suppress(DeliveryError):  # kept and judged all the same
                submit(store.inbound, envelope.content, envelope.mail_from or "", [recipient])

    options = ServerOptions(
        hostname="localhost",
        users={a.email: a.password for a in accounts},
        size_limit=settings.max_message_bytes,
    )
    with ExitStack() as stack:
        try:
            endpoint = stack.enter_context(
                smtp_server(on_message, options, host=settings.listen, port=settings.smtp_port)
            )
        except OSError as exc:
            raise UserError(
                f"--smtp-port {settings.smtp_port}: cannot listen on {settings.listen}: "
                f"{exc.strerror or exc}"
            ) from None
        yield endpoint


def _address_is(address: str, kind: str) -> bool:
    """Whether `address` is an IP address of that kind (is_loopback, is_unspecified)."""
    try:
        return bool(getattr(ipaddress.ip_address(address), kind))
    except ValueError:
        return False


def describe(running: Running) -> str:
    """What a client needs, printed at start-up."""
    s = running.settings
    out = s.out
    vectors = out / VECTORS_DIR
    inbox = running.inbox
    loopback = s.listen == "localhost" or _address_is(s.listen, "is_loopback")
    host = "localhost" if loopback or _address_is(s.listen, "is_unspecified") else s.listen
    lines = [
        f"osm-conformance serve: the suite as the mail server of a product following "
        f"{running.manifest.product} (TEST KEYS ONLY)",
    ]
    if not loopback:
        lines.append(
            f"  listening on {s.listen}, not only loopback: the server certificate names "
            "localhost and 127.0.0.1 only (a client elsewhere must accept it as an "
            "exception), and IMAP stays on loopback"
        )
    lines += [
        f"  SMTP submission  {host}:{running.smtp.port}  STARTTLS, then AUTH PLAIN "
        '("normal password"; refused before STARTTLS)',
    ]
    if running.imap is not None:
        lines.append(f"  IMAP             {host}:{running.imap.port}  STARTTLS, normal password")
    else:
        lines.append(
            f"  IMAP: not available ({running.imap_missing}); messages in "
            f"{out / MAILDIR_DIR}/<address>/"
        )
    lines += [
        "  server certificate: server-localhost, issued by the test root "
        f"{vectors / 'ca' / 'root.pem'} (trust it as a CA for web sites and e-mail)",
        f"  accounts (user name = address; {out / ACCOUNTS_FILE}):",
    ]
    for a in running.accounts:
        lines.append(f"    {a.email:42} {a.password}  {a.identity} {a.name}: {a.role}")
    identity = vectors / "identities" / inbox.identity
    web = "127.0.0.1" if _address_is(running.web[0], "is_unspecified") else running.web[0]
    interop = sum(1 for d in running.drops if d.kind == "interop")
    lines += [
        f"  the product's user: {inbox.name} <{inbox.email}>; import "
        f"{identity / 'identity.p12'} and {identity / 'encrypt.p12'} (PKCS#12 password: test)",
        f"  dropped into {inbox.email}: {interop} interop and {len(running.drops) - interop} "
        f"hostile messages, ids in the Subject ({out / DROPPED_FILE})",
    ]
    with_crls = [d.id for d in running.drops if d.crls]
    if with_crls:
        lines.append(
            f"  {', '.join(with_crls)} come with CRLs: load them into the product before "
            "reading those messages (the record page and dropped.csv name the files)"
        )
    lines += [
        f"  tester's record: http://{web}:{running.web[1]}/  (writes "
        f"{vectors / RECORD_FILE} and negative.csv for `vectors import`)",
        f"  what the product sends: kept in {out / RECEIVED_DIR}/, judged in "
        f"{out / JUDGED_FILE} and {out / SUMMARY_HTML}",
        f"  what the SMTP server logs (a client's unknown command, a failed TLS "
        f"handshake): {out / SMTP_LOG}",
        "  Ctrl-C stops every server. Step by step: docs/serve.md",
    ]
    missed: dict[tuple[str, str], list[str]] = {}
    for skipped in running.manifest.skipped:
        if not skipped.sender.startswith("negative:"):
            missed.setdefault((skipped.sender, skipped.reason), []).append(skipped.function)
    for (sender, reason), functions in missed.items():
        lines.append(f"  not dropped: {sender} ({', '.join(functions)}): {reason}")
    lines += [f"  not dropped (refused by the mailbox): {u}" for u in running.undelivered]
    return "\n".join(lines)


def farewell(running: Running) -> str:
    """What the session leaves behind, printed at the end."""
    out = running.settings.out
    judged = running.collector.judged
    readable = sum(1 for j in judged if j.readable)
    lines = [
        f"received {running.collector.handled} message(s) from the product; "
        f"{len(judged)} judgement(s), {readable} readable ({out / SUMMARY_MD})",
    ]
    if judged:  # received/ then holds their manifest (none before a first message)
        lines.append(
            f"  the product's row against every receiver: osm-conformance vectors verify "
            f"{out / RECEIVED_DIR} --as {running.manifest.product}"
        )
    lines.append(
        f"  the tester's record into a run's results: see {out / VECTORS_DIR / 'README.md'} "
        "(osm-conformance vectors import)"
    )
    lines += [f"  {f.splitlines()[0]}" for f in running.collector.failures]
    return "\n".join(lines)
