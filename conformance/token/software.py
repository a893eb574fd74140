"""The software token: private keys in memory, operated by `cryptography`.

Used where no PKCS#11 module is installed, and as the reference that the
PKCS#11 token must agree with. It has no mechanism limits of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from conformance.core.vocabulary import Digest, KeyTransport, Role, SignatureAlgorithm
from conformance.token.base import (
    KeyNotFound,
    PrivateKeyHandle,
    TokenError,
    check_signature_algorithm,
    hash_algorithm,
    oaep_digest,
)
from conformance.token.files import (
    check_identity_dir,
    check_role,
    identity_id,
    load_certificate,
    load_private_key,
)
from conformance.token.uri import parse_uri

if TYPE_CHECKING:
    from conformance.pki.model import TestPKI


class SoftwareKey:
    """An RSA private key held in this process, with its certificate."""

    def __init__(
        self, private_key: rsa.RSAPrivateKey, certificate: x509.Certificate, label: str
    ) -> None:
        self.private_key = private_key
        self.certificate = certificate
        self.label = label

    def __repr__(self) -> str:
        return f"SoftwareKey({self.label!r})"

    def sign(self, data: bytes, digest: Digest, algorithm: SignatureAlgorithm) -> bytes:
        check_signature_algorithm(algorithm)
        hash_ = hash_algorithm(digest)
        pad: padding.AsymmetricPadding
        if algorithm == "rsa-pss":
            pad = padding.PSS(mgf=padding.MGF1(hash_), salt_length=hash_.digest_size)
        else:
            pad = padding.PKCS1v15()
        try:
            return self.private_key.sign(data, pad, hash_)
        except ValueError as exc:  # e.g. PSS with SHA-512 on a 1024-bit key
            raise TokenError(f"{self.label}: {algorithm} with {digest} failed: {exc}") from None

    def decrypt(self, ciphertext: bytes, key_transport: KeyTransport) -> bytes:
        digest = oaep_digest(key_transport)
        pad: padding.AsymmetricPadding
        if digest is None:
            pad = padding.PKCS1v15()
        else:
            hash_ = hash_algorithm(digest)
            pad = padding.OAEP(mgf=padding.MGF1(hash_), algorithm=hash_, label=None)
        try:
            return self.private_key.decrypt(ciphertext, pad)
        except ValueError as exc:
            raise TokenError(f"{self.label}: {key_transport} decryption failed: {exc}") from None


class SoftwareToken:
    """Keys of identity directories (export layout), loaded on first use."""

    def __init__(self, source: TestPKI | Iterable[Path | str] | Mapping[str, Path]) -> None:
        self._directories: dict[str, Path] = {}
        if isinstance(source, Mapping):
            self._directories = {str(k): Path(v) for k, v in source.items()}
        elif hasattr(source, "identities"):
            self._directories = {i: ident.directory for i, ident in source.identities.items()}
        else:
            for item in source:
                directory = check_identity_dir(Path(item))
                self._directories[identity_id(directory)] = directory
        self._keys: dict[tuple[str, Role], SoftwareKey] = {}

    def identities(self) -> list[str]:
        return sorted(self._directories)

    def key(self, identity_id: str, role: Role) -> PrivateKeyHandle:
        role = check_role(role)
        cached = self._keys.get((identity_id, role))
        if cached is not None:
            return cached
        directory = self._directories.get(identity_id)
        if directory is None:
            raise KeyNotFound(f"software token: no identity {identity_id!r}")
        key = SoftwareKey(
            load_private_key(directory, role),
            load_certificate(directory, role),
            f"{identity_id}-{role}",
        )
        self._keys[(identity_id, role)] = key
        return key

    def key_by_uri(self, uri: str) -> PrivateKeyHandle:
        """Keys named as on the PKCS#11 token: `pkcs11:object=<identity>-<role>`."""
        parsed = parse_uri(uri)
        if parsed.object is None:
            raise KeyNotFound(f"{uri}: the software token finds keys by object=<identity>-<role>")
        identity, _, role = parsed.object.rpartition("-")
        if not identity:
            raise KeyNotFound(f"{uri}: object {parsed.object!r} is not <identity>-<role>")
        return self.key(identity, check_role(role))
