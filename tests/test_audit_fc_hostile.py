"""The CPS directory's hostile content, and the fault cells' credit, against the suite's slapd.

A sender's lookup meets values that are no certificate, a certificate whose extensions do
not parse, another person's certificate, two entries for one address and a huge entry: it
never crashes, and what it found is in its reason or notes. A fault cell never credits a
tool with the suite's lookup, nor a sender that refuses everyone with a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agents_support import need_tools

from conformance.directory import slapd
from conformance.directory.faults import Fault, fault_directories
from conformance.directory.lookup import Found, Lookup, LookupFailure
from conformance.directory.tree import build_tree, der, person_dn
from conformance.matrix.cast import Cast
from conformance.matrix.directory_faults import control_refusal, fault_cell
from conformance.pki.model import TestPKI, load_pki
from conformance.profiles.loader import load_profiles
from conformance.profiles.schema import Profile

MISSING = slapd.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

REFUSED: tuple[Fault, ...] = ("absent", "revoked")
KEY_USAGE_OID = bytes.fromhex("0603551d0f")  # 2.5.29.15
EXTENDED_KEY_USAGE_OID = bytes.fromhex("0603551d25")  # 2.5.29.37


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


@pytest.fixture(scope="module")
def hostile(pki: TestPKI) -> Iterator[str]:
    """A directory whose first five valid entries are each hostile in one way."""
    v = pki.valid_identities()
    tree = build_tree(pki)

    def values(i: int) -> list[str | bytes]:
        entry = tree.entry(person_dn(v[i]))
        assert entry is not None
        return entry.attributes.setdefault("userCertificate;binary", [])

    values(0).insert(0, b"not a certificate")
    encrypt = der(v[1].certificate("encrypt"))
    assert EXTENDED_KEY_USAGE_OID in encrypt
    # Read lazily by cryptography: loads, then its extensions raise DuplicateExtension.
    values(1)[:] = [encrypt.replace(EXTENDED_KEY_USAGE_OID, KEY_USAGE_OID)]
    values(2)[:] = [der(v[3].certificate("encrypt"))]  # another person's key
    twin = tree.entry(person_dn(v[4]))
    assert twin is not None
    twin.attributes["mail"] = [v[5].email]  # two entries for one address
    values(6)[:] = [der(v[6].certificate("sign"))] * 2000 + [der(v[6].certificate("encrypt"))]
    with slapd.serve(tree) as endpoint:
        yield endpoint.url


def _ask(url: str, mail: str) -> Found | LookupFailure:
    with Lookup(url) as lookup:
        try:
            return lookup.encryption_certificate(mail)
        except LookupFailure as exc:
            return exc


def test_a_value_that_is_no_certificate_is_set_aside_and_said(pki: TestPKI, hostile: str) -> None:
    one = pki.valid_identities()[0]
    found = _ask(hostile, one.email)
    assert isinstance(found, Found)
    assert found.certificate == one.certificate("encrypt")
    assert any("1 value(s) of userCertificate;binary not a certificate" in n for n in found.notes)


def test_a_certificate_whose_extensions_do_not_parse_is_no_crash(
    pki: TestPKI, hostile: str
) -> None:
    found = _ask(hostile, pki.valid_identities()[1].email)
    assert isinstance(found, LookupFailure)
    assert found.kind == "no-encryption-certificate"
    assert "0 certificate(s), none for key encipherment, 1 unreadable value(s)" in found.reason


def test_another_persons_certificate_is_never_taken(pki: TestPKI, hostile: str) -> None:
    v = pki.valid_identities()
    found = _ask(hostile, v[2].email)
    assert isinstance(found, LookupFailure)
    assert found.kind == "other-address"
    assert v[3].email in found.reason and v[2].email in found.reason


def test_two_entries_and_a_huge_entry(pki: TestPKI, hostile: str) -> None:
    v = pki.valid_identities()
    twins = _ask(hostile, v[5].email)
    assert isinstance(twins, LookupFailure) and twins.kind == "ambiguous"
    huge = _ask(hostile, v[6].email)
    assert isinstance(huge, Found) and huge.certificate == v[6].certificate("encrypt")


def _manual(profile: Profile) -> Profile:
    send = profile.send.model_copy(update={"recipient_certificate": "manual"})
    return profile.model_copy(update={"id": "manual", "send": send})


def test_fault_cells_credit_neither_a_tool_nor_a_sender_refusing_everyone(
    pki: TestPKI, tmp_path: Path
) -> None:
    profiles = load_profiles()
    need_tools(profiles["openssl"])
    chosen = {"openssl": profiles["openssl"], "manual": _manual(profiles["reference"])}
    cast = Cast(chosen, pki, workdir=tmp_path)
    try:
        world = cast.world()
        with fault_directories(pki) as (faults, where):
            default = pki.valid_identities()[0]
            cells = {}
            for sender in chosen:
                control = control_refusal(cast, sender, default, where["absent"], world)
                for fault in REFUSED:
                    recipient = faults.recipients[fault]
                    cells[sender, fault] = fault_cell(
                        cast, sender, fault, recipient, where[fault], faults, world, control
                    )
    finally:
        cast.close()
    for fault in REFUSED:
        tool = cells["openssl", fault]
        assert tool.verdict == "not-applicable", tool
        assert "the suite's lookup on behalf of openssl" in tool.reason
        manual = cells["manual", fault]
        assert manual.verdict == "inconclusive", manual
        assert "imported by hand" in manual.reason
