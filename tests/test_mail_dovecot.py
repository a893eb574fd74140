"""The suite's own Dovecot: messages in by LMTP, read back over IMAP with STARTTLS.

A real Dovecot started in a temp dir on loopback (skipped with the reason where it is not
installed or we are not root): the bytes served equal the bytes handed over, apart from
the three headers Dovecot puts on top (said in conformance/mail/dovecot.py and docs);
each identity reads only its own mailbox; a message that is not there, a recipient
without a mailbox and a server certificate the reader does not trust are StoreErrors;
the server is gone after the context, also when the body raises.
"""

from __future__ import annotations

import datetime
import email
import ipaddress
import os
import smtplib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conformance.mail import dovecot
from conformance.mail.store import MailStore, StoreError

MISSING = dovecot.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

USERS = {"alice@hopital-a.test": "mot de passe: é", "bob@clinique-b.test": "s3cret"}
ALICE, BOB = USERS


def self_signed(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A throwaway server certificate for localhost / 127.0.0.1 (stand-in for the PKI's)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def store(tls: tuple[Path, Path]) -> Iterator[dovecot.DovecotStore]:
    with dovecot.serve(USERS, tls_cert=tls[0], tls_key=tls[1]) as running:
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


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


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
    assert "with LMTP" in added["Received"]


def test_each_identity_reads_its_own_copy(store: dovecot.DovecotStore) -> None:
    both = message("<both@hopital-a.test>", f"{ALICE}, {BOB}")
    only_bob = message("<only-bob@hopital-a.test>", BOB)
    assert lmtp(store, [ALICE, BOB], both) == {}
    assert lmtp(store, [BOB], only_bob) == {}
    assert store.take(ALICE, "<both@hopital-a.test>").endswith(both)
    with pytest.raises(StoreError, match="no message"):
        store.take(ALICE, "<only-bob@hopital-a.test>")
    assert store.take(BOB, "<only-bob@hopital-a.test>").endswith(only_bob)
    assert store.take(BOB, "<both@hopital-a.test>").endswith(both)


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


def test_untrusted_server_certificate_is_a_store_error(
    tls: tuple[Path, Path], tmp_path: Path
) -> None:
    other, _ = self_signed(tmp_path, "other")
    with dovecot.serve(USERS, tls_cert=tls[0], tls_key=tls[1], tls_trust=other) as running:
        lmtp(running, [BOB], message("<trust@hopital-a.test>", BOB))
        with pytest.raises(StoreError, match="CERTIFICATE_VERIFY_FAILED"):
            running.take(BOB, "<trust@hopital-a.test>")


def test_stopped_after_the_context_even_when_the_body_raises(tls: tuple[Path, Path]) -> None:
    with dovecot.serve(USERS, tls_cert=tls[0], tls_key=tls[1]) as running:
        ports = (running.imap.port, running.inbound.port)
        assert all(listening(port) for port in ports)
    assert not any(listening(port) for port in ports)
    with (
        pytest.raises(RuntimeError, match="the body failed"),
        dovecot.serve(USERS, tls_cert=tls[0], tls_key=tls[1]) as running,
    ):
        ports = (running.imap.port, running.inbound.port)
        raise RuntimeError("the body failed")
    assert not any(listening(port) for port in ports)


def test_two_stores_at_once_do_not_collide(tls: tuple[Path, Path]) -> None:
    with (
        dovecot.serve(USERS, tls_cert=tls[0], tls_key=tls[1]) as one,
        dovecot.serve(USERS, tls_cert=tls[0], tls_key=tls[1]) as two,
    ):
        lmtp(one, [BOB], message("<one@hopital-a.test>", BOB))
        with pytest.raises(StoreError):
            two.take(BOB, "<one@hopital-a.test>")
        assert one.take(BOB, "<one@hopital-a.test>")


def test_address_unusable_as_mailbox_is_refused(tls: tuple[Path, Path]) -> None:
    with (
        pytest.raises(ValueError, match="not usable as a mailbox name"),
        dovecot.serve({"a:b@x.test": "p"}, tls_cert=tls[0], tls_key=tls[1]),
    ):
        pass


def test_missing_says_why() -> None:
    assert MISSING is None or "Dovecot" in MISSING
    assert os.geteuid() != 0 or dovecot.missing() is None
