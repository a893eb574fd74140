"""No padding oracle: every failure after the RSA decryption is one answer (RFC 3218 2.3).

A PKCS#1 v1.5 key transport whose padding is bad, whose padding is good but
wraps a key of the wrong length, that was made for another recipient's key,
or whose content (CBC padding, GCM tag) does not decrypt: the status code and
text are byte-identical across all of them, with the software key as with
SoftHSM, and so is the validator's decryption fact. A token that refuses a
mechanism before decrypting anything keeps its own reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from pki_support import authority, cert_pem, key_pem, leaf, name, rsa_key
from smime_build_support import seeded

from conformance.check.layers import LayerReader
from conformance.check.tree import parse_message
from conformance.core.cms import parse
from conformance.core.vocabulary import ContentCipher, KeyTransport
from conformance.smime.cms_build import build_enveloped_data
from conformance.smime.cms_read import UNDECRYPTABLE, decrypt_enveloped
from conformance.smime.options import EncryptOptions, ReceiveOptions
from conformance.smime.read_errors import ReadError
from conformance.smime.rsa_padding import encrypt_key
from conformance.status import Algorithms, ErrorCode
from conformance.token import PrivateKeyHandle, open_key, softhsm
from conformance.token.software import SoftwareToken

CONTENT = b"Content-Type: text/plain\r\n\r\nCompte rendu\r\n"
WHERE = "message"


def _identities(root: Path) -> Path:
    """Two identities in the export layout, named apart from other tests' (one SoftHSM token
    serves the whole test process, and labels must stay unique on it)."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    end = start + dt.timedelta(days=365)
    ca = authority(name("Oracle TEST CA"), rsa_key(), None, start, end)
    for ident in ("oracle-alice", "oracle-bob"):
        directory = root / "identities" / ident
        directory.mkdir(parents=True)
        email = f"{ident}@osm.test"
        for role in ("sign", "encrypt"):
            key = rsa_key()
            cert = leaf(ca, name(f"{ident} {role}", email), email, role, key, start, end)
            (directory / f"{role}.pem").write_bytes(cert_pem(cert))
            (directory / f"{role}.key.pem").write_bytes(key_pem(key))
        (directory / "identity.json").write_text(json.dumps({"id": ident}), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """alice and bob in the export layout, with a SoftHSM template cache of our own."""
    cache = tmp_path_factory.mktemp("token-cache")
    old = os.environ.get("OSM_CONFORMANCE_CACHE")
    os.environ["OSM_CONFORMANCE_CACHE"] = str(cache)
    yield _identities(tmp_path_factory.mktemp("export"))
    if old is None:
        os.environ.pop("OSM_CONFORMANCE_CACHE", None)
    else:
        os.environ["OSM_CONFORMANCE_CACHE"] = old


def _software(export: Path) -> PrivateKeyHandle:
    return SoftwareToken([export / "identities" / "oracle-bob"]).key("oracle-bob", "encrypt")


def _softhsm(export: Path) -> PrivateKeyHandle:
    if not softhsm.available():
        pytest.skip(f"SoftHSM2 not installed ({softhsm.module_path()}; Debian package softhsm2)")
    old = os.environ.pop("OSM_CONFORMANCE_TOKEN", None)
    try:
        return open_key(export / "identities" / "oracle-bob", "encrypt")
    finally:
        if old is not None:
            os.environ["OSM_CONFORMANCE_TOKEN"] = old


KEYS: dict[str, Callable[[Path], PrivateKeyHandle]] = {"software": _software, "softhsm": _softhsm}


def _certificate(export: Path, who: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(
        (export / "identities" / f"oracle-{who}" / "encrypt.pem").read_bytes()
    )


def _public(export: Path, who: str) -> rsa.RSAPublicKey:
    key = _certificate(export, who).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _envelope(
    export: Path, cipher: ContentCipher = "aes128-cbc", transport: KeyTransport = "rsa-pkcs1v15"
) -> cms.ContentInfo:
    options = EncryptOptions(content=cipher, key_transport=transport, encrypt_to_self=False)
    der = build_enveloped_data(CONTENT, [_certificate(export, "bob")], options, seeded(15))
    return cms.ContentInfo.load(der)


def _with_encrypted_key(info: cms.ContentInfo, encrypted_key: bytes) -> bytes:
    info["content"]["recipient_infos"][0].chosen["encrypted_key"] = encrypted_key
    return bytes(info.dump(force=True))


def _bad_padding(export: Path) -> bytes:
    """An RSA block of type 1 (a signature's), not the type 2 of encryption."""
    public = _public(export, "bob").public_numbers()
    k = (public.n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (k - 3 - 16) + b"\x00" + bytes(16)
    wrapped = pow(int.from_bytes(block, "big"), public.e, public.n).to_bytes(k, "big")
    return _with_encrypted_key(_envelope(export), wrapped)


def _wrong_length(export: Path) -> bytes:
    """Good padding around a 24-byte key where AES-128 needs 16."""
    wrapped = encrypt_key(_public(export, "bob"), bytes(range(24)), "rsa-pkcs1v15", seeded(1))
    return _with_encrypted_key(_envelope(export), wrapped)


def _other_recipient(export: Path) -> bytes:
    """The content key wrapped for alice's key, under bob's identifier."""
    wrapped = encrypt_key(_public(export, "alice"), bytes(16), "rsa-pkcs1v15", seeded(2))
    return _with_encrypted_key(_envelope(export), wrapped)


def _bad_cbc_block(export: Path) -> bytes:
    """The right key; the last CBC block altered, so its padding does not check."""
    info = _envelope(export)
    encrypted = info["content"]["encrypted_content_info"]["encrypted_content"]
    data = bytearray(encrypted.native)
    data[-3] ^= 0x40
    info["content"]["encrypted_content_info"]["encrypted_content"] = bytes(data)
    return bytes(info.dump(force=True))


def _bad_gcm_tag(export: Path) -> bytes:
    info = _envelope(export, "aes128-gcm")
    mac = bytearray(info["content"]["mac"].native)
    mac[0] ^= 0x01
    info["content"]["mac"] = bytes(mac)
    return bytes(info.dump(force=True))


MESSAGES: dict[str, Callable[[Path], bytes]] = {
    "bad padding": _bad_padding,
    "wrong key length": _wrong_length,
    "other recipient's key": _other_recipient,
    "bad CBC padding": _bad_cbc_block,
    "bad GCM tag": _bad_gcm_tag,
}


def _read(der: bytes, key: PrivateKeyHandle) -> ReadError:
    with pytest.raises(ReadError) as info:
        decrypt_enveloped(
            parse(der).content, WHERE, keys=[key], options=ReceiveOptions(), found=Algorithms()
        )
    return info.value


def _checked(der: bytes, key: PrivateKeyHandle) -> str | None:
    """The validator's decryption fact for the message in a MIME entity."""
    entity = (
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(der)
    )
    reader = LayerReader(key, None, [])
    reader.read(parse_message(entity))
    envelope = reader.layers[0].envelope
    assert envelope is not None and envelope.decrypted is False
    return None if envelope.decrypt_failure is None else envelope.decrypt_failure.en


def test_the_untampered_message_decrypts(export: Path) -> None:
    """The variants are alterations of a message that does decrypt."""
    for make in KEYS.values():
        key = make(export)
        for cipher in ("aes128-cbc", "aes128-gcm"):
            envelope = parse(bytes(_envelope(export, cipher).dump())).content
            options, found = ReceiveOptions(), Algorithms()
            decrypted = decrypt_enveloped(envelope, WHERE, keys=[key], options=options, found=found)
            assert decrypted.content == CONTENT


def test_every_failure_after_rsa_is_one_answer(export: Path) -> None:
    answers: dict[tuple[str, str], tuple[ErrorCode, str]] = {}
    facts: dict[tuple[str, str], str | None] = {}
    kinds = ["software"] + (["softhsm"] if softhsm.available() else [])
    for kind in kinds:
        key = KEYS[kind](export)
        for label, make in MESSAGES.items():
            der = make(export)
            error = _read(der, key)
            answers[(kind, label)] = (error.code, error.message)
            facts[(kind, label)] = _checked(der, key)
    assert set(answers.values()) == {(ErrorCode.CANNOT_DECRYPT, f"{WHERE}: {UNDECRYPTABLE}")}, (
        answers
    )
    assert len(set(facts.values())) == 1, facts
    assert UNDECRYPTABLE in str(next(iter(facts.values())))
    if not softhsm.available():
        pytest.skip("SoftHSM2 not installed: the software key alone was compared")


def test_a_refusal_before_decryption_keeps_its_reason(export: Path) -> None:
    """SoftHSM 2.6 refuses OAEP with SHA-256 at C_DecryptInit: nothing was decrypted."""
    key = _softhsm(export)
    der = bytes(_envelope(export, transport="rsa-oaep-sha256").dump())
    error = _read(der, key)
    assert error.code == ErrorCode.UNSUPPORTED_ALGORITHM
    assert "CKM_RSA_PKCS_OAEP with SHA-256" in error.message


def test_public_parameters_keep_their_reason(export: Path) -> None:
    """What fails before the private key is used (here an IV of the wrong length) is no oracle."""
    info = _envelope(export)
    algorithm = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
    algorithm["parameters"] = bytes(8)
    error = _read(bytes(info.dump(force=True)), _software(export))
    assert error.code == ErrorCode.CANNOT_DECRYPT
    assert error.message == f"{WHERE}: aes128-cbc: aes128-cbc IV of 8 bytes, expected 16"
