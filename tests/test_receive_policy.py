"""What a profile receiver checks: its profile's checks and the run's policy.

A message signed by `openssl cms -sign` with an identity of the test PKI
(vectors/pki) is read by the strict receiver under the `reference` profile's
options, put under each policy the way `run --policy` does it
(`agents.profiled.under_policy`): a receiver refuses what the policy refuses,
and a check its profile turns off (`check_validity`, `check_key_usage`) lets
through exactly the defect it would have refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from smime_read_support import openssl

from conformance.agents.profiled import ProfileAgent, under_policy
from conformance.check.catalogue import rule_ids
from conformance.check.policy import load_policy
from conformance.cli import main
from conformance.core.vocabulary import Role
from conformance.paths import PROFILES_DIR
from conformance.pki.model import load_pki, read_certificates, read_crl
from conformance.profiles.loader import lint, load_profiles
from conformance.profiles.schema import SmimeReceive
from conformance.results import load_results
from conformance.smime.options import ReceiveOptions
from conformance.smime.receive import read_message
from conformance.smime.validate import clear_cache
from conformance.status import ErrorCode, Status

pytestmark = pytest.mark.engines

PKI = load_pki()
CONTENT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nCompte rendu: normal.\r\n"
MOMENT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
PROFILES = load_profiles()


def _sign(identity_id: str, *, role: Role = "sign", digest: str = "sha256") -> bytes:
    who = PKI.identity(identity_id)
    return openssl(
        "cms",
        "-sign",
        "-crlfeol",
        "-md",
        digest,
        "-signer",
        str(who.certificate_path(role)),
        "-inkey",
        str(who.key_path(role)),
        "-certfile",
        str(who.directory / "chain.pem"),
        "-from",
        who.email,
        "-to",
        PKI.identity("pro02").email,
        "-subject",
        "Compte rendu",
        data=CONTENT,
    )


def _read(message: bytes, options: ReceiveOptions) -> Status:
    clear_cache()
    trust = [c for p in PKI.trust_paths() for c in read_certificates(p)]
    _, status = read_message(
        message,
        keys=[],
        trust=trust,
        crls=[read_crl(p) for p in PKI.crl_paths()],
        directory=None,
        options=options,
        validation_time=MOMENT,
        intermediates=PKI.intermediates(),
    )
    return status


def _reference(policy: str) -> ReceiveOptions:
    return under_policy(PROFILES["reference"].receive_options(), load_policy(policy, rule_ids()))


def _codes(status: Status) -> list[ErrorCode]:
    return [e.code for e in status.errors]


def test_valid_signer_is_authenticated_under_both_policies() -> None:
    message = _sign("pro01")
    for policy in ("osm-2008", "modern"):
        status = _read(message, _reference(policy))
        assert status.ok, (policy, status.errors)
        assert status.services.authentication and status.services.integrity


def test_sha1_digest_is_read_under_osm_2008_and_refused_under_modern() -> None:
    message = _sign("pro01", digest="sha1")
    assert _read(message, _reference("osm-2008")).services.authentication
    modern = _read(message, _reference("modern"))
    assert ErrorCode.UNSUPPORTED_ALGORITHM in _codes(modern)
    assert not modern.services.authentication and not modern.services.integrity


def test_sha1_certificate_is_tolerated_under_osm_2008_and_untrusted_under_modern() -> None:
    message = _sign("defect-sha1")
    assert _read(message, _reference("osm-2008")).services.authentication
    modern = _read(message, _reference("modern"))
    assert _codes(modern) == [ErrorCode.UNTRUSTED_SIGNER]
    assert not modern.services.authentication


def test_a_1024_bit_signer_is_refused_under_both_policies() -> None:
    message = _sign("defect-weak-key")
    for policy in ("osm-2008", "modern"):
        status = _read(message, _reference(policy))
        assert ErrorCode.UNTRUSTED_SIGNER in _codes(status), policy
        assert not status.services.authentication


def test_check_validity_off_lets_an_expired_signer_through_and_nothing_else() -> None:
    strict = _reference("osm-2008")
    lax = replace(strict, check_validity=False)
    for identity in ("defect-expired", "defect-not-yet-valid"):
        message = _sign(identity)
        refused = _read(message, strict)
        assert _codes(refused) == [ErrorCode.UNTRUSTED_SIGNER], identity
        assert "valid" in refused.errors[0].message
        assert _read(message, lax).services.authentication, identity
    # Revocation and the chain are still checked when the dates are not.
    assert _codes(_read(_sign("defect-revoked"), lax)) == [ErrorCode.REVOKED_SIGNER]
    assert _codes(_read(_sign("defect-unknown-root"), lax)) == [ErrorCode.UNTRUSTED_SIGNER]


def test_check_key_usage_off_accepts_a_signature_by_an_encryption_only_key() -> None:
    message = _sign("pro01", role="encrypt")
    strict = _reference("osm-2008")
    refused = _read(message, strict)
    assert _codes(refused) == [ErrorCode.UNTRUSTED_SIGNER]
    assert "key usage" in refused.errors[0].message
    lax = _read(message, replace(strict, check_key_usage=False))
    assert lax.ok and lax.services.authentication


def test_reference_reads_no_rc2_40_and_the_policy_reaches_the_agent() -> None:
    reference = PROFILES["reference"]
    ciphers = reference.receive_options().ciphers
    assert ciphers is not None
    assert "rc2-40-cbc" not in ciphers
    modern = ProfileAgent(reference, policy="modern")._receive_options
    assert modern == _reference("modern")
    assert modern.digests is not None and "sha1" not in modern.digests
    assert modern.ciphers is not None and "des-ede3-cbc" not in modern.ciphers
    assert "sha1" in modern.refused_certificate_digests
    old = ProfileAgent(reference)._receive_options  # osm-2008, the default
    assert old.digests is not None and "sha1" in old.digests
    assert "sha1" not in old.refused_certificate_digests


def test_a_receiver_that_reads_anything_reads_what_the_policy_lists() -> None:
    gpgsm_like = PROFILES["gpgsm"].receive_options()
    assert gpgsm_like.ciphers is None
    limited = under_policy(gpgsm_like, load_policy("modern", rule_ids()))
    assert limited.ciphers == frozenset(load_policy("modern", rule_ids()).grades["content_cipher"])


@pytest.mark.parametrize(("policy", "verdict"), [("osm-2008", "pass"), ("modern", "fail")])
def test_run_policy_reaches_the_profile_receivers_and_the_validator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str, verdict: str
) -> None:
    """A 2008 product signs with SHA-1: read and conformant under osm-2008; refused by
    the same `reference` receiver, and non-conformant, under modern."""
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")
    out = tmp_path / "out"
    argv = ["run", "--quiet", "--jobs", "1", "--examples", "1", "--policy", policy]
    argv += ["--sender", "docteur-net-cps", "--receiver", "reference", "--function", "sign"]
    assert main([*argv, "--out", str(out)]) == 0
    results = load_results(out / "results.json")
    assert results.run.settings["policy"] == policy
    got = results.cell("docteur-net-cps", "reference", "sign")
    assert got is not None and got.sent["digest"] == ["sha1"]
    assert got.verdict == verdict, got.reason
    if policy == "modern":
        assert got.reason is not None and "unsupported-algorithm" in got.reason
        assert "CMS-007" in got.nonconformant
    else:
        assert got.nonconformant == []


@pytest.mark.parametrize("field", ["check_validity", "check_key_usage"])
def test_the_new_checks_need_provenance_like_every_fact(tmp_path: Path, field: str) -> None:
    """`reference` with its receive section's citation replaced by one per field, all but
    `field`: lint names the fact that has none."""
    text = (PROFILES_DIR / "reference.yaml").read_text(encoding="utf-8")
    section = text[text.index("  receive:\n    source:") : text.index("  engine: {source")]
    cite = "{source: project-choice}"
    smime = [f for f in SmimeReceive.model_fields if f != field]
    receive = ("functions", "reads_hprim_net", "apicrypt", "directory_fetches")
    lines = [f"  receive.{f}: {cite}\n" for f in receive]
    lines += [f"  receive.smime.{f}: {cite}\n" for f in smime]
    path = tmp_path / "reference.yaml"
    path.write_text(text.replace(section, "".join(lines)), encoding="utf-8")
    got = [str(p).replace(f"{tmp_path}/", "") for p in lint([path])]
    assert len(got) == 1 and f"receive.smime.{field}: no provenance" in got[0], got
    path.write_text(text.replace(section, "".join(lines) + f"  receive.smime.{field}: {cite}\n"))
    assert lint([path]) == []
    assert getattr(load_profiles([path])["reference"].receive_options(), field) is True
