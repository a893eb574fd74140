"""Hostile OIDs in algorithm parameters, long OIDs shown short, a parameter in two forms.

1. An OBJECT IDENTIFIER with an arc over 128 bits anywhere in a CMS object (RSASSA-PSS and
   RSAES-OAEP parameters, an algorithm's parameters, a signed attribute's value, a carried
   certificate) makes it malformed, named by the structure holding it, alike in memory and
   from a spool. Before: PSS and OAEP parameters were read by asn1crypto, whose refusal of
   an integer of over 4300 digits came out as an unsupported algorithm, Python's advice on
   `sys.set_int_max_str_digits` quoted; in a digest's or the signature's parameters the
   OID was not read at all, and the message was accepted (check: conformant).
2. An OID of 100,000 small arcs is shown by its first arcs and its size: before, lines of
   200 kB in the receiver's message and the check's rules.
3. `boundary="a"; boundary*="b"` is a repeated parameter (MIME-003), as `boundary` twice:
   before, conformant. A file name in two forms (`name*`, `filename*`) is not.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from check_support import (
    AS_PRO02,
    HUGE,
    PKI,
    SHOWN,
    SIGNED,
    TEXT,
    checked,
    cms_der,
    edit_signed,
    errors_of,
    failures,
    pro02_key,
)
from cryptography.hazmat.primitives.serialization import Encoding

from conformance.core import mime, oids
from conformance.core.cms import CmsError, layer_name, parse
from conformance.fuzz.der_tree import Node, walk
from conformance.fuzz.harness import SPOOL_ALL
from conformance.fuzz.mutate import edit_cms
from conformance.smime.compose import Headers, Operation, build_message
from conformance.smime.options import (
    EncryptOptions,
    Limits,
    SendOptions,
    SignOptions,
)
from conformance.smime.receive_spooled import read_message_bounded
from conformance.status import ErrorCode, Status
from conformance.token.software import SoftwareKey

MANY = b"\x2a" + b"\x01" * 100_000  # 1.2 and 100,000 arcs of 1
MANY_SHOWN = "1.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.[...] (100002 arcs, 200003 characters)"
_SHA256 = "608648016503040201"
_DATA = "2a864886f70d010701"
_MGF1 = "2a864886f70d010108"
_AES256_CBC = "60864801650304012a"
_RSA = "2a864886f70d010101"


def _message(function: Operation, options: SendOptions, content: bytes = TEXT) -> bytes:
    """`content` from pro01 to pro02, the same bytes each time."""
    who, to = PKI.identities["pro01"], PKI.identities["pro02"]
    headers = Headers(
        from_addr=who.email,
        to=[to.email],
        subject="Compte rendu",
        date=datetime(2025, 3, 1, 12, tzinfo=UTC),
    )
    signer = SoftwareKey(who.private_key("sign"), who.certificate("sign"), "pro01")
    return build_message(
        content,
        function,
        options,
        signer,
        [PKI.intermediate],
        [to.certificate("encrypt")],
        headers,
        rng=random.Random(1).randbytes,
    )


PSS = SendOptions(sign=SignOptions(algorithm="rsa-pss", format="opaque"))
SIGNED_PSS = _message("sign", PSS)
SIGNED_V15 = _message("sign", SendOptions())  # multipart/signed, rsaEncryption with NULL
ENCRYPTED = _message("encrypt", SendOptions(encrypt=EncryptOptions(encrypt_to_self=False)))

Edit = Callable[[bytes], Callable[[Node], None]]


def _oid(value_hex: str, nth: int) -> Edit:
    """The `nth` OBJECT IDENTIFIER of that value replaced."""

    def edit(value: bytes) -> Callable[[Node], None]:
        def on(root: Node) -> None:
            found = [n for n, _ in walk(root) if n.tag == b"\x06" and n.value.hex() == value_hex]
            found[nth].value = value

        return on

    return edit


def _parameters(value_hex: str, nth: int) -> Edit:
    """The parameters of the `nth` AlgorithmIdentifier of that OID made an OID."""

    def edit(value: bytes) -> Callable[[Node], None]:
        def on(root: Node) -> None:
            found = [
                parent
                for node, parent in walk(root)
                if parent is not None
                and parent.children
                and parent.children[0] is node
                and node.tag == b"\x06"
                and node.value.hex() == value_hex
            ]
            fields = found[nth].children
            assert fields is not None
            fields[1:] = [Node(b"\x06", value)]

        return on

    return edit


# (case, message, edit, the structure the reader names, the part check reports it on)
CASES: list[tuple[str, bytes, Edit, str, str]] = [
    # SHA-256 in a PSS message: digestAlgorithms, the signer's digest, PSS hash, MGF1 hash
    ("PSS hash", SIGNED_PSS, _oid(_SHA256, 2), "signer 1", "1"),
    ("PSS mask generation", SIGNED_PSS, _oid(_MGF1, 0), "signer 1", "1"),
    ("PSS MGF1 hash", SIGNED_PSS, _oid(_SHA256, 3), "signer 1", "1"),
    ("smime-capabilities", SIGNED_PSS, _oid(_AES256_CBC, 0), "signer 1", "1"),
    ("digestAlgorithms parameters", SIGNED_PSS, _parameters(_SHA256, 0), "SignedData", "1"),
    ("signer digest parameters", SIGNED_PSS, _parameters(_SHA256, 1), "signer 1", "1"),
    # rsaEncryption: both certificates' keys, then the signer's signatureAlgorithm
    ("signature parameters", SIGNED_V15, _parameters(_RSA, 2), "signer 1", "1.2"),
    (
        "certificate parameters",
        SIGNED_PSS,
        _parameters(_RSA, 0),
        "SignedData: certificate 1",
        "1",
    ),
    ("OAEP hash", ENCRYPTED, _oid(_SHA256, 0), "recipientInfos", "1"),
    ("OAEP mask generation", ENCRYPTED, _oid(_MGF1, 0), "recipientInfos", "1"),
    ("OAEP MGF1 hash", ENCRYPTED, _oid(_SHA256, 1), "recipientInfos", "1"),
    ("content cipher parameters", ENCRYPTED, _parameters(_AES256_CBC, 0), "EnvelopedData", "1"),
]
IDS = [case[0] for case in CASES]


IN_MEMORY = Limits(spool_above_bytes=1 << 30)


def _receive(message: bytes, spooled: bool, limits: Limits | None = None) -> Status:
    """The reference receiver's status as pro02, the message read from a spool or in memory
    (`limits` given: as they say)."""
    if limits is None:
        limits = SPOOL_ALL if spooled else IN_MEMORY
    return read_message_bounded(message, keys=[pro02_key()], limits=limits, **AS_PRO02)[1]  # type: ignore[arg-type]


# --- 1. an arc over 128 bits in any OID of the object -------------------------------------


@pytest.mark.parametrize(("what", "message", "edit", "where", "part"), CASES, ids=IDS)
def test_the_reader_refuses_the_oid_by_the_structure_holding_it(
    what: str, message: bytes, edit: Edit, where: str, part: str
) -> None:
    with pytest.raises(CmsError) as caught:
        parse(cms_der(edit_cms(message, edit(HUGE))))
    assert (caught.value.code, caught.value.value, caught.value.where) == (
        "large-arc",
        SHOWN,
        where,
    )
    assert caught.value.signer == (1 if where == "signer 1" else None)


@pytest.mark.parametrize(("what", "message", "edit", "where", "part"), CASES, ids=IDS)
def test_the_receiver_says_malformed_alike_in_memory_and_spooled(
    what: str, message: bytes, edit: Edit, where: str, part: str
) -> None:
    hostile = edit_cms(message, edit(HUGE))
    in_memory = errors_of(_receive(hostile, spooled=False))
    assert in_memory == errors_of(_receive(hostile, spooled=True))
    [(code, said)] = in_memory
    assert code == ErrorCode.MALFORMED
    assert said.endswith(
        f"{where}: OBJECT IDENTIFIER {SHOWN} has an arc over 128 bits: it names no algorithm "
        "or type"
    )


@pytest.mark.parametrize(("what", "message", "edit", "where", "part"), CASES, ids=IDS)
def test_check_reports_cms_001_naming_the_oid(
    what: str, message: bytes, edit: Edit, where: str, part: str
) -> None:
    report = checked(edit_cms(message, edit(HUGE)), "pro02")
    assert not [c for c in report.checks if "validator failed" in c.found]
    (failed,) = [c for c in report.by_id("CMS-001") if c.status == "ERROR"]
    assert failed.part == part
    assert failed.found == (
        f"part {part}: {where} does not parse: OBJECT IDENTIFIER {SHOWN} has an arc over 128 "
        "bits: it names no algorithm or type"
    )
    assert report.verdict().status == "non-conformant"


def test_an_oid_after_a_large_content_is_named_alike_from_the_spool() -> None:
    """A message over the spool threshold, its PSS hash after the 5 MB eContent the spool
    leaves out (the skeleton's offsets differ from the object's: the structure is named)."""
    content = TEXT + b"Bonjour tout le monde.\r\n" * 220_000
    large = edit_cms(_message("sign", PSS, content), _oid(_SHA256, 2)(HUGE))
    assert len(large) > Limits().spool_above_bytes
    in_memory = errors_of(_receive(large, spooled=False))
    assert (
        errors_of(_receive(large, spooled=True, limits=Limits()))
        == in_memory
        == [
            (
                ErrorCode.MALFORMED,
                f"message: signer 1: OBJECT IDENTIFIER {SHOWN} has an arc over 128 bits: it names "
                "no algorithm or type",
            )
        ]
    )


def test_an_oid_in_ber_is_named_through_the_indefinite_lengths() -> None:
    """The BER NSS and gpgsm write: indefinite lengths down the content path."""

    def edit(root: Node) -> None:
        _oid(_SHA256, 2)(HUGE)(root)
        assert root.children is not None and root.children[1].children is not None
        signed = root.children[1].children[0]
        assert signed.children is not None
        for node in (root, root.children[1], signed, signed.children[2]):  # and encap
            node.indefinite = True

    hostile = edit_cms(SIGNED_PSS, edit)
    assert b"\x30\x80" in cms_der(hostile)
    in_memory = errors_of(_receive(hostile, spooled=False))
    assert in_memory == errors_of(_receive(hostile, spooled=True))
    assert in_memory == [
        (
            ErrorCode.MALFORMED,
            f"message: signer 1: OBJECT IDENTIFIER {SHOWN} has an arc over 128 bits: it names "
            "no algorithm or type",
        )
    ]


@pytest.mark.parametrize(
    ("message", "edit"),
    [(SIGNED, _oid(_DATA, 0)), (SIGNED_PSS, _oid(_SHA256, 2))],
    ids=["eContentType", "PSS hash"],
)
def test_an_arc_of_a_megabyte_is_refused_in_bounded_time(message: bytes, edit: Edit) -> None:
    """asn1crypto reads an arc in quadratic time (2 s for 100 kB): never asked to, where the
    fast walk reads an OID (eContentType) or an algorithm's parameters (the PSS hash)."""
    der = cms_der(edit_cms(message, edit(b"\x2a" + b"\xff" * 1_000_000 + b"\x7f")))
    start = time.perf_counter()
    with pytest.raises(CmsError, match=r"1\.2\.\[\.\.\.\] \(1000002 octets\)"):
        parse(der)
    assert time.perf_counter() - start < 1.0


# --- 2. an OID of 100,000 arcs: read, shown short -----------------------------------------


def test_a_long_oid_is_shown_by_its_first_arcs_and_its_size() -> None:
    long = "1.2." + ".".join(["1"] * 100_000)
    assert oids.shown(long) == MANY_SHOWN
    assert oids.shown("2." + "9" * 100) == "2.[...] (2 arcs, 102 characters)"
    uuid = f"2.25.{(1 << 128) - 1}"  # X.667: the longest in use, shown whole
    assert oids.shown(uuid) == uuid
    assert oids.shown("rsa-pss") == "rsa-pss"
    assert layer_name(long) == MANY_SHOWN and layer_name(oids.SIGNED_DATA) == "signed-data"


@pytest.mark.parametrize(
    ("what", "message", "edit", "said"),
    [
        ("PSS hash", SIGNED_PSS, _oid(_SHA256, 2), "signature algorithm"),
        ("OAEP hash", ENCRYPTED, _oid(_SHA256, 0), "key transport"),
    ],
    ids=["PSS hash", "OAEP hash"],
)
def test_the_receiver_names_a_long_oid_short(
    what: str, message: bytes, edit: Edit, said: str
) -> None:
    hostile = edit_cms(message, edit(MANY))
    start = time.perf_counter()
    in_memory, spooled = _receive(hostile, spooled=False), _receive(hostile, spooled=True)
    assert time.perf_counter() - start < 2.0
    assert errors_of(in_memory) == errors_of(spooled)
    [(code, message_said)] = errors_of(in_memory)
    assert code == ErrorCode.UNSUPPORTED_ALGORITHM
    assert message_said == f"engine does not support {said} {MANY_SHOWN}"  # was 200 kB
    assert MANY_SHOWN in [*in_memory.algorithms.signature, *in_memory.algorithms.key_transport]


def _many_arcs(last: int) -> bytes:
    return MANY[:-1] + bytes((last,))


def test_check_shows_long_oids_short_and_compares_them_whole() -> None:
    """eContentType and the content-type attribute: two OIDs of 100,000 arcs that differ in
    their last arc, shown alike: CMS-005 still tells them apart."""

    def edit(root: Node) -> None:
        content_types = [n for n, _ in walk(root) if n.tag == b"\x06" and n.value.hex() == _DATA]
        content_types[0].value = _many_arcs(1)  # eContentType
        content_types[1].value = _many_arcs(2)  # the content-type attribute's value
        _oid(_SHA256, 2)(MANY)(root)  # and the PSS hash

    report = checked(edit_cms(SIGNED_PSS, edit), "pro02")
    [differs] = report.by_id("CMS-005")
    assert differs.status == "ERROR"
    assert differs.found == f"content-type {MANY_SHOWN}; eContentType {MANY_SHOWN}"
    [signature] = report.by_id("CMS-008")
    assert signature.found == MANY_SHOWN  # was 200 kB


# --- 3. a parameter in two forms -----------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        'multipart/mixed; boundary="a"; boundary*="b"',
        'multipart/mixed; boundary*="b"; boundary="a"',
        "multipart/mixed; boundary=a; BOUNDARY*0=b; boundary*1=c",
        "multipart/mixed; boundary=a; boundary*0*=us-ascii''b",
    ],
)
def test_a_parameter_plain_and_in_rfc_2231_form_is_repeated(value: str) -> None:
    part = mime.read(f"Content-Type: {value}\r\n\r\nx".encode())
    assert mime.parameters(part.headers) == mime.Parameters({"boundary": "a"}, ("boundary",))


@pytest.mark.parametrize(
    ("header", "field"),
    [
        (
            b"Content-Type: application/pdf; name=\"r.pdf\"; name*=utf-8''r%C3%A9.pdf",
            "content-type",
        ),
        (
            b"Content-Disposition: attachment; filename=\"r.pdf\"; filename*=utf-8''r%C3%A9.pdf",
            "content-disposition",
        ),
    ],
    ids=["name", "filename"],
)
def test_a_file_name_in_two_forms_is_not_repeated(header: bytes, field: str) -> None:
    """RFC 6266 4.3: a plain file name for the readers that know no RFC 2231; `filename`
    beside its `filename*` is common practice, not a repetition."""
    part = mime.read(header + b"\r\n\r\nx")
    assert mime.parameters(part.headers, field).repeated == ()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b'boundary*="other"; ', b""),
        (b"boundary*0*=us-ascii''other; ", b""),
        (b"", b'; boundary="other"'),
    ],
    ids=["and boundary*", "and boundary*0*", "twice"],
)
def test_check_reports_a_boundary_given_twice_naming_the_value_read(
    before: bytes, after: bytes
) -> None:
    """Before: conformant, the first boundary read."""
    boundary = re.search(rb'boundary="([^"]+)"', SIGNED)
    assert boundary is not None
    hostile = edit_signed(boundary.group(0), before + boundary.group(0) + after)
    [twice] = failures(checked(hostile, "pro02"), "MIME-003")
    assert (twice.status, twice.part) == ("ERROR", "1")
    assert twice.found == (
        "parameter 'boundary' given more than once in Content-Type: readers differ on which "
        f"value applies (this report reads {boundary.group(1).decode()!r})"
    )
    # The receiver reads the same boundary: its answer is the message's without the other.
    assert errors_of(_receive(hostile, spooled=False)) == errors_of(_receive(SIGNED, False))
    assert errors_of(_receive(hostile, spooled=True)) == errors_of(_receive(SIGNED, True))


def test_a_fault_after_the_large_arc_leaves_its_answer() -> None:
    """The OID in certificate 1, then certificate 2 running past its container: the walk
    met the OID first, and naming where it lies reads nothing past it."""
    edit = _parameters(_RSA, 0)
    der = bytearray(cms_der(edit_cms(SIGNED_PSS, edit(HUGE))))
    second = bytes(der).find(PKI.intermediate.public_bytes(Encoding.DER))
    assert second > 0 and der[second + 4 : second + 6] == b"\x30\x82"
    der[second + 6] += 1  # its tbsCertificate 256 bytes longer than the certificate
    with pytest.raises(CmsError) as caught:
        parse(bytes(der))
    assert (caught.value.code, caught.value.where) == ("large-arc", "SignedData: certificate 1")
