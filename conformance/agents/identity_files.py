"""Reading an identity directory (the PKI export layout) and trust files, cached.

Agents are called thousands of times per run with the same few directories:
certificates and CRLs are parsed once per version of their file (pem_files),
keys opened once per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from cryptography import x509

from conformance import json_files, pem_files
from conformance.core.vocabulary import Party, Role
from conformance.token import PrivateKeyHandle, open_key


def crls(paths: tuple[Path, ...]) -> list[x509.CertificateRevocationList]:
    return [crl for p in paths for crl in pem_files.crls(p)]


def trust_anchors(paths: tuple[Path, ...]) -> list[x509.Certificate]:
    return [c for p in paths for c in pem_files.certificates(p)]


@lru_cache(maxsize=1024)
def _key(where: Path | str, role: Role) -> PrivateKeyHandle:
    return open_key(where, role)


@lru_cache(maxsize=1024)
def _software_key(directory: Path, role: Role) -> PrivateKeyHandle:
    from conformance.token.files import identity_id, load_private_key
    from conformance.token.software import SoftwareKey

    cert = role_certificate(directory, role)
    return SoftwareKey(load_private_key(directory, role), cert, f"{identity_id(directory)}-{role}")


def key(party: Party, role: Role, *, software: bool = False) -> PrivateKeyHandle:
    """The party's private key for a role: on the token its URI names, in the program
    (`software`), or on this process's token provisioned from its directory."""
    uri = party.key_uri(role)
    if uri is not None:
        return _key(uri, role)
    if software:
        return _software_key(party.identity_dir, role)
    return _key(party.identity_dir, role)


def role_certificate(identity_dir: Path, role: Role) -> x509.Certificate:
    return pem_files.certificate(identity_dir / f"{role}.pem")


@lru_cache(maxsize=1024)
def identity_json(identity_dir: Path) -> dict[str, object]:
    return json_files.load_object(identity_dir / "identity.json")


def certificate_email(cert: x509.Certificate) -> str | None:
    """The first rfc822Name of the certificate's subjectAltName."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    emails = san.get_values_for_type(x509.RFC822Name)
    return emails[0] if emails else None
