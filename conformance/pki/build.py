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

from conformance import json_files
from conformance.core.vocabulary import ROLES
from conformance.errors import UserError
from conformance.paths import remove_listed
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
# pki.json's "generator": how a later `pki init` knows the folder is an earlier build.
GENERATOR = "osm-conformance pki init"

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
    for role in ROLES:  # the files of _identity_file_names()
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
            "generator": GENERATOR,
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


def _identity_file_names() -> list[str]:
    """The files `_build_identity` writes into an identity's folder."""
    return [
        *(f"{role}{suffix}" for role in ROLES for suffix in (".pem", ".key.pem")),
        "chain.pem",
        IDENTITY_FILE,
    ]


def _earlier_build(directory: Path) -> list[str] | None:
    """The identities an earlier `pki init` built in `directory` (None: it is new or empty).

    Anything else is refused: a folder of the user's, or another command's output whose
    pki.json only looks alike (a `pki export`, a `vectors export` and the tester's record).
    """
    if not directory.exists():
        return None
    if not directory.is_dir():
        raise UserError(f"{directory}: exists and is not a directory; not replacing it")
    if not any(directory.iterdir()):
        return None
    manifest = directory / MANIFEST_FILE
    if not manifest.is_file():
        raise UserError(
            f"{directory}: exists and is not a test PKI (no {MANIFEST_FILE}); not replacing it"
        )
    earlier = json_files.load_object(manifest)
    if earlier.get("generator") != GENERATOR:
        made_by = earlier.get("exported_from")
        said = (
            f"is from {made_by}" if isinstance(made_by, str) else f"has no generator {GENERATOR!r}"
        )
        raise UserError(
            f"{directory}: not a test PKI built by pki init (its {MANIFEST_FILE} {said}); "
            "not replacing it"
        )
    listed = earlier.get("identities")
    # Folder names only: a pki.json edited to list "../x" must not reach outside.
    names = listed if isinstance(listed, list) else []
    return [i for i in names if isinstance(i, str) and i and Path(i).name == i and i != ".."]


def _replace_build(staging: Path, directory: Path, earlier: list[str]) -> None:
    """Move the new build's files from `staging` over the earlier build's in `directory`,
    then remove the files of the identities the earlier build listed and the new one does
    not (their folders stay, with any file of the user's). Files of the user's (notes,
    PKCS#12 files, a product's databases) stay: only a file an earlier `pki init` wrote is
    replaced or removed; a `ca/` file only the earlier build wrote is left."""
    new = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
    # pki.json last: a move cut short leaves the earlier one, and the next init redoes it.
    new.sort(key=lambda rel: rel == Path(MANIFEST_FILE))
    for rel in new:
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).replace(directory / rel)
    written = {rel for rel in new if rel.parts[0] != "identities"}
    written |= {
        Path("identities", identity, name)
        for identity in earlier
        for name in _identity_file_names()
    }
    root = directory.resolve()
    # Contained once resolved: an identity folder that is a symbolic link is left alone.
    stale = [
        directory / rel
        for rel in sorted(written - set(new))
        if (directory / rel).resolve().is_relative_to(root)
    ]
    remove_listed(stale)


def build_pki(
    directory: Path, seed: int = DEFAULT_SEED, only: Collection[str] | None = None
) -> BuildReport:
    """(Re)build the PKI in `directory`, replacing an earlier build only once the new one
    is complete.

    Refuses a non-empty directory that `pki init` did not build (its pki.json says so).
    """
    directory = directory.resolve()
    earlier = _earlier_build(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pki-build-", dir=directory.parent))
    try:
        report = generate(staging, seed, only)
        if directory.exists():
            _replace_build(staging, directory, earlier or [])
        else:
            staging.rename(directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return BuildReport(directory, report.seed, report.identities, report.keys, report.seconds)
