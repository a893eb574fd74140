"""Byte stability of the send side: messages built with a seeded generator are pinned.

The golden corpus depends on the engine writing the same bytes for the same
options and generator, so any change to how structures are built (caching,
pre-encoded parts) must leave these digests unchanged. The PKI is the
committed one (vectors/pki, fixed keys); PKCS#1 v1.5 signatures are
deterministic. RSA-PSS draws its salt inside the token, so the PSS case signs
with a stand-in handle whose "signature" is a digest of what it was given:
the pin then covers everything the engine writes around the signature.

A pin only changes with a deliberate change of output; regenerate with
`OSM_PRINT_PINS=1 .venv/bin/pytest tests/test_smime_build_pins.py -q -s`.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from asn1crypto import core
from cryptography import x509

from conformance.core.vocabulary import ContentCipher, Digest, KeyTransport, SignatureAlgorithm
from conformance.pki.model import TestPKI, load_pki
from conformance.smime import der
from conformance.smime.compose import Headers, Operation, build_message
from conformance.smime.options import EncryptOptions, MimeOptions, SendOptions, SignOptions
from conformance.token.software import SoftwareKey

DATE = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
LETTER = (
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Cher confrère,\r\nVoici les résultats de Mme Dupont.\r\n\r\nBien à vous\r\n"
).encode()


class _StandInSigner:
    """A PrivateKeyHandle whose signature is a digest of the signed bytes (deterministic)."""

    def __init__(self, certificate: x509.Certificate) -> None:
        self.label = "stand-in"
        self.certificate = certificate

    def sign(self, data: bytes, digest: Digest, algorithm: SignatureAlgorithm) -> bytes:
        return hashlib.sha512(algorithm.encode() + digest.encode() + data).digest() * 4

    def decrypt(self, ciphertext: bytes, key_transport: KeyTransport) -> bytes:
        raise NotImplementedError


@dataclass(frozen=True)
class Case:
    operation: Operation
    options: SendOptions = field(default_factory=SendOptions)
    recipients: tuple[str, ...] = ("pro02",)
    subject: str = "Résultats de laboratoire"
    date: datetime = DATE
    capabilities: tuple[ContentCipher, ...] | None = None
    stand_in: bool = False


def _sign(**kw: object) -> SendOptions:
    return SendOptions(sign=SignOptions(**kw))  # type: ignore[arg-type]


def _encrypt(**kw: object) -> SendOptions:
    return SendOptions(encrypt=EncryptOptions(**kw))  # type: ignore[arg-type]


CASES: dict[str, Case] = {
    "default-sign-encrypt": Case("sign-encrypt"),
    "default-sign": Case("sign"),
    "default-encrypt": Case("encrypt"),
    "sign-sha512-ski-signer-legacy": Case(
        "sign",
        SendOptions(
            sign=SignOptions(
                digest="sha512", certificates="signer", signer_identifier="ski", micalg_case="upper"
            ),
            mime=MimeOptions(media_types="legacy", name_parameters=False),
        ),
    ),
    "opaque-sha1-none-no-attributes": Case(
        "sign",
        _sign(format="opaque", digest="sha1", certificates="none", signed_attributes=frozenset()),
    ),
    "opaque-sha384-some-attributes": Case(
        "sign",
        _sign(
            format="opaque",
            digest="sha384",
            signed_attributes=frozenset({"content-type", "message-digest"}),
        ),
    ),
    "pss-sha256-stand-in": Case("sign", _sign(algorithm="rsa-pss"), stand_in=True),
    "capabilities-rc2-3des": Case(
        "sign", capabilities=("aes256-cbc", "des-ede3-cbc", "rc2-128-cbc", "rc2-40-cbc")
    ),
    "signing-time-2050": Case("sign", date=datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC)),
    "gcm-pkcs1-ski-two-recipients": Case(
        "encrypt",
        _encrypt(content="aes128-gcm", key_transport="rsa-pkcs1v15", recipient_identifier="ski"),
        recipients=("pro02", "pro03"),
    ),
    "aes256-gcm-oaep-sha1": Case(
        "encrypt", _encrypt(content="aes256-gcm", key_transport="rsa-oaep-sha1")
    ),
    "rc2-40-no-self": Case("encrypt", _encrypt(content="rc2-40-cbc", encrypt_to_self=False)),
    "rc2-128": Case("encrypt", _encrypt(content="rc2-128-cbc")),
    "3des-pkcs1": Case("encrypt", _encrypt(content="des-ede3-cbc", key_transport="rsa-pkcs1v15")),
    "aes192": Case("encrypt", _encrypt(content="aes192-cbc")),
    "encrypt-then-sign": Case("sign-encrypt", SendOptions(order="encrypt-then-sign")),
    "triple-wrap-opaque": Case(
        "sign-encrypt", SendOptions(order="triple-wrap", sign=SignOptions(format="opaque"))
    ),
    "latin1-base64": Case(
        "sign",
        SendOptions(mime=MimeOptions(charset="iso-8859-1", content_encoding="base64")),
    ),
    "private-rsa-oid-recipient": Case("encrypt", recipients=("defect-gip-cps-oid",)),
}

# The first 128 bits of the SHA-256 of each message.
PINS: dict[str, str] = {
    "3des-pkcs1": "0b8ac08448ec6086f1765c586477f16b",
    "aes192": "3506fec2fc14184b22daf2294021c5eb",
    "aes256-gcm-oaep-sha1": "0ef8a2184eac753340e92b5b561e142e",
    "capabilities-rc2-3des": "b2c8bad26d74ca4ab4208aa6eb0ebbae",
    "default-encrypt": "a12dca7c4330ce53cbb65fc153dba283",
    "default-sign": "4a34c4c5ee2d31deef9e9209a223f73b",
    "default-sign-encrypt": "5aefaf9ed75764a5e5b99566a297cb84",
    "encrypt-then-sign": "ad29738e88e5db12a860082999f31804",
    "gcm-pkcs1-ski-two-recipients": "14369270de7914d52d503114d53ed7db",
    "latin1-base64": "81e2cee052482100be1e10bd2462e5e2",
    "opaque-sha1-none-no-attributes": "fe17532691739dd754a49fa7aaa52ddf",
    "opaque-sha384-some-attributes": "870d43c1f2e164bffc5598a074a21cd1",
    "private-rsa-oid-recipient": "0f60acc9d848759f4a7602fc127b230d",
    "pss-sha256-stand-in": "5249e258a21a41697f15ff978bf80d88",
    "rc2-128": "8572a240350e1bedd131cfe76008d72e",
    "rc2-40-no-self": "64438afe25df308a62fff0a1dffb1441",
    "sign-sha512-ski-signer-legacy": "f3c6ca13bc65ad9c1f9bfccfe1846cf3",
    "signing-time-2050": "b77e3080358c735582575624c2e19ba9",
    "triple-wrap-opaque": "156401f283af4b69e9224afc4ab13706",
}


def build(pki: TestPKI, case: Case) -> bytes:
    sender = pki.identities["pro01"]
    certificate = sender.certificate("sign")
    signer = (
        _StandInSigner(certificate)
        if case.stand_in
        else SoftwareKey(sender.private_key("sign"), certificate, "pro01-sign")
    )
    recipients = [pki.identities[r].certificate("encrypt") for r in case.recipients]
    headers = Headers(
        from_addr=sender.email,
        to=[pki.identities[r].email for r in case.recipients],
        subject=case.subject,
        from_name=sender.name,
        date=case.date,
    )
    return build_message(
        LETTER,
        case.operation,
        case.options,
        signer,
        pki.intermediates(),
        recipients,
        headers,
        random.Random(2008).randbytes,
        sender.certificate("encrypt"),
        capabilities=case.capabilities,
    )


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_bytes_are_pinned(pki: TestPKI, name: str) -> None:
    digest = hashlib.sha256(build(pki, CASES[name])).hexdigest()[:32]
    if os.environ.get("OSM_PRINT_PINS"):
        print(f'    "{name}": "{digest}",')
    assert digest == PINS[name]


# --- the DER writer under those structures, against asn1crypto -------------------------


@pytest.mark.parametrize("value", [0, 1, 127, 128, 255, 256, 2**63, 2**159 + 12345])
def test_der_integer(value: int) -> None:
    assert der.integer(value) == core.Integer(value).dump()
    with pytest.raises(ValueError):
        der.integer(-1)


@pytest.mark.parametrize("size", [0, 127, 128, 255, 256, 65535, 65536])
def test_der_lengths(size: int) -> None:
    data = bytes(size)
    assert der.octet_string(data) == core.OctetString(data).dump()


def test_der_set_of_sorts_and_tags() -> None:
    parts = [der.octet_string(b"\x02"), der.integer(5), der.octet_string(b"\x01")]
    assert der.set_of(*parts) == b"\x31\x09\x02\x01\x05\x04\x01\x01\x04\x01\x02"
    assert der.context_implicit(0, der.set_of(b"\x05\x00")) == b"\xa0\x02\x05\x00"
    assert der.context_implicit(0, der.octet_string(b"k")) == b"\x80\x01k"
    assert der.context_explicit(0, b"\x05\x00") == b"\xa0\x02\x05\x00"
    assert der.oid("1.2.840.113549.1.7.1") == core.ObjectIdentifier("1.2.840.113549.1.7.1").dump()
