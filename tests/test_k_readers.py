"""The two CMS readers (in memory, from a spool) agree; names and certificates bounded.

Each test fails on the code before the fix it pins: the spooled reader refused octets
after the ContentInfo, the in-memory one took a damaged element inside a name it hands
on whole, the skeleton re-encoded a BER string asn1crypto then refused, asn1crypto wrote
out a 100 kB OID arc (quadratic) or prepared a huge name (RFC 4518) before anyone asked
whether it could, and the fuzzer missed a validator failure once it became INFO.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from conformance.check.model import Check, CheckReport
from conformance.core import certificates, cms
from conformance.core.spool import Spool
from conformance.fuzz import der_tree
from conformance.fuzz.harness import _broken
from conformance.paths import PKI_DIR, VECTORS_DIR
from conformance.smime.cms_read import read_content_info_spooled
from conformance.smime.options import Limits
from conformance.smime.read_errors import Budget, ReadError
from conformance.status import ErrorCode

SIGNER_DER = certificates.certificate_der(
    x509.load_pem_x509_certificate((PKI_DIR / "identities" / "pro01" / "sign.pem").read_bytes())
)
SHA256_RSA = bytes.fromhex("2a864886f70d01010b")  # 1.2.840.113549.1.1.11
LONG_ARC = b"\x2a" + b"\xff" * 100_000 + b"\x7f"  # 1.2.<an arc of 700 000 bits>


def _cms(name: str) -> bytes:
    """The CMS object of a golden message (its first application/pkcs7-* part)."""
    message = email.message_from_bytes((VECTORS_DIR / "golden" / name).read_bytes())
    for part in message.walk():
        if "pkcs7" in part.get_content_type():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError(f"no CMS in {name}")


def _spooled(der: bytes, part_bytes: int = 64) -> cms.ContentInfo:
    with Spool() as spool:
        spool.write(der)
        spool.seal()
        info, _ = read_content_info_spooled(spool.whole(), "part 1", Budget(Limits()), part_bytes)
    return info


def _without_ciphertext(info: cms.ContentInfo) -> cms.ContentInfo:
    """The parts but the ciphertext, which the spooled reading leaves in the spool."""
    assert isinstance(info.content, cms.EnvelopedParts)
    return info._replace(content=info.content._replace(ciphertext=None))


@pytest.fixture
def name_never_parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """asn1crypto's Name.load made to fail the test: a bounded name never reaches it."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("asn1crypto was asked to read the name")

    monkeypatch.setattr(asn1_x509.Name, "load", refuse)
    certificates.readable_name.cache_clear()
    yield
    certificates.readable_name.cache_clear()


def test_octets_after_the_content_info_are_counted_by_both_readers() -> None:
    der = _cms("reference/encrypt.eml")
    padded = der + b"\x00" * 300 + b"not DER"
    in_memory = cms.parse(padded)
    assert in_memory.trailing == 307
    # Before: "307 bytes after the ContentInfo", MALFORMED from the spool only.
    assert _without_ciphertext(_spooled(padded)) == _without_ciphertext(in_memory)


def _damaged_issuer_name(der: bytes) -> tuple[bytes, int]:
    """`der` (EnvelopedData) with the PrintableString "FR" of its first recipient's issuer
    name one octet longer: it runs past its AttributeTypeAndValue, inside the name."""
    country = bytes.fromhex("0603550406130246 52".replace(" ", ""))
    at = der.index(country)
    return der[:at] + bytes.fromhex("06035504061303") + der[at + 7 :], at + 5


def test_an_element_past_its_container_inside_a_name_is_malformed_in_memory() -> None:
    damaged, where = _damaged_issuer_name(_cms("reference/encrypt.eml"))
    assert cms.walk(damaged) is not None  # the fast walk hands the name on whole
    with pytest.raises(cms.CmsError) as raised:
        cms.parse(damaged)
    detail = f"invalid CMS/ASN.1: element at byte {where} runs past its container"
    assert raised.value.detail == detail and raised.value.code == "invalid-asn1"
    with pytest.raises(ReadError) as spooled:
        _spooled(damaged)
    assert spooled.value.code == ErrorCode.MALFORMED
    assert spooled.value.message == f"part 1: {detail}"


def test_the_skeleton_keeps_a_ber_string_it_does_not_leave_out() -> None:
    """An encryptedKey in indefinite-length chunks (BER) reads in memory; the skeleton
    re-encoded it with a definite length, which asn1crypto refuses on an OCTET STRING."""
    der = _cms("reference/encrypt.eml")
    tree = der_tree.parse(der)
    assert tree is not None
    key = next(
        n for n, _ in der_tree.walk(tree) if n.tag == b"\x04" and len(n.value) == 256
    )  # the first recipient's encryptedKey (RSA 2048)
    key.children = [
        der_tree.Node(b"\x04", key.value[:200]),
        der_tree.Node(b"\x04", key.value[200:]),
    ]
    key.tag, key.value, key.indefinite = b"\x24", b"", True
    ber = der_tree.encode(tree)
    in_memory = cms.parse(ber)
    assert _without_ciphertext(_spooled(ber)) == _without_ciphertext(in_memory)


def test_a_name_with_a_huge_oid_arc_is_not_given_to_asn1crypto(name_never_parsed: None) -> None:
    arc = LONG_ARC[:2000] + b"\x7f"  # under NAME_OCTETS, over ARC_BITS
    atv = b"\x06" + der_tree.encode_length(len(arc)) + arc + b"\x0c\x01A"
    name = _sequence(0x30, _sequence(0x31, _sequence(0x30, atv)))
    problem = certificates.name_problem(name)
    assert problem is not None and "has an arc over 128 bits" in problem
    assert certificates.readable_name(name) is None
    assert certificates.describe_name(name).startswith("an unreadable name")
    assert certificates.same_name(name, name + b"") and not certificates.same_name(name, b"0\x00")


def test_a_name_of_a_megabyte_is_not_compared(name_never_parsed: None) -> None:
    value = b"\x0c" + der_tree.encode_length(1 << 20) + b"e" * (1 << 20)
    atv = b"\x06\x03\x55\x04\x03" + value  # commonName
    name = _sequence(0x30, _sequence(0x31, _sequence(0x30, atv)))
    assert certificates.name_problem(name) == (
        f"Name of {len(name)} octets: over {certificates.NAME_OCTETS}, larger than any "
        "directory name"
    )
    assert not certificates.same_name(name, name.replace(b"eee", b"eeE", 1))
    assert certificates.readable_name(name) is None


def _sequence(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + der_tree.encode_length(len(content)) + content


def test_a_certificate_with_a_huge_oid_arc_is_refused_before_asn1crypto() -> None:
    tree = der_tree.parse(SIGNER_DER)
    assert tree is not None
    oid = next(n for n, _ in der_tree.walk(tree) if n.tag == b"\x06" and n.value == SHA256_RSA)
    oid.value = LONG_ARC
    damaged = der_tree.encode(tree)
    # Before: asn1crypto wrote the arc out (seconds), then Python refused an integer of
    # over 4300 digits, its advice on set_int_max_str_digits quoted as the problem.
    assert certificates.parse_problem(damaged) == (
        f"OBJECT IDENTIFIER 1.2.[...] ({len(LONG_ARC)} octets) has an arc over 128 bits: "
        "it names no algorithm or type"
    )


def test_the_fuzzer_counts_a_rule_the_validator_failed_on() -> None:
    failed = Check(
        "CERT-001",
        "INFO",
        "title",
        "the validator failed on this rule: ValueError: boom (layers.py:1)",
        "the rule runs to completion",
        "RFC 5280",
        "1",
        checked=False,
    )
    assert _broken(CheckReport({}, [failed])) == [f"CERT-001: {failed.found}"]


def test_saved_inputs_are_in_the_readme() -> None:
    folder = Path(__file__).parent / "data" / "fuzz"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert all(f"`{p.name}`" in readme for p in folder.glob("*.eml"))
