"""The Postfix hop: a real Postfix the suite starts, relaying to a next hop started here.

Skipped with the reason where Postfix is not installed or we are not root. What is
measured is Postfix's own behaviour: its MIME conversion of an 8-bit text part to
quoted-printable for a next hop that does not announce 8BITMIME (and nothing but its
Received: header for one that does), its 552 above its default message_size_limit, and
that the instance is gone after the context, also when the body raises.
"""

from __future__ import annotations

import base64
import email
import email.policy
import os
import pwd
import queue
import smtplib
import ssl
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from mail_support import listening, server_tls

from conformance.loopback import free_port
from conformance.mail import dovecot, postfix
from conformance.mail.endpoint import Endpoint, HopSettings
from conformance.mail.store import StoreError

MISSING = postfix.missing()
needs_postfix = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

SENDER, RECIPIENT = "alice@hopital-a.test", "bob@clinique-b.test"
TEXT = "Compte rendu : résultat normal, à revoir dans 3 mois.\r\nCordialement, l'équipe\r\n"
ATTACHMENT = bytes(range(256)) * 4
ARRIVAL_TIMEOUT_S = 20.0


class NextHop:
    """The hop after Postfix: keeps every message it accepts (and refuses nobody@...);
    announces 8BITMIME or not
    (and, without it, not SMTPUTF8 either: RFC 6531 requires 8BITMIME, and Postfix
    takes SMTPUTF8 to imply it)."""

    def __init__(self, eight_bit: bool) -> None:
        self.eight_bit = eight_bit
        self.arrived: queue.Queue[Envelope] = queue.Queue()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.eight_bit:
            return responses
        return [line for line in responses if line not in ("250-8BITMIME", "250-SMTPUTF8")]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.arrived.put(envelope)
        return "250 OK kept"

    def next(self) -> Envelope:
        return self.arrived.get(timeout=ARRIVAL_TIMEOUT_S)


def raw(envelope: Envelope) -> bytes:
    """What the next hop got, as bytes (the controllers here have decode_data=False)."""
    assert not isinstance(envelope.content, str)
    return bytes(envelope.content or b"")


def _route(eight_bit: bool) -> Iterator[tuple[Endpoint, NextHop]]:
    if MISSING is not None:
        pytest.skip(MISSING)
    hop = NextHop(eight_bit)
    controller = Controller(hop, hostname="127.0.0.1", port=free_port(), decode_data=False)
    controller.start()
    try:
        with postfix.postfix_hop(Endpoint("127.0.0.1", controller.port), HopSettings()) as front:
            yield front, hop
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def route() -> Iterator[tuple[Endpoint, NextHop]]:
    """A Postfix in front of a next hop without 8BITMIME."""
    yield from _route(eight_bit=False)


@pytest.fixture(scope="module")
def route_8bit() -> Iterator[tuple[Endpoint, NextHop]]:
    """A Postfix in front of a next hop with 8BITMIME."""
    yield from _route(eight_bit=True)


def eight_bit_message(message_id: str) -> bytes:
    """multipart/mixed: an 8-bit UTF-8 text part and a base64 attachment."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = SENDER
    message["To"] = RECIPIENT
    message["Subject"] = "essai 8 bits"
    message["Date"] = "Fri, 04 Dec 2026 12:00:00 +0100"
    message["Message-ID"] = message_id
    message.set_content(TEXT, charset="utf-8", cte="8bit")
    message.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream")
    data = message.as_bytes()
    assert "é".encode() in data  # really 8-bit on the wire
    return data


def relay(front: Endpoint, data: bytes) -> None:
    with smtplib.SMTP(front.host, front.port, timeout=30) as client:
        client.sendmail(SENDER, [RECIPIENT], data)


def parts(data: bytes) -> list[email.message.Message]:
    return list(email.message_from_bytes(data).walk())[1:]


def without_received(data: bytes) -> bytes:
    """The message without the Received: header Postfix put on top (with its folds)."""
    assert data.startswith(b"Received: ")
    lines = data.split(b"\r\n")
    rest = 1
    while lines[rest][:1] in (b" ", b"\t"):
        rest += 1
    return b"\r\n".join(lines[rest:])


def relayed(front: Endpoint, hop: NextHop, sent: bytes) -> tuple[Envelope, bytes]:
    """What the next hop got for `sent`, after checking what survives either way: the
    decoded text, and the base64 attachment untouched."""
    relay(front, sent)
    arrived = hop.next()
    received = raw(arrived)
    text_sent, _attachment = parts(sent)
    text_got, attachment_got = parts(received)
    assert text_got.get_payload(decode=True) == text_sent.get_payload(decode=True)
    assert attachment_got.get_payload(decode=True) == ATTACHMENT
    assert attachment_got["Content-Transfer-Encoding"] == "base64"
    return arrived, received


@needs_postfix
def test_postfix_converts_8bit_text_to_qp_for_a_next_hop_without_8bitmime(
    route: tuple[Endpoint, NextHop],
) -> None:
    front, hop = route
    sent = eight_bit_message("<to-7bit@hopital-a.test>")
    arrived, received = relayed(front, hop, sent)
    assert "BODY=8BITMIME" not in arrived.mail_options
    assert parts(sent)[0]["Content-Transfer-Encoding"] == "8bit"
    assert parts(received)[0]["Content-Transfer-Encoding"] == "quoted-printable"
    assert max(received) < 0x80  # nothing 8-bit left on the wire
    assert b"r=C3=A9sultat" in received


@needs_postfix
def test_postfix_keeps_8bit_unchanged_for_a_next_hop_with_8bitmime(
    route_8bit: tuple[Endpoint, NextHop],
) -> None:
    front, hop = route_8bit
    sent = eight_bit_message("<to-8bit@hopital-a.test>")
    arrived, received = relayed(front, hop, sent)
    assert "BODY=8BITMIME" in arrived.mail_options
    assert parts(received)[0]["Content-Transfer-Encoding"] == "8bit"
    assert without_received(received) == sent


@needs_postfix
def test_postfix_adds_its_received_header_and_a_missing_message_id_and_date(
    route: tuple[Endpoint, NextHop],
) -> None:
    front, hop = route
    relay(front, eight_bit_message("<received@hopital-a.test>"))
    received = email.message_from_bytes(raw(hop.next()))
    assert "by postfix-hop.localhost (Postfix) with ESMTP" in " ".join(received["Received"].split())
    assert received.get_all("Message-ID") == ["<received@hopital-a.test>"]
    relay(front, f"From: {SENDER}\r\nSubject: bare\r\n\r\nno id, no date\r\n".encode())
    bare = email.message_from_bytes(raw(hop.next()))
    assert bare.keys() == ["Received", "From", "Subject", "Message-Id", "Date"]
    assert bare["Message-Id"].endswith("@postfix-hop.localhost>")


@needs_postfix
def test_a_refusal_after_postfix_accepted_comes_back_as_a_bounce_to_the_sender(
    route: tuple[Endpoint, NextHop],
) -> None:
    """Postfix answers 250, then the next hop refuses: the submitter saw success, and the
    refusal comes back as a delivery status notification (RFC 3464) to the sender."""
    front, hop = route
    with smtplib.SMTP(front.host, front.port, timeout=30) as client:
        assert (
            client.sendmail(SENDER, ["nobody@clinique-b.test"], b"Subject: lost\r\n\r\nx\r\n") == {}
        )
    bounce = hop.next()
    assert bounce.mail_from == "<>"
    assert bounce.rcpt_tos == [SENDER]
    report = email.message_from_bytes(raw(bounce))
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    assert report.get_content_type() == "multipart/report"
    assert b"550 5.1.1 no such mailbox here" in raw(bounce)


@needs_postfix
def test_over_the_default_size_limit_is_refused_with_552(route: tuple[Endpoint, NextHop]) -> None:
    front, hop = route
    line = base64.b64encode(b"x" * 57) + b"\r\n"
    body = line * (postfix.DEFAULT_MESSAGE_SIZE_LIMIT // len(line) + 1)
    big = b"From: " + SENDER.encode() + b"\r\nSubject: big\r\n\r\n" + body
    assert len(big) > postfix.DEFAULT_MESSAGE_SIZE_LIMIT
    # Declared with SIZE (smtplib does when the server announces SIZE): refused at MAIL.
    with smtplib.SMTP(front.host, front.port, timeout=60) as client:
        client.ehlo()
        assert client.has_extn("size")
        assert int(client.esmtp_features["size"]) == postfix.DEFAULT_MESSAGE_SIZE_LIMIT
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(SENDER, [RECIPIENT], big)
    assert refused.value.smtp_code == 552
    # Not declared: refused at the end of DATA, and nothing is relayed.
    with smtplib.SMTP(front.host, front.port, timeout=60) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt(RECIPIENT)[0] == 250
        code, text = client.data(big)
    assert code == 552, text
    with pytest.raises(queue.Empty):
        hop.arrived.get(timeout=2)


def instance_of(front: Endpoint) -> Path:
    """The work directory of the Postfix listening there (its main.cf names the port)."""
    for main_cf in Path(tempfile.gettempdir()).glob("osm-postfix-*/conf/main.cf"):
        if f"postfix-osm-{front.port}\n" in main_cf.read_text():
            return main_cf.parent.parent
    raise AssertionError(f"no Postfix work directory for {front}")


def processes_of(work: Path) -> list[int]:
    """Processes of that instance: Postfix passes MAIL_CONFIG to all its daemons."""
    marker = f"MAIL_CONFIG={work / 'conf'}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@needs_postfix
def test_the_instance_is_gone_after_the_context_even_when_the_body_raises() -> None:
    next_hop = Endpoint("127.0.0.1", free_port())  # nothing listens: not needed here
    seen: dict[str, Any] = {}
    with (
        pytest.raises(RuntimeError, match="the body failed"),
        postfix.postfix_hop(next_hop, HopSettings(max_message_bytes=1000)) as front,
    ):
        work = instance_of(front)
        seen.update(port=front.port, work=work, master=processes_of(work))
        assert listening(front.port)
        raise RuntimeError("the body failed")
    assert seen["master"], "the instance's processes were not found while it ran"
    assert not listening(seen["port"])
    assert processes_of(seen["work"]) == []
    assert not seen["work"].exists()


@needs_postfix
def test_two_instances_at_once_relay_each_to_its_own_next_hop() -> None:
    hops = [NextHop(eight_bit=True), NextHop(eight_bit=True)]
    controllers = [
        Controller(hop, hostname="127.0.0.1", port=free_port(), decode_data=False) for hop in hops
    ]
    for controller in controllers:
        controller.start()
    try:
        with (
            postfix.postfix_hop(Endpoint("127.0.0.1", controllers[0].port), HopSettings()) as one,
            postfix.postfix_hop(Endpoint("127.0.0.1", controllers[1].port), HopSettings()) as two,
        ):
            assert one.port != two.port
            relay(one, eight_bit_message("<to-one@hopital-a.test>"))
            relay(two, eight_bit_message("<to-two@hopital-a.test>"))
            got_one = email.message_from_bytes(raw(hops[0].next()))
            got_two = email.message_from_bytes(raw(hops[1].next()))
            assert got_one["Message-ID"] == "<to-one@hopital-a.test>"
            assert got_two["Message-ID"] == "<to-two@hopital-a.test>"
    finally:
        for controller in controllers:
            controller.stop()


def test_a_next_hop_that_is_not_smtp_or_lmtp_is_refused() -> None:
    if MISSING is not None:
        pytest.skip(MISSING)
    with (
        pytest.raises(ValueError, match="relays by SMTP or LMTP, not to an imap server"),
        postfix.postfix_hop(Endpoint("127.0.0.1", 143, "imap"), HopSettings()),
    ):
        pass


def test_missing_says_postfix_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    if not postfix.POSTFIX.exists():
        pytest.skip("Postfix is not installed")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert postfix.missing() == (
        "Postfix refuses to run as a non-root user here: the Postfix hop needs root"
    )


@needs_postfix
def test_postfix_hands_to_dovecot_by_lmtp_and_the_recipient_reads_it_over_imap(
    tmp_path: Path,
) -> None:
    """The usual real set-up: Postfix in front of Dovecot, by LMTP; read back over IMAP."""
    reason = dovecot.missing()
    if reason is not None:
        pytest.skip(reason)
    tls = server_tls(tmp_path)
    users = {RECIPIENT: "s3cret", "carol@clinique-b.test": "autre"}
    with (
        dovecot.serve(users, tls_cert=tls.cert, tls_key=tls.key, tls_trust=tls.trust) as store,
        postfix.postfix_hop(store.inbound, HopSettings()) as front,
    ):
        sent = eight_bit_message("<to-dovecot@hopital-a.test>")
        with smtplib.SMTP(front.host, front.port, timeout=30) as client:
            client.sendmail(SENDER, [RECIPIENT, "carol@clinique-b.test"], sent)
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        while True:
            try:
                served = store.take(RECIPIENT, "<to-dovecot@hopital-a.test>")
                break
            except StoreError:
                if time.monotonic() > deadline:
                    raise
        # Dovecot's LMTP announces 8BITMIME: nothing converted; on top, Dovecot's headers,
        # then Postfix's Received:, then the message as sent.
        added = email.message_from_bytes(served)
        # Two recipients in one LMTP transaction: no Delivered-To: (one copy for both).
        assert added.keys()[:4] == ["Return-Path", "Received", "Received", "From"]
        received = added.get_all("Received")
        assert received is not None
        assert "with LMTP" in received[0]
        assert "(Postfix) with ESMTP" in " ".join(received[1].split())
        assert served.endswith(sent.split(b"\r\n", 1)[1])  # below the From: line, byte for byte
        assert store.take("carol@clinique-b.test", "<to-dovecot@hopital-a.test>")


def test_missing_says_postfix_is_not_set_up_without_its_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not postfix.POSTFIX.exists() or os.geteuid() != 0:
        pytest.skip("Postfix is not installed, or we are not root")

    def no_such_user(name: str) -> None:
        raise KeyError(name)

    monkeypatch.setattr(pwd, "getpwnam", no_such_user)  # the module postfix.missing() uses
    assert "Postfix is not set up" in (postfix.missing() or "")


@needs_postfix
def test_postfix_uses_starttls_when_the_next_hop_offers_it(tmp_path: Path) -> None:
    """Opportunistic TLS (smtp_tls_security_level = may): a next hop that requires STARTTLS
    gets the message over TLS."""
    tls = server_tls(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert, tls.key)
    over_tls: list[bool] = []

    class Recorded(NextHop):
        async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
            over_tls.append(session.ssl is not None)
            return await super().handle_DATA(server, session, envelope)

    hop = Recorded(eight_bit=True)
    controller = Controller(
        hop,
        hostname="127.0.0.1",
        port=free_port(),
        decode_data=False,
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    try:
        with postfix.postfix_hop(Endpoint("127.0.0.1", controller.port), HopSettings()) as front:
            relay(front, eight_bit_message("<over-tls@hopital-a.test>"))
            arrived = email.message_from_bytes(raw(hop.next()))
    finally:
        controller.stop()
    assert arrived["Message-ID"] == "<over-tls@hopital-a.test>"
    assert over_tls == [True]


@needs_postfix
def test_postfix_offers_starttls_with_the_server_certificate(tmp_path: Path) -> None:
    """A relay offers STARTTLS (not required): a client verifying the certificate gets in."""
    tls = server_tls(tmp_path)
    hop = NextHop(eight_bit=True)
    controller = Controller(hop, hostname="127.0.0.1", port=free_port(), decode_data=False)
    controller.start()
    try:
        with postfix.postfix_hop(
            Endpoint("127.0.0.1", controller.port),
            HopSettings(),
            tls=postfix.ServerTLS(tls.cert, tls.key),
        ) as front:
            with smtplib.SMTP(front.host, front.port, timeout=30) as client:
                client.ehlo()
                assert client.has_extn("starttls")
                client.starttls(context=ssl.create_default_context(cafile=str(tls.trust)))
                client.ehlo()
                client.sendmail(SENDER, [RECIPIENT], eight_bit_message("<tls-in@hopital-a.test>"))
            arrived = email.message_from_bytes(raw(hop.next()))
    finally:
        controller.stop()
    assert "(Postfix) with ESMTPS id" in " ".join(arrived["Received"].split())  # RFC 3848


def test_the_pki_server_certificate_is_the_default_when_there() -> None:
    found = postfix.pki_server_tls()
    assert found is None or (found.cert.name, found.key.name) == (
        "localhost.pem",
        "localhost.key.pem",
    )


@needs_postfix
def test_an_interrupted_start_stops_postfix_before_its_folder_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A SIGTERM (unwound as Ctrl-C) as Postfix has just started: its master leads a
    session of its own, which gets no signal of ours, so the hop stops it."""
    real = postfix._start
    seen: list[tuple[Path, int | None]] = []

    def interrupted(work: Path) -> None:
        real(work)
        seen.append((work, postfix._master_pid(work)))
        raise KeyboardInterrupt

    monkeypatch.setattr(postfix, "_start", interrupted)
    with (
        pytest.raises(KeyboardInterrupt),
        postfix.postfix_hop(Endpoint("127.0.0.1", free_port()), HopSettings()),
    ):
        pass
    ((work, pid),) = seen
    assert pid is not None and not postfix._alive(pid), "Postfix outlived the interrupted start"
    assert not work.exists(), "Postfix's folder is left"
