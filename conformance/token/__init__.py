"""The CPS card: private keys behind PKCS#11 (SoftHSM2 by default) or in software.

`open_key` gives the engine one key from an identity directory or a PKCS#11
URI; `default_token` gives a whole token for the test PKI. Set
OSM_CONFORMANCE_TOKEN=software to force in-memory keys, =softhsm to require
SoftHSM (an error if it is missing).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.core.vocabulary import Role
from conformance.errors import UserError
from conformance.token.base import (
    KeyNotFound,
    PrivateKeyHandle,
    Token,
    TokenError,
    UnsupportedMechanism,
    subject_key_identifier,
)
from conformance.token.files import (
    check_identity_dir,
    check_role,
    identity_id,
    key_roles,
    load_certificate,
    load_private_key,
)
from conformance.token.software import SoftwareKey, SoftwareToken

if TYPE_CHECKING:
    from conformance.pki.model import TestPKI

__all__ = [
    "KeyNotFound",
    "PrivateKeyHandle",
    "Token",
    "TokenError",
    "UnsupportedMechanism",
    "default_token",
    "open_key",
    "open_uri",
    "token_kind",
]

TOKEN_ENV = "OSM_CONFORMANCE_TOKEN"
_warned: list[bool] = []


def token_kind() -> str:
    """The kind of token, softhsm or software, that `open_key` and `default_token` will use."""
    from conformance.token import softhsm

    wanted = os.environ.get(TOKEN_ENV, "").strip().lower()
    if wanted == "software":
        return "software"
    if wanted == "softhsm":
        softhsm.require()
        return "softhsm"
    if wanted:
        raise UserError(
            f"{TOKEN_ENV}={wanted!r}: expected 'softhsm' or 'software'",
            code="token-kind",
            values=(("variable", TOKEN_ENV), ("value", wanted)),
        )
    if softhsm.available():
        return "softhsm"
    if not _warned:
        _warned.append(True)
        print(
            "osm-conformance: warning: SoftHSM2 is not installed (Debian package softhsm2); "
            "private keys are kept in software instead of on a PKCS#11 token",
            file=sys.stderr,
        )
    return "software"


def _read_pin_source(source: str) -> str:
    path = Path(source.removeprefix("file:"))
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UserError(f"PKCS#11 URI pin-source {source!r}: cannot read: {exc}") from None


def open_uri(uri: str) -> PrivateKeyHandle:
    """The key a `pkcs11:` URI names, in its module-path (SoftHSM2 when absent)."""
    from conformance.token import pkcs11 as p11
    from conformance.token import softhsm
    from conformance.token.uri import parse_uri

    parsed = parse_uri(uri)
    pin = parsed.pin_value
    source = parsed.other_query.get("pin-source")
    if pin is None and source is not None:
        pin = _read_pin_source(source.decode("utf-8", "replace"))
    module = Path(parsed.module_path) if parsed.module_path else softhsm.module_path()
    token = p11.Pkcs11Token(module, parsed.token, pin)
    return token.key_by_uri(uri)


def _siblings(directory: Path) -> list[Path]:
    """All identities of the export an identity directory belongs to, so one
    template token serves every identity of that PKI."""
    parent = directory.parent
    if parent.name != "identities":
        return [directory]
    found = [d for d in sorted(parent.iterdir()) if d.is_dir() and key_roles(d)]
    return found if directory in found else [directory, *found]


def open_key(identity_dir_or_uri: str | Path, role: Role) -> PrivateKeyHandle:
    """One private key: from a PKCS#11 URI, or an identity directory's key put on
    this process's SoftHSM token (in software when SoftHSM is absent or not wanted)."""
    if isinstance(identity_dir_or_uri, str) and identity_dir_or_uri.lower().startswith("pkcs11:"):
        return open_uri(identity_dir_or_uri)
    role = check_role(role)
    kind = token_kind()
    directory = check_identity_dir(Path(identity_dir_or_uri).resolve())
    certificate = load_certificate(directory, role)
    if kind == "software":
        return SoftwareKey(
            load_private_key(directory, role), certificate, f"{identity_id(directory)}-{role}"
        )
    from conformance.token import softhsm

    setup = softhsm.provision([directory] if softhsm.holds(directory) else _siblings(directory))
    token = setup.token()
    return token.key_by_id(subject_key_identifier(certificate), certificate)


def default_token(pki: TestPKI) -> Token:
    """The test PKI's keys on SoftHSM when it is installed, else in software."""
    if token_kind() == "software":
        return SoftwareToken(pki)
    from conformance.token import softhsm

    directories = [identity.directory for identity in pki.identities.values()]
    return softhsm.provision(directories).token()
