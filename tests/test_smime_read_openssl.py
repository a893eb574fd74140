"""The engine reads what `openssl cms` and `openssl smime` write."""

from __future__ import annotations

import pytest
from smime_read_support import (
    CONTENT,
    Directory,
    ReadPKI,
    opaque_signed_der,
    openssl,
    openssl_sign,
    pki,
    wrap_cms,
)

from conformance.smime.options import ReceiveOptions
from conformance.status import ErrorCode

__all__ = ["pki"]

pytestmark = pytest.mark.engines

ALL = {"authentication", "integrity", "non_repudiation"}


def _sign(pki: ReadPKI, *extra: str, tool: str = "cms", who: str = "alice") -> bytes:
    person = pki.people[who]
    mail = ["-from", person.email, "-to", "bob@osm.test", "-subject", "read test"]
    return openssl_sign(person, *mail, *extra, tool=tool)


@pytest.mark.parametrize(
    ("tool", "extra", "digest", "signature"),
    [
        ("smime", ["-certfile", "CHAIN"], "sha256", "rsa-pkcs1v15"),
        ("smime", ["-md", "sha1"], "sha1", "rsa-pkcs1v15"),
        ("cms", ["-md", "sha512", "-certfile", "CHAIN"], "sha512", "rsa-pkcs1v15"),
        ("cms", ["-binary"], "sha256", "rsa-pkcs1v15"),
        ("cms", ["-nodetach"], "sha256", "rsa-pkcs1v15"),
        ("smime", ["-nodetach", "-md", "sha1"], "sha1", "rsa-pkcs1v15"),
        ("cms", ["-keyopt", "rsa_padding_mode:pss"], "sha256", "rsa-pss"),
        (
            "cms",
            ["-nodetach", "-md", "sha384", "-keyopt", "rsa_padding_mode:pss"],
            "sha384",
            "rsa-pss",
        ),
        ("cms", ["-noattr"], "sha256", "rsa-pkcs1v15"),
        ("cms", ["-keyid"], "sha256", "rsa-pkcs1v15"),
    ],
)
def test_signed_by_openssl(
    pki: ReadPKI, tool: str, extra: list[str], digest: str, signature: str
) -> None:
    args = [str(pki.chain_path) if a == "CHAIN" else a for a in extra]
    message = _sign(pki, *args, tool=tool)
    content, status = pki.read(message)
    assert status.errors == []
    assert content == CONTENT
    assert status.layers == ["signed-data"]
    assert status.signed and status.signature_valid and status.chain_valid
    assert status.algorithms.digest == [digest]
    assert status.algorithms.signature == [signature]
    assert status.services.as_set() == ALL
    assert status.signer is not None
    assert status.signer.email == "alice@osm.test"
    assert status.signer.idnat is not None and status.signer.idnat.startswith("8997")
    assert status.signer.non_repudiation
    assert "CN=Alice Martin" in status.signer.subject


def test_legacy_media_types_are_flagged_by_option(pki: ReadPKI) -> None:
    message = _sign(pki, tool="smime")  # openssl smime writes application/x-pkcs7-signature
    assert b"application/x-pkcs7-signature" in message
    _, status = pki.read(message, options=ReceiveOptions(media_types=frozenset({"modern"})))
    assert [e.code for e in status.errors] == [ErrorCode.UNSUPPORTED_ALGORITHM]
    assert "application/x-pkcs7-signature" in status.errors[0].message
    assert not status.services.integrity


def test_nocerts_signer_found_in_directory(pki: ReadPKI) -> None:
    message = _sign(pki, "-nocerts")
    _, alone = pki.read(message)
    assert [e.code for e in alone.errors] == [ErrorCode.UNTRUSTED_SIGNER]
    assert "neither in the message nor in the directory" in alone.errors[0].message
    assert not alone.services.authentication and not alone.services.integrity
    content, status = pki.read(message, directory=Directory([pki.people["alice"].cert]))
    assert status.errors == [] and content == CONTENT
    assert status.services.as_set() == ALL


def test_nocerts_keyid_signer_found_by_ski(pki: ReadPKI) -> None:
    message = _sign(pki, "-nocerts", "-keyid")
    content, status = pki.read(message, directory=Directory([pki.people["alice"].cert]))
    assert status.errors == [] and content == CONTENT


@pytest.mark.parametrize(
    ("cipher", "keyopts", "name", "transport", "layer"),
    [
        ("-des3", [], "des-ede3-cbc", "rsa-pkcs1v15", "enveloped-data"),
        ("-aes128", [], "aes128-cbc", "rsa-pkcs1v15", "enveloped-data"),
        ("-aes256", [], "aes256-cbc", "rsa-pkcs1v15", "enveloped-data"),
        ("-aes-256-gcm", [], "aes256-gcm", "rsa-pkcs1v15", "authEnveloped-data"),
        ("-aes-128-gcm", [], "aes128-gcm", "rsa-pkcs1v15", "authEnveloped-data"),
        (
            "-aes256",
            ["-keyopt", "rsa_padding_mode:oaep"],
            "aes256-cbc",
            "rsa-oaep-sha1",
            "enveloped-data",
        ),
        (
            "-aes256",
            ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"],
            "aes256-cbc",
            "rsa-oaep-sha256",
            "enveloped-data",
        ),
    ],
)
def test_encrypted_by_openssl(
    pki: ReadPKI, cipher: str, keyopts: list[str], name: str, transport: str, layer: str
) -> None:
    bob = pki.people["bob"]
    message = openssl("cms", "-encrypt", cipher, "-recip", str(bob.cert_path), *keyopts)
    content, status = pki.read(message)
    assert status.errors == []
    assert content == CONTENT
    assert status.layers == [layer]
    assert status.encrypted and status.decrypted and not status.signed
    assert status.algorithms.content_encryption == [name]
    assert status.algorithms.key_transport == [transport]
    expected = (
        {"confidentiality", "integrity"} if layer == "authEnveloped-data" else {"confidentiality"}
    )
    assert status.services.as_set() == expected


def test_encrypted_for_someone_else(pki: ReadPKI) -> None:
    message = openssl("cms", "-encrypt", "-aes256", "-recip", str(pki.people["alice"].cert_path))
    content, status = pki.read(message)
    assert content is None
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]
    assert "not for me" in status.errors[0].message
    assert status.encrypted and not status.decrypted
    assert status.services.as_set() == set()


def test_several_recipients(pki: ReadPKI) -> None:
    message = openssl(
        "cms",
        "-encrypt",
        "-aes256",
        "-recip",
        str(pki.people["alice"].cert_path),
        "-recip",
        str(pki.people["bob"].cert_path),
    )
    content, status = pki.read(message)
    assert status.errors == [] and content == CONTENT


@pytest.mark.parametrize(
    ("options", "refused"),
    [
        (ReceiveOptions(ciphers=frozenset({"aes256-cbc"})), "content encryption des-ede3-cbc"),
        (
            ReceiveOptions(key_transports=frozenset({"rsa-oaep-sha256"})),
            "key transport rsa-pkcs1v15",
        ),
    ],
)
def test_receiver_refuses_algorithms(pki: ReadPKI, options: ReceiveOptions, refused: str) -> None:
    message = openssl("cms", "-encrypt", "-des3", "-recip", str(pki.people["bob"].cert_path))
    content, status = pki.read(message, options=options)
    assert content is None
    assert [e.code for e in status.errors] == [ErrorCode.UNSUPPORTED_ALGORITHM]
    assert status.errors[0].message == f"receiver does not accept {refused}"
    assert status.algorithms.content_encryption == ["des-ede3-cbc"]


def test_receiver_refuses_digest_and_format(pki: ReadPKI) -> None:
    message = _sign(pki, "-md", "sha1")
    _, status = pki.read(message, options=ReceiveOptions(digests=frozenset({"sha256"})))
    assert [e.message for e in status.errors] == ["receiver does not accept digest sha1"]
    assert not status.services.integrity
    opaque = _sign(pki, "-nodetach")
    _, status = pki.read(opaque, options=ReceiveOptions(formats=frozenset({"multipart-signed"})))
    assert [e.message for e in status.errors] == [
        "receiver does not accept signature format opaque"
    ]


def _pipe_sign_encrypt(pki: ReadPKI) -> bytes:
    signed = _sign(pki, "-certfile", str(pki.chain_path))
    return openssl(
        "cms", "-encrypt", "-aes256", "-recip", str(pki.people["bob"].cert_path), data=signed
    )


def test_signed_then_encrypted(pki: ReadPKI) -> None:
    content, status = pki.read(_pipe_sign_encrypt(pki))
    assert status.errors == []
    assert content == CONTENT
    assert status.layers == ["enveloped-data", "signed-data"]
    assert status.services.as_set() == ALL | {"confidentiality"}


def test_encrypted_then_signed(pki: ReadPKI) -> None:
    alice = pki.people["alice"]
    encrypted = openssl("cms", "-encrypt", "-aes128", "-recip", str(pki.people["bob"].cert_path))
    message = openssl_sign(alice, "-from", alice.email, data=encrypted)
    content, status = pki.read(message)
    assert status.errors == [] and content == CONTENT
    assert status.layers == ["signed-data", "enveloped-data"]
    assert status.services.as_set() == ALL | {"confidentiality"}


def test_triple_wrap(pki: ReadPKI) -> None:
    alice = pki.people["alice"]
    message = openssl_sign(alice, "-nodetach", "-from", alice.email, data=_pipe_sign_encrypt(pki))
    content, status = pki.read(message)
    assert status.errors == [] and content == CONTENT
    assert status.layers == ["signed-data", "enveloped-data", "signed-data"]
    assert status.services.as_set() == ALL | {"confidentiality"}


def test_require_signature_and_encryption(pki: ReadPKI) -> None:
    encrypted = openssl("cms", "-encrypt", "-aes128", "-recip", str(pki.people["bob"].cert_path))
    _, status = pki.read(encrypted, options=ReceiveOptions(require_signature=True))
    assert [e.code for e in status.errors] == [ErrorCode.NO_SIGNATURE]
    assert status.exit_code() == 10
    _, status = pki.read(_sign(pki), options=ReceiveOptions(require_encryption=True))
    assert [e.code for e in status.errors] == [ErrorCode.NOT_ENCRYPTED]


def test_signer_without_non_repudiation(pki: ReadPKI) -> None:
    content, status = pki.read(_sign(pki, who="carol"))
    assert status.errors == [] and content == CONTENT
    assert status.signer is not None and not status.signer.non_repudiation
    assert status.services.as_set() == {"authentication", "integrity"}


def test_sender_address_mismatch(pki: ReadPKI) -> None:
    message = _sign(pki).replace(b"From: alice@osm.test", b"From: mallory@osm.test")
    _, status = pki.read(message)
    assert [e.code for e in status.errors] == [ErrorCode.SIGNER_MISMATCH]
    assert status.signature_valid and status.chain_valid
    assert status.services.as_set() == {"integrity"}
    _, relaxed = pki.read(message, options=ReceiveOptions(check_sender_address=False))
    assert relaxed.errors == [] and relaxed.services.as_set() == ALL


def test_opaque_message_wrapped_by_hand(pki: ReadPKI) -> None:
    """A raw DER SignedData in an application/pkcs7-mime without smime-type."""
    der = opaque_signed_der(pki)
    for media in ("application/pkcs7-mime", "application/x-pkcs7-mime", "application/octet-stream"):
        content, status = pki.read(wrap_cms(der, None, media=media))
        assert status.errors == [], media
        assert content == CONTENT
