"""Reading an identity directory in the export layout, without the PKI package.

The token layer must work on any exported identity (a vendor's copy, a test's
throwaway one), so it reads the files itself: `<role>.pem`, `<role>.key.pem`
and, when present, `identity.json` for the identity's id and for other file
names ("certificates"/"keys": role -> file name, as conformance.pki writes).
"""

from __future__ import annotations

import functools
import stat
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance import json_files, pem_files
from conformance.cli_support import file_kind
from conformance.core.vocabulary import ROLES, Role
from conformance.errors import UserError


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise UserError(f"unknown key role {role!r}; expected one of {', '.join(ROLES)}")


def _metadata(directory: Path) -> dict[str, Any]:
    meta = directory / "identity.json"
    try:
        stamp = meta.stat()
    except OSError:
        return {}
    return _read_metadata(meta, stamp.st_mtime_ns, stamp.st_size)


@functools.lru_cache(maxsize=512)
def _read_metadata(meta: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    data = json_files.load(meta)
    return data if isinstance(data, dict) else {}


def identity_id(directory: Path) -> str:
    """The id from identity.json, else the directory's name."""
    value = _metadata(directory).get("id")
    return value if isinstance(value, str) and value else directory.name


def _file(directory: Path, field: str, role: Role, suffix: str) -> Path:
    names = _metadata(directory).get(field)
    name = names.get(role) if isinstance(names, dict) else None
    if not isinstance(name, str) or not name or "/" in name:
        name = f"{role}{suffix}"
    return directory / name


def certificate_path(directory: Path, role: Role) -> Path:
    return _file(directory, "certificates", role, ".pem")


def key_path(directory: Path, role: Role) -> Path:
    return _file(directory, "keys", role, ".key.pem")


def key_roles(directory: Path) -> list[Role]:
    """The roles for which the directory holds both a certificate and a private key."""
    return [
        role
        for role in ROLES
        if certificate_path(directory, role).is_file() and key_path(directory, role).is_file()
    ]


def load_certificate(directory: Path, role: Role) -> x509.Certificate:
    path = certificate_path(directory, role)
    if not path.exists():
        raise UserError(
            f"{path}: no {role} certificate in this identity directory",
            code="no-certificate",
            values=(("path", str(path)), ("role", role)),
        )
    return pem_files.certificate(path)


def load_private_key(directory: Path, role: Role, *, validate: bool = True) -> rsa.RSAPrivateKey:
    """The role's RSA key, once per version of its file and process (pem_files): a
    matrix worker asks for the same keys from its agents, its token and its validator.
    `validate=False` for keys only handed on to a token."""
    path = key_path(directory, role)
    if not path.exists():
        raise UserError(
            f"{path}: no {role} private key in this identity directory",
            code="no-key-file",
            values=(("path", str(path)), ("role", role)),
        )
    return pem_files.private_key(path, validate=validate)


def check_identity_dir(directory: Path) -> Path:
    """The directory, else a UserError that says whether the path is missing or is there
    but is something else (a file given for its directory is a slip, not a typo)."""
    try:
        mode = directory.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        said = "not an identity directory (no such directory)"
    except OSError as exc:
        said = f"not an identity directory (cannot read it: {exc.strerror or exc})"
    else:
        if stat.S_ISDIR(mode):
            return directory
        said = f"is {file_kind(mode)}, not an identity directory"
    raise UserError(
        f"{directory}: {said}",
        code="no-identity-dir",
        values=(("directory", str(directory)),),
    )


def intermediates(identity_dir: Path) -> list[x509.Certificate]:
    """The CA certificates that issued this identity (its chain.pem), without the
    self-signed root: the receiver and the validator complete a chain with them."""
    path = identity_dir / "chain.pem"
    if not path.exists():
        return []
    return list(_issued(pem_files.version(path)))


@functools.lru_cache(maxsize=1024)
def _issued(at: pem_files.FileVersion) -> tuple[x509.Certificate, ...]:
    # Once per version of the file: comparing two names costs cryptography a parse of each.
    return tuple(c for c in pem_files.certificates(at.path) if c.issuer != c.subject)
