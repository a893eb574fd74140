"""The test PKI as the rest of the project sees it: identities, CAs, CRLs.

Everything is read from a directory in the export layout of docs/design.md
(vectors/pki/ itself is one), so a vendor's exported copy, a subset, or a
freshly built PKI load the same way. Files are parsed lazily and cached by
path and modification time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance import json_files, pem_files
from conformance.core.vocabulary import ROLES, Party, Role
from conformance.errors import UserError
from conformance.paths import PKI_DIR

IDENTITY_FILE = "identity.json"
MANIFEST_FILE = "pki.json"
# The TLS certificate of the suite's own mail servers (then its issuer) and its key.
SERVER_CERT_FILE = "servers/localhost.pem"
SERVER_KEY_FILE = "servers/localhost.key.pem"


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"unknown certificate role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def read_certificates(path: Path) -> tuple[x509.Certificate, ...]:
    """All certificates of a PEM file (cached); UserError naming the file if bad."""
    return pem_files.certificates(path)


def read_certificate(path: Path) -> x509.Certificate:
    """The first certificate of a PEM file."""
    return pem_files.certificate(path)


def read_private_key(path: Path) -> rsa.RSAPrivateKey:
    # The full RSA key check costs ~0.1 s a key; the PKI tests run it on every committed
    # key, so loading skips it.
    return pem_files.private_key(path, validate=False)


def read_crl(path: Path) -> x509.CertificateRevocationList:
    return pem_files.crl(path)


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path}: missing")
    return json_files.load_object(path)


def _string(data: dict[str, Any], key: str, path: Path, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise UserError(f"{path}: field {key!r} must be a non-empty string")
    return value


def _files(data: dict[str, Any], key: str, suffix: str, path: Path) -> tuple[tuple[Role, str], ...]:
    value = data.get(key, {role: f"{role}{suffix}" for role in ROLES})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v and "/" not in v for k, v in value.items()
    ):
        raise UserError(f"{path}: field {key!r} must map roles to file names")
    unknown = sorted(set(value) - set(ROLES))
    if unknown:
        raise UserError(f"{path}: field {key!r}: unknown role(s) {', '.join(unknown)}")
    return tuple((check_role(role), name) for role, name in value.items())


@dataclass(frozen=True)
class Identity:
    """A test professional: names, idNat, address, and the files of its three certificates."""

    id: str
    given_name: str
    surname: str
    name: str
    profession: str
    idnat: str
    email: str
    defect: str | None
    directory: Path
    certificate_files: tuple[tuple[Role, str], ...] = field(
        default=tuple((r, f"{r}.pem") for r in ROLES), compare=False, repr=False
    )
    key_files: tuple[tuple[Role, str], ...] = field(
        default=tuple((r, f"{r}.key.pem") for r in ROLES), compare=False, repr=False
    )

    @property
    def is_valid(self) -> bool:
        return self.defect is None

    def roles(self) -> tuple[Role, ...]:
        return tuple(role for role, _ in self.certificate_files)

    def certificate_path(self, role: Role) -> Path:
        names = dict(self.certificate_files)
        if role not in names:
            raise UserError(f"{self.directory}: identity {self.id} has no {role!r} certificate")
        return self.directory / names[role]

    def key_path(self, role: Role) -> Path:
        names = dict(self.key_files)
        if role not in names:
            raise UserError(f"{self.directory}: identity {self.id} has no {role!r} key file")
        return self.directory / names[role]

    def certificate(self, role: Role) -> x509.Certificate:
        return read_certificate(self.certificate_path(check_role(role)))

    def private_key(self, role: Role) -> rsa.RSAPrivateKey:
        """The software key (the PEM file); tokens hold their own copies."""
        path = self.key_path(check_role(role))
        if not path.is_file():
            raise UserError(f"{path}: missing (no software key for {self.id} {role})")
        return read_private_key(path)

    def chain(self) -> tuple[x509.Certificate, ...]:
        """The issuing CA certificates, issuer first up to the root (chain.pem)."""
        path = self.directory / "chain.pem"
        return read_certificates(path) if path.is_file() else ()

    def party(self) -> Party:
        return Party(identity_dir=self.directory, email=self.email, name=self.name)

    @classmethod
    def load(cls, directory: Path | str) -> Identity:
        """Read identity.json and check that every certificate it names is there and parses."""
        directory = Path(directory)
        if not directory.is_dir():
            raise UserError(f"{directory}: not an identity directory (no such directory)")
        path = directory / IDENTITY_FILE
        data = _load_json(path)
        defect = data.get("defect")
        if defect is not None and (not isinstance(defect, str) or not defect):
            raise UserError(f"{path}: field 'defect' must be null or a defect name")
        identity = cls(
            id=_string(data, "id", path),
            given_name=_string(data, "given_name", path, "-"),
            surname=_string(data, "surname", path, "-"),
            name=_string(data, "name", path),
            profession=_string(data, "profession", path),
            idnat=_string(data, "idnat", path),
            email=_string(data, "email", path),
            defect=defect,
            directory=directory,
            certificate_files=_files(data, "certificates", ".pem", path),
            key_files=_files(data, "keys", ".key.pem", path),
        )
        for role in identity.roles():
            cert_path = identity.certificate_path(role)
            if not cert_path.is_file():
                raise UserError(f"{cert_path}: missing ({role} certificate named by {path})")
            identity.certificate(role)
        return identity


@dataclass
class TestPKI:
    """The CAs, CRLs and identities of one PKI directory."""

    __test__: ClassVar[bool] = False  # not a pytest test class despite its name

    directory: Path
    root: x509.Certificate
    intermediate: x509.Certificate
    unknown_root: x509.Certificate
    crls: tuple[x509.CertificateRevocationList, ...]
    identities: dict[str, Identity]
    unknown_intermediate: x509.Certificate | None = None
    seed: int | None = None

    def trust_paths(self) -> tuple[Path, ...]:
        """The trust anchors (root PEM): what a receiver is told to trust."""
        return (self.directory / "ca" / "root.pem",)

    def crl_paths(self) -> tuple[Path, ...]:
        return (
            self.directory / "ca" / "root.crl.pem",
            self.directory / "ca" / "intermediate.crl.pem",
        )

    def ca_bundle_path(self) -> Path:
        """Root and intermediate in one PEM file."""
        return self.directory / "ca" / "ca-bundle.pem"

    def intermediate_path(self) -> Path:
        return self.directory / "ca" / "intermediate.pem"

    def intermediates(self) -> list[x509.Certificate]:
        return [self.intermediate]

    def intermediate_key(self) -> rsa.RSAPrivateKey:
        """The intermediate CA's key (test keys, shipped): what the suite signs certificates
        and CRLs with when it makes one the PKI has not (a directory fault, a hostile case)."""
        return read_private_key(self.directory / "ca-keys" / "intermediate.key.pem")

    def root_key(self) -> rsa.RSAPrivateKey:
        """The root CA's key (test keys, shipped): what a hostile case signs a CA the root
        never issued with."""
        return read_private_key(self.directory / "ca-keys" / "root.key.pem")

    def server_certificate_path(self) -> Path:
        """The suite's mail servers' TLS certificate then its issuer (`server-localhost`)."""
        return self.directory / SERVER_CERT_FILE

    def server_key_path(self) -> Path:
        return self.directory / SERVER_KEY_FILE

    def identity(self, identity_id: str) -> Identity:
        try:
            return self.identities[identity_id]
        except KeyError:
            raise UserError(
                f"{self.directory}: no identity {identity_id!r} "
                f"(known: {', '.join(sorted(self.identities))})"
            ) from None

    def valid_identities(self) -> list[Identity]:
        return [i for _, i in sorted(self.identities.items()) if i.defect is None]

    def defective_identities(self) -> list[Identity]:
        return [i for _, i in sorted(self.identities.items()) if i.defect is not None]

    def defective(self, name: str) -> Identity:
        """The identity with defect `name` ("revoked" or "defect-revoked")."""
        wanted = name.removeprefix("defect-")
        for identity in self.defective_identities():
            if identity.defect == wanted:
                return identity
        known = ", ".join(str(i.defect) for i in self.defective_identities())
        raise UserError(f"{self.directory}: no identity with defect {name!r} (known: {known})")


def _ca(directory: Path, name: str) -> x509.Certificate:
    path = directory / name
    if not path.is_file():
        raise UserError(f"{path}: missing (run `osm-conformance pki init`?)")
    return read_certificate(path)


def _read_pki(directory: Path) -> TestPKI:
    if not directory.is_dir():
        raise UserError(f"{directory}: no test PKI here (run `osm-conformance pki init`)")
    manifest_path = directory / MANIFEST_FILE
    seed = None
    if manifest_path.is_file():
        raw_seed = _load_json(manifest_path).get("seed")
        seed = raw_seed if isinstance(raw_seed, int) else None
    crls = tuple(
        read_crl(directory / "ca" / name)
        for name in ("root.crl.pem", "intermediate.crl.pem")
        if (directory / "ca" / name).is_file()
    )
    identities: dict[str, Identity] = {}
    identities_dir = directory / "identities"
    if identities_dir.is_dir():
        for sub in sorted(identities_dir.iterdir()):
            if not (sub / IDENTITY_FILE).is_file():
                continue
            identity = Identity.load(sub)
            if identity.id != sub.name:
                raise UserError(
                    f"{sub / IDENTITY_FILE}: id {identity.id!r} differs from its directory name"
                )
            identities[identity.id] = identity
    unknown_intermediate_path = directory / "ca-unknown" / "intermediate.pem"
    return TestPKI(
        directory=directory,
        root=_ca(directory, "ca/root.pem"),
        intermediate=_ca(directory, "ca/intermediate.pem"),
        unknown_root=_ca(directory, "ca-unknown/root.pem"),
        crls=crls,
        identities=identities,
        unknown_intermediate=(
            read_certificate(unknown_intermediate_path)
            if unknown_intermediate_path.is_file()
            else None
        ),
        seed=seed,
    )


_CACHE: dict[tuple[Path, int], TestPKI] = {}


def load_pki(directory: Path | str = PKI_DIR) -> TestPKI:
    """The PKI in `directory` (default vectors/pki), cached per process until it is rebuilt."""
    resolved = Path(directory).resolve()
    manifest = resolved / MANIFEST_FILE
    version = manifest.stat().st_mtime_ns if manifest.is_file() else 0
    key = (resolved, version)
    if key not in _CACHE:
        _CACHE[key] = _read_pki(resolved)
    return _CACHE[key]
