"""What every token offers: a private key that signs and decrypts, nothing more.

A CPS card never lets its private keys out, so the engine only ever holds a
handle. The two implementations (PKCS#11 in `pkcs11.py`, in-memory keys in
`software.py`) give the same results for the same inputs; where a token cannot
do an operation it raises `UnsupportedMechanism`, because a token's limits are
interoperability findings, not crashes.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from conformance.core.bilingual import Facts
from conformance.core.vocabulary import Digest, KeyTransport, Role, SignatureAlgorithm

# Why a key cannot be opened, for a caller wording it in another language than the error's
# English ("other": only the English says), with the values each records. The first five
# are the user's to fix (a `UserError`'s code), the others a `TokenError`'s.
TokenErrorCode = Literal[
    "other",
    "token-kind",  # variable, value: OSM_CONFORMANCE_TOKEN names no kind of token
    "softhsm-missing",  # missing: the library or command; package: the Debian package
    "no-identity-dir",  # directory
    "no-certificate",  # path, role: the identity directory has no certificate of that role
    "no-key-file",  # path, role: nor private key
    "pin-refused",  # token: its label; ckr: the module's CKR_* name
    "login-failed",  # token; ckr
    "no-token",  # label ("" when any initialised token would do); module
    "no-key",  # token; label, id (hex): "" when not asked; pin: 0 when none was given
    "softhsm-init",  # said: softhsm2-util's own words
    "softhsm-template",  # said: the template builder's own words
]


class TokenError(Exception):
    """A token operation failed (wrong PIN, missing token, bad ciphertext...); `code` and
    `values` say what the English message says, for a report in another language."""

    def __init__(
        self, message: str = "", *, code: TokenErrorCode = "other", values: Facts = ()
    ) -> None:
        super().__init__(message)
        self.code: TokenErrorCode = code
        self.values = values


class UnsupportedMechanism(TokenError):
    """The token refuses a mechanism (or its parameters): a finding, not a bug. `values`
    holds what a PKCS#11 module said (`refused`), for a report in another language."""

    def __init__(
        self, mechanism: str, detail: str = "", *, holder: str = "token", values: Facts = ()
    ) -> None:
        self.mechanism = mechanism
        self.detail = detail
        self.holder = holder
        message = f"{holder} does not support mechanism {mechanism}"
        super().__init__(f"{message} ({detail})" if detail else message, values=values)

    @classmethod
    def refused(cls, ckm: str, digest: str, library: str, ckr: str = "") -> UnsupportedMechanism:
        """A module's refusal: the mechanism's CKM name and hash ("" for none), the module's
        own description, and the CKR_* name it returned ("" when C_GetMechanismList does not
        list the mechanism)."""
        name = f"{ckm} with {digest}" if digest else ckm
        detail = f"{library} returned {ckr}" if ckr else f"{library} does not list it"
        facts = (("ckm", ckm), ("digest", digest), ("library", library), ("ckr", ckr))
        return cls(name, detail, values=facts)

    def held_by(self, holder: str) -> UnsupportedMechanism:
        """The same refusal, naming who holds the key (a stand-in is not the product)."""
        return UnsupportedMechanism(self.mechanism, self.detail, holder=holder, values=self.values)


class KeyNotFound(TokenError):
    """No private key on the token matches the identity, role or URI asked for."""


@runtime_checkable
class PrivateKeyHandle(Protocol):
    """A private key kept by a token, with the certificate that names it."""

    label: str
    certificate: x509.Certificate

    def sign(self, data: bytes, digest: Digest, algorithm: SignatureAlgorithm) -> bytes:
        """Hash `data` with `digest` and sign it (PSS: MGF1 same digest, salt = digest size)."""
        ...

    def decrypt(self, ciphertext: bytes, key_transport: KeyTransport) -> bytes:
        """Unwrap an RSA-encrypted content key (OAEP: MGF1 same hash, empty label)."""
        ...


@runtime_checkable
class Token(Protocol):
    """A set of private keys addressed by identity and role, or by PKCS#11 URI."""

    def key(self, identity_id: str, role: Role) -> PrivateKeyHandle: ...

    def key_by_uri(self, uri: str) -> PrivateKeyHandle: ...


# The one table of digest names to cryptography's (stateless) hash objects.
HASH_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def hash_algorithm(digest: Digest) -> hashes.HashAlgorithm:
    """The `cryptography` hash object for a digest name (stateless: one per name)."""
    try:
        return HASH_ALGORITHMS[digest]
    except KeyError:
        expected = ", ".join(HASH_ALGORITHMS)
        raise TokenError(f"unknown digest {digest!r}; expected one of {expected}") from None


def oaep_digest(key_transport: KeyTransport) -> Digest | None:
    """The OAEP hash of a key transport name, None for PKCS#1 v1.5."""
    if key_transport == "rsa-pkcs1v15":
        return None
    if key_transport == "rsa-oaep-sha1":
        return "sha1"
    if key_transport == "rsa-oaep-sha256":
        return "sha256"
    raise TokenError(
        f"unknown key transport {key_transport!r}; "
        "expected rsa-pkcs1v15, rsa-oaep-sha1 or rsa-oaep-sha256"
    )


def check_signature_algorithm(algorithm: SignatureAlgorithm) -> None:
    if algorithm not in ("rsa-pkcs1v15", "rsa-pss"):
        raise TokenError(
            f"unknown signature algorithm {algorithm!r}; expected rsa-pkcs1v15 or rsa-pss"
        )


def subject_key_identifier(certificate: x509.Certificate) -> bytes:
    """The certificate's SKI extension, else the RFC 5280 method 1 value.

    It is the CKA_ID that ties a key on the token to its certificate.
    """
    try:
        ext = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ext.value.digest
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
