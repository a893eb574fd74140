"""Send side of the engine, in process: algorithms, ciphers, RSA padding, CMS, MIME.

The real engines read these messages in test_smime_build_engines.py.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import random
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.utils import format_datetime
from pathlib import Path

import pytest
from asn1crypto import algos, cms
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2 as CryptographyRC2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import example, given, settings
from hypothesis import strategies as st
from smime_build_support import NOW, BuildPKI, pki, seeded

from conformance.core.vocabulary import (
    CONTENT_CIPHERS,
    DIGESTS,
    KEY_TRANSPORTS,
    ContentCipher,
    Digest,
    KeyTransport,
)
from conformance.smime import algorithms as alg
from conformance.smime import ciphers, mime_build, rc2, rsa_padding
from conformance.smime.cms_build import build_enveloped_data, build_signed_data
from conformance.smime.compose import ComposeError, Headers, Operation, build_message
from conformance.smime.mime_build import (
    canonical_content,
    canonicalize,
    encode_content,
    message_headers,
    quoted_printable,
    quoted_printable_by_line,
    split_entity,
)
from conformance.smime.options import (
    ALL_SIGNED_ATTRIBUTES,
    Charset,
    ContentEncoding,
    EncryptOptions,
    MediaTypes,
    MimeOptions,
    RecipientIdentifier,
    SendOptions,
    SignOptions,
)

__all__ = ["pki"]

LETTER = (
    "Content-Type: text/plain; charset=utf-8\n\n"
    "Cher confrère,\nVoici les résultats de Mme Dupont.\n  \nBien à vous\n"
).encode()


# --- algorithms ------------------------------------------------------------------------


def test_digest_oids_round_trip() -> None:
    for digest in DIGESTS:
        assert alg.digest_name_from_oid(alg.digest_oid(digest)) == digest
    assert alg.digest_name_from_oid("1.2.840.113549.2.5") is None  # MD5
    with pytest.raises(alg.UnsupportedAlgorithm) as info:
        alg.digest_from_oid("1.2.840.113549.2.5")
    assert info.value.oid == "1.2.840.113549.2.5"


def test_micalg_names() -> None:
    assert [alg.micalg_name(d) for d in DIGESTS] == ["sha-1", "sha-256", "sha-384", "sha-512"]
    assert alg.micalg_name("sha256", "upper") == "SHA-256"
    assert alg.digest_from_micalg("sha1") == "sha1"  # RFC 3851 spelling
    assert alg.digest_from_micalg("SHA-512") == "sha512"
    assert alg.digest_from_micalg("md5") is None


@pytest.mark.parametrize("cipher", CONTENT_CIPHERS)
def test_content_cipher_round_trip(cipher: ContentCipher) -> None:
    value = alg.content_cipher_algorithm(cipher, bytes(alg.block_size(cipher)))
    parsed = algos.EncryptionAlgorithm.load(value.dump())
    assert alg.content_cipher_from_algorithm(parsed) == cipher


def test_rc2_parameter_versions() -> None:
    # RFC 2268 section 6 / RFC 8018 B.2.3: 40 bits -> 160, 128 bits -> 58.
    rc2_40 = alg.content_cipher_algorithm("rc2-40-cbc", bytes(8))
    assert rc2_40["parameters"]["rc2_parameter_version"].native == 160
    rc2_128 = alg.content_cipher_algorithm("rc2-128-cbc", bytes(8))
    assert rc2_128["parameters"]["rc2_parameter_version"].native == 58
    odd = algos.EncryptionAlgorithm(
        {"algorithm": "rc2", "parameters": {"rc2_parameter_version": 120, "iv": bytes(8)}}
    )
    with pytest.raises(alg.UnsupportedAlgorithm, match="64 effective bits"):
        alg.content_cipher_from_algorithm(odd)


def test_unknown_cipher_is_named() -> None:
    des = algos.EncryptionAlgorithm({"algorithm": "des", "parameters": bytes(8)})
    with pytest.raises(alg.UnsupportedAlgorithm) as info:
        alg.content_cipher_from_algorithm(des)
    assert info.value.oid == "1.3.14.3.2.7"
    assert info.value.kind == "content-cipher"


@pytest.mark.parametrize("transport", KEY_TRANSPORTS)
def test_key_transport_round_trip(transport: KeyTransport) -> None:
    der = alg.key_transport_algorithm(transport).dump()
    assert alg.key_transport_from_algorithm(cms.KeyEncryptionAlgorithm.load(der)) == transport


def test_key_transport_oaep_params() -> None:
    # OAEP-SHA1 writes the all-default RSAES-OAEP-params: an empty SEQUENCE.
    assert alg.key_transport_algorithm("rsa-oaep-sha1").dump().endswith(b"\x30\x00")
    absent = cms.KeyEncryptionAlgorithm.load(bytes.fromhex("300b06092a864886f70d010107"))
    assert alg.key_transport_from_algorithm(absent) == "rsa-oaep-sha1"
    mixed = cms.KeyEncryptionAlgorithm(
        {
            "algorithm": "rsaes_oaep",
            "parameters": {
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha1"}},
            },
        }
    )
    with pytest.raises(alg.UnsupportedAlgorithm, match="MGF1-sha1"):
        alg.key_transport_from_algorithm(cms.KeyEncryptionAlgorithm.load(mixed.dump()))


@pytest.mark.parametrize("digest", DIGESTS)
def test_pss_parameters(digest: Digest) -> None:
    value = alg.signature_algorithm("rsa-pss", digest)
    info = alg.signature_from_algorithm(algos.SignedDigestAlgorithm.load(value.dump()))
    assert info == alg.SignatureInfo("rsa-pss", digest, alg.digest_size(digest), digest)


def test_smime_capabilities_round_trip() -> None:
    for cipher in CONTENT_CIPHERS:
        der = alg.capability_identifier(cipher).dump()
        parsed = cms.SMIMECapabilityIdentifier.load(der)
        assert alg.content_cipher_from_capability(parsed) == cipher


# --- RC2 and content ciphers ------------------------------------------------------------

# RFC 2268 section 5: key, effective bits, plaintext, ciphertext.
RFC2268_VECTORS = [
    ("0000000000000000", 63, "0000000000000000", "ebb773f993278eff"),
    ("ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"),
    ("3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"),
    ("88", 64, "0000000000000000", "61a8a244adacccf0"),
    ("88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"),
    ("88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"),
    ("88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"),
    (
        "88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e",
        129,
        "0000000000000000",
        "5b78d3a43dfff1f1",
    ),
]


@pytest.mark.parametrize(("key", "bits", "plain", "cipher"), RFC2268_VECTORS)
def test_rc2_rfc2268_vectors(key: str, bits: int, plain: str, cipher: str) -> None:
    block = rc2.RC2(bytes.fromhex(key), bits)
    assert block.encrypt_block(bytes.fromhex(plain)).hex() == cipher
    assert block.decrypt_block(bytes.fromhex(cipher)).hex() == plain


def test_rc2_matches_cryptography_at_128_bits() -> None:
    rng = seeded(7)
    key, iv, data = rng(16), rng(8), rng(64)
    encryptor = Cipher(CryptographyRC2(key), modes.CBC(iv)).encryptor()
    assert rc2.cbc_encrypt(key, 128, iv, data) == encryptor.update(data) + encryptor.finalize()


@pytest.mark.parametrize("cipher", CONTENT_CIPHERS)
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000])
def test_cipher_round_trip(cipher: ContentCipher, size: int) -> None:
    rng = seeded(size)
    key = ciphers.generate_key(cipher, rng)
    assert len(key) == ciphers.key_length(cipher)
    data = rng(size)
    out = ciphers.encrypt_content(cipher, key, data, rng)
    assert out.ciphertext != data or size == 0
    assert (out.tag is not None) == alg.is_aead(cipher)
    assert ciphers.decrypt_content(out.algorithm, key, out.ciphertext, out.tag) == data


def test_3des_key_has_odd_parity() -> None:
    key = ciphers.generate_key("des-ede3-cbc", seeded(1))
    assert all(bin(b).count("1") % 2 == 1 for b in key)


def test_cbc_wrong_key_is_a_decryption_error() -> None:
    out = ciphers.encrypt_content("aes256-cbc", bytes(32), b"x" * 40, seeded(2))
    with pytest.raises(ciphers.DecryptionError, match="padding"):
        ciphers.decrypt_content(out.algorithm, b"\x01" * 32, out.ciphertext)
    with pytest.raises(ciphers.DecryptionError, match="whole number"):
        ciphers.decrypt_content(out.algorithm, bytes(32), out.ciphertext[:-3])
    with pytest.raises(ciphers.DecryptionError, match="32-byte key"):
        ciphers.decrypt_content(out.algorithm, bytes(16), out.ciphertext)


def test_gcm_tag_checked_and_short_tags() -> None:
    out = ciphers.encrypt_content("aes128-gcm", bytes(16), b"hello", seeded(3), tag_length=12)
    assert out.tag is not None and len(out.tag) == 12
    assert out.algorithm["parameters"]["aes_icvlen"].native == 12
    assert ciphers.decrypt_content(out.algorithm, bytes(16), out.ciphertext, out.tag) == b"hello"
    bad = bytes([out.tag[0] ^ 1]) + out.tag[1:]
    with pytest.raises(ciphers.DecryptionError, match="tag"):
        ciphers.decrypt_content(out.algorithm, bytes(16), out.ciphertext, bad)
    with pytest.raises(ciphers.DecryptionError, match="12"):
        ciphers.decrypt_content(out.algorithm, bytes(16), out.ciphertext, out.tag + b"\0")


# --- RSA padding ------------------------------------------------------------------------


def _padding_of(transport: str) -> padding.AsymmetricPadding:
    """cryptography's padding for a key transport, written here from the RFCs' names."""
    if transport == "rsa-pkcs1v15":
        return padding.PKCS1v15()
    h = hashes.SHA1() if transport == "rsa-oaep-sha1" else hashes.SHA256()
    return padding.OAEP(padding.MGF1(h), h, None)


@pytest.mark.parametrize("transport", KEY_TRANSPORTS)
def test_rsa_key_transport_decrypted_by_cryptography(
    pki: BuildPKI, transport: KeyTransport
) -> None:
    key = pki.people["bob"].encrypt_key.private_key
    cek = bytes(range(32))
    wrapped = rsa_padding.encrypt_key(key.public_key(), cek, transport, seeded(4))
    assert key.decrypt(wrapped, _padding_of(transport)) == cek
    again = rsa_padding.encrypt_key(key.public_key(), cek, transport, seeded(4))
    assert again == wrapped  # the padding randomness is the injected one
    assert rsa_padding.encrypt_key(key.public_key(), cek, transport, seeded(5)) != wrapped


@pytest.mark.parametrize("transport", KEY_TRANSPORTS)
def test_rsa_key_transport_with_system_randomness(pki: BuildPKI, transport: KeyTransport) -> None:
    """With os.urandom cryptography pads and encrypts: the private key reads it back
    under the same padding, two wraps differ, and a key too long for the modulus gets
    the same error as with a seeded generator."""
    key = pki.people["bob"].encrypt_key.private_key
    public = rsa_padding.RecipientKey(key.public_key())
    cek = bytes(range(32))
    wrapped = rsa_padding.encrypt_key(public, cek, transport)
    assert key.decrypt(wrapped, _padding_of(transport)) == cek
    assert len(wrapped) == public.size
    assert rsa_padding.encrypt_key(public, cek, transport) != wrapped
    too_long = bytes(public.size)
    with pytest.raises(ValueError, match="too long") as seeded_error:
        rsa_padding.encrypt_key(public, too_long, transport, seeded(1))
    with pytest.raises(ValueError, match="too long") as system_error:
        rsa_padding.encrypt_key(public, too_long, transport)
    assert str(system_error.value) == str(seeded_error.value)


def test_pkcs1v15_padding_has_no_zero_byte() -> None:
    zeros_then_ones = iter([bytes(300), b"\x01" * 300])
    encoded = rsa_padding.pkcs1v15_encode(b"key", 64, lambda n: next(zeros_then_ones)[:n])
    assert encoded[:2] == b"\x00\x02" and 0 not in encoded[2:-4] and encoded[-4:] == b"\x00key"


# --- CMS --------------------------------------------------------------------------------


def _signer_info(der: bytes) -> cms.SignerInfo:
    return cms.ContentInfo.load(der)["content"]["signer_infos"][0]


@pytest.mark.parametrize("identifier", ["issuer-serial", "ski"])
def test_signed_data_versions(pki: BuildPKI, identifier: RecipientIdentifier) -> None:
    options = SignOptions(signer_identifier=identifier)
    der = build_signed_data(
        b"hi", pki.people["alice"].sign_key, options, detached=True, signing_time=NOW
    )
    signed = cms.ContentInfo.load(der)["content"]
    expected = (1, 1) if identifier == "issuer-serial" else (3, 3)
    assert (signed["version"].native, signed["signer_infos"][0]["version"].native) == (
        f"v{expected[0]}",
        f"v{expected[1]}",
    )
    assert signed["encap_content_info"]["content"].native is None


def test_signed_attributes_and_signature(pki: BuildPKI) -> None:
    alice = pki.people["alice"]
    der = build_signed_data(
        b"content",
        alice.sign_key,
        SignOptions(digest="sha384", certificates="chain"),
        detached=False,
        chain=[pki.intermediate],
        signing_time=NOW,
        capabilities=["aes256-cbc", "des-ede3-cbc"],
    )
    signed = cms.ContentInfo.load(der)["content"]
    assert signed["encap_content_info"]["content"].native == b"content"
    assert len(signed["certificates"]) == 2
    info = signed["signer_infos"][0]
    attrs = {a["type"].native: a["values"][0] for a in info["signed_attrs"]}
    assert set(attrs) == {
        "content_type",
        "message_digest",
        "signing_time",
        "smime_capabilities",
        "signing_certificate_v2",
    }
    assert attrs["message_digest"].native == hashlib.sha384(b"content").digest()
    assert attrs["signing_time"].native == NOW
    caps = [alg.content_cipher_from_capability(c) for c in attrs["smime_capabilities"]]
    assert caps == ["aes256-cbc", "des-ede3-cbc"]
    ess = attrs["signing_certificate_v2"]["certs"][0]
    cert_der = alice.sign_key.certificate.public_bytes(Encoding.DER)
    assert ess["cert_hash"].native == hashlib.sha384(cert_der).digest()
    assert ess["issuer_serial"]["serial_number"].native == alice.sign_key.certificate.serial_number
    # The signature is over the DER SET OF the signed attributes.
    signed_attrs = info["signed_attrs"].untag().dump(force=True)
    public_key = alice.sign_key.certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(info["signature"].native, signed_attrs, padding.PKCS1v15(), hashes.SHA384())


def test_no_signed_attributes_signs_the_content(pki: BuildPKI) -> None:
    alice = pki.people["alice"]
    options = SignOptions(signed_attributes=frozenset(), algorithm="rsa-pss", certificates="none")
    der = build_signed_data(b"content", alice.sign_key, options, detached=True, signing_time=NOW)
    signed = cms.ContentInfo.load(der)["content"]
    info = signed["signer_infos"][0]
    assert info["signed_attrs"].native is None
    assert signed["certificates"].native is None
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    public_key = alice.sign_key.certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(info["signature"].native, b"content", pss, hashes.SHA256())


@pytest.mark.parametrize("identifier", ["issuer-serial", "ski"])
def test_enveloped_data_versions_and_recipients(
    pki: BuildPKI, identifier: RecipientIdentifier
) -> None:
    bob, carol = pki.people["bob"], pki.people["carol"]
    options = EncryptOptions(content="aes128-cbc", recipient_identifier=identifier)
    certs = [
        bob.encrypt_key.certificate,
        carol.encrypt_key.certificate,
        bob.encrypt_key.certificate,
    ]
    der = build_enveloped_data(b"secret", certs, options, seeded(1))
    env = cms.ContentInfo.load(der)["content"]
    assert env["version"].native == ("v0" if identifier == "issuer-serial" else "v2")
    assert len(env["recipient_infos"]) == 2  # the duplicate is written once


# --- MIME and the whole message ---------------------------------------------------------


def _headers(
    pki: BuildPKI,
    *,
    from_name: str = "Alice Émile",
    subject: str = "Résultats de laboratoire",
) -> Headers:
    return Headers(
        from_addr=pki.people["alice"].email,
        from_name=from_name,
        to=[pki.people["bob"].email, pki.people["carol"].email],
        subject=subject,
        date=NOW,
    )


def _build(
    pki: BuildPKI,
    operation: Operation,
    options: SendOptions,
    seed: int = 1,
    *,
    content: bytes = LETTER,
    headers: Headers | None = None,
) -> bytes:
    alice, bob = pki.people["alice"], pki.people["bob"]
    return build_message(
        content,
        operation,
        options,
        alice.sign_key,
        [pki.intermediate],
        [bob.encrypt_key.certificate],
        headers if headers is not None else _headers(pki),
        seeded(seed),
        alice.encrypt_key.certificate,
    )


@pytest.mark.parametrize("operation", ["sign", "encrypt", "sign-encrypt"])
def test_deterministic_with_a_seed(pki: BuildPKI, operation: Operation) -> None:
    first = _build(pki, operation, SendOptions())
    assert _build(pki, operation, SendOptions()) == first
    assert _build(pki, operation, SendOptions(), seed=2) != first


def test_headers(pki: BuildPKI) -> None:
    message = _build(pki, "sign", SendOptions())
    head = message.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert str(parsed["Subject"]) == "Résultats de laboratoire"
    assert parsed["From"].addresses[0].display_name == "Alice Émile"
    assert [a.addr_spec for a in parsed["To"].addresses] == [
        "bob@sante.example",
        "carol@sante.example",
    ]
    assert parsed["Date"].datetime == NOW
    assert parsed["Message-ID"].endswith("@sante.example>")
    assert parsed["MIME-Version"] == "1.0"
    assert b"=?utf-8?" in head and b"\xc3" not in head


def test_latin1_header_words(pki: BuildPKI) -> None:
    options = SendOptions(mime=MimeOptions(charset="iso-8859-1"))
    head = _build(pki, "sign", options).split(b"\r\n\r\n", 1)[0]
    assert b"=?iso-8859-1?q?R=E9sultats" in head


@pytest.mark.parametrize("charset", ["iso-8859-1", "utf-8"])
def test_header_text_outside_the_charset_gets_utf8_words(charset: Charset) -> None:
    headers = Headers(
        from_addr="oe@sante.example",
        from_name="Œdipe Lefèvre",
        subject="Bilan – Œdème",
        date=NOW,
        message_id="<1@sante.example>",
    )
    head = message_headers(headers, charset, bytes(16))
    assert head.isascii()
    parsed = email.message_from_bytes(head + b"\r\n", policy=email.policy.default)
    assert str(parsed["Subject"]) == "Bilan – Œdème"
    assert parsed["From"].addresses[0].display_name == "Œdipe Lefèvre"
    assert b"Subject: =?utf-8?" in head and b"From: =?utf-8?" in head
    # Text the configured charset can carry keeps that charset.
    fits = message_headers(replace(headers, subject="Lefèvre"), charset, bytes(16))
    assert f"Subject: =?{charset}?".encode() in fits


def test_latin1_message_with_text_outside_latin1(pki: BuildPKI) -> None:
    options = SendOptions(mime=MimeOptions(charset="iso-8859-1"))
    headers = _headers(pki, subject="Résultats – Œdème", from_name="Œdipe Émile")
    message = _build(pki, "sign", options, headers=headers)
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert str(parsed["Subject"]) == "Résultats – Œdème"
    assert parsed["From"].addresses[0].display_name == "Œdipe Émile"


def test_header_injection_refused(pki: BuildPKI) -> None:
    alice = pki.people["alice"]
    with pytest.raises(ComposeError, match="line break"):
        build_message(
            LETTER, "sign", SendOptions(), alice.sign_key, [], [],
            _headers(pki, subject="x\r\nBcc: eve@example.org"), seeded(1),
        )  # fmt: skip


def test_missing_signer_or_recipient(pki: BuildPKI) -> None:
    with pytest.raises(ComposeError, match="signing key"):
        build_message(LETTER, "sign", SendOptions(), None, [], [], _headers(pki))
    with pytest.raises(ComposeError, match="recipient"):
        build_message(LETTER, "encrypt", SendOptions(), None, [], [], _headers(pki))


def _signed_part(message: bytes) -> tuple[bytes, bytes]:
    """(the first part of a multipart/signed message as written, its signature DER)."""
    parsed = email.message_from_bytes(message)
    boundary = parsed.get_boundary()
    assert boundary is not None
    dash = b"--" + boundary.encode()
    body = message.split(b"\r\n\r\n", 1)[1]
    first = body.index(dash + b"\r\n") + len(dash) + 2
    end = body.index(b"\r\n" + dash, first)
    payload = parsed.get_payload()
    assert isinstance(payload, list)
    signature_part = payload[1]
    assert isinstance(signature_part, Message)
    signature = signature_part.get_payload(decode=True)
    assert isinstance(signature, bytes)
    return body[first:end], signature


_LEAF_HEADERS = (
    b"Content-Type: text/plain; charset=utf-8\n",
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
    b"Content-Type: text/plain\rContent-Transfer-Encoding: quoted-printable\r",
    b"Content-Type: application/pdf\n",
    b"Content-Type: message/rfc822\n",
    b"Subject: no content type\n",
)
_BODY_PIECES = (b"a", b"\xc3\xa9", b" ", b"\t", b"\r", b"\n", b"\r\n", b"=", b".")
_BREAKS = (b"\n", b"\r\n", b"\r")


@st.composite
def _entities(draw: st.DrawFn) -> bytes:
    """A leaf, or a multipart of two leaves, with every kind of line break anywhere."""

    def leaf() -> bytes:
        header = draw(st.sampled_from(_LEAF_HEADERS))
        body = b"".join(draw(st.lists(st.sampled_from(_BODY_PIECES), max_size=40)))
        return header + draw(st.sampled_from(_BREAKS)) + body

    if draw(st.booleans()):
        return leaf()
    nl = draw(st.sampled_from(_BREAKS))
    head = b"Content-Type: multipart/mixed; boundary=xx" + nl + nl
    return head + b"--xx" + nl + leaf() + nl + b"--xx" + nl + leaf() + nl + b"--xx--" + nl


@given(_entities(), st.sampled_from(["quoted-printable", "base64", "keep"]))
@example(b"Content-Type: text/plain\n\n\xc3\xa9 \n\r", "quoted-printable")
def test_canonical_content_is_canonicalized_encoding(
    entity: bytes, encoding: ContentEncoding
) -> None:
    """The send side's shortcut (a rewritten leaf is not scanned for bare CR or LF) gives
    what canonicalising the encoded entity gives."""
    expected = canonicalize(encode_content(entity, encoding))
    assert canonical_content(entity, encoding) == expected


def test_multipart_signed_part_is_what_was_signed(pki: BuildPKI) -> None:
    message = _build(pki, "sign", SendOptions())
    assert b'protocol="application/pkcs7-signature"; micalg=sha-256' in message
    part, signature = _signed_part(message)
    assert part == canonicalize(encode_content(LETTER, "quoted-printable"))
    assert b"Content-Transfer-Encoding: quoted-printable" in part
    assert b"confr=C3=A8re" in part
    attrs = _signer_info(signature)["signed_attrs"]
    digest = {a["type"].native: a["values"][0].native for a in attrs}["message_digest"]
    assert digest == hashlib.sha256(part).digest()


def test_no_canonicalisation_quirk_signs_lf(pki: BuildPKI) -> None:
    options = SendOptions(
        sign=SignOptions(canonicalize=False, micalg_case="upper"),
        mime=MimeOptions(content_encoding="keep"),
    )
    message = _build(pki, "sign", options)
    assert b"micalg=SHA-256" in message
    part, signature = _signed_part(message)
    assert part == LETTER  # LF and 8-bit bytes kept
    attrs = _signer_info(signature)["signed_attrs"]
    digest = {a["type"].native: a["values"][0].native for a in attrs}["message_digest"]
    assert digest == hashlib.sha256(LETTER).digest()


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("keep", None), ("quoted-printable", b"quoted-printable"), ("base64", b"base64")],
)
def test_content_encoding(encoding: ContentEncoding, expected: bytes | None) -> None:
    out = encode_content(LETTER, encoding)
    header, _sep, body = split_entity(out)
    if expected is None:
        assert out == LETTER
        return
    assert header.endswith(b"Content-Transfer-Encoding: " + expected)
    assert body.isascii()
    decoded = email.message_from_bytes(out).get_payload(decode=True)
    assert isinstance(decoded, bytes)
    assert decoded.replace(b"\r\n", b"\n") == LETTER.split(b"\n\n", 1)[1]


def test_content_encoding_walks_multiparts() -> None:
    entity = (
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nd\xe9j\xe0\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\n\r\n\x00\xff\x10\r\n"
        b"--b1\r\nContent-Type: text/plain\r\n\r\nascii\r\n--b1--\r\nepilogue\r\n"
    )
    out = encode_content(entity, "quoted-printable")
    assert out.isascii()
    assert b"d=E9j=E0" in out and b"ascii\r\n--b1--\r\nepilogue\r\n" in out
    parts = email.message_from_bytes(out).get_payload()
    assert isinstance(parts, list)
    assert isinstance(parts[1], Message)
    assert parts[1]["Content-Transfer-Encoding"] == "base64"
    assert parts[1].get_payload(decode=True) == b"\x00\xff\x10"
    assert out.startswith(
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\npreamble\r\n--b1\r\n'
    )


@pytest.mark.parametrize("media_types", ["modern", "legacy"])
@pytest.mark.parametrize("cipher", ["aes256-cbc", "aes128-gcm"])
def test_media_types(pki: BuildPKI, media_types: MediaTypes, cipher: ContentCipher) -> None:
    options = SendOptions(
        sign=SignOptions(format="opaque"),
        encrypt=EncryptOptions(content=cipher),
        mime=MimeOptions(media_types=media_types),
        order="encrypt-then-sign",
    )
    message = _build(pki, "sign-encrypt", options)
    prefix = b"application/x-pkcs7-" if media_types == "legacy" else b"application/pkcs7-"
    assert b"Content-Type: " + prefix + b'mime; smime-type=signed-data; name="smime.p7m"' in message
    inner = cms.ContentInfo.load(email.message_from_bytes(message).get_payload(decode=True))[
        "content"
    ]["encap_content_info"]["content"].native
    kind = b"authEnveloped-data" if cipher.endswith("gcm") else b"enveloped-data"
    assert b"Content-Type: " + prefix + b"mime; smime-type=" + kind in inner


def test_name_parameters_off(pki: BuildPKI) -> None:
    message = _build(pki, "sign", SendOptions(mime=MimeOptions(name_parameters=False)))
    assert b"smime.p7s" not in message


def test_all_signed_attributes_default() -> None:
    assert SignOptions().signed_attributes == ALL_SIGNED_ATTRIBUTES


def test_writes_no_files(pki: BuildPKI, tmp_path: Path) -> None:
    before = sorted(pki.directory.rglob("*"))
    _build(pki, "sign-encrypt", SendOptions())
    assert sorted(pki.directory.rglob("*")) == before


def test_canonicalize_fast_paths_match_the_definition() -> None:
    line_break = re.compile(rb"\r\n|\r|\n")
    generator = random.Random(7)
    for _ in range(3000):
        data = bytes(generator.choice(b"a\r\n") for _ in range(generator.randrange(12)))
        assert canonicalize(data) == line_break.sub(b"\r\n", data), data


# Text of the letters' kind: lines of accents (8-bit in UTF-8), blanks and tabs, the
# characters quoted-printable treats apart ("=", ".", "From "), and lines whose blank
# before the line end falls at the 76th column, where encoding the whole body and a line
# differ.
_QP_PIECE = st.sampled_from(["é", "à", " ", "\t", "=", ".", "From ", "a", "µ", "\x7f"])
_QP_LINE = st.builds(
    lambda head, n, tail, end: "".join(head) + "x" * n + tail + end,
    st.lists(_QP_PIECE, max_size=6),
    st.integers(0, 80),
    st.sampled_from(["", " ", "\t", "é ", "= ", "  "]),
    st.sampled_from(["\n", "\n\n", ""]),
)
_QP_TEXT = st.lists(_QP_LINE, max_size=8).map(lambda lines: "".join(lines).encode())


@given(_QP_TEXT)
@example(b"x" * 74 + b" \nabc")  # the blank at column 75: the two encodings differ
@example(b"x" * 74 + b"\t\nabc")
def test_quoted_printable_fast_path_is_the_line_by_line_encoding(body: bytes) -> None:
    """Whole-body encoding is taken only when it gives the line-by-line bytes."""
    assert quoted_printable(body) == quoted_printable_by_line(body)


def _regex_encode_content(entity: bytes, encoding: ContentEncoding, depth: int = 0) -> bytes:
    """`encode_content` as it was before it took the parts where `core.mime.delimited`
    finds them (a regular expression per boundary): the reference of the test below."""
    from conformance.smime.mime_build import _content_headers, _encode_leaf

    header_block, _sep, body = split_entity(entity)
    media_type, boundary, cte = _content_headers(header_block)
    if not media_type.startswith("multipart/") or boundary is None or depth > 16:
        leaf = _encode_leaf(entity, header_block, body, media_type, cte, encoding)
        return leaf[0]
    delimiter = re.compile(
        rb"(?:^|\r?\n)--" + re.escape(boundary.encode("latin-1")) + rb"(--)?[ \t]*(\r?\n|\Z)"
    )
    out = bytearray(entity[: len(entity) - len(body)])
    pos = 0
    part_start: int | None = None
    for match in delimiter.finditer(body):
        if part_start is None:
            out += body[pos : match.end()]
        else:
            out += _regex_encode_content(body[part_start : match.start()], encoding, depth + 1)
            out += body[match.start() : match.end()]
        pos = match.end()
        part_start = None if match.group(1) else match.end()
        if match.group(1):
            break
    if part_start is not None:
        out += _regex_encode_content(body[part_start:], encoding, depth + 1)
    else:
        out += body[pos:]
    return bytes(out)


_LEAF = st.sampled_from(
    [
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nr\xc3\xa9sultat \r\nligne 2",
        b"Content-Type: text/plain\r\n\r\nascii only",
        b"Content-Type: application/pdf\r\n\r\n%PDF-\x00\xff\xfe",
        b"Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n\xe9t\xe9\n",
        b"no header at all \xe9",
        b"",
    ]
)


@st.composite
def _multipart(draw: st.DrawFn, depth: int = 0) -> bytes:
    boundary = draw(st.sampled_from(["b", "=_x", "frontier 1"]))
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    blanks = draw(st.sampled_from([b"", b" ", b"\t "]))
    parts = draw(st.lists(_LEAF | (_multipart(depth + 1) if depth < 2 else _LEAF), max_size=3))
    delim = b"--" + boundary.encode()
    body = draw(st.sampled_from([b"", b"preamble" + eol]))
    for part in parts:
        body += delim + blanks + eol + part + eol
    if draw(st.booleans()):
        body += delim + b"--" + blanks + draw(st.sampled_from([b"", eol, eol + b"epilogue"]))
    header = b'Content-Type: multipart/mixed; boundary="' + boundary.encode() + b'"'
    return header + eol + eol + body


@given(_multipart(), st.sampled_from(["quoted-printable", "base64"]))
def test_parts_are_re_encoded_where_they_were_before(
    entity: bytes, encoding: ContentEncoding
) -> None:
    """The parts taken where the MIME reader finds them: the same bytes as the former
    regular expression gave, on well-formed delimiter lines (LF or CRLF, blanks after
    them), nested multiparts, a preamble, an epilogue, and a missing close delimiter."""
    assert encode_content(entity, encoding) == _regex_encode_content(entity, encoding)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 1, 1)),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59),
    st.sampled_from([0, 0, 0, 1, 30]),
)
def test_the_date_header_is_written_as_the_stdlib_writes_it(
    moment: datetime, minutes: int, seconds: int
) -> None:
    """Whole-minute offsets are written directly; a naive moment or an offset with
    seconds go to `email.utils.format_datetime`: the same text either way."""
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=minutes, seconds=seconds)))
    assert mime_build._date(aware) == format_datetime(aware).encode("ascii")
    assert mime_build._date(moment) == format_datetime(moment).encode("ascii")
