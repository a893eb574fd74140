"""Everything the rules look at, computed once per message: the tree, the layers,
the certificates and the policy."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509

from conformance import pem_files
from conformance.check.i18n import token_error_text
from conformance.check.layers import CmsLayer, LayerReader, SignerFacts, matches
from conformance.check.policy import Policy
from conformance.check.tree import Node, parse_message
from conformance.core import certificates
from conformance.core.bilingual import Bilingual
from conformance.errors import UserError
from conformance.token.base import PrivateKeyHandle
from conformance.token.files import intermediates

T = TypeVar("T")


def _stamp(path: Path) -> tuple[str, int]:
    """Cache key of a file: its resolved path and modification time (0 when absent)."""
    resolved = path.resolve()
    try:
        return str(resolved), resolved.stat().st_mtime_ns
    except OSError:
        return str(resolved), 0


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return certificates.asn1_certificate(cert)  # the one cached parse of its DER


def _common_name(name: x509.Name) -> str:
    """A certificate name as a person reads it: its common name, else the whole name."""
    common = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string()


@dataclass(frozen=True)
class TrustFiles:
    """The trust anchors and CRLs a check was given, each named, for the report."""

    anchors: tuple[tuple[str, str], ...] = ()  # (file, subject)
    crls: tuple[tuple[str, str, str | None], ...] = ()  # (file, issuer, next update)


@functools.lru_cache(maxsize=64)
def _trust_files(
    anchors: tuple[pem_files.FileVersion, ...], crls: tuple[pem_files.FileVersion, ...]
) -> TrustFiles:
    """Named once per version of the files: the matrix checks every message with the same."""
    named_crls = []
    for at in crls:
        crl = pem_files.crl(at.path)
        update = crl.next_update_utc
        named_crls.append(
            (at.path, _common_name(crl.issuer), None if update is None else f"{update:%Y-%m-%d}")
        )
    return TrustFiles(
        tuple(
            (at.path, _common_name(c.subject))
            for at in anchors
            for c in pem_files.certificates(at.path)
        ),
        tuple(named_crls),
    )


def trust_files(trust: Sequence[Path], crls: Sequence[Path]) -> TrustFiles:
    return _trust_files(
        tuple(pem_files.version(p) for p in trust), tuple(pem_files.version(p) for p in crls)
    )


@dataclass
class SignerEntry:
    """A signer of some layer, with the part its findings are reported on."""

    layer: CmsLayer
    signer: SignerFacts

    @property
    def part(self) -> str:
        return self.layer.part.path


@dataclass
class RecipientCertificate:
    """A certificate a RecipientInfo names, when it is known (identity, message, directory)."""

    part: str
    certificate: asn1_x509.Certificate


@dataclass
class Context:
    message: bytes
    root: Node
    policy: Policy
    trust: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList]
    identity_certificates: list[asn1_x509.Certificate]  # all roles of --identity
    identity_chain: list[asn1_x509.Certificate]  # the CAs of --identity's chain.pem
    intended: asn1_x509.Certificate | None  # the recipient's encryption certificate
    intended_source: Bilingual  # where `intended` came from, for messages
    identity_given: bool
    expected_sender: str | None
    expected_recipient: str | None
    trust_files: TrustFiles = TrustFiles()
    layers: list[CmsLayer] = field(default_factory=list)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _memo: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute once per message what several rules need (certificate lists, ...)."""
        if key not in self._memo:
            self._memo[key] = compute()
        value: T = self._memo[key]
        return value

    @property
    def nodes(self) -> list[Node]:
        return self.root.walk()

    def signers(self) -> list[SignerEntry]:
        return [
            SignerEntry(layer, signer)
            for layer in self.layers
            if layer.signed is not None
            for signer in layer.signed.signers
        ]

    def message_certificates(self) -> list[asn1_x509.Certificate]:
        found: list[asn1_x509.Certificate] = []
        for layer in self.layers:
            if layer.signed is not None:
                found.extend(layer.signed.certificates)
        return found

    def recipient_certificates(self) -> list[RecipientCertificate]:
        """Certificates named by RecipientInfos that we can resolve."""
        pool = [*self.identity_certificates, *self.message_certificates()]
        if self.intended is not None:
            pool.append(self.intended)
        found: list[RecipientCertificate] = []
        seen: set[bytes] = set()
        for layer in self.layers:
            if layer.envelope is None:
                continue
            for recipient in layer.envelope.recipients:
                if recipient.rid_value is None:
                    continue
                for cert in pool:
                    if matches(recipient.rid_value, cert) and cert.dump() not in seen:
                        seen.add(cert.dump())
                        found.append(RecipientCertificate(layer.part.path, cert))
                        break
        return found


def _intended(
    identity_dir: Path | None, expected_recipient: str | None
) -> tuple[asn1_x509.Certificate | None, Bilingual, list[asn1_x509.Certificate]]:
    from conformance.token.files import check_identity_dir, load_certificate

    identity_certs: list[asn1_x509.Certificate] = []
    encrypt: asn1_x509.Certificate | None = None
    if identity_dir is not None:
        directory = check_identity_dir(Path(identity_dir))
        for role in ("encrypt", "sign", "auth"):
            try:
                cert = to_asn1(load_certificate(directory, role))  # type: ignore[arg-type]
            except UserError:
                continue
            identity_certs.append(cert)
            if role == "encrypt":
                encrypt = cert
        if encrypt is not None:
            source = Bilingual(
                f"le certificat de chiffrement de {directory.name}",
                f"the encryption certificate of {directory.name}",
            )
            return encrypt, source, identity_certs
    if expected_recipient:
        try:
            from conformance.pki.directory import Directory
            from conformance.pki.model import load_pki

            cert = Directory(load_pki()).encryption_certificate(expected_recipient)
        except (UserError, OSError, ValueError):
            cert = None
        if cert is not None:
            source = Bilingual(
                f"le certificat de {expected_recipient} dans la PKI de test",
                f"the test PKI's certificate of {expected_recipient}",
            )
            return to_asn1(cert), source, []
    return None, Bilingual.same(""), identity_certs


def _open_key(identity_dir: Path | None) -> tuple[PrivateKeyHandle | None, Bilingual | None]:
    if identity_dir is None:
        return None, None
    from conformance.token import token_kind

    directory = Path(identity_dir)
    try:
        kind = token_kind()
    except UserError as exc:  # `check --identity` refuses it first (exit 2); other callers
        return None, Bilingual(f"aucun jeton utilisable : {token_error_text(exc).fr}", str(exc))
    return _cached_key(_stamp(directory), _stamp(directory / "encrypt.key.pem")[1], kind)


@functools.lru_cache(maxsize=64)
def _cached_key(
    directory: tuple[str, int], key_mtime: int, kind: str
) -> tuple[PrivateKeyHandle | None, Bilingual | None]:
    """The identity's encryption key, opened once per process (loading validates the RSA key:
    tens of milliseconds, more than all the rules together)."""
    from conformance.token import open_key

    try:
        return open_key(Path(directory[0]), "encrypt"), None
    except Exception as exc:  # token errors, missing key file: the finding is "cannot decrypt"
        return None, Bilingual(
            f"impossible d'ouvrir la clé de chiffrement de {directory[0]} : "
            f"{token_error_text(exc).fr}",
            f"cannot open the encryption key of {directory[0]}: {exc}",
        )


def _software_key(directory: Path) -> PrivateKeyHandle | None:
    from conformance.token import token_kind

    if token_kind() == "software":
        return None  # the key already is the software key: nothing else to try
    return _cached_software_key(_stamp(directory))


@functools.lru_cache(maxsize=64)
def _cached_software_key(directory: tuple[str, int]) -> PrivateKeyHandle | None:
    from conformance.token.files import load_certificate, load_private_key
    from conformance.token.software import SoftwareKey

    path = Path(directory[0])
    try:
        return SoftwareKey(
            load_private_key(path, "encrypt"), load_certificate(path, "encrypt"), path.name
        )
    except UserError:
        return None


def build_context(
    message: bytes,
    *,
    policy: Policy,
    identity_dir: Path | None,
    trust: Sequence[Path],
    crls: Sequence[Path],
    expected_sender: str | None,
    expected_recipient: str | None,
) -> Context:
    """Parse and read the message. UserError only for bad trust, CRL or identity files."""
    trust_certs = [c for p in trust for c in pem_files.certificates(p)]
    crl_list = [pem_files.crl(p) for p in crls]
    intended, source, identity_certs = _intended(identity_dir, expected_recipient)
    # The recipient's own copy of its issuers, as the receiver has (agents.profiled): the CRL
    # of the CA that issued its certificate is verified with it when the message carries none.
    chain = [] if identity_dir is None else intermediates(Path(identity_dir))
    root = parse_message(message)
    context = Context(
        message=message,
        root=root,
        policy=policy,
        trust=trust_certs,
        crls=crl_list,
        identity_certificates=identity_certs,
        identity_chain=[to_asn1(c) for c in chain],
        intended=intended,
        intended_source=source,
        identity_given=identity_dir is not None,
        expected_sender=expected_sender,
        expected_recipient=expected_recipient,
        trust_files=trust_files(trust, crls),
    )
    key, key_error = _open_key(identity_dir)
    reader = LayerReader(key, key_error, [to_asn1(c) for c in trust_certs])
    reader.parts[0] = len(root.walk())  # one MAX_PARTS for the message and its CMS contents
    if identity_dir is not None:
        reader.fallback = functools.partial(_software_key, Path(identity_dir))
    reader.read(root)
    context.layers = reader.layers
    return context
