"""An OBJECT IDENTIFIER with an arc over 128 bits, wherever the CMS reader reads one: a
malformed object, named by its first arcs and its length, in bounded time (an arc of a
megabyte: test_q_hostile_params).

Before: the fast walk wrote the arc out in decimal, which Python refuses over 4300 digits;
the ValueError escaped the reader, so the receiver answered `internal` and `check` gave a
single "the validator failed while parsing" check, every other rule lost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from check_support import AS_PRO02, HUGE, SHOWN, SIGNED, checked, cms_der, pro02_key

from conformance.core.cms import ARC_BITS, CmsError, from_asn1crypto, oid_arc_problem, parse
from conformance.fuzz.der_tree import Node
from conformance.fuzz.mutate import edit_cms
from conformance.paths import REPO_DIR
from conformance.smime.receive import read_message
from conformance.status import ErrorCode, Status

GOLDEN = REPO_DIR / "vectors" / "golden" / "reference"
ENCRYPTED = (GOLDEN / "encrypt.eml").read_bytes()


def _signed_data(root: Node) -> Node:
    assert root.children is not None and root.children[1].children is not None
    return root.children[1].children[0]


def _field(node: Node, *path: int) -> Node:
    for index in path:
        assert node.children is not None
        node = node.children[index]
    return node


def _outer(root: Node) -> None:
    _field(root, 0).value = HUGE


def _digest_algorithms(root: Node) -> None:
    _field(_signed_data(root), 1, 0, 0).value = HUGE


def _econtent_type(root: Node) -> None:
    _field(_signed_data(root), 2, 0).value = HUGE


def _signer_digest(root: Node) -> None:
    _field(_signed_data(root), 4, 0, 2, 0).value = HUGE


def _cipher(root: Node) -> None:
    enveloped = _signed_data(root)
    assert enveloped.children is not None
    info = [c for c in enveloped.children if c.tag == b"\x30"][-1]
    _field(info, 1, 0).value = HUGE


# (where, message, edit, the part the check reports it on, the structure the reader names)
CASES: list[tuple[str, bytes, Callable[[Node], None], str, str]] = [
    ("outer content type", SIGNED, _outer, "1.2", "ContentInfo"),
    ("digestAlgorithms", SIGNED, _digest_algorithms, "1.2", "SignedData"),
    ("eContentType", SIGNED, _econtent_type, "1.2", "SignedData"),
    ("signer's digest", SIGNED, _signer_digest, "1.2", "signer 1"),
    ("content cipher", ENCRYPTED, _cipher, "1", "EnvelopedData"),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize(("what", "message", "edit", "part", "where"), CASES, ids=IDS)
def test_the_reader_refuses_the_oid_and_names_it(
    what: str, message: bytes, edit: Callable[[Node], None], part: str, where: str
) -> None:
    der = cms_der(edit_cms(message, edit))
    for read in (parse, from_asn1crypto):  # the fast walk leaves it to asn1crypto's reading
        with pytest.raises(CmsError) as caught:
            read(der)
        assert caught.value.code == "large-arc"
        assert caught.value.value == SHOWN
        assert caught.value.where == where
        assert f"OBJECT IDENTIFIER {SHOWN} has an arc over 128 bits" in caught.value.detail


def _receive(message: bytes) -> Status:
    _, status = read_message(message, keys=[pro02_key()], **AS_PRO02)  # type: ignore[arg-type]
    return status


@pytest.mark.parametrize(("what", "message", "edit", "part", "where"), CASES, ids=IDS)
def test_the_receiver_answers_malformed_not_internal(
    what: str, message: bytes, edit: Callable[[Node], None], part: str, where: str
) -> None:
    status = _receive(edit_cms(message, edit))
    assert [e.code for e in status.errors] == [ErrorCode.MALFORMED], status.errors
    said = status.errors[0].message
    assert f"{where}: OBJECT IDENTIFIER {SHOWN} has an arc over 128 bits" in said
    assert "4300" not in said


@pytest.mark.parametrize(("what", "message", "edit", "part", "where"), CASES, ids=IDS)
def test_check_reports_cms_001_at_the_part_and_runs_every_rule(
    what: str, message: bytes, edit: Callable[[Node], None], part: str, where: str
) -> None:
    report = checked(edit_cms(message, edit), "pro02")
    assert not [c for c in report.checks if c.found.startswith("the validator failed")]
    (failed,) = [c for c in report.by_id("CMS-001") if c.status == "ERROR"]
    assert failed.part == part
    assert f"OBJECT IDENTIFIER {SHOWN} has an arc over 128 bits" in failed.found
    assert (
        failed.found_fr is not None and f"{SHOWN} a un arc de plus de 128 bits" in failed.found_fr
    )
    assert report.by_id("HDR-001") and report.by_id("MIME-003")  # the other rules ran
    assert report.verdict().status == "non-conformant"


def _arcs(*values: int) -> bytes:
    """OID contents of arcs (the first two joined, X.690 8.19.4)."""
    out = b""
    for value in (40 * values[0] + values[1], *values[2:]):
        septets = [value & 0x7F]
        value >>= 7
        while value:
            septets.append(0x80 | (value & 0x7F))
            value >>= 7
        out += bytes(reversed(septets))
    return out


def test_an_arc_of_128_bits_is_read_one_more_is_refused() -> None:
    """2.25.<UUID> (X.667) arcs are 128 bits: the largest in use, read as they are."""
    largest = (1 << ARC_BITS) - 1
    assert oid_arc_problem(_arcs(2, 25, largest)) is None
    assert oid_arc_problem(_arcs(2, 25, largest + 1)) == "2.25.[...] (20 octets)"
    assert oid_arc_problem(_arcs(2, largest + 1)) == "2.[...] (19 octets)"
    assert oid_arc_problem(_arcs(1, 2, 840, 113549, 1, 7, 2)) is None

    def uuid_content_type(root: Node) -> None:
        _field(_signed_data(root), 2, 0).value = _arcs(2, 25, largest)

    info = parse(cms_der(edit_cms(SIGNED, uuid_content_type)))
    assert info.content is not None and info.content.content_type == f"2.25.{largest}"  # type: ignore[union-attr]
