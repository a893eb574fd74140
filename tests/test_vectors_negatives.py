"""`vectors export`'s negative corpus: every rejection case's hostile message, with its
expected outcome per policy, for a product the suite cannot drive."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conformance.matrix.cast import Cast
from conformance.rejections.hostile import make_hostile
from conformance.rejections.model import load_cases
from conformance.vectors.common import shipped_profiles
from conformance.vectors.export import export_vectors
from conformance.vectors.manifest import load_export_manifest

PRODUCT = "docteur-net-cps"
SENDER = "sermentis-mms"


@pytest.fixture(autouse=True)
def _software_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def test_the_negative_corpus_is_exported_with_its_expectations(tmp_path: Path) -> None:
    export_vectors(PRODUCT, tmp_path, senders=[SENDER], functions=["sign"])
    manifest = load_export_manifest(tmp_path)
    profile = shipped_profiles()[PRODUCT]
    receives = profile.capabilities().receive
    cases = {c.id: c for c in load_cases()}
    planned = {(c.id, p) for c in cases.values() if c.function in receives for p in c.producers}
    assert {(n.case, n.producer) for n in manifest.negatives} == planned
    forger = Cast(shipped_profiles()).users(SENDER)[0]
    for negative in manifest.negatives:
        case = cases[negative.case]
        assert negative.file == f"negative/{case.cls}/{case.id}.{negative.producer}.eml"
        data = (tmp_path / negative.file).read_bytes()
        assert negative.sha256 == hashlib.sha256(data).hexdigest()
        assert negative.expected == dict(case.expected) and negative.breaks == list(case.breaks)
        assert negative.cls == case.cls and negative.title == case.title["en"]
        assert negative.profile_outcome in ("refuses", "accepts", "not-applicable")
        # The signed cases' basic variants are the same bytes at every export (downgrade-des,
        # an encryption case, is not yet: its DES encryption draws its own randomness).
        if negative.producer == "reference" and case.function == "sign":
            again = make_hostile(
                case,
                producer="reference",
                pki=Cast(shipped_profiles()).pki,
                sender=forger,
                recipient=manifest.recipient,
                data=None,
            )
            assert again.message == data and again.variant == negative.variant
            assert again.wording.fr == negative.variant_fr != negative.variant
    raw = (tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert '"class": "altered"' in raw
    record = (tmp_path / "negative.csv").read_text(encoding="utf-8").splitlines()
    assert record[0] == "file,refused,notes" and len(record) == 1 + len(manifest.negatives)
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "negative/altered/altered-content.reference.eml" in readme
