"""The suite's own Dovecot: messages in by LMTP, read back over IMAP with STARTTLS.

A real Dovecot started in a temp dir on loopback (skipped with the reason where it is not
installed or we are not root): the bytes served equal the bytes handed over, apart from
the three headers Dovecot puts on top (said in conformance/mail/dovecot.py and docs);
each identity reads only its own mailbox; a message that is not there, a recipient
without a mailbox and a server certificate the reader does not trust are StoreErrors;
the server is gone after the context, also when the body raises.
"""

from __future__ import annotations

import email
import os
import pwd
import smtplib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mail_support import ServerTLS, listening, self_signed, server_tls

from conformance.mail import dovecot
from conformance.mail.store import MailStore, StoreError

MISSING = dovecot.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

USERS = {"alice@hopital-a.test": "mot de passe: é", "bob@clinique-b.test": "s3cret"}
ALICE, BOB = USERS


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ServerTLS:
    return server_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def store(tls: ServerTLS) -> Iterator[dovecot.DovecotStore]:
    with dovecot.serve(USERS, tls_cert=tls.cert, tls_key=tls.key, tls_trust=tls.trust) as running:
        yield running


def message(message_id: str, to: str, body: bytes = "Texte accentué : é à ç\r\n".encode()) -> bytes:
    return (
        f"From: {ALICE}\r\nTo: {to}\r\nMessage-ID: {message_id}\r\n"
        "Subject: essai\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body


def lmtp(store: MailStore, recipients: list[str], data: bytes) -> dict[str, tuple[int, bytes]]:
    """LMTP answers DATA once per recipient (RFC 2033 4.2); smtplib.LMTP reads only the
    first answer, so the others are read here."""
    with smtplib.LMTP(store.inbound.host, store.inbound.port) as client:
        refused = client.sendmail(ALICE, recipients, data)
        for _ in recipients[1:]:
            code, _text = client.getreply()
            assert code == 250, _text
        return refused


def test_store_shape(store: dovecot.DovecotStore) -> None:
    assert store.delivery == "imap"
    assert store.inbound.protocol == "lmtp"
    assert store.imap.protocol == "imap"
    assert store.inbound.port != store.imap.port


def test_lmtp_in_imap_out_same_bytes_below_dovecot_headers(store: dovecot.DovecotStore) -> None:
    sent = message("<same-bytes@hopital-a.test>", BOB)
    assert lmtp(store, [BOB], sent) == {}
    served = store.take(BOB, "<same-bytes@hopital-a.test>")
    assert served.endswith(sent)
    added = email.message_from_bytes(served[: -len(sent)] + b"\r\n")
    assert added.keys() == ["Return-Path", "Delivered-To", "Received"]
    assert added["Return-Path"] == f"<{ALICE}>"
    assert added["Delivered-To"] == BOB
    assert "by dovecot.localhost with LMTP" in " ".join(added["Received"].split())
    assert f"for <{BOB}>" in added["Received"]


def test_each_identity_reads_its_own_copy(store: dovecot.DovecotStore) -> None:
    both = message("<both@hopital-a.test>", f"{ALICE}, {BOB}")
    only_bob = message("<only-bob@hopital-a.test>", BOB)
    assert lmtp(store, [ALICE, BOB], both) == {}
    assert lmtp(store, [BOB], only_bob) == {}
    for_alice = store.take(ALICE, "<both@hopital-a.test>")
    assert for_alice.endswith(both)
    # One transaction for both: Dovecot adds no Delivered-To:, and its Received: names
    # no recipient (it does both for a single recipient).
    added = email.message_from_bytes(for_alice[: -len(both)] + b"\r\n")
    assert added.keys() == ["Return-Path", "Received"]
    assert "for <" not in added["Received"]
    with pytest.raises(StoreError, match="no message"):
        store.take(ALICE, "<only-bob@hopital-a.test>")
    assert store.take(BOB, "<only-bob@hopital-a.test>").endswith(only_bob)
    assert store.take(BOB, "<both@hopital-a.test>").endswith(both)


def test_the_suite_s_client_delivers_to_several_recipients_over_lmtp(
    store: dovecot.DovecotStore,
) -> None:
    """mail.smtp_server.submit, as the last hop of a route uses it: LMTP answers DATA once
    per recipient, which smtplib cannot read, so it makes one transaction each."""
    from conformance.mail.smtp_server import submit

    sent = message("<submitted-to-both@hopital-a.test>", f"{ALICE}, {BOB}")
    submit(store.inbound, sent, ALICE, [ALICE, BOB], starttls=False)
    submit(store.inbound, message("<after@hopital-a.test>", BOB), ALICE, [BOB], starttls=False)
    for rcpt in (ALICE, BOB):
        assert store.take(rcpt, "<submitted-to-both@hopital-a.test>").endswith(sent)
    assert store.take(BOB, "<after@hopital-a.test>")


def test_take_removes_the_message(store: dovecot.DovecotStore) -> None:
    sent = message("<once@hopital-a.test>", BOB)
    lmtp(store, [BOB], sent)
    lmtp(store, [BOB], sent)  # the same message twice: two copies, taken one at a time
    store.take(BOB, "<once@hopital-a.test>")
    store.take(BOB, "<once@hopital-a.test>")
    with pytest.raises(StoreError, match=r"no message with Message-ID <once@hopital-a\.test>"):
        store.take(BOB, "<once@hopital-a.test>")


def test_unknown_recipient_refused_by_lmtp_and_by_take(store: dovecot.DovecotStore) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        lmtp(store, ["nobody@hopital-a.test"], message("<x@hopital-a.test>", BOB))
    assert refused.value.recipients["nobody@hopital-a.test"][0] == 550
    with pytest.raises(StoreError, match="no mailbox"):
        store.take("nobody@hopital-a.test", "<x@hopital-a.test>")


def test_untrusted_server_certificate_is_a_store_error(tls: ServerTLS, tmp_path: Path) -> None:
    other, _ = self_signed(tmp_path, "other")
    with dovecot.serve(USERS, tls_cert=tls.cert, tls_key=tls.key, tls_trust=other) as running:
        lmtp(running, [BOB], message("<trust@hopital-a.test>", BOB))
        with pytest.raises(StoreError, match="CERTIFICATE_VERIFY_FAILED"):
            running.take(BOB, "<trust@hopital-a.test>")


def test_stopped_after_the_context_even_when_the_body_raises(tls: ServerTLS) -> None:
    with dovecot.serve(USERS, tls_cert=tls.cert, tls_key=tls.key, tls_trust=tls.trust) as running:
        ports = (running.imap.port, running.inbound.port)
        assert all(listening(port) for port in ports)
    assert not any(listening(port) for port in ports)
    with (
        pytest.raises(RuntimeError, match="the body failed"),
        dovecot.serve(USERS, tls_cert=tls.cert, tls_key=tls.key, tls_trust=tls.trust) as running,
    ):
        ports = (running.imap.port, running.inbound.port)
        raise RuntimeError("the body failed")
    assert not any(listening(port) for port in ports)


def test_two_stores_at_once_do_not_collide(tls: ServerTLS) -> None:
    with (
        dovecot.serve(USERS, tls_cert=tls.cert, tls_key=tls.key, tls_trust=tls.trust) as one,
        dovecot.serve(USERS, tls_cert=tls.cert, tls_key=tls.key, tls_trust=tls.trust) as two,
    ):
        lmtp(one, [BOB], message("<one@hopital-a.test>", BOB))
        with pytest.raises(StoreError):
            two.take(BOB, "<one@hopital-a.test>")
        assert one.take(BOB, "<one@hopital-a.test>")


def test_address_unusable_as_mailbox_is_refused(tls: ServerTLS) -> None:
    with (
        pytest.raises(ValueError, match="not usable as a mailbox name"),
        dovecot.serve({"a:b@x.test": "p"}, tls_cert=tls.cert, tls_key=tls.key, tls_trust=tls.trust),
    ):
        pass


def test_missing_says_why() -> None:
    assert MISSING is None or "Dovecot" in MISSING
    assert os.geteuid() != 0 or dovecot.missing() is None


def test_lmtp_offers_starttls_with_the_same_certificate(
    store: dovecot.DovecotStore, tls: ServerTLS
) -> None:
    with smtplib.LMTP(store.inbound.host, store.inbound.port) as client:
        client.ehlo()
        assert client.has_extn("starttls") and client.has_extn("8bitmime")
        client.starttls(context=ssl.create_default_context(cafile=str(tls.trust)))
        client.ehlo()
        sent = message("<over-tls@hopital-a.test>", BOB)
        assert client.sendmail(ALICE, [BOB], sent) == {}
    served = store.take(BOB, "<over-tls@hopital-a.test>")
    assert served.endswith(sent)
    received = " ".join(email.message_from_bytes(served)["Received"].split())
    assert "with LMTPS" in received and "using TLS" in received


def test_a_message_id_that_cannot_be_searched_for_is_a_store_error(
    store: dovecot.DovecotStore,
) -> None:
    for bad in ('<a"b@x.test>', "<a\r\nb@x.test>", ""):
        with pytest.raises(StoreError, match="cannot be searched for"):
            store.take(BOB, bad)


def test_missing_names_the_user_dovecot_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    if MISSING is not None:
        pytest.skip(MISSING)
    real = pwd.getpwnam

    def without_dovenull(name: str) -> object:
        if name == "dovenull":
            raise KeyError(name)
        return real(name)

    monkeypatch.setattr(pwd, "getpwnam", without_dovenull)  # the module dovecot.missing() uses
    assert dovecot.missing() == (
        "no 'dovenull' user: Dovecot is not set up (apt-get install dovecot-imapd)"
    )


def test_an_interrupted_start_stops_dovecot_before_its_folder_goes(
    tls: ServerTLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGTERM (unwound as Ctrl-C) while Dovecot starts: Dovecot runs in a session of its
    own, which gets no signal of ours, so serve stops it, and removes its folder."""
    started: list[subprocess.Popen[bytes]] = []

    def interrupted(process: subprocess.Popen[bytes], *args: Any, **kwargs: Any) -> None:
        started.append(process)
        raise KeyboardInterrupt

    monkeypatch.setattr(dovecot, "wait_listening", interrupted)
    with pytest.raises(KeyboardInterrupt), dovecot.serve(USERS, tls_cert=tls.cert, tls_key=tls.key):
        pass
    (process,) = started
    assert process.poll() is not None, "Dovecot outlived the interrupted start"
    argv = [str(a) for a in process.args]  # type: ignore[union-attr]
    assert not Path(argv[argv.index("-c") + 1]).parent.exists(), "Dovecot's folder is left"
