"""A certificate-path bomb is bounded (issue 15 point 2): k look-alike CA certificates at
each of L levels do not make the path builder try k^L paths.

The bomb comes from `conformance.bench.path_bomb` over the test PKI; its time is a
benchmark figure (`python -m conformance.bench`), not asserted here: the bound is
asserted on the paths counted.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from conformance import bench
from conformance.check.runner import run_checks
from conformance.pki.model import TestPKI, load_pki
from conformance.smime import validate
from conformance.status import ErrorCode


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


def _validate(pki: TestPKI, carried: list[x509.Certificate]) -> validate.ChainResult:
    validate.clear_cache()
    return validate.validate_signer(
        pki.identities[bench.SENDER].certificate("sign"),
        trust=(pki.root,),
        intermediates=carried,
        crls=pki.crls,
    )


def test_the_bomb_is_accepted_after_one_path(pki: TestPKI) -> None:
    """The signature certificate's real chain is valid; the look-alikes are not tried."""
    carried = [*bench.path_bomb(pki, 7, 7), *pki.intermediates()]
    result = _validate(pki, carried)
    assert result.valid, result.message
    assert 1 <= result.paths_tried <= validate.MAX_PATHS


def test_look_alikes_alone_are_untrusted_within_the_bound(pki: TestPKI) -> None:
    """Without the real intermediate no path is valid, and the search still stops early."""
    result = _validate(pki, bench.path_bomb(pki, 5, 5))
    assert not result.valid
    assert result.code == ErrorCode.UNTRUSTED_SIGNER
    assert result.paths_tried <= validate.MAX_PATHS


def test_the_path_count_is_bounded_when_candidates_cannot_be_told_apart(
    pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the issuers are not weighed (as for keys that cannot be checked here), pyhanko
    would try 3^3 + 1 paths: it stops at MAX_PATHS with a classified error."""
    monkeypatch.setattr(validate, "_issuer_candidates", lambda cert, others: others)
    carried = [*bench.path_bomb(pki, 3, 3), *pki.intermediates()]
    result = _validate(pki, carried)
    assert result.paths_tried == validate.MAX_PATHS
    assert result.code == ErrorCode.UNTRUSTED_SIGNER
    assert result.message.endswith(f"path search bound reached: {validate.MAX_PATHS} paths tried")


def test_an_ordinary_chain_is_one_path(pki: TestPKI) -> None:
    result = _validate(pki, pki.intermediates())
    assert result.valid, result.message
    assert result.paths_tried == 1


def test_the_bomb_message_is_read_and_accepted(pki: TestPKI) -> None:
    """The whole message through the receiver: a genuine signature, the look-alikes ignored."""
    signer, _ = bench._software_keys(pki)
    message = bench.bomb_message(pki, signer, 7, 7)
    _, status = bench.path_bomb_ms(pki, message)
    assert status.errors == []
    assert status.signature_valid and status.chain_valid


def test_the_validator_judges_the_bomb_chain_by_its_real_path(pki: TestPKI) -> None:
    """`check`'s chain rule builds paths with the same bounded search."""
    signer, _ = bench._software_keys(pki)
    validate.clear_cache()
    report = run_checks(bench.bomb_message(pki, signer, 7, 7), trust=pki.trust_paths())
    assert [c.status for c in report.by_id("CERT-001")] == ["SUCCESS"], report.by_id("CERT-001")
