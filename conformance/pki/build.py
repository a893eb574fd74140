"""Build the whole test PKI from a seed into a directory (the export layout).

Same seed, same bytes: keys come from `rsakeys.derive_rsa_keys`, serials from
`drbg.derived_serial`, dates are constants of `defects`, and PKCS#1 v1.5
signatures are deterministic. PKCS#12 files (random salts) are only made by
`pki export`, never here.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.core.vocabulary import ROLES
from conformance.errors import UserError
from conformance.pki import certs
from conformance.pki.certs import cert_pem, key_pem
from conformance.pki.defects import (
    CA_FROM,
    CA_UNTIL,
    CRL_NEXT_UPDATE,
    CRL_THIS_UPDATE,
    DEFECTS,
    REVOCATION_DATE,
    VALID_FROM,
    VALID_UNTIL,
    plan_for,
)
from conformance.pki.drbg import derived_serial
from conformance.pki.model import IDENTITY_FILE, MANIFEST_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE
from conformance.pki.people import Person, roster
from conformance.pki.readme import pki_readme
from conformance.pki.rsakeys import derive_rsa_keys

CA_LEVELS = ("root", "intermediate")
DEFAULT_SEED = 2008  # the year of the ESPS study the project follows
FORMAT_VERSION = 1

ROOT_CN = "TEST Autorité racine Santé (TEST ONLY)"
INTERMEDIATE_CN = "TEST AC Professionnels de santé (TEST ONLY)"
CA_ORG = "TEST Autorité de certification santé (fictive)"
UNKNOWN_ROOT_CN = "TEST Racine inconnue (TEST ONLY)"
UNKNOWN_INTERMEDIATE_CN = "TEST AC inconnue (TEST ONLY)"
UNKNOWN_ORG = "TEST Autorité inconnue (fictive)"
# The TLS certificate of the suite's own mail servers (STARTTLS on loopback), under its
# own key label so that adding it changed no other key or certificate.
SERVER_HOST = "localhost"
SERVER_ADDRESSES = ("127.0.0.1",)
SERVER_LABEL = f"server/{SERVER_HOST}"


@dataclass(frozen=True)
class Authority:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class BuildReport:
    directory: Path
    seed: int
    identities: tuple[str, ...]
    keys: int
    seconds: float


Keys = dict[str, rsa.RSAPrivateKey]


def _hierarchy(
    seed: int, keys: Keys, prefix: str, root_cn: str, inter_cn: str, org: str
) -> list[Authority]:
    root_key = keys[f"{prefix}/root"]
    root = certs.root_certificate(
        certs.ca_name(root_cn, org),
        root_key,
        derived_serial(seed, f"{prefix}/root"),
        CA_FROM,
        CA_UNTIL,
    )
    inter_key = keys[f"{prefix}/intermediate"]
    inter = certs.intermediate_certificate(
        certs.ca_name(inter_cn, org),
        inter_key.public_key(),
        root,
        root_key,
        derived_serial(seed, f"{prefix}/intermediate"),
        CA_FROM,
        CA_UNTIL,
    )
    return [Authority(root, root_key), Authority(inter, inter_key)]


def _identity_json(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "given_name": person.given_name,
        "surname": person.surname,
        "email": person.email,
        "idnat": person.idnat,
        "profession": person.profession,
        "defect": person.defect,
        "defect_description": DEFECTS[person.defect] if person.defect else None,
        "certificates": {role: f"{role}.pem" for role in ROLES},
        "keys": {role: f"{role}.key.pem" for role in ROLES},
        "chain": "chain.pem",
        "note": "TEST IDENTITY ONLY: an invented person; its private keys are public.",
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _build_identity(
    seed: int, keys: Keys, person: Person, hierarchies: dict[str, list[Authority]], out: Path
) -> None:
    plan = plan_for(person.defect, person.email)
    root, issuer = hierarchies[plan.issuer]
    subject = certs.Subject(person.given_name, person.surname, person.profession, person.idnat)
    out.mkdir(parents=True)
    for role in ROLES:
        key = keys[f"{person.id}/{role}"]
        cert = certs.end_entity_certificate(
            subject,
            role,
            plan.certificate_email or person.email,
            key.public_key(),
            issuer.certificate,
            issuer.key,
            derived_serial(seed, f"{person.id}/{role}"),
            plan.not_before,
            plan.not_after,
            nonrepudiation=plan.sign_nonrepudiation,
        )
        if plan.signature_hash != "sha256" or plan.spki_algorithm is not None:
            cert = certs.rewrite_and_sign(
                cert, issuer.key, plan.signature_hash, plan.spki_algorithm
            )
        (out / f"{role}.pem").write_bytes(cert_pem(cert))
        (out / f"{role}.key.pem").write_bytes(key_pem(key))
    (out / "chain.pem").write_bytes(cert_pem(issuer.certificate) + cert_pem(root.certificate))
    _write_json(out / IDENTITY_FILE, _identity_json(person))


def _revoked(seed: int, people: list[Person]) -> list[tuple[int, Any]]:
    """Serials on the intermediate CRL: every certificate of a revoked identity.

    They depend on the seed alone, so the CRL is the same in a partial build.
    """
    return [
        (derived_serial(seed, f"{p.id}/{role}"), REVOCATION_DATE)
        for p in people
        if plan_for(p.defect, p.email).revoked
        for role in ROLES
    ]


def _write_crls(out: Path, authorities: list[Authority], revoked: list[tuple[int, Any]]) -> None:
    root, inter = authorities
    out.mkdir(parents=True, exist_ok=True)
    root_crl = certs.crl(root.certificate, root.key, 1, CRL_THIS_UPDATE, CRL_NEXT_UPDATE)
    inter_crl = certs.crl(
        inter.certificate, inter.key, 1, CRL_THIS_UPDATE, CRL_NEXT_UPDATE, revoked
    )
    enc = serialization.Encoding.PEM
    (out / "root.pem").write_bytes(cert_pem(root.certificate))
    (out / "intermediate.pem").write_bytes(cert_pem(inter.certificate))
    (out / "ca-bundle.pem").write_bytes(cert_pem(root.certificate) + cert_pem(inter.certificate))
    (out / "root.crl.pem").write_bytes(root_crl.public_bytes(enc))
    (out / "intermediate.crl.pem").write_bytes(inter_crl.public_bytes(enc))


def _write_server(seed: int, keys: Keys, issuer: Authority, out: Path) -> None:
    """servers/localhost.pem (the certificate, then its issuer: the chain a server
    presents) and servers/localhost.key.pem."""
    key = keys[SERVER_LABEL]
    cert = certs.server_certificate(
        SERVER_HOST,
        SERVER_ADDRESSES,
        key.public_key(),
        issuer.certificate,
        issuer.key,
        derived_serial(seed, SERVER_LABEL),
        VALID_FROM,
        VALID_UNTIL,
    )
    (out / SERVER_CERT_FILE).parent.mkdir(parents=True)
    (out / SERVER_CERT_FILE).write_bytes(cert_pem(cert) + cert_pem(issuer.certificate))
    (out / SERVER_KEY_FILE).write_bytes(key_pem(key))


def generate(
    out: Path, seed: int = DEFAULT_SEED, only: Collection[str] | None = None
) -> BuildReport:
    """Write the PKI (or the CAs and the identities in `only`) into the new directory `out`."""
    started = time.perf_counter()
    people = roster(tuple(DEFECTS))
    known = {p.id for p in people}
    if only is not None:
        unknown = sorted(set(only) - known)
        if unknown:
            raise UserError(f"unknown identity id(s): {', '.join(unknown)}")
    chosen = [p for p in people if only is None or p.id in only]

    wanted = [(f"{prefix}/{ca}", 2048) for prefix in ("ca", "ca-unknown") for ca in CA_LEVELS]
    wanted.append((SERVER_LABEL, 2048))
    wanted += [
        (f"{p.id}/{role}", plan_for(p.defect, p.email).key_bits) for p in chosen for role in ROLES
    ]
    keys = derive_rsa_keys(seed, wanted)
    main = _hierarchy(seed, keys, "ca", ROOT_CN, INTERMEDIATE_CN, CA_ORG)
    unknown_ca = _hierarchy(
        seed, keys, "ca-unknown", UNKNOWN_ROOT_CN, UNKNOWN_INTERMEDIATE_CN, UNKNOWN_ORG
    )
    _write_crls(out / "ca", main, _revoked(seed, people))
    _write_crls(out / "ca-unknown", unknown_ca, [])
    keys_dir = out / "ca-keys"
    keys_dir.mkdir()
    for prefix, pair in (("", main), ("unknown-", unknown_ca)):
        for label, authority in zip(("root", "intermediate"), pair, strict=True):
            (keys_dir / f"{prefix}{label}.key.pem").write_bytes(key_pem(authority.key))

    _write_server(seed, keys, main[1], out)

    hierarchies = {"intermediate": main, "unknown": unknown_ca}
    for person in chosen:
        _build_identity(seed, keys, person, hierarchies, out / "identities" / person.id)

    _write_json(
        out / MANIFEST_FILE,
        {
            "format": FORMAT_VERSION,
            "seed": seed,
            "generator": "osm-conformance pki init",
            "test_only": True,
            "policy_arc": certs.TEST_POLICY_ARC,
            "identities": [p.id for p in chosen],
            "defects": {f"defect-{k}": v for k, v in DEFECTS.items()},
        },
    )
    (out / "README.md").write_text(pki_readme(seed), encoding="utf-8")
    return BuildReport(
        out, seed, tuple(p.id for p in chosen), len(keys), time.perf_counter() - started
    )


def build_pki(
    directory: Path, seed: int = DEFAULT_SEED, only: Collection[str] | None = None
) -> BuildReport:
    """(Re)build the PKI in `directory`, replacing it only once the new one is complete.

    Refuses to replace a non-empty directory that is not a test PKI (no pki.json).
    """
    directory = directory.resolve()
    if directory.exists() and (
        not directory.is_dir()
        or (any(directory.iterdir()) and not (directory / MANIFEST_FILE).is_file())
    ):
        raise UserError(
            f"{directory}: exists and is not a test PKI (no {MANIFEST_FILE}); not replacing it"
        )
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pki-build-", dir=directory.parent))
    try:
        report = generate(staging, seed, only)
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
            staging.rename(directory)
            shutil.rmtree(old)
        else:
            staging.rename(directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return BuildReport(directory, report.seed, report.identities, report.keys, report.seconds)
