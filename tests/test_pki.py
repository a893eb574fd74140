"""The committed test PKI (vectors/pki): contents, invariants, defects, determinism."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conformance.core.vocabulary import ROLES
from conformance.errors import UserError
from conformance.paths import PKI_DIR
from conformance.pki import Directory, Identity, TestPKI, load_pki
from conformance.pki.build import build_pki, generate
from conformance.pki.defects import DEFECTS, GIP_CPS_RSA_OID
from conformance.pki.model import read_private_key
from conformance.pki.people import idnat
from conformance.pki.rsakeys import derive_rsa_key

NOW = dt.datetime.now(dt.UTC)
RSA_OID = "1.2.840.113549.1.1.1"
VALID_IDS = [f"pro{i:02d}" for i in range(1, 33)]
DEFECT_IDS = [
    "defect-expired",
    "defect-not-yet-valid",
    "defect-revoked",
    "defect-no-nonrepudiation",
    "defect-unknown-root",
    "defect-email-mismatch",
    "defect-weak-key",
    "defect-sha1",
    "defect-gip-cps-oid",
]


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return load_pki()


def _spki(cert: x509.Certificate) -> tuple[str, bytes]:
    """(algorithm OID, key bytes), parsed generically: the GIP-CPS OID is unknown to all."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    generic = asn1_core.load(parsed["tbs_certificate"]["subject_public_key_info"].dump())
    return str(generic[0][0].dotted), bytes(generic[1].contents[1:])


def _modulus(cert: x509.Certificate) -> int:
    return int(asn1_keys.RSAPublicKey.load(_spki(cert)[1])["modulus"].native)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Name and signature (cryptography's verify_directly_issued_by refuses SHA-1)."""
    key = issuer.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and cert.signature_hash_algorithm is not None
    if cert.issuer != issuer.subject:
        return False
    try:
        key.verify(
            cert.signature,
            cert.tbs_certificate_bytes,
            padding.PKCS1v15(),
            cert.signature_hash_algorithm,
        )
    except InvalidSignature:
        return False
    return True


def _ski(cert: x509.Certificate) -> bytes:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def _aki(cert: x509.Certificate) -> bytes | None:
    return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier


def _usage(cert: x509.Certificate) -> x509.KeyUsage:
    return cert.extensions.get_extension_for_class(x509.KeyUsage).value


def _emails(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.RFC822Name)


def detected_defects(pki: TestPKI, identity: Identity) -> set[str]:
    """Every defect the certificates show, judged independently of identity.json."""
    found: set[str] = set()
    revoked = {r.serial_number for crl in pki.crls for r in crl}
    for role in ROLES:
        cert = identity.certificate(role)
        if cert.not_valid_after_utc < NOW:
            found.add("expired")
        if cert.not_valid_before_utc > NOW:
            found.add("not-yet-valid")
        if cert.serial_number in revoked:
            found.add("revoked")
        if role == "sign" and not _usage(cert).content_commitment:
            found.add("no-nonrepudiation")
        if not _issued_by(cert, pki.intermediate):
            found.add("unknown-root")
        if _emails(cert) != [identity.email]:
            found.add("email-mismatch")
        if _modulus(cert).bit_length() < 2048:
            found.add("weak-key")
        if isinstance(cert.signature_hash_algorithm, hashes.SHA1):
            found.add("sha1")
        if _spki(cert)[0] != RSA_OID:
            found.add("gip-cps-oid")
    return found


def test_identity_ids(pki: TestPKI) -> None:
    assert sorted(pki.identities) == sorted(VALID_IDS + DEFECT_IDS)
    assert [i.id for i in pki.valid_identities()] == VALID_IDS
    assert sorted(f"defect-{d}" for d in DEFECTS) == sorted(DEFECT_IDS)
    assert pki.seed == 2008


def test_layout(pki: TestPKI) -> None:
    for name in ("root.pem", "intermediate.pem", "root.crl.pem", "intermediate.crl.pem"):
        assert (PKI_DIR / "ca" / name).is_file()
    assert (PKI_DIR / "ca-unknown" / "root.pem").is_file()
    assert pki.trust_paths() == (PKI_DIR.resolve() / "ca" / "root.pem",)
    assert all(p.is_file() for p in pki.crl_paths())
    assert len(x509.load_pem_x509_certificates(pki.ca_bundle_path().read_bytes())) == 2
    assert pki.intermediates() == [pki.intermediate]
    assert "TEST KEYS ONLY" in (PKI_DIR / "README.md").read_text(encoding="utf-8")
    for identity in pki.identities.values():
        names = {p.name for p in identity.directory.iterdir()}
        assert names == {
            "identity.json",
            "chain.pem",
            *(f"{r}.pem" for r in ROLES),
            *(f"{r}.key.pem" for r in ROLES),
        }


def test_ca_names_say_test(pki: TestPKI) -> None:
    for ca in (pki.root, pki.intermediate, pki.unknown_root):
        cn = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert isinstance(cn, str) and cn.startswith("TEST ") and "TEST ONLY" in cn
    assert pki.root.subject == pki.root.issuer
    assert pki.intermediate.issuer == pki.root.subject
    pki.intermediate.verify_directly_issued_by(pki.root)
    assert "Racine inconnue" in pki.unknown_root.subject.rfc4514_string()
    for ca in (pki.root, pki.intermediate):
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert _usage(ca).key_cert_sign and _usage(ca).crl_sign


def test_identity_fields(pki: TestPKI) -> None:
    seen_idnat, seen_email = set(), set()
    for identity in pki.identities.values():
        data = json.loads((identity.directory / "identity.json").read_text(encoding="utf-8"))
        for key in ("id", "name", "given_name", "surname", "email", "idnat", "profession"):
            assert isinstance(data[key], str) and data[key], (identity.id, key)
        assert data["defect"] == (None if identity.id.startswith("pro") else identity.id[7:])
        assert data["certificates"] == {r: f"{r}.pem" for r in ROLES}
        assert re.fullmatch(r"8997\d{8}", identity.idnat)
        assert re.fullmatch(r"[a-z.-]+@osm-test\.example", identity.email)
        assert identity.name == f"{identity.given_name} {identity.surname.upper()}"
        seen_idnat.add(identity.idnat)
        seen_email.add(identity.email)
        party = identity.party()
        assert (party.identity_dir, party.email, party.name) == (
            identity.directory,
            identity.email,
            identity.name,
        )
    assert len(seen_idnat) == len(seen_email) == len(pki.identities)


def test_idnat_luhn() -> None:
    assert idnat(1) == "899700000013"
    digits = [int(c) for c in idnat(1234567)[1:]]
    total = sum(
        d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(reversed(digits))
    )
    assert total % 10 == 0
    with pytest.raises(ValueError):
        idnat(10**7)


def test_subjects(pki: TestPKI) -> None:
    for identity in pki.identities.values():
        for role in ROLES:
            subject = identity.certificate(role).subject

            def attr(oid: x509.ObjectIdentifier, s: x509.Name = subject) -> object:
                return [a.value for a in s.get_attributes_for_oid(oid)]

            assert attr(NameOID.COUNTRY_NAME) == ["FR"]
            assert attr(NameOID.ORGANIZATION_NAME) == ["TEST Professionnels de santé"]
            assert attr(NameOID.COMMON_NAME) == [identity.name]
            assert attr(NameOID.GIVEN_NAME) == [identity.given_name]
            assert attr(NameOID.SURNAME) == [identity.surname.upper()]
            assert attr(NameOID.TITLE) == [identity.profession]
            assert attr(NameOID.SERIAL_NUMBER) == [identity.idnat]


EXPECTED_EKU = {
    "auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "sign": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "encrypt": ExtendedKeyUsageOID.EMAIL_PROTECTION,
}


def test_key_usages_and_policies(pki: TestPKI) -> None:
    for identity in pki.identities.values():
        for role in ROLES:
            cert = identity.certificate(role)
            usage = _usage(cert)
            nonrep = role == "sign" and identity.defect != "no-nonrepudiation"
            assert (
                usage.digital_signature,
                usage.content_commitment,
                usage.key_encipherment,
                usage.data_encipherment,
                usage.key_agreement,
                usage.key_cert_sign,
                usage.crl_sign,
            ) == (role != "encrypt", nonrep, role == "encrypt", False, False, False, False), (
                identity.id,
                role,
            )
            assert cert.extensions.get_extension_for_class(x509.KeyUsage).critical
            eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert list(eku) == [EXPECTED_EKU[role]]
            assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
            policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
            suffix = {"auth": "1", "sign": "2", "encrypt": "3"}[role]
            assert [p.policy_identifier.dotted_string for p in policies] == [
                f"1.2.250.1.71.999.{suffix}"
            ]


def test_key_identifiers_and_keys(pki: TestPKI) -> None:
    """SKI on every certificate, AKI = issuer's SKI, each role its own key, key matches cert."""
    moduli: set[int] = set()
    for identity in pki.identities.values():
        issuer = pki.unknown_intermediate if identity.defect == "unknown-root" else pki.intermediate
        assert issuer is not None
        assert identity.chain()[0] == issuer
        for role in ROLES:
            cert = identity.certificate(role)
            key = identity.private_key(role)
            numbers = key.private_numbers()
            assert numbers.public_numbers.n == _modulus(cert)
            assert numbers.p * numbers.q == numbers.public_numbers.n
            assert numbers.public_numbers.e == 65537
            assert _ski(cert) == x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
            assert _aki(cert) == _ski(issuer)
            moduli.add(numbers.public_numbers.n)
    assert len(moduli) == 3 * len(pki.identities)
    assert _aki(pki.intermediate) == _ski(pki.root)


def test_sample_keys_pass_openssl_key_check(pki: TestPKI) -> None:
    """OpenSSL's full RSA check (primality of p and q) on a sample; it costs ~0.1 s a key."""
    paths = [PKI_DIR / "ca-keys" / "root.key.pem", PKI_DIR / "ca-keys" / "intermediate.key.pem"]
    paths += [pki.identity("pro01").key_path("sign"), pki.defective("weak-key").key_path("sign")]
    for path in paths:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)


def test_valid_dates_and_crls(pki: TestPKI) -> None:
    for identity in pki.valid_identities():
        for role in ROLES:
            cert = identity.certificate(role)
            assert cert.not_valid_before_utc == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
            assert cert.not_valid_after_utc == dt.datetime(2045, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    root_crl, inter_crl = pki.crls
    assert root_crl.issuer == pki.root.subject and len(root_crl) == 0
    assert inter_crl.issuer == pki.intermediate.subject
    root_key, inter_key = pki.root.public_key(), pki.intermediate.public_key()
    assert isinstance(root_key, rsa.RSAPublicKey) and isinstance(inter_key, rsa.RSAPublicKey)
    assert root_crl.is_signature_valid(root_key)
    assert inter_crl.is_signature_valid(inter_key)
    revoked = pki.defective("revoked")
    assert sorted(r.serial_number for r in inter_crl) == sorted(
        revoked.certificate(r).serial_number for r in ROLES
    )
    for crl in pki.crls:
        assert crl.next_update_utc is not None and crl.next_update_utc.year == 2045


def test_valid_identities_have_no_defect(pki: TestPKI) -> None:
    for identity in pki.valid_identities():
        assert detected_defects(pki, identity) == set(), identity.id


@pytest.mark.parametrize("identity_id", DEFECT_IDS)
def test_each_defect_exactly_once(pki: TestPKI, identity_id: str) -> None:
    identity = pki.identity(identity_id)
    assert identity.defect == identity_id.removeprefix("defect-")
    assert pki.defective(identity_id) is identity
    assert pki.defective(identity.defect) is identity
    assert detected_defects(pki, identity) == {identity.defect}


def test_defects_in_detail(pki: TestPKI) -> None:
    gip = pki.defective("gip-cps-oid")
    for role in ROLES:
        assert gip.certificate(role).public_key_algorithm_oid.dotted_string == GIP_CPS_RSA_OID
        weak_key = pki.defective("weak-key").certificate(role).public_key()
        assert isinstance(weak_key, rsa.RSAPublicKey) and weak_key.key_size == 1024
        assert pki.defective("sha1").certificate(role).signature_algorithm_oid.dotted_string == (
            "1.2.840.113549.1.1.5"
        )
    mismatch = pki.defective("email-mismatch")
    assert _emails(mismatch.certificate("sign"))[0] != mismatch.email
    unknown = pki.defective("unknown-root")
    assert pki.unknown_intermediate is not None
    assert _issued_by(unknown.certificate("sign"), pki.unknown_intermediate)
    pki.unknown_intermediate.verify_directly_issued_by(pki.unknown_root)
    assert unknown.chain()[-1] == pki.unknown_root
    with pytest.raises(UserError, match="no identity with defect"):
        pki.defective("nonsense")


def test_directory(pki: TestPKI) -> None:
    annuaire = Directory(pki)
    pro = pki.identity("pro07")
    assert annuaire.encryption_certificate(pro.email) == pro.certificate("encrypt")
    assert annuaire.encryption_certificate(pro.email.upper()) == pro.certificate("encrypt")
    assert annuaire.encryption_certificate("nobody@osm-test.example") is None
    assert annuaire.identity_by_idnat(pro.idnat) is pro
    assert annuaire.identity_by_idnat("899799999999") is None
    assert annuaire.identity_by_email(pro.email) is pro
    sign = pro.certificate("sign")
    assert annuaire.find_certificate(sign.issuer, sign.serial_number) == sign
    assert annuaire.find_certificate(sign.issuer, sign.serial_number + 1) is None
    assert annuaire.find_by_ski(_ski(sign)) == sign
    assert annuaire.find_by_ski(b"\x00" * 20) is None
    assert annuaire.owner(sign) == (pro, "sign")
    assert len(annuaire.certificates()) == 3 * len(pki.identities)
    mismatch = pki.defective("email-mismatch")
    # The directory answers for the address in use, not the certificate's.
    assert annuaire.encryption_certificate(mismatch.email) == mismatch.certificate("encrypt")


def _copy_identity(pki: TestPKI, tmp_path: Path) -> Path:
    target = tmp_path / "pro01"
    shutil.copytree(pki.identity("pro01").directory, target)
    return target


def test_identity_load_roundtrip(pki: TestPKI, tmp_path: Path) -> None:
    loaded = Identity.load(_copy_identity(pki, tmp_path))
    original = pki.identity("pro01")
    assert (loaded.id, loaded.email, loaded.idnat, loaded.defect) == (
        original.id,
        original.email,
        original.idnat,
        None,
    )
    assert loaded.certificate("sign") == original.certificate("sign")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), r"not an identity directory"),
        (lambda d: (d / "identity.json").unlink(), r"identity\.json: missing"),
        (
            lambda d: (d / "identity.json").write_text('{\n"id": "pro01",\n'),
            r"identity\.json:3:1: not JSON",
        ),
        (
            lambda d: (d / "identity.json").write_text('{"id": "pro01"}'),
            r"identity\.json: field 'name'",
        ),
        (lambda d: (d / "sign.pem").unlink(), r"sign\.pem: missing"),
        (
            lambda d: (d / "encrypt.pem").write_text("garbage"),
            r"encrypt\.pem: not a PEM certificate",
        ),
    ],
)
def test_identity_load_errors(
    pki: TestPKI, tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    directory = _copy_identity(pki, tmp_path)
    damage(directory)
    with pytest.raises(UserError, match=message):
        Identity.load(directory)


def test_missing_key_and_role_errors(pki: TestPKI, tmp_path: Path) -> None:
    directory = _copy_identity(pki, tmp_path)
    (directory / "auth.key.pem").unlink()
    identity = Identity.load(directory)
    with pytest.raises(UserError, match=r"auth\.key\.pem: missing"):
        identity.private_key("auth")
    with pytest.raises(UserError, match="unknown certificate role"):
        identity.certificate("signature")  # type: ignore[arg-type]


def test_load_pki_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no test PKI here"):
        load_pki(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"ca/root\.pem: missing"):
        load_pki(tmp_path / "empty")


def test_derived_keys_are_deterministic() -> None:
    a = derive_rsa_key(7, "unit/a", 1024)
    assert a.private_numbers() == derive_rsa_key(7, "unit/a", 1024).private_numbers()
    assert a.private_numbers() != derive_rsa_key(7, "unit/b", 1024).private_numbers()
    assert a.private_numbers() != derive_rsa_key(8, "unit/a", 1024).private_numbers()
    assert a.key_size == 1024
    # OpenSSL's own check of the primes and exponents.
    checked = a.private_numbers().private_key()
    assert checked.key_size == 1024


def test_generation_matches_committed_vectors(tmp_path: Path, pki: TestPKI) -> None:
    """Same seed, same bytes: rebuild the CAs, CRLs and a few identities and compare."""
    out = tmp_path / "pki"
    out.mkdir()
    report = generate(out, seed=pki.seed or 2008, only=["pro01", "defect-sha1"])
    assert report.identities == ("pro01", "defect-sha1")
    compared = 0
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name != "pki.json":
            committed = PKI_DIR / path.relative_to(out)
            assert path.read_bytes() == committed.read_bytes(), path.relative_to(out)
            compared += 1
    # ca, ca-unknown, ca-keys, servers, README, identities
    assert compared == 5 + 5 + 4 + 2 + 1 + 2 * 8


def test_server_certificate(pki: TestPKI) -> None:
    """server-localhost: serverAuth for localhost and 127.0.0.1, issued by the intermediate,
    presented with it; its key pairs with it (and, being under its own label, changed no
    other key: test_generation_matches_committed_vectors compares those byte for byte)."""
    chain = x509.load_pem_x509_certificates(pki.server_certificate_path().read_bytes())
    server, issuer = chain
    assert issuer == pki.intermediate and server.issuer == pki.intermediate.subject
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    key = read_private_key(pki.server_key_path())
    server_key = server.public_key()
    assert isinstance(server_key, rsa.RSAPublicKey)
    assert key.public_key().public_numbers() == server_key.public_numbers()
    assert key.public_key() != pki.intermediate.public_key()


def test_other_seed_other_pki(tmp_path: Path) -> None:
    out = tmp_path / "pki"
    out.mkdir()
    generate(out, seed=1, only=[])
    assert (out / "ca" / "root.pem").read_bytes() != (PKI_DIR / "ca" / "root.pem").read_bytes()
    assert not (out / "identities").exists()
    with pytest.raises(UserError, match="unknown identity"):
        generate(tmp_path / "x", seed=1, only=["pro99"])


def test_build_refuses_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(UserError, match="not a test PKI"):
        build_pki(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_build_replaces_a_previous_pki(tmp_path: Path) -> None:
    target = tmp_path / "pki"
    first = build_pki(target, seed=3, only=[])
    root = (target / "ca" / "root.pem").read_bytes()
    assert first.keys == 5 and load_pki(target).identities == {}
    build_pki(target, seed=4, only=[])
    assert (target / "ca" / "root.pem").read_bytes() != root
    assert load_pki(target).seed == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pki"]  # no staging left behind
