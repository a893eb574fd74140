"""Tampering, untrusted signers and receiver quirks: the right code, never a false accept."""

from __future__ import annotations

import re

import pytest
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from smime_read_support import (
    CONTENT,
    NOW,
    ReadPKI,
    multipart_signed,
    openssl,
    openssl_sign,
    pki,
    wrap_cms,
)

from conformance.smime.options import ReceiveOptions, ReceiveQuirks
from conformance.status import ErrorCode, Status

__all__ = ["pki"]

pytestmark = pytest.mark.engines


def _der(pki: ReadPKI, *args: str, who: str = "alice", data: bytes = CONTENT) -> bytes:
    chain = ["-certfile", str(pki.chain_path)]
    return openssl_sign(pki.people[who], *chain, "-outform", "DER", *args, data=data)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _flip_inside(data: bytes, needle: bytes, offset: int = 0) -> bytes:
    at = data.index(needle)
    assert data.count(needle) == 1
    return _flip(data, at + len(needle) // 2 + offset)


def _no_accept(status: Status, code: ErrorCode) -> None:
    assert [e.code for e in status.errors] == [code], status.errors
    assert not status.services.integrity
    assert not status.services.authentication
    assert not status.services.non_repudiation


def _signer_info(der: bytes) -> cms.SignerInfo:
    return cms.ContentInfo.load(der)["content"]["signer_infos"][0]


# --- signatures ---------------------------------------------------------------------


def test_untouched_opaque_message_is_accepted(pki: ReadPKI) -> None:
    content, status = pki.read(wrap_cms(_der(pki, "-nodetach"), "signed-data"))
    assert status.errors == [] and content == CONTENT


def test_one_byte_of_multipart_content(pki: ReadPKI) -> None:
    message = openssl_sign(pki.people["alice"], "-from", "alice@osm.test")
    tampered = message.replace(b"resultat normal", b"resultat anormal")
    _, status = pki.read(tampered)
    _no_accept(status, ErrorCode.BAD_SIGNATURE)
    assert "message-digest" in status.errors[0].message
    assert status.signature_valid is False


def test_one_byte_of_opaque_content(pki: ReadPKI) -> None:
    der = _der(pki, "-nodetach")
    _, status = pki.read(wrap_cms(_flip_inside(der, b"resultat normal"), "signed-data"))
    _no_accept(status, ErrorCode.BAD_SIGNATURE)


@pytest.mark.parametrize("extra", [[], ["-noattr"], ["-keyopt", "rsa_padding_mode:pss"]])
def test_one_byte_of_the_signature(pki: ReadPKI, extra: list[str]) -> None:
    der = _der(pki, "-nodetach", *extra)
    signature = bytes(_signer_info(der)["signature"].native)
    _, status = pki.read(wrap_cms(_flip_inside(der, signature), "signed-data"))
    _no_accept(status, ErrorCode.BAD_SIGNATURE)
    assert "does not verify" in status.errors[0].message


def test_one_byte_of_signing_time(pki: ReadPKI) -> None:
    der = _der(pki, "-nodetach")
    attrs = _signer_info(der)["signed_attrs"]
    time = next(a for a in attrs if a["type"].native == "signing_time")["values"][0].chosen
    raw_time = time.contents  # e.g. b"250101120000Z"; flip the seconds' last digit
    _, status = pki.read(wrap_cms(_flip_inside(der, raw_time, offset=3), "signed-data"))
    _no_accept(status, ErrorCode.BAD_SIGNATURE)


def test_one_byte_of_message_digest_attribute(pki: ReadPKI) -> None:
    der = _der(pki, "-nodetach")
    attrs = _signer_info(der)["signed_attrs"]
    digest = bytes(
        next(a for a in attrs if a["type"].native == "message_digest")["values"][0].native
    )
    _, status = pki.read(wrap_cms(_flip_inside(der, digest), "signed-data"))
    _no_accept(status, ErrorCode.BAD_SIGNATURE)


def _replace_certificates(der: bytes, certificates: list[x509.Certificate]) -> bytes:
    info = cms.ContentInfo.load(der)
    info["content"]["certificates"] = cms.CertificateSet(
        [
            cms.CertificateChoices(
                name="certificate",
                value=asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)),
            )
            for c in certificates
        ]
    )
    return bytes(info.dump(force=True))


def test_swapped_certificate_of_someone_else(pki: ReadPKI) -> None:
    der = _replace_certificates(
        _der(pki, "-nodetach"), [pki.people["carol"].cert, pki.intermediate]
    )
    _, status = pki.read(wrap_cms(der, "signed-data"))
    _no_accept(status, ErrorCode.UNTRUSTED_SIGNER)
    assert "neither in the message nor in the directory" in status.errors[0].message


def test_swapped_certificate_forged_with_same_issuer_and_serial(pki: ReadPKI) -> None:
    alice = pki.people["alice"].cert
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = (
        x509.CertificateBuilder()
        .subject_name(alice.subject)
        .issuer_name(alice.issuer)
        .public_key(forger.public_key())
        .serial_number(alice.serial_number)
        .not_valid_before(alice.not_valid_before_utc)
        .not_valid_after(alice.not_valid_after_utc)
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("alice@osm.test")]), False)
        .sign(forger, hashes.SHA256())
    )
    der = _replace_certificates(_der(pki, "-nodetach"), [forged, pki.intermediate])
    _, status = pki.read(wrap_cms(der, "signed-data"))
    _no_accept(status, ErrorCode.BAD_SIGNATURE)


# --- chains -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code", "words"),
    [
        ("expired", ErrorCode.UNTRUSTED_SIGNER, "expired"),
        ("notyet", ErrorCode.UNTRUSTED_SIGNER, "not yet valid"),
        ("revoked", ErrorCode.REVOKED_SIGNER, "revoked"),
        ("revoked-nocdp", ErrorCode.REVOKED_SIGNER, "revoked"),
        ("weak", ErrorCode.UNTRUSTED_SIGNER, "weak key: RSA 1024 bits"),
        ("unknown", ErrorCode.UNTRUSTED_SIGNER, "unknown issuer"),
    ],
)
def test_defective_signers(pki: ReadPKI, who: str, code: ErrorCode, words: str) -> None:
    der = _der(pki, "-nodetach", who=who)
    email = pki.people[who].email
    content, status = pki.read(wrap_cms(der, "signed-data", sender=email))
    assert [e.code for e in status.errors] == [code]
    assert words in status.errors[0].message
    assert status.signature_valid is True and status.chain_valid is False
    assert status.services.as_set() == {"integrity"}
    assert content == CONTENT
    assert status.exit_code() == 12


def test_revocation_needs_the_crls(pki: ReadPKI) -> None:
    message = wrap_cms(_der(pki, "-nodetach"), "signed-data")
    _, status = pki.read(message, crls=[])
    assert [e.code for e in status.errors] == [ErrorCode.UNTRUSTED_SIGNER]
    assert "revocation" in status.errors[0].message
    _, unchecked = pki.read(message, crls=[], options=ReceiveOptions(check_revocation=False))
    assert unchecked.errors == [] and unchecked.chain_valid


def test_no_trust_anchor(pki: ReadPKI) -> None:
    _, status = pki.read(wrap_cms(_der(pki, "-nodetach"), "signed-data"), trust=[])
    assert [e.code for e in status.errors] == [ErrorCode.UNTRUSTED_SIGNER]
    _, lax = pki.read(
        wrap_cms(_der(pki, "-nodetach"), "signed-data"),
        trust=[],
        options=ReceiveOptions(require_chain=False),
    )
    assert lax.errors == [] and lax.chain_valid is False
    assert lax.services.authentication


def test_validation_is_cached(pki: ReadPKI) -> None:
    from conformance.smime import validate

    validate.clear_cache()
    message = wrap_cms(_der(pki, "-nodetach"), "signed-data")
    pki.read(message)
    size = len(validate._cache)
    pki.read(message)
    assert size >= 1 and len(validate._cache) == size


# --- encryption ---------------------------------------------------------------------


def _encrypted_der(pki: ReadPKI, cipher: str, who: str = "bob") -> bytes:
    return openssl(
        "cms", "-encrypt", cipher, "-recip", str(pki.people[who].cert_path), "-outform", "DER"
    )


def test_recipient_identifier_swapped(pki: ReadPKI) -> None:
    """The key was wrapped for alice but the RecipientInfo names bob: bob's key cannot unwrap it."""
    info = cms.ContentInfo.load(_encrypted_der(pki, "-aes256", who="alice"))
    bob = asn1_x509.Certificate.load(
        pki.people["bob"].cert.public_bytes(serialization.Encoding.DER)
    )
    rid = info["content"]["recipient_infos"][0].chosen["rid"]
    rid.chosen["serial_number"] = bob.serial_number
    content, status = pki.read(wrap_cms(info.dump(force=True), "enveloped-data"))
    assert content is None
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]
    assert status.services.as_set() == set()


@pytest.mark.parametrize("where", ["tag", "ciphertext"])
def test_gcm_tampering(pki: ReadPKI, where: str) -> None:
    der = _encrypted_der(pki, "-aes-256-gcm")
    envelope = cms.ContentInfo.load(der)["content"]
    if where == "tag":
        target = bytes(envelope["mac"].native)
    else:
        target = bytes(envelope["auth_encrypted_content_info"]["encrypted_content"].native)
    content, status = pki.read(wrap_cms(_flip_inside(der, target), "authEnveloped-data"))
    assert content is None
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]
    assert "tag" in status.errors[0].message
    assert status.services.as_set() == set()


def test_cbc_tampering_under_a_signature(pki: ReadPKI) -> None:
    """CBC has no integrity of its own: the inner signature must catch the change."""
    signed = openssl_sign(pki.people["alice"], "-nodetach", "-from", "alice@osm.test")
    der = openssl(
        "cms",
        "-encrypt",
        "-aes128",
        "-recip",
        str(pki.people["bob"].cert_path),
        "-outform",
        "DER",
        data=signed,
    )
    ciphertext = bytes(
        cms.ContentInfo.load(der)["content"]["encrypted_content_info"]["encrypted_content"].native
    )
    at = der.index(ciphertext) + len(ciphertext) // 2
    _, status = pki.read(wrap_cms(_flip(der, at), "enveloped-data"))
    assert status.errors and status.errors[0].code in {ErrorCode.BAD_SIGNATURE, ErrorCode.MALFORMED}
    assert not status.services.integrity and not status.services.authentication


# --- quirks -------------------------------------------------------------------------


def _detached(pki: ReadPKI, content: bytes) -> bytes:
    return _der(pki, "-binary", data=content)


def test_micalg_case_quirk(pki: ReadPKI) -> None:
    message = multipart_signed(CONTENT, _detached(pki, CONTENT), micalg="SHA-256")
    _, normal = pki.read(message)
    assert normal.errors == []
    quirky = ReceiveOptions(quirks=ReceiveQuirks(micalg_case_sensitive=True))
    _, status = pki.read(message, options=quirky)
    assert [e.code for e in status.errors] == [ErrorCode.UNSUPPORTED_ALGORITHM]
    assert "SHA-256" in status.errors[0].message
    _, lower = pki.read(multipart_signed(CONTENT, _detached(pki, CONTENT)), options=quirky)
    assert lower.errors == []


def test_no_canonicalize_quirk(pki: ReadPKI) -> None:
    """A sender that signed LF lines: only a receiver with the same quirk verifies it."""
    lf_content = CONTENT.replace(b"\r\n", b"\n")
    message = multipart_signed(lf_content, _detached(pki, lf_content))
    _, normal = pki.read(message)
    _no_accept(normal, ErrorCode.BAD_SIGNATURE)
    quirky = ReceiveOptions(quirks=ReceiveQuirks(no_canonicalize=True))
    content, status = pki.read(message, options=quirky)
    assert status.errors == [] and content == lf_content


def test_strip_trailing_whitespace_quirk(pki: ReadPKI) -> None:
    message = multipart_signed(CONTENT, _detached(pki, CONTENT))
    quirky = ReceiveOptions(quirks=ReceiveQuirks(strip_trailing_whitespace=True))
    _, status = pki.read(message, options=quirky)
    _no_accept(status, ErrorCode.BAD_SIGNATURE)
    stripped = re.sub(rb"[ \t]+\r\n", b"\r\n", CONTENT)
    _, ok = pki.read(multipart_signed(CONTENT, _detached(pki, stripped)), options=quirky)
    assert ok.errors == []


def test_max_message_bytes_quirk(pki: ReadPKI) -> None:
    message = wrap_cms(_der(pki, "-nodetach"), "signed-data")
    quirky = ReceiveOptions(quirks=ReceiveQuirks(max_message_bytes=1000))
    content, status = pki.read(message, options=quirky)
    assert content is None
    assert [e.code for e in status.errors] == [ErrorCode.TOO_LARGE]
    assert "refuses messages over 1000 bytes" in status.errors[0].message
    assert status.exit_code() == 17


def test_validation_time_matters(pki: ReadPKI) -> None:
    import datetime as dt

    from conformance.smime.receive import read_message

    message = wrap_cms(_der(pki, "-nodetach"), "signed-data")
    _, status = read_message(
        message,
        keys=[],
        trust=[pki.root],
        crls=pki.crls,
        directory=None,
        options=ReceiveOptions(check_revocation=False),
        validation_time=NOW + dt.timedelta(days=3 * 365),
        intermediates=[pki.intermediate],
    )
    assert [e.code for e in status.errors] == [ErrorCode.UNTRUSTED_SIGNER]
    assert "expired" in status.errors[0].message
