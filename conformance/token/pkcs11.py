"""Keys on a PKCS#11 token (SoftHSM2 by default, a CPS card through its vendor library).

python-pkcs11 does the PKCS#11 calls; this module maps the project's
algorithm names onto mechanisms and turns a token's refusal of a mechanism
into `UnsupportedMechanism`, which the matrix reports as a finding.

Measured with SoftHSM 2.6.1 (Debian 12): PKCS#1 v1.5 and PSS signatures with
SHA-1/256/384/512 work; CKM_RSA_PKCS_OAEP works with hashAlg CKM_SHA_1 only;
any other OAEP hash is refused at C_DecryptInit with CKR_ARGUMENTS_BAD.
A PKCS#1 v1.5 or OAEP padding error gives CKR_GENERAL_ERROR.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from pkcs11 import MGF, Attribute, Mechanism, ObjectClass
from pkcs11 import exceptions as ckr

from conformance.core.vocabulary import Digest, KeyTransport, Role, SignatureAlgorithm
from conformance.errors import MissingComponent, UserError
from conformance.token.base import (
    KeyNotFound,
    PrivateKeyHandle,
    TokenError,
    UnsupportedMechanism,
    check_signature_algorithm,
    hash_algorithm,
    oaep_digest,
)
from conformance.token.uri import Pkcs11Uri, format_uri, parse_uri

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
SOFTHSM_PACKAGE = "softhsm2"

_HASH: dict[str, tuple[Mechanism, MGF]] = {
    "sha1": (Mechanism.SHA_1, MGF.SHA1),
    "sha256": (Mechanism.SHA256, MGF.SHA256),
    "sha384": (Mechanism.SHA384, MGF.SHA384),
    "sha512": (Mechanism.SHA512, MGF.SHA512),
}
_SIGN: dict[tuple[str, str], Mechanism] = {
    ("sha1", "rsa-pkcs1v15"): Mechanism.SHA1_RSA_PKCS,
    ("sha256", "rsa-pkcs1v15"): Mechanism.SHA256_RSA_PKCS,
    ("sha384", "rsa-pkcs1v15"): Mechanism.SHA384_RSA_PKCS,
    ("sha512", "rsa-pkcs1v15"): Mechanism.SHA512_RSA_PKCS,
    ("sha1", "rsa-pss"): Mechanism.SHA1_RSA_PKCS_PSS,
    ("sha256", "rsa-pss"): Mechanism.SHA256_RSA_PKCS_PSS,
    ("sha384", "rsa-pss"): Mechanism.SHA384_RSA_PKCS_PSS,
    ("sha512", "rsa-pss"): Mechanism.SHA512_RSA_PKCS_PSS,
}
_DIGEST_TITLE = {"sha1": "SHA-1", "sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}
# Return values by which a token says "not this mechanism / these parameters".
_REFUSALS: tuple[type[Exception], ...] = (
    ckr.MechanismInvalid,
    ckr.MechanismParamInvalid,
    ckr.ArgumentsBad,
    ckr.FunctionNotSupported,
)


def ckr_name(exc: BaseException) -> str:
    """CKR_* name of a python-pkcs11 exception (ArgumentsBad -> CKR_ARGUMENTS_BAD)."""
    name = type(exc).__name__
    return "CKR_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def mechanism_name(mechanism: Mechanism) -> str:
    return f"CKM_{mechanism.name}"


def load_library(module: Path | str) -> Any:
    """Load (once per process) a PKCS#11 module; a missing one names its package."""
    path = Path(module)
    if not path.exists():
        if "softhsm" in path.name.lower():
            raise MissingComponent(
                f"SoftHSM2 is not installed ({path} is missing); "
                f"install the Debian package {SOFTHSM_PACKAGE} (apt-get install {SOFTHSM_PACKAGE})",
                code="softhsm-missing",
                values=(("missing", str(path)), ("package", SOFTHSM_PACKAGE)),
            )
        raise MissingComponent(f"PKCS#11 module {path} does not exist")
    try:
        lib = pkcs11.lib(str(path))
    except (RuntimeError, OSError) as exc:
        raise TokenError(f"cannot load PKCS#11 module {path}: {exc!r}") from None
    _LOADED.add(str(path))
    return lib


# The modules this process has loaded (and so initialised, on the configuration of then).
_LOADED: set[str] = set()


def loaded(module: Path | str) -> bool:
    """Whether this process has loaded (and initialised) the module already."""
    return str(Path(module)) in _LOADED


# One logged-in session per (module, token serial) in this process: PKCS#11
# logins are per application, so a second C_Login would fail.
_SESSIONS: dict[tuple[str, bytes], Any] = {}
# Objects found, per session: a search over ~250 objects costs SoftHSM ~4 ms.
_FOUND: dict[tuple[int, int, str | None, bytes | None], Any] = {}


def forget_sessions(module: Path | str | None = None) -> None:
    """Drop cached sessions (after the library was re-initialised on another token dir)."""
    for key in [k for k in _SESSIONS if module is None or k[0] == str(module)]:
        del _SESSIONS[key]
    _FOUND.clear()


class Pkcs11Key:
    """A private key object on a token, with its certificate."""

    def __init__(
        self, token: Pkcs11Token, key: Any, certificate: x509.Certificate, label: str
    ) -> None:
        self._token = token
        self._key = key
        self.certificate = certificate
        self.label = label

    def __repr__(self) -> str:
        return f"Pkcs11Key({self.label!r} on {self._token.label!r})"

    @property
    def key_id(self) -> bytes:
        return bytes(self._key[Attribute.ID])

    def uri(self, *, with_pin: bool = False) -> str:
        return self._token.uri_of(self.label, self.key_id, with_pin=with_pin)

    def _allowed(self, capability: str, attribute: str) -> None:
        # python-pkcs11 gives an object a sign()/decrypt() method only when the
        # token says CKA_SIGN/CKA_DECRYPT is true (a CPS card's keys have one use each).
        if not hasattr(self._key, capability):
            raise TokenError(
                f"{self.label}: the token does not allow this key to "
                f"{capability} ({attribute} is false)"
            )

    def _call(self, what: str, mechanism: str, fn: Any, digest: str = "") -> bytes:
        try:
            return bytes(fn())
        except _REFUSALS as exc:
            raise UnsupportedMechanism.refused(
                mechanism, digest, self._token.description, ckr_name(exc)
            ) from None
        except ckr.PKCS11Error as exc:
            raise TokenError(f"{self.label}: {what} failed on the token: {ckr_name(exc)}") from None

    def sign(self, data: bytes, digest: Digest, algorithm: SignatureAlgorithm) -> bytes:
        check_signature_algorithm(algorithm)
        hash_ = hash_algorithm(digest)
        self._allowed("sign", "CKA_SIGN")
        mechanism = _SIGN[(digest, algorithm)]
        param: tuple[Mechanism, MGF, int] | None = None
        name = mechanism_name(mechanism)
        if algorithm == "rsa-pss":
            hash_mech, mgf = _HASH[digest]
            param = (hash_mech, mgf, hash_.digest_size)
        self._token.require(mechanism, name)
        return self._call(
            "signature",
            name,
            lambda: self._key.sign(data, mechanism=mechanism, mechanism_param=param),
        )

    def decrypt(self, ciphertext: bytes, key_transport: KeyTransport) -> bytes:
        digest = oaep_digest(key_transport)
        self._allowed("decrypt", "CKA_DECRYPT")
        if digest is None:
            self._token.require(Mechanism.RSA_PKCS, "CKM_RSA_PKCS")
            return self._call(
                "PKCS#1 v1.5 decryption",
                "CKM_RSA_PKCS",
                lambda: self._key.decrypt(ciphertext, mechanism=Mechanism.RSA_PKCS),
            )
        hash_mech, mgf = _HASH[digest]
        title = _DIGEST_TITLE[digest]
        self._token.require(Mechanism.RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP", title)
        return self._call(
            "OAEP decryption",
            "CKM_RSA_PKCS_OAEP",
            lambda: self._key.decrypt(
                ciphertext,
                mechanism=Mechanism.RSA_PKCS_OAEP,
                mechanism_param=(hash_mech, mgf, None),
            ),
            title,
        )


class Pkcs11Token:
    """A token found by label in a PKCS#11 module, logged in with a PIN."""

    def __init__(
        self,
        module: Path | str = SOFTHSM_MODULE,
        label: str | None = None,
        pin: str | None = None,
        *,
        rw: bool = False,
    ) -> None:
        self.module = Path(module)
        self.pin = pin
        self._lib = load_library(self.module)
        self._token = self._find_token(label)
        self.label: str = self._token.label
        major, minor = self._lib.library_version
        self.description = (
            f"{self._lib.manufacturer_id.strip()} {self._lib.library_description.strip()} "
            f"{major}.{minor}"
        )
        self._mechanisms: set[Any] | None = None
        key = (str(self.module), bytes(self._token.serial))
        session = _SESSIONS.get(key)
        if session is None:
            try:
                session = self._token.open(rw=rw, user_pin=pin)
            except (ckr.PinIncorrect, ckr.PinInvalid, ckr.PinLenRange) as exc:
                raise TokenError(
                    f"token {self.label!r}: PIN refused ({ckr_name(exc)})",
                    code="pin-refused",
                    values=(("token", self.label), ("ckr", ckr_name(exc))),
                ) from None
            except ckr.PKCS11Error as exc:
                raise TokenError(
                    f"token {self.label!r}: cannot log in: {ckr_name(exc)}",
                    code="login-failed",
                    values=(("token", self.label), ("ckr", ckr_name(exc))),
                ) from None
            _SESSIONS[key] = session
        self.session: Any = session

    def _find_token(self, label: str | None) -> Any:
        """The token with this label, or the only initialised one (SoftHSM always
        adds an empty slot)."""
        tokens = [
            t
            for t in self._lib.get_tokens(token_label=label)
            if t.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED
        ]
        if not tokens:
            named = f"labelled {label!r}" if label is not None else "initialised"
            raise KeyNotFound(
                f"no token {named} in PKCS#11 module {self.module}",
                code="no-token",
                values=(("label", label or ""), ("module", str(self.module))),
            )
        if len(tokens) > 1:
            labels = ", ".join(repr(t.label) for t in tokens)
            raise UserError(
                f"several tokens in PKCS#11 module {self.module} ({labels}); name one"
                " (token= in the URI, --label on the command line)"
            )
        return tokens[0]

    def require(self, mechanism: Mechanism, name: str, digest: str = "") -> None:
        """UnsupportedMechanism unless the token lists the mechanism (C_GetMechanismList);
        `digest` names the hash a mechanism `name` is asked with."""
        if self._mechanisms is None:
            self._mechanisms = set(self._token.slot.get_mechanisms())
        if mechanism not in self._mechanisms:
            raise UnsupportedMechanism.refused(name, digest, self.description)

    def uri_of(self, label: str | None, key_id: bytes | None, *, with_pin: bool = False) -> str:
        return format_uri(
            Pkcs11Uri(
                token=self.label,
                object=label,
                id=key_id,
                type="private",
                pin_value=self.pin if with_pin else None,
                module_path=str(self.module),
            )
        )

    def _find(self, object_class: ObjectClass, label: str | None, key_id: bytes | None) -> Any:
        cache_key = (id(self.session), int(object_class), label, key_id)
        if cache_key in _FOUND:
            return _FOUND[cache_key]
        found = self._search(object_class, label, key_id)
        if found is not None:
            _FOUND[cache_key] = found
        return found

    def _search(self, object_class: ObjectClass, label: str | None, key_id: bytes | None) -> Any:
        attrs: dict[Attribute, Any] = {Attribute.CLASS: object_class}
        if label is not None:
            attrs[Attribute.LABEL] = label
        if key_id is not None:
            attrs[Attribute.ID] = key_id
        found = list(self.session.get_objects(attrs))
        if len(found) > 1:
            what = f"label {label!r}" if label is not None else f"id {key_id!r}"
            raise KeyNotFound(f"token {self.label!r}: {len(found)} objects match {what}")
        return found[0] if found else None

    def _handle(
        self,
        label: str | None,
        key_id: bytes | None,
        certificate: x509.Certificate | None = None,
    ) -> PrivateKeyHandle:
        key = self._find(ObjectClass.PRIVATE_KEY, label, key_id)
        if key is None:
            wanted = ", ".join(
                part
                for part in (
                    f"label {label!r}" if label is not None else "",
                    f"id {key_id.hex()}" if key_id is not None else "",
                )
                if part
            )
            hint = "" if self.pin is not None else " (no PIN given: private keys show after login)"
            raise KeyNotFound(
                f"token {self.label!r}: no private key with {wanted}{hint}",
                code="no-key",
                values=(
                    ("token", self.label),
                    ("label", label or ""),
                    ("id", "" if key_id is None else key_id.hex()),
                    ("pin", int(self.pin is not None)),
                ),
            )
        key_label = str(key[Attribute.LABEL])
        if certificate is None:
            cert_id = bytes(key[Attribute.ID])
            cert = self._find(ObjectClass.CERTIFICATE, None, cert_id) if cert_id else None
            if cert is None:
                raise KeyNotFound(
                    f"token {self.label!r}: no certificate with the id of key {key_label!r}"
                )
            certificate = x509.load_der_x509_certificate(bytes(cert[Attribute.VALUE]))
        return Pkcs11Key(self, key, certificate, key_label)

    def key(self, identity_id: str, role: Role) -> PrivateKeyHandle:
        """The key labelled `<identity>-<role>` (the labels `token init` gives)."""
        return self._handle(f"{identity_id}-{role}", None)

    def key_by_id(
        self, key_id: bytes, certificate: x509.Certificate | None = None
    ) -> PrivateKeyHandle:
        return self._handle(None, key_id, certificate)

    def key_by_uri(self, uri: str) -> PrivateKeyHandle:
        parsed = parse_uri(uri)
        if parsed.token is not None and parsed.token != self.label:
            raise KeyNotFound(f"{uri}: names token {parsed.token!r}, this is {self.label!r}")
        if parsed.type not in (None, "private"):
            raise KeyNotFound(f"{uri}: type={parsed.type} is not a private key")
        if parsed.object is None and parsed.id is None:
            raise KeyNotFound(f"{uri}: name the key with object= or id=")
        return self._handle(parsed.object, parsed.id)

    def objects(self) -> list[Any]:
        """Every object the session sees (for `token show`)."""
        return list(self.session.get_objects())
