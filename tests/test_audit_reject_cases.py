"""Audit of the rejection cases against the messages they make: what a case cites is what
its hostile message does."""

from __future__ import annotations

import re

from asn1crypto import cms as asn1_cms

from conformance.core import mime
from conformance.paths import REPO_DIR
from conformance.pki import load_pki
from conformance.rejections.hostile import make_hostile
from conformance.rejections.model import CLASSES, load_cases

# RFC 8017's decryption operation for each key transport a hostile envelope may carry.
RSAES = {"rsaes_pkcs1v15": "RFC 8017 7.2.2", "rsaes_oaep": "RFC 8017 7.1.2"}


def test_key_transport_cases_cite_the_scheme_their_messages_use() -> None:
    """The not-for-me envelopes use PKCS#1 v1.5 key transport (the one every receiver
    unwraps): a case citing RSAES-OAEP's decryption would send a tester to the wrong
    scheme's checks."""
    pki = load_pki()
    cited = 0
    for case in load_cases():
        if case.cls != "not-for-me" or "RFC 8017" not in case.spec:
            continue
        hostile = make_hostile(
            case, producer="reference", pki=pki, sender="pro01", recipient="pro02"
        )
        data = mime.read(hostile.message).decoded()
        assert data is not None, case.id
        infos = asn1_cms.ContentInfo.load(data)["content"]["recipient_infos"]
        schemes = {i.chosen["key_encryption_algorithm"]["algorithm"].native for i in infos}
        expected = {RSAES[s] for s in schemes}
        for spec in (case.spec, case.spec_fr):
            assert {s for s in RSAES.values() if s in spec} == expected, (case.id, spec)
        cited += 1
    assert cited == 2  # not-for-me-wrong-key and not-for-me-truncated-key


def test_the_docs_class_table_lists_the_cases_of_each_class() -> None:
    """docs/rejection-cases.md's class table is what a tester reads the matrix's columns
    by: each class's functions and cases, as cases.yaml has them."""
    text = (REPO_DIR / "docs" / "rejection-cases.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| [a-z, -]+ \| (`.*`) \|$", text, re.MULTILINE))
    cases = load_cases()
    assert list(rows) == list(CLASSES)
    for cls, listed in rows.items():
        mine = [c for c in cases if c.cls == cls]
        assert listed == ", ".join(f"`{c.id}`" for c in mine), cls
        functions = sorted({c.function for c in mine})
        assert f"| `{cls}` | {', '.join(functions)} |" in text, cls
