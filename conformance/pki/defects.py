"""How each identity's certificates are made, and the one thing each defect changes.

A defective identity is a valid one with exactly one field of its `CertPlan`
changed, which `plan_for` makes visible: read DEFECTS to know what negative
tests exist.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from conformance.core import oids

# Validity of valid end-entity certificates: validation at "now" works until then.
VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)
VALID_UNTIL = datetime(2045, 12, 31, 23, 59, 59, tzinfo=UTC)
# Certificate authorities outlive every end-entity certificate they issued.
CA_FROM = datetime(2010, 1, 1, tzinfo=UTC)
CA_UNTIL = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)
# CRLs: issued once, next update at the end of the validity horizon.
CRL_THIS_UPDATE = datetime(2020, 2, 1, tzinfo=UTC)
CRL_NEXT_UPDATE = VALID_UNTIL
REVOCATION_DATE = datetime(2020, 1, 15, tzinfo=UTC)

# The non-standard RSA key OID of some early GIP-CPS certificates.
GIP_CPS_RSA_OID = oids.GIP_CPS_RSA

DEFECTS: dict[str, str] = {
    "expired": "all certificates expired on 2019-12-31",
    "not-yet-valid": "all certificates valid only from 2090-01-01",
    "revoked": "all certificates listed on the intermediate CA's CRL",
    "no-nonrepudiation": "signature certificate without the nonRepudiation key usage",
    "unknown-root": "issued by 'TEST Racine inconnue', which is no trust anchor",
    "email-mismatch": "certificates carry another mail address than the one in use",
    "weak-key": "1024-bit RSA keys",
    "sha1": "certificates signed with sha1WithRSAEncryption",
    "gip-cps-oid": f"public keys tagged with the GIP-CPS OID {GIP_CPS_RSA_OID}, not rsaEncryption",
}
# Each defect in a few French words, for what the reports show (the rejection variants).
DEFECT_NAMES_FR: dict[str, str] = {
    "expired": "expiré",
    "not-yet-valid": "pas encore valide",
    "revoked": "révoqué",
    "no-nonrepudiation": "sans non-répudiation",
    "unknown-root": "racine inconnue",
    "email-mismatch": "autre adresse de messagerie",
    "weak-key": "clé RSA de 1024 bits",
    "sha1": "certificats signés en SHA-1",
    "gip-cps-oid": "OID de clé GIP-CPS",
}

Issuer = Literal["intermediate", "unknown"]
HashName = Literal["sha256", "sha1"]


@dataclass(frozen=True)
class CertPlan:
    """Everything that may differ between identities' certificates."""

    not_before: datetime = VALID_FROM
    not_after: datetime = VALID_UNTIL
    key_bits: int = 2048
    signature_hash: HashName = "sha256"
    issuer: Issuer = "intermediate"
    sign_nonrepudiation: bool = True
    certificate_email: str | None = None  # None: the identity's own address
    spki_algorithm: str | None = None  # None: rsaEncryption
    revoked: bool = False


def mismatched_email(email: str) -> str:
    """Another plausible address of the same person (an old practice's)."""
    local, _, domain = email.partition("@")
    return f"{local}.ancien-cabinet@{domain}"


def plan_for(defect: str | None, email: str) -> CertPlan:
    """The valid plan with the single change `defect` stands for."""
    valid = CertPlan()
    if defect is None:
        return valid
    changes: dict[str, object]
    match defect:
        case "expired":
            changes = {
                "not_before": datetime(2015, 1, 1, tzinfo=UTC),
                "not_after": datetime(2019, 12, 31, 23, 59, 59, tzinfo=UTC),
            }
        case "not-yet-valid":
            changes = {
                "not_before": datetime(2090, 1, 1, tzinfo=UTC),
                "not_after": datetime(2095, 12, 31, 23, 59, 59, tzinfo=UTC),
            }
        case "revoked":
            changes = {"revoked": True}
        case "no-nonrepudiation":
            changes = {"sign_nonrepudiation": False}
        case "unknown-root":
            changes = {"issuer": "unknown"}
        case "email-mismatch":
            changes = {"certificate_email": mismatched_email(email)}
        case "weak-key":
            changes = {"key_bits": 1024}
        case "sha1":
            changes = {"signature_hash": "sha1"}
        case "gip-cps-oid":
            changes = {"spki_algorithm": GIP_CPS_RSA_OID}
        case _:
            raise ValueError(f"unknown defect {defect!r}; known: {', '.join(DEFECTS)}")
    return dataclasses.replace(valid, **changes)  # type: ignore[arg-type]
