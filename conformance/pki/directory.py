"""The "annuaire": the health professionals' directory of the test PKI.

It answers what a sender or receiver asks a directory: which certificate
encrypts to this address, who has this idNat, whose certificate is this
(by issuer and serial, or by subject key identifier, the two ways CMS names
a recipient or a signer). Lookups return None when nothing matches.
"""

from __future__ import annotations

from cryptography import x509

from conformance.core.vocabulary import ROLES, Role
from conformance.pki.model import Identity, TestPKI


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


class Directory:
    """An index over every identity of a TestPKI, valid and defective alike.

    Addresses are those the identities are used with (identity.json), compared
    without regard to case; for `defect-email-mismatch` that is not the address
    in its certificates, which is the point of that identity.
    """

    def __init__(self, pki: TestPKI) -> None:
        self.pki = pki
        self._by_email: dict[str, Identity] = {}
        self._by_idnat: dict[str, Identity] = {}
        self._by_issuer_serial: dict[tuple[bytes, int], tuple[Identity, Role]] = {}
        self._by_ski: dict[bytes, tuple[Identity, Role]] = {}
        self._all: list[x509.Certificate] = []
        for identity in sorted(pki.identities.values(), key=lambda i: i.id):
            self._by_email.setdefault(identity.email.lower(), identity)
            self._by_idnat.setdefault(identity.idnat, identity)
            for role in ROLES:
                if role not in identity.roles():
                    continue
                cert = identity.certificate(role)
                self._all.append(cert)
                key = (cert.issuer.public_bytes(), cert.serial_number)
                self._by_issuer_serial[key] = (identity, role)
                ski = _ski(cert)
                if ski is not None:
                    self._by_ski[ski] = (identity, role)

    def identity_by_email(self, email: str) -> Identity | None:
        return self._by_email.get(email.strip().lower())

    def identity_by_idnat(self, idnat: str) -> Identity | None:
        return self._by_idnat.get(idnat.strip())

    def encryption_certificate(self, email: str) -> x509.Certificate | None:
        """The certificate to encrypt to for a mail address (its 'encrypt' certificate)."""
        identity = self.identity_by_email(email)
        if identity is None or "encrypt" not in identity.roles():
            return None
        return identity.certificate("encrypt")

    def owner(self, cert: x509.Certificate) -> tuple[Identity, Role] | None:
        """Whose certificate this is, and in which role."""
        return self._by_issuer_serial.get((cert.issuer.public_bytes(), cert.serial_number))

    def find_certificate(self, issuer: x509.Name, serial: int) -> x509.Certificate | None:
        """By IssuerAndSerialNumber (CMS SignerIdentifier / RecipientIdentifier)."""
        found = self._by_issuer_serial.get((issuer.public_bytes(), serial))
        return found[0].certificate(found[1]) if found else None

    def find_by_ski(self, ski: bytes) -> x509.Certificate | None:
        """By SubjectKeyIdentifier (CMS subjectKeyIdentifier choice)."""
        found = self._by_ski.get(bytes(ski))
        return found[0].certificate(found[1]) if found else None

    def certificates(self) -> list[x509.Certificate]:
        """Every end-entity certificate, identities in id order, roles auth, sign, encrypt."""
        return list(self._all)
