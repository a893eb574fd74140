"""Every rule of `osm-conformance check` on a message that passes it and one that fails it.

Messages are built with the engine (conformance.smime.compose) from the test
PKI's identities, valid and defective; header and MIME defects are made by
editing the bytes of a good message, CMS defects by editing its SignedData.
"""

from __future__ import annotations

import base64
import functools
import random
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.check import CheckReport, run_checks
from conformance.check.catalogue import all_rules
from conformance.pki.model import load_pki
from conformance.scenarios import hprim
from conformance.scenarios.strategies import basic_hprim_report
from conformance.smime.compose import Headers, build_message
from conformance.smime.options import EncryptOptions, MimeOptions, SendOptions, SignOptions
from conformance.token.software import SoftwareKey

PKI = load_pki()
DATE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TEXT = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"\r\n"
    b"Bonjour, compte rendu joint.\r\n"
)
DEFAULT = SendOptions()


@pytest.fixture(autouse=True)
def _software_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "software")


def _counter_rng() -> Callable[[int], bytes]:
    """A seeded generator: the same message every run."""
    return random.Random(8997).randbytes


@functools.cache
def make(
    operation: str = "sign",
    sender: str = "pro01",
    recipient: str = "pro02",
    options: SendOptions = DEFAULT,
    content: bytes = TEXT,
    role: str = "sign",
    recipient_role: str = "encrypt",
) -> bytes:
    who = PKI.identities[sender]
    to = PKI.identities[recipient]
    signer = SoftwareKey(who.private_key(role), who.certificate(role), sender)  # type: ignore[arg-type]
    headers = Headers(from_addr=who.email, to=[to.email], subject="Compte rendu", date=DATE)
    return build_message(
        content,
        operation,  # type: ignore[arg-type]
        options,
        signer,
        list(who.chain()[:1]) or [PKI.intermediate],
        [to.certificate(recipient_role)],  # type: ignore[arg-type]
        headers,
        rng=_counter_rng(),
    )


def check(
    message: bytes,
    policy: str = "osm-2008",
    identity: str | None = None,
    trust: bool = True,
    crls: bool = True,
    **kwargs: str,
) -> CheckReport:
    return run_checks(
        message,
        identity_dir=PKI.identities[identity].directory if identity else None,
        trust=PKI.trust_paths() if trust else (),
        crls=PKI.crl_paths() if crls else (),
        policy=policy,
        **kwargs,  # type: ignore[arg-type]
    )


def statuses(report: CheckReport, rule_id: str) -> list[tuple[str, str]]:
    return [(c.status, c.part) for c in report.by_id(rule_id)]


def assert_rule(report: CheckReport, rule_id: str, status: str, part: str) -> None:
    found = statuses(report, rule_id)
    assert (status, part) in found, f"{rule_id}: expected {status} on part {part}, got {found}"


def assert_passes(report: CheckReport, rule_id: str, part: str) -> None:
    found = statuses(report, rule_id)
    assert found, f"{rule_id} did not run"
    assert all(s == "SUCCESS" for s, _ in found), f"{rule_id}: {report.by_id(rule_id)}"
    assert any(p == part for _, p in found), f"{rule_id}: no check on part {part}: {found}"


# --- byte and CMS editors ---------------------------------------------------------------


def edit(message: bytes, old: bytes, new: bytes) -> bytes:
    assert old in message, f"{old!r} not in the message"
    return message.replace(old, new, 1)


def boundary(message: bytes) -> bytes:
    found = re.search(rb'boundary="([^"]+)"', message)
    assert found is not None
    return found.group(1)


def signature_span(message: bytes) -> tuple[int, int]:
    """Start and end of the base64 body of the smime.p7s part."""
    head = message.index(b"Content-Type: application/pkcs7-signature")
    start = message.index(b"\r\n\r\n", head) + 4
    end = message.index(b"--" + boundary(message) + b"--", start)
    return start, end


def mutate_signed(message: bytes, change: Callable[[cms.SignedData], None]) -> bytes:
    start, end = signature_span(message)
    info = cms.ContentInfo.load(base64.b64decode(message[start:end]))
    signed = info["content"]
    change(signed)
    der = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
    encoded = base64.encodebytes(der).replace(b"\n", b"\r\n")
    return message[:start] + encoded + message[end:]


def throwaway_signed(serial_number: str | None) -> bytes:
    """A message signed with a self-made certificate (subject serialNumber as given)."""
    key = _throwaway_key()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, "Throwaway")]
    if serial_number is not None:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    name = x509.Name(attrs)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(DATE - timedelta(days=1))
        .not_valid_after(DATE + timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.RFC822Name("throwaway@osm-test.example")]), False
        )
        .sign(key, hashes.SHA256())
    )
    headers = Headers(from_addr="throwaway@osm-test.example", to=["x@osm-test.example"], date=DATE)
    return build_message(
        TEXT, "sign", DEFAULT, SoftwareKey(key, cert, "t"), [], [], headers, rng=_counter_rng()
    )


@functools.cache
def _throwaway_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def hprim_content(data: bytes, cte: str = "base64") -> bytes:
    body = base64.encodebytes(data).replace(b"\n", b"\r\n") if cte == "base64" else data
    return (
        b'Content-Type: multipart/mixed; boundary="hp"\r\n\r\n'
        b"--hp\r\n" + TEXT + b"\r\n--hp\r\n"
        b'Content-Type: text/plain; charset=iso-8859-1; name="resultats.hpr"\r\n'
        b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n"
        b'Content-Disposition: attachment; filename="resultats.hpr"\r\n\r\n'
        + body
        + b"\r\n--hp--\r\n"
    )


SIG_TYPE = (
    b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: '
)
KEEP = SendOptions(mime=MimeOptions(content_encoding="keep"))
RAW = replace(KEEP, sign=SignOptions(canonicalize=False))

# --- good messages pass every rule that applies --------------------------------------


def test_good_signed_message_passes_every_rule() -> None:
    report = check(make("sign"), policy="modern")
    bad = [c for c in report.checks if c.status not in ("SUCCESS", "INFO")]
    assert not bad, bad
    for rule_id in ("HDR-001", "HDR-005", "MIME-001", "MIME-004", "SMIME-004", "SMIME-006"):
        assert_passes(report, rule_id, "1")
    for rule_id in (
        "SMIME-001",
        "SMIME-003",
        "CMS-001",
        "CMS-002",
        "CMS-003",
        "CMS-004",
        "CMS-005",
        "CMS-006",
        "CMS-007",
        "CMS-008",
        "CMS-009",
        "CMS-010",
        "CMS-011",
        "CERT-001",
        "CERT-002",
        "CERT-003",
        "CERT-004",
        "CERT-006",
        "CERT-007",
        "CERT-008",
        "CERT-010",
        "CERT-011",
        "CERT-012",
        "MIME-007",
        "SMIME-011",
    ):
        assert_passes(report, rule_id, "1.2")
    assert_passes(report, "SMIME-009", "1.1")
    assert_rule(report, "CERT-009", "INFO", "1.2")  # test identities start with 8997
    assert report.errors == []


def test_good_signed_and_encrypted_message_passes_every_rule() -> None:
    report = check(
        make("sign-encrypt"),
        policy="modern",
        identity="pro02",
        expected_sender=PKI.identities["pro01"].email,
        expected_recipient=PKI.identities["pro02"].email,
    )
    bad = [c for c in report.checks if c.status not in ("SUCCESS", "INFO")]
    assert not bad, bad
    for rule_id in (
        "ENC-001",
        "ENC-002",
        "ENC-003",
        "ENC-004",
        "ENC-005",
        "CERT-005",
        "SMIME-002",
        "HDR-008",
        "HDR-009",
    ):
        assert_passes(report, rule_id, "1")
    # The inner layers were decrypted and checked too.
    assert_passes(report, "CMS-009", "1.1.2")
    assert_passes(report, "SMIME-006", "1.1")
    assert [p["path"] for p in report.message["parts"]] == ["1", "1.1", "1.1.1", "1.1.2"]


def test_every_rule_is_exercised_by_the_good_messages_or_a_failure_case() -> None:
    exercised = {
        c.id
        for m in (make("sign"), make("sign-encrypt"))
        for c in check(
            m, identity="pro02", expected_sender="a@b.c", expected_recipient="d@e.f"
        ).checks
    }
    exercised |= {r[0] for r in FAILURES}
    assert exercised >= {r.id for r in all_rules()} - {"PAY-001", "PAY-002"}


# --- each rule failing --------------------------------------------------------------


def _sign() -> bytes:
    return make("sign")


def _crlf_to_lf() -> bytes:
    return _sign().replace(b"\r\n", b"\n")


def _three_parts() -> bytes:
    m = _sign()
    close = b"--" + boundary(m) + b"--"
    extra = b"--" + boundary(m) + b"\r\nContent-Type: text/plain\r\n\r\nextra\r\n" + close
    return edit(m, close, extra)


def _bad_base64() -> bytes:
    m = _sign()
    start, _ = signature_span(m)
    return m[:start] + b"MII!!!" + m[start + 6 :]


def _not_cms() -> bytes:
    m = _sign()
    start, end = signature_span(m)
    return m[:start] + base64.b64encode(b"this is not CMS at all") + b"\r\n" + m[end:]


def _content_type_attr(signed: cms.SignedData) -> None:
    for attr in signed["signer_infos"][0]["signed_attrs"]:
        if attr["type"].native == "content_type":
            attr["values"] = ["signed_data"]


def _unknown_signature(signed: cms.SignedData) -> None:
    signed["signer_infos"][0]["signature_algorithm"] = {"algorithm": "1.2.840.10045.4.3.2"}


def _flip_signature(signed: cms.SignedData) -> None:
    value = bytearray(signed["signer_infos"][0]["signature"].native)
    value[10] ^= 0xFF
    signed["signer_infos"][0]["signature"] = bytes(value)


def _other_digest_list(signed: cms.SignedData) -> None:
    signed["digest_algorithms"] = [{"algorithm": "sha512"}]


def _no_signers(signed: cms.SignedData) -> None:
    signed["signer_infos"] = []


SHA1 = SendOptions(sign=SignOptions(digest="sha1"))
D = PKI.identities
Failure = tuple[str, Callable[[], bytes], str, dict[str, object], str, str]


def fails(
    rule_id: str,
    factory: Callable[[], bytes],
    status: str,
    part: str,
    policy: str = "osm-2008",
    **kwargs: object,
) -> Failure:
    """A failure case: `rule_id` gives `status` on `part` for the factory's message, checked
    under `policy` with `kwargs` passed on to `check`."""
    return (rule_id, factory, policy, kwargs, status, part)


FAILURES: list[Failure] = [
    fails("HDR-001", lambda: re.sub(rb"From: [^\r]*\r\n", b"", _sign(), count=1), "ERROR", "1"),
    fails("HDR-002", lambda: re.sub(rb"To: [^\r]*\r\n", b"", _sign(), count=1), "ERROR", "1"),
    fails(
        "HDR-003",
        lambda: re.sub(rb"Date: [^\r]*", b"Date: yesterday", _sign(), count=1),
        "ERROR",
        "1",
    ),
    fails(
        "HDR-004",
        lambda: re.sub(rb"Message-ID: <([^>]*)>", rb"Message-ID: \1", _sign(), count=1),
        "WARNING",
        "1",
    ),
    fails("HDR-005", lambda: edit(_sign(), b"MIME-Version: 1.0\r\n", b""), "ERROR", "1"),
    fails(
        "HDR-006",
        lambda: edit(_sign(), b"Subject: Compte rendu", "Subject: Résultat".encode()),
        "ERROR",
        "1",
    ),
    fails(
        "HDR-007",
        lambda: edit(_sign(), b"Subject: Compte rendu", b"Subject: =?utf-8?B?#not64#?="),
        "WARNING",
        "1",
    ),
    fails(
        "HDR-007",
        lambda: edit(_sign(), b"Subject: Compte rendu", b"Subject: =?x-no-such?Q?abc?="),
        "WARNING",
        "1",
    ),
    fails("HDR-008", _sign, "ERROR", "1", expected_sender="someone.else@osm-test.example"),
    fails("HDR-009", _sign, "ERROR", "1", expected_recipient="someone.else@osm-test.example"),
    fails("MIME-001", _crlf_to_lf, "ERROR", "1"),
    fails(
        "MIME-002",
        lambda: edit(_sign(), b"MIME-Version", b"X-Long: " + b"a" * 1200 + b"\r\nMIME-Version"),
        "ERROR",
        "1",
    ),
    fails(
        "MIME-003",
        lambda: edit(
            _sign(), b"Content-Type: text/plain; charset=utf-8", b"Content-Type: textplain"
        ),
        "ERROR",
        "1.1",
    ),
    fails(
        "MIME-003", lambda: re.sub(rb';\r\n\tboundary="[^"]+"', b"", _sign(), count=1), "ERROR", "1"
    ),
    fails(
        "MIME-004",
        lambda: _sign()[: _sign().rindex(b"--" + boundary(_sign()) + b"--")],
        "ERROR",
        "1",
    ),
    fails(
        "MIME-005",
        lambda: edit(
            _sign(), b"Content-Transfer-Encoding: 7bit", b"Content-Transfer-Encoding: x-uuencode"
        ),
        "ERROR",
        "1.1",
    ),
    fails(
        "MIME-006",
        lambda: make("sign", options=KEEP, content=TEXT.replace(b"Bonjour", "Résultat".encode())),
        "ERROR",
        "1.1",
    ),
    fails("MIME-007", _bad_base64, "ERROR", "1.2"),
    fails(
        "SMIME-001",
        lambda: make("sign", options=SendOptions(mime=MimeOptions(media_types="legacy"))),
        "WARNING",
        "1.2",
    ),
    fails(
        "SMIME-001",
        lambda: make("encrypt", options=SendOptions(mime=MimeOptions(media_types="legacy"))),
        "WARNING",
        "1",
    ),
    fails(
        "SMIME-002",
        lambda: edit(make("encrypt"), b"; smime-type=enveloped-data", b""),
        "WARNING",
        "1",
    ),
    fails(
        "SMIME-002",
        lambda: edit(make("encrypt"), b"smime-type=enveloped-data", b"smime-type=signed-data"),
        "ERROR",
        "1",
        policy="modern",
    ),
    fails(
        "SMIME-003",
        lambda: make("sign", options=SendOptions(mime=MimeOptions(name_parameters=False))),
        "WARNING",
        "1.2",
    ),
    fails(
        "SMIME-004",
        lambda: edit(
            _sign(), b'protocol="application/pkcs7-signature"', b'protocol="application/pkcs7-sig"'
        ),
        "ERROR",
        "1",
    ),
    fails(
        "SMIME-004",
        lambda: edit(_sign(), b'protocol="application/pkcs7-signature"; ', b""),
        "ERROR",
        "1",
    ),
    fails("SMIME-005", lambda: edit(_sign(), b"micalg=sha-256;", b""), "ERROR", "1"),
    fails("SMIME-006", lambda: edit(_sign(), b"micalg=sha-256", b"micalg=sha-1"), "ERROR", "1"),
    fails("SMIME-006", lambda: edit(_sign(), b"micalg=sha-256", b"micalg=sha-2567"), "ERROR", "1"),
    fails(
        "SMIME-006",
        lambda: edit(_sign(), b"micalg=sha-256", b'micalg="sha-256,sha-512"'),
        "ERROR",
        "1",
    ),
    fails(
        "SMIME-007",
        lambda: make("sign", options=SendOptions(sign=SignOptions(micalg_case="upper"))),
        "WARNING",
        "1",
    ),
    fails(
        "SMIME-008",
        lambda: edit(make("sign", options=SHA1), b"micalg=sha-1", b"micalg=sha1"),
        "INFO",
        "1",
    ),
    fails(
        "SMIME-008",
        lambda: edit(make("sign", options=SHA1), b"micalg=sha-1", b"micalg=sha1"),
        "WARNING",
        "1",
        policy="modern",
    ),
    fails(
        "SMIME-009",
        lambda: make(
            "sign",
            options=KEEP,
            content=TEXT.replace(b"7bit", b"8bit").replace(b"Bonjour", "Résultat".encode()),
        ),
        "WARNING",
        "1.1",
    ),
    fails("SMIME-010", _three_parts, "ERROR", "1"),
    fails(
        "SMIME-011",
        lambda: edit(
            _sign(),
            SIG_TYPE + b"base64",
            SIG_TYPE + b"7bit",
        ),
        "ERROR",
        "1.2",
    ),
    fails("CMS-001", _not_cms, "ERROR", "1.2"),
    fails(
        "CMS-002",
        lambda: make("sign", options=SendOptions(sign=SignOptions(certificates="none"))),
        "ERROR",
        "1.2",
    ),
    fails(
        "CMS-003",
        lambda: make("sign", options=SendOptions(sign=SignOptions(signed_attributes=frozenset()))),
        "WARNING",
        "1.2",
    ),
    fails("CMS-004", lambda: edit(_sign(), b"Bonjour", b"Bonsoir"), "ERROR", "1.2"),
    fails("CMS-005", lambda: mutate_signed(_sign(), _content_type_attr), "ERROR", "1.2"),
    fails(
        "CMS-006",
        lambda: make(
            "sign",
            options=SendOptions(
                sign=SignOptions(signed_attributes=frozenset({"content-type", "message-digest"}))
            ),
        ),
        "WARNING",
        "1.2",
    ),
    fails("CMS-007", lambda: make("sign", options=SHA1), "WARNING", "1.2"),
    fails("CMS-007", lambda: make("sign", options=SHA1), "ERROR", "1.2", policy="modern"),
    fails("CMS-008", lambda: mutate_signed(_sign(), _unknown_signature), "ERROR", "1.2"),
    fails("CMS-009", lambda: mutate_signed(_sign(), _flip_signature), "ERROR", "1.2"),
    fails(
        "CMS-009",
        lambda: make("sign", options=SendOptions(sign=SignOptions(certificates="none"))),
        "INFO",
        "1.2",
    ),
    fails("CMS-010", lambda: mutate_signed(_sign(), _other_digest_list), "WARNING", "1.2"),
    fails("CMS-011", lambda: mutate_signed(_sign(), _no_signers), "ERROR", "1.2"),
    fails(
        "ENC-001",
        lambda: make(
            "encrypt", options=SendOptions(encrypt=EncryptOptions(content="des-ede3-cbc"))
        ),
        "ERROR",
        "1",
        policy="modern",
    ),
    fails(
        "ENC-001",
        lambda: make("encrypt", options=SendOptions(encrypt=EncryptOptions(content="rc2-40-cbc"))),
        "ERROR",
        "1",
    ),
    fails(
        "ENC-002",
        lambda: make(
            "encrypt", options=SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15"))
        ),
        "WARNING",
        "1",
        policy="modern",
    ),
    fails(
        "ENC-003", lambda: make("sign-encrypt", recipient="pro03"), "ERROR", "1", identity="pro02"
    ),
    fails("ENC-003", lambda: make("sign-encrypt"), "INFO", "1"),
    fails(
        "ENC-004", lambda: make("sign-encrypt", recipient="pro03"), "ERROR", "1", identity="pro02"
    ),
    fails("ENC-004", lambda: make("sign-encrypt"), "INFO", "1"),
    fails("ENC-005", lambda: make("encrypt"), "WARNING", "1", identity="pro02"),
    fails("ENC-005", lambda: make("encrypt"), "ERROR", "1", policy="modern", identity="pro02"),
    fails(
        "ENC-005",
        lambda: make("encrypt", options=SendOptions(order="encrypt-then-sign")),
        "ERROR",
        "1",
        policy="modern",
        identity="pro02",
    ),
    fails("ENC-005", lambda: make("encrypt"), "INFO", "1", policy="modern"),
    fails("CERT-001", lambda: make("sign", sender="defect-unknown-root"), "ERROR", "1.2"),
    fails("CERT-001", _sign, "INFO", "1.2", trust=False),
    fails("CERT-002", lambda: make("sign", sender="defect-expired"), "ERROR", "1.2"),
    fails("CERT-002", lambda: make("sign", sender="defect-not-yet-valid"), "ERROR", "1.2"),
    fails("CERT-003", lambda: make("sign", sender="defect-revoked"), "ERROR", "1.2"),
    fails("CERT-003", _sign, "INFO", "1.2", crls=False),
    fails("CERT-004", lambda: make("sign", sender="defect-no-nonrepudiation"), "ERROR", "1.2"),
    fails(
        "CERT-005", lambda: make("encrypt", recipient_role="sign"), "ERROR", "1", identity="pro02"
    ),
    fails("CERT-006", lambda: make("sign", role="auth"), "ERROR", "1.2"),
    fails("CERT-007", lambda: make("sign", sender="defect-email-mismatch"), "ERROR", "1.2"),
    fails("CERT-008", lambda: throwaway_signed(None), "ERROR", "1.2"),
    fails("CERT-008", lambda: throwaway_signed("12345"), "ERROR", "1.2"),
    fails("CERT-009", _sign, "INFO", "1.2"),
    fails("CERT-010", lambda: make("sign", sender="defect-weak-key"), "WARNING", "1.2"),
    fails(
        "CERT-010", lambda: make("sign", sender="defect-weak-key"), "ERROR", "1.2", policy="modern"
    ),
    fails("CERT-011", lambda: make("sign", sender="defect-sha1"), "WARNING", "1.2"),
    fails("CERT-011", lambda: make("sign", sender="defect-sha1"), "ERROR", "1.2", policy="modern"),
    fails("CERT-012", lambda: make("sign", sender="defect-gip-cps-oid"), "WARNING", "1.2"),
    fails(
        "PAY-001",
        lambda: make("sign", content=hprim_content(b"****LAB****\r\nRES|broken\r\n")),
        "ERROR",
        "1.1.2",
    ),
    fails(
        "PAY-002",
        lambda: make(
            "sign",
            options=RAW,
            content=hprim_content(
                hprim.generate(basic_hprim_report("sante")).replace(b"\xe9", b"e"), "7bit"
            ),
        ),
        "WARNING",
        "1.1.2",
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "factory", "policy", "kwargs", "status", "part"),
    FAILURES,
    ids=[f"{f[0]}-{f[2]}-{i}" for i, f in enumerate(FAILURES)],
)
def test_rule_fails(
    rule_id: str,
    factory: Callable[[], bytes],
    policy: str,
    kwargs: dict[str, object],
    status: str,
    part: str,
) -> None:
    report = check(factory(), policy=policy, **kwargs)  # type: ignore[arg-type]
    assert_rule(report, rule_id, status, part)
    internal = [c for c in report.checks if "the validator failed" in c.found]
    assert not internal, internal


# --- rules that pass on a message built for them ----------------------------------


def test_gip_cps_key_is_read_and_its_signature_verifies() -> None:
    report = check(make("sign", sender="defect-gip-cps-oid"))
    assert "non-standard GIP-CPS RSA key OID" in report.by_id("CERT-012")[0].found
    assert_passes(report, "CMS-009", "1.2")
    assert_passes(report, "CERT-010", "1.2")


def test_production_identifier_and_algorithm_grades() -> None:
    assert_passes(check(throwaway_signed("810001234567")), "CERT-009", "1.2")
    assert_passes(check(throwaway_signed("810001234567")), "CERT-008", "1.2")
    sha1 = make("sign", options=SHA1)
    assert_passes(check(sha1), "SMIME-006", "1")
    assert_passes(check(sha1), "CMS-008", "1.2")
    des = make("encrypt", options=SendOptions(encrypt=EncryptOptions(content="des-ede3-cbc")))
    assert_passes(check(des), "ENC-001", "1")
    v15 = make("encrypt", options=SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15")))
    assert_passes(check(v15), "ENC-002", "1")
    gcm = make("encrypt", options=SendOptions(encrypt=EncryptOptions(content="aes256-gcm")))
    assert_passes(check(gcm, policy="modern", identity="pro02"), "ENC-005", "1")
    assert_passes(
        check(make("sign", options=SendOptions(sign=SignOptions(micalg_case="upper")))),
        "SMIME-006",
        "1",
    )


def test_hprim_payload_passes() -> None:
    data = hprim.generate(basic_hprim_report("medecin"))
    report = check(make("sign", content=hprim_content(data)))
    assert_passes(report, "PAY-001", "1.1.2")
    assert_passes(report, "PAY-002", "1.1.2")
    assert "medecin" in report.by_id("PAY-001")[0].found


def test_bad_base64_names_the_part() -> None:
    report = check(_bad_base64())
    assert report.by_id("MIME-007")[0].found.startswith("part 1.2: base64 is not valid")


# --- never raises, and fast ---------------------------------------------------------


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.data())
def test_never_raises_on_damaged_messages(data: st.DataObject) -> None:
    message = make("sign-encrypt") if data.draw(st.booleans()) else make("sign")
    cut = data.draw(st.integers(0, len(message)))
    damaged = bytearray(message[:cut] if data.draw(st.booleans()) else message)
    for _ in range(data.draw(st.integers(0, 4))):
        if damaged:
            damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    report = check(bytes(damaged), identity="pro02")
    assert report.checks
    assert not [c for c in report.checks if "the validator failed" in c.found]


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\x00\xff" * 50,
        b"garbage without headers",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary",
    ],
)
def test_never_raises_on_junk(message: bytes) -> None:
    report = check(message)
    assert report.errors
    assert not [c for c in report.checks if "the validator failed" in c.found]


def test_deep_nesting_is_bounded() -> None:
    inner = TEXT
    for depth in range(30):
        b = f"b{depth}".encode()
        inner = (
            b'Content-Type: multipart/mixed; boundary="'
            + b
            + b'"\r\n\r\n--'
            + b
            + b"\r\n"
            + inner
            + b"\r\n--"
            + b
            + b"--\r\n"
        )
    report = check(b"From: a@b.c\r\nMIME-Version: 1.0\r\n" + inner)
    assert any("nesting deeper" in c.found for c in report.by_id("MIME-004"))


def test_replace_keeps_options_hashable() -> None:
    # make() is cached on its arguments: options must stay hashable (frozen dataclasses).
    assert hash(replace(DEFAULT, order="encrypt-then-sign"))


@pytest.mark.softhsm
def test_softhsm_token_decrypts_and_lacking_oaep_sha256_is_no_finding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from conformance.token import softhsm

    if not softhsm.available():
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2)")
    monkeypatch.setenv("OSM_CONFORMANCE_TOKEN", "softhsm")
    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(tmp_path))
    v15 = make(
        "sign-encrypt", options=SendOptions(encrypt=EncryptOptions(key_transport="rsa-pkcs1v15"))
    )
    assert_passes(check(v15, identity="pro02"), "ENC-004", "1")
    report = check(make("sign-encrypt"), identity="pro02")  # OAEP-SHA256: SoftHSM 2.6 refuses
    assert_passes(report, "ENC-004", "1")
    assert "software key" in report.by_id("ENC-004")[0].found
    assert_passes(report, "CMS-009", "1.1.2")
