"""The RFC 4134 corpus (vectors/rfc4134/), read as its README says: objects made by others.

The keys are 1024-bit and the hashes SHA-1: the default (modern) policy
reads and verifies every signature but refuses the chains as weak; the same
chains validate once 1024-bit keys and SHA-1 are allowed. Findings the tests
pin down: 4.6 verifies here (DSA parameters inherited from the issuer, which
OpenSSL 3 refuses); 5.2's RC2 parameters say 40 effective key bits although
the RFC's title says RC2/128; the From: of 4.8 and 4.9 (AliceDSS@examples.com)
is not the certificate's address (AliceDSS@example.com).
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from smime_read_support import multipart_signed

from conformance.core import mime
from conformance.core.certificates import load_certificate
from conformance.core.cms import DataParts, SignedParts
from conformance.paths import RFC4134_DIR
from conformance.smime import cms_read, validate
from conformance.smime.options import Limits, ReceiveOptions
from conformance.smime.read_errors import Budget
from conformance.smime.receive import read_message
from conformance.status import ErrorCode, Status
from conformance.token.software import SoftwareKey

EX_CONTENT = b"This is some sample content."
WHEN = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
NO_SENDER_CHECK = ReceiveOptions(check_sender_address=False, check_revocation=False)


def _file(name: str) -> bytes:
    return (RFC4134_DIR / name).read_bytes()


def _cert(name: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(_file(name))


def _crl(name: str) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(_file(name))


TRUST = [_cert("CarlRSASelf.cer"), _cert("CarlDSSSelf.cer")]


def _bob() -> SoftwareKey:
    key = serialization.load_der_private_key(_file("BobPrivRSAEncrypt.pri"), None)
    return SoftwareKey(key, _cert("BobRSASignByCarl.cer"), "bob")  # type: ignore[arg-type]


def _wrap(der: bytes, smime_type: str | None = None) -> bytes:
    params = f"; smime-type={smime_type}" if smime_type else ""
    return (
        f"From: AliceDSS@example.com\r\nContent-Type: application/pkcs7-mime{params}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(der)


def _read(message: bytes, options: ReceiveOptions = NO_SENDER_CHECK) -> tuple[bytes | None, Status]:
    return read_message(
        message,
        keys=[_bob()],
        trust=TRUST,
        crls=[],
        directory=None,
        options=options,
        validation_time=WHEN,
    )


def _weak_chain_only(status: Status) -> None:
    """Signatures valid; the only complaint is the 1024-bit keys of the chain."""
    assert status.signature_valid is True, status.errors
    assert status.chain_valid is False
    assert status.errors
    for error in status.errors:
        assert error.code == ErrorCode.UNTRUSTED_SIGNER
        assert "Key size 1024" in error.message
    assert status.services.as_set() == {"integrity"}


def _legacy_chain(
    cert: x509.Certificate,
    crls: list[x509.CertificateRevocationList],
    weak: frozenset[str] = frozenset({"md2", "md5"}),
    check_revocation: bool = True,
) -> validate.ChainResult:
    return validate.validate_signer(
        cert,
        trust=TRUST,
        crls=crls,
        moment=WHEN,
        check_revocation=check_revocation,
        weak_digests=weak,
        min_rsa_bits=1024,
        min_dsa_bits=1024,
    )


@pytest.mark.parametrize("name", ["3.1.bin", "3.2.bin"])
def test_data(name: str) -> None:
    content_type, content, _ = cms_read.read_content_info(_file(name), name, Budget(Limits()))
    assert cms_read.layer_name(content_type) == "data"
    assert isinstance(content, DataParts) and content.content == EX_CONTENT
    got, status = _read(_wrap(_file(name)))
    assert status.errors == [] and got == EX_CONTENT


def test_ber_indefinite_length_is_what_3_1_is() -> None:
    assert _file("3.1.bin")[1] == 0x80
    assert _file("3.2.bin")[1] != 0x80


@pytest.mark.parametrize(
    ("name", "signers", "signature"),
    [
        ("4.1.bin", 1, "1.2.840.10040.4.3"),
        ("4.2.bin", 1, "rsa-pkcs1v15"),
        ("4.4.bin", 1, "1.2.840.10040.4.3"),
        ("4.5.bin", 1, "rsa-pkcs1v15"),
        ("4.6.bin", 2, "1.2.840.10040.4.3"),
        ("4.7.bin", 1, "1.2.840.10040.4.3"),
        ("4.10.bin", 1, "1.2.840.10040.4.3"),
    ],
)
def test_signed_data(name: str, signers: int, signature: str) -> None:
    content, status = _read(_wrap(_file(name), "signed-data"))
    assert content == EX_CONTENT
    assert status.layers == ["signed-data"]
    assert status.algorithms.digest == ["sha1"]
    assert status.algorithms.signature == [signature]
    _weak_chain_only(status)
    assert len(status.errors) == signers


def test_detached_signature_4_3() -> None:
    message = multipart_signed(EX_CONTENT, _file("4.3.bin"), micalg="sha1")
    content, status = _read(message)
    assert content == EX_CONTENT
    _weak_chain_only(status)


def test_detached_signature_4_3_over_other_content_fails() -> None:
    _, status = _read(multipart_signed(b"This is some other content.", _file("4.3.bin")))
    assert [e.code for e in status.errors] == [ErrorCode.BAD_SIGNATURE]


def test_4_6_inherited_dsa_parameters_verify() -> None:
    """Diane's DSA key has no parameters: they come from CarlDSS, and the signature verifies."""
    diane = _file("DianeDSSSignByCarlInherit.cer")
    with pytest.raises(ValueError):  # cryptography alone cannot load the certificate
        x509.load_der_x509_certificate(diane)
    _, status = _read(_wrap(_file("4.6.bin")))
    assert status.signature_valid is True
    assert all("Key size 1024" in e.message for e in status.errors)


@pytest.mark.parametrize("cert", ["AliceRSASignByCarl.cer", "AliceDSSSignByCarlNoInherit.cer"])
def test_chains_validate_under_a_legacy_policy(cert: str) -> None:
    result = _legacy_chain(_cert(cert), [], check_revocation=False)
    assert result.valid, result.message
    # The corpus CRLs (1999, no nextUpdate) are stale at any time the certificates
    # are valid: a receiver that checks revocation cannot use them.
    crls = [_crl("CarlRSACRLEmpty.crl"), _crl("CarlDSSCRLEmpty.crl")]
    stale = _legacy_chain(_cert(cert), crls, weak=frozenset())
    assert stale.code == ErrorCode.UNTRUSTED_SIGNER
    assert "recent" in stale.message or "revocation" in stale.message, stale.message


@pytest.mark.parametrize("name", ["4.8.eml", "4.9.eml"])
def test_smime_messages(name: str) -> None:
    content, status = _read(_file(name))
    assert content is not None
    assert mime.read(content, path=name).body == EX_CONTENT
    _weak_chain_only(status)
    _, checked = _read(_file(name), ReceiveOptions(check_revocation=False))
    codes = [e.code for e in checked.errors]
    assert ErrorCode.SIGNER_MISMATCH in codes  # From: AliceDSS@examples.com (sic)
    assert "alicedss@examples.com" in checked.errors[-1].message


def test_certs_only_4_11() -> None:
    content, status = _read(_wrap(_file("4.11.bin"), "certs-only"))
    assert content is None and status.errors == [] and status.layers == ["certs-only"]
    assert not status.signed
    _, signed_data, _ = cms_read.read_content_info(_file("4.11.bin"), "4.11", Budget(Limits()))
    assert isinstance(signed_data, SignedParts)
    subjects = {load_certificate(c).subject.native["common_name"] for c in signed_data.certificates}
    assert subjects == {"CarlDSS", "AliceDSS"}


@pytest.mark.parametrize(
    ("name", "cipher"), [("5.1.bin", "des-ede3-cbc"), ("5.2.bin", "rc2-40-cbc")]
)
def test_enveloped_data(name: str, cipher: str) -> None:
    content, status = _read(_wrap(_file(name), "enveloped-data"))
    assert status.errors == [] and content == EX_CONTENT
    assert status.algorithms.content_encryption == [cipher]
    assert status.algorithms.key_transport == ["rsa-pkcs1v15"]
    assert status.services.as_set() == {"confidentiality"}


def test_enveloped_message_5_3() -> None:
    content, status = _read(_file("5.3.eml"))
    assert status.errors == [] and content == EX_CONTENT
    assert status.layers == ["enveloped-data"]


def test_receiver_without_rc2_refuses_5_2() -> None:
    options = ReceiveOptions(ciphers=frozenset({"aes256-cbc", "des-ede3-cbc"}))
    content, status = _read(_wrap(_file("5.2.bin")), options)
    assert content is None
    assert [e.message for e in status.errors] == [
        "receiver does not accept content encryption rc2-40-cbc"
    ]


def test_digested_data_6_0() -> None:
    _, digested, _ = cms_read.read_content_info(_file("6.0.bin"), "6.0", Budget(Limits()))
    assert cms_read.read_digested_data(digested, "6.0") == EX_CONTENT


@pytest.mark.parametrize("name", ["7.1.bin", "7.2.bin"])
def test_encrypted_data(name: str) -> None:
    key = bytes.fromhex("737c791f25ead0e04629254352f7dc6291e5cb26917ada32")  # RFC 4134 section 7.1
    _, encrypted, _ = cms_read.read_content_info(_file(name), name, Budget(Limits()))
    assert cms_read.read_encrypted_data(encrypted, name, key) == EX_CONTENT


def test_corpus_is_complete() -> None:
    names = {p.name for p in Path(RFC4134_DIR).iterdir()}
    assert {"4.6.bin", "5.2.bin", "4.11.bin", "7.2.bin"} <= names


def _extract_from_the_rfc() -> dict[str, bytes]:
    """The binaries of Appendix B, extracted as Appendix A.1 says.

    Lines starting with "|" count (after leading blanks): "|>NAME" opens a
    file, "|<NAME" closes it, "|*" is a comment, any other is Base64.
    """
    files: dict[str, bytes] = {}
    name = ""
    lines: list[str] = []
    for line in _file("rfc4134.txt").decode("ascii").splitlines():
        line = line.strip()
        if line.startswith("|>"):
            name, lines = line[2:], []
        elif line.startswith("|<"):
            assert line[2:] == name, line
            files[name] = base64.b64decode("".join(lines), validate=True)
        elif line.startswith("|") and not line.startswith("|*"):
            lines.append(line[1:])
    return files


def test_every_file_is_the_rfc_binary() -> None:
    """The copies are what the RFC text holds, byte for byte: none edited, none added."""
    extracted = _extract_from_the_rfc()
    assert len(extracted) == 40
    kept = {p.name for p in RFC4134_DIR.iterdir()} - {"README.md", ".gitattributes", "rfc4134.txt"}
    assert kept == set(extracted)
    for name, data in sorted(extracted.items()):
        assert _file(name) == data, name
    assert extracted["ExContent.bin"] == EX_CONTENT
