"""The validator's verdict on hostile messages an auditor fed it: a CMS object of no S/MIME
type, a message with no S/MIME layer, a signer certificate dated year 0 or with a serial
number RFC 5280 forbids, a signing-time that is present but no date. Each was called
conformant, or broke a rule, before."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from asn1crypto import cms
from check_support import HEADER, PKI, checked, signed_letter
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from conformance.check import Check, CheckReport
from conformance.fuzz.der_tree import Node, encode
from conformance.fuzz.der_tree import parse as parse_tree
from conformance.fuzz.mutate import carried_certificates, edit_cms
from conformance.paths import REPO_DIR

ENCRYPTED = (REPO_DIR / "vectors" / "golden" / "reference" / "encrypt.eml").read_bytes()
TEXT = b"Content-Type: text/plain\r\n\r\nhello\r\n"


def _only(report: CheckReport, rule_id: str) -> Check:
    (check,) = report.by_id(rule_id)
    return check


def _unbroken(report: CheckReport) -> None:
    assert not [c for c in report.checks if c.found.startswith("the validator failed")]


def _pkcs7_part(der: bytes, smime_type: str = "enveloped-data") -> bytes:
    return (
        f'Content-Type: application/pkcs7-mime; smime-type={smime_type}; name="smime.p7m"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(der).replace(b"\n", b"\r\n")


# --- item 2: a CMS object of a type S/MIME does not carry --------------------------------

UNKNOWN_TYPE = bytes.fromhex("300c06032a0304a005040378787 8".replace(" ", ""))  # 1.2.3.4


def test_a_cms_object_of_an_unknown_type_is_an_error_not_a_suggestion() -> None:
    """Before: CMS-001 SUCCESS "readable and of the right type: 1.2.3.4", and an SMIME-002
    warning suggesting smime-type=1.2.3.4; the verdict conformant."""
    report = checked(HEADER + _pkcs7_part(UNKNOWN_TYPE))
    _unbroken(report)
    check = _only(report, "CMS-001")
    assert (check.status, check.part) == ("ERROR", "1")
    assert check.found == "1.2.3.4: not a CMS type S/MIME carries"
    assert "enveloped-data" in check.expected and "signed-data" in check.expected
    assert report.by_id("SMIME-002") == []  # no smime-type names such an object
    assert report.verdict().status == "non-conformant"


_OTHER_TYPES = {
    "data": cms.ContentInfo({"content_type": "data", "content": TEXT}),
    "digested-data": cms.ContentInfo(
        {
            "content_type": "digested_data",
            "content": {
                "version": "v0",
                "digest_algorithm": {"algorithm": "sha256"},
                "encap_content_info": {"content_type": "data", "content": TEXT},
                "digest": hashlib.sha256(TEXT).digest(),
            },
        }
    ),
    "encrypted-data": cms.ContentInfo(
        {
            "content_type": "encrypted_data",
            "content": {
                "version": "v0",
                "encrypted_content_info": {
                    "content_type": "data",
                    "content_encryption_algorithm": {
                        "algorithm": "aes128_cbc",
                        "parameters": b"\x00" * 16,
                    },
                    "encrypted_content": b"\x00" * 16,
                },
            },
        }
    ),
}


@pytest.mark.parametrize("name", sorted(_OTHER_TYPES))
def test_the_cms_types_s_mime_does_not_carry_are_errors(name: str) -> None:
    report = checked(HEADER + _pkcs7_part(_OTHER_TYPES[name].dump(), name))
    check = _only(report, "CMS-001")
    assert (check.status, check.found) == ("ERROR", f"{name}: not a CMS type S/MIME carries")


def test_the_s_mime_types_pass_cms_001() -> None:
    report = checked(ENCRYPTED)
    assert [c.status for c in report.by_id("CMS-001")] == ["SUCCESS"]
    assert [c.status for c in checked(signed_letter()).by_id("CMS-001")] == ["SUCCESS"]


# --- item 3: no S/MIME layer -----------------------------------------------------------


def test_a_message_without_protection_is_not_conformant() -> None:
    """Before: "Verdict: conformant", exit 0, for a plain text/plain message."""
    report = checked(HEADER + TEXT)
    _unbroken(report)
    check = _only(report, "SMIME-012")
    assert (check.status, check.part) == ("ERROR", "1")
    assert check.found == "no S/MIME layer: neither signed nor encrypted with S/MIME"
    assert check.found_fr == "aucune couche S/MIME : ni signé ni chiffré en S/MIME"
    assert report.verdict().status == "non-conformant"


def test_a_bare_id_data_object_is_no_protection() -> None:
    """Before: an smime-type=enveloped-data part holding an id-data ContentInfo wrapping a
    MIME entity was conformant with one warning."""
    der = cms.ContentInfo({"content_type": "data", "content": TEXT}).dump()
    report = checked(HEADER + _pkcs7_part(der))
    check = _only(report, "SMIME-012")
    assert check.status == "ERROR"
    assert check.found.endswith("(CMS object(s) of type data only)")
    assert [c.status for c in report.by_id("CMS-001")] == ["ERROR"]


@pytest.mark.parametrize(
    ("message", "found"),
    [
        (signed_letter(), "signed-data (part 1.2)"),
        (ENCRYPTED, "enveloped-data (part 1)"),  # no identity: not opened, still encrypted
    ],
    ids=["signed", "encrypted"],
)
def test_signed_or_encrypted_messages_pass_smime_012(message: bytes, found: str) -> None:
    check = _only(checked(message), "SMIME-012")
    assert (check.status, check.found) == ("SUCCESS", found)


# --- signer certificates re-issued by the test intermediate CA -------------------------

SIGNER = PKI.identities["pro01"].certificate("sign").public_bytes(serialization.Encoding.DER)


def _reissued(edit: Callable[[list[Node]], None]) -> bytes:
    """pro01's signature certificate with `edit` done on its TBSCertificate's fields (version,
    serial, signature, issuer, validity, subject, key, extensions), signed again by the
    intermediate CA that issued it."""
    root = parse_tree(SIGNER)
    assert root is not None and root.children is not None
    tbs = root.children[0]
    assert tbs.children is not None
    edit(tbs.children)
    signature = PKI.intermediate_key().sign(encode(tbs), padding.PKCS1v15(), hashes.SHA256())
    root.children[2] = Node(b"\x03", b"\x00" + signature)
    return encode(root)


def _carrying(certificate: bytes, serial: bytes | None = None) -> bytes:
    """The signed letter with its signer certificate replaced (and the SignerInfo's serial
    with it): the signature, over the signed attributes, still verifies."""

    def edit(root: Node) -> None:
        for node in carried_certificates(root):
            if encode(node) == SIGNER:
                replacement = parse_tree(certificate)
                assert replacement is not None
                node.children, node.value = replacement.children, replacement.value
        if serial is not None:
            signed = root.children[1].children[0].children  # type: ignore[index]
            sid = signed[-1].children[0].children[1]  # type: ignore[index]
            sid.children[1].value = serial  # type: ignore[index]

    return edit_cms(signed_letter(), edit)


def _validity(field: int, time: Node) -> Callable[[list[Node]], None]:
    def edit(fields: list[Node]) -> None:
        validity = fields[4].children
        assert validity is not None
        validity[field] = time

    return edit


@pytest.mark.parametrize(("field", "name"), [(0, "notBefore"), (1, "notAfter")])
def test_a_validity_bound_in_year_0_is_a_malformed_date_not_a_validator_failure(
    field: int, name: str
) -> None:
    """Before: `ERROR CERT-002 the validator failed on this rule: TypeError: unsupported
    format string passed to extended_datetime.__format__ (certificates.py:304)`."""
    year0 = Node(b"\x18", b"00000101000000Z")
    report = checked(_carrying(_reissued(_validity(field, year0))))
    _unbroken(report)
    check = _only(report, "CERT-002")
    assert (check.status, check.part) == ("ERROR", "1.2")
    assert check.found == (
        f"signature certificate: {name} 0000-01-01T00:00:00+00:00: year 0 is not a valid date"
    )
    assert check.found_fr is not None and "l'année 0 n'est pas une date valide" in check.found_fr


@pytest.mark.parametrize(
    ("serial", "shown"),
    [
        (b"\xff\x01\x02\x03", "-0xfefdfd (4 octet(s))"),
        (b"\x00", "0x0 (1 octet(s))"),
        (b"\x01" + b"\x00" * 20, "… (21 octet(s))"),
    ],
    ids=["negative", "zero", "21 octets"],
)
def test_a_serial_number_rfc_5280_forbids_is_an_error(serial: bytes, shown: str) -> None:
    """Before: conformant (RFC 5280 4.1.2.2: positive, at most 20 octets)."""

    def edit(fields: list[Node]) -> None:
        fields[1].value = serial

    report = checked(_carrying(_reissued(edit), serial))
    _unbroken(report)
    assert [c.status for c in report.by_id("CMS-009")] == ["SUCCESS"]  # the same signature
    check = _only(report, "CERT-014")
    assert (check.status, check.part) == ("ERROR", "1.2")
    assert check.found == f"signature certificate: serial number {shown}"


def test_a_positive_serial_of_20_octets_passes() -> None:
    serial = b"\x7f" + b"\x01" * 19

    def edit(fields: list[Node]) -> None:
        fields[1].value = serial

    check = _only(checked(_carrying(_reissued(edit), serial)), "CERT-014")
    assert check.status == "SUCCESS"
    assert check.found.endswith("(20 octet(s))")
    assert _only(checked(signed_letter()), "CERT-014").status == "SUCCESS"


# --- item 5: a signing-time present but no date ------------------------------------------

SIGNING_TIME = bytes.fromhex("2a864886f70d010905")


def _with_signing_time(value: Node | None) -> bytes:
    """The signed letter with its signing-time value replaced (None: removed, the attribute
    left with no value), signed again by pro01."""
    key = PKI.identities["pro01"].private_key("sign")

    def edit(root: Node) -> None:
        signer = root.children[1].children[0].children[-1].children[0]  # type: ignore[index]
        assert signer.children is not None
        attrs = next(c for c in signer.children if c.tag == b"\xa0")
        for attr in attrs.children or []:
            assert attr.children is not None and attr.children[1].children is not None
            if attr.children[0].value == SIGNING_TIME:
                attr.children[1].children = [] if value is None else [value]
        covered = b"\x31" + encode(attrs)[1:]
        signature = key.sign(covered, padding.PKCS1v15(), hashes.SHA256())
        signer.children[-1] = Node(b"\x04", signature)

    return edit_cms(signed_letter(), edit)


@pytest.mark.parametrize(
    ("value", "said", "said_fr"),
    [
        (Node(b"\x17", b"251399999999Z"), 'UTCTime "251399999999Z" (month must be in 1..12)', None),
        (Node(b"\x17", b""), 'UTCTime "" (empty value)', 'UTCTime "" (valeur vide)'),
        (
            Node(b"\x18", b"00000101000000Z"),
            'GeneralizedTime "00000101000000Z" (year 0)',
            'GeneralizedTime "00000101000000Z" (année 0)',
        ),
    ],
    ids=["month 13", "empty", "year 0"],
)
def test_an_unreadable_signing_time_is_an_error_not_a_missing_one(
    value: Node, said: str, said_fr: str | None
) -> None:
    """Before: `WARNING CMS-006 no signing-time attribute`, the verdict conformant."""
    report = checked(_with_signing_time(value))
    _unbroken(report)
    assert [c.status for c in report.by_id("CMS-009")] == ["SUCCESS"]
    check = _only(report, "CMS-006")
    assert (check.status, check.part) == ("ERROR", "1.2")
    assert check.found == f"signing-time present but unreadable: {said}"
    if said_fr is not None:
        assert check.found_fr == f"signing-time présent mais illisible : {said_fr}"
    assert report.verdict().status == "non-conformant"


def test_a_readable_signing_time_passes() -> None:
    check = _only(checked(_with_signing_time(Node(b"\x17", b"250301120000Z"))), "CMS-006")
    assert (check.status, check.found) == ("SUCCESS", "2025-03-01T12:00:00+00:00")


def test_a_signing_time_attribute_without_a_value_is_an_error() -> None:
    check = _only(checked(_with_signing_time(None)), "CMS-006")
    assert (check.status, check.found) == ("ERROR", "a signing-time attribute without a value")
