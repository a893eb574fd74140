"""Looking certificates and CRLs up in the CPS directory over LDAP (ldap3).

What a sender asks: the certificate to encrypt to for an address. The entry
publishes the authentication, signature and encryption certificates together;
the sender keeps those whose key usage allows key encipherment, naming the
address (or no address), issued by a CA of the directory, inside their
validity and not on the CRL that CA's entry publishes, and takes the latest.
Every way this can go wrong is a LookupFailure of one kind, with a reason
naming the address and the cause, so a sender refuses clearly and never
encrypts to the wrong key.

What a receiver asks: a CA's CRL (by the issuer's name) and an unknown signer's
certificate (by issuer and serial). OpenLDAP 2.5's certificateExactMatch matched
no `userCertificate;binary` value here (tried: decimal and hex serials, both DN
spellings), so the signer lookup reads the tree's certificates once and matches
issuer and serial itself.

A connection is kept open between lookups (per process, one per server, base
and timeout), with what a product keeps between messages too: the directory's
CA certificates and each CA's CRL, until the CRL's nextUpdate and for at most
KEPT_S. A recipient's entry is searched at every lookup. A connection whose
server has gone (a slapd stopped, another on its port) is found closed before it
is taken (the server's end closed: what guards the keepings of a lookup that
makes no search, a receiver's CRLs), or fails its first search, which is made
again once on a new connection (not after a timeout); a connection a search was
interrupted on is closed, never kept.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import select
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.core.certificates import asn1_certificate, certificate_emails
from conformance.directory.tree import CA_UNIT, common_name
from conformance.directory.tree import escape_filter as escape_filter_chars
from conformance.errors import UserError

DEFAULT_PORT = 389
DEFAULT_TIMEOUT_S = 3.0
USER_CERTIFICATE = "userCertificate;binary"
CA_CERTIFICATE = "cACertificate;binary"
CRL = "certificateRevocationList;binary"

FailureKind = Literal[
    "absent",  # no entry for the address
    "no-encryption-certificate",  # the entry publishes no key-encipherment certificate
    "expired",  # every encryption certificate is outside its validity
    "revoked",  # every valid encryption certificate is on its CA's CRL
    "untrusted",  # no encryption certificate issued by a CA of the directory
    "other-address",  # every encryption certificate names other mail addresses only
    "ambiguous",  # several entries for one address
    "unreachable",  # nothing answers at the address (connection refused, no route)
    "timeout",  # the directory accepted the connection and did not answer in time
    "bad-url",  # not an ldap://HOST:PORT/BASE address
]
NO_CERTIFICATE = "no certificate for the recipient"


class LookupFailure(Exception):
    """A lookup that found no usable certificate, classified."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class Address:
    """ldap://HOST[:PORT]/BASE, parsed."""

    host: str
    port: int
    base: str

    @classmethod
    def parse(cls, url: str) -> Address:
        parts = urlsplit(url)
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            port = -1
        base = unquote(parts.path.lstrip("/"))
        if parts.scheme != "ldap" or not parts.hostname or port < 1 or not base:
            raise UserError(f"--directory {url!r}: expected ldap://HOST:PORT/BASE (RFC 4516)")
        return cls(parts.hostname, port, base)


@dataclass(frozen=True)
class Found:
    """The certificate a lookup chose, with the entry it came from and what it set aside."""

    certificate: x509.Certificate
    dn: str
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


# What cryptography raises for a value that is no readable certificate (DER, names,
# extensions, validity: it parses them lazily, so each is read once up front).
_UNREADABLE = (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


def _certificates(values: list[bytes]) -> list[x509.Certificate]:
    found = []
    for value in values:
        try:
            cert = x509.load_der_x509_certificate(value)
            _ = (cert.issuer, cert.subject, cert.extensions, cert.not_valid_after_utc)
            _ = cert.not_valid_before_utc
        except _UNREADABLE:
            continue  # an unreadable value is no candidate (counted by the caller)
        found.append(cert)
    return found


def _other_addresses(cert: x509.Certificate, mail: str) -> list[str]:
    """The addresses the certificate names when `mail` is none of them (RFC 8550 3):
    another person's key; empty when it names `mail`, or none (taken on the directory's
    word)."""
    named = certificate_emails(asn1_certificate(cert))
    return [] if mail.strip().lower() in named else sorted(named)


def _enciphers(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bool(usage.key_encipherment)


def _signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    key = ca.public_key()
    return isinstance(key, rsa.RSAPublicKey) and crl.is_signature_valid(key)


def _past_next_update(crl: x509.CertificateRevocationList) -> bool:
    """A CRL kept past its nextUpdate is fetched again (a CRL without one: kept for KEPT_S)."""
    after = crl.next_update_utc
    return after is not None and datetime.now(UTC) > after


def _describe(cert: x509.Certificate) -> str:
    return f"serial {cert.serial_number:x}, valid {cert.not_valid_before_utc:%Y-%m-%d} to " + (
        f"{cert.not_valid_after_utc:%Y-%m-%d}"
    )


# How long a connection's CA certificates and CRLs are kept (a CRL no longer than its
# nextUpdate): a directory's content may change under a long-lived process.
KEPT_S = 60.0


@dataclass
class _Session:
    """An open connection to one directory, and what was read through it that a product
    keeps between messages."""

    connection: Any  # an ldap3 Connection, bound
    opened: float = field(default_factory=time.monotonic)
    cas: list[x509.Certificate] | None = None
    crls: dict[bytes, x509.CertificateRevocationList | None] = field(default_factory=dict)

    def recent(self) -> bool:
        return time.monotonic() - self.opened < KEPT_S

    def closed_by_server(self) -> bool:
        """The server closed its end (readable with nothing asked: the EOF or a reset)."""
        sock = getattr(self.connection, "socket", None)
        if sock is None:
            return True
        try:
            poller = select.poll()  # (select.select refuses descriptors over 1023)
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):  # closed here already
            return True

    def unbind(self) -> None:
        with contextlib.suppress(Exception):  # ldap3's errors, a closed socket
            self.connection.unbind()


# The sessions not in use, by (host, port, base, timeout): taken by the next Lookup there
# (by base too: a server may hold several directories, each with its CAs and CRLs).
_Key: TypeAlias = tuple[str, int, str, float]
_IDLE: dict[_Key, _Session] = {}


def close_idle() -> None:
    """Close the idle sessions (at exit: each server sees an unbind, not a dropped
    connection)."""
    while _IDLE:
        _IDLE.popitem()[1].unbind()


atexit.register(close_idle)


def _take(key: _Key) -> _Session | None:
    """An idle session there, still open and within KEPT_S, else None."""
    session = _IDLE.pop(key, None)
    if session is not None and (not session.recent() or session.closed_by_server()):
        session.unbind()
        return None
    return session


@dataclass
class Lookup:
    """One client of one directory: connected at the first question (through a session
    kept from an earlier Lookup when there is one), given back by `close`."""

    url: str
    timeout: float = DEFAULT_TIMEOUT_S
    address: Address = field(init=False)
    _session: _Session | None = field(default=None, init=False, repr=False)
    _reused: bool = field(default=False, init=False, repr=False)  # not yet searched here
    _all: list[x509.Certificate] | None = field(default=None, init=False, repr=False)
    # What failed while the engine asked (find_certificate answers None then, as it must).
    failures: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.address = Address.parse(self.url)

    def __enter__(self) -> Lookup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _key(self) -> _Key:
        return (self.address.host, self.address.port, self.address.base, self.timeout)

    @property
    def _connection(self) -> Any:
        """The ldap3 Connection in use, None before the first question."""
        return None if self._session is None else self._session.connection

    def _resume(self) -> None:
        """Take the idle session there, if this lookup has none yet."""
        if self._session is None:
            self._session = _take(self._key)
            self._reused = self._session is not None

    def _keepings(self) -> _Session:
        """The session whose keepings (CAs, CRLs) this lookup reads; before the first
        search, when none was idle, an empty one (the search opens the connection, what
        it found is kept on that)."""
        self._resume()
        return self._session if self._session is not None else _Session(None)

    def close(self) -> None:
        """Give the connection back for the next Lookup there (one idle per server)."""
        if self._session is not None:
            earlier = _IDLE.pop(self._key, None)
            if earlier is not None:
                earlier.unbind()
            _IDLE[self._key] = self._session
            self._session = None

    def _drop(self) -> None:
        """Close a connection that failed: never given back."""
        if self._session is not None:
            self._session.unbind()
            self._session = None

    # --- the wire ---

    def _search(self, where: str, query: str, attributes: list[str]) -> list[dict[str, Any]]:
        """The entries found, read raw; LookupFailure when the directory fails. A session
        kept from an earlier Lookup whose connection fails its first search here (the
        server went: another may answer there now) is replaced and the search made again
        once; not one that timed out (a server that stopped answering: the timeout is the
        bound)."""
        self._resume()
        reused, self._reused = self._reused, False
        try:
            return self._ask(where, query, attributes)
        except LookupFailure as exc:
            if not reused or exc.kind == "timeout":
                raise
            return self._ask(where, query, attributes)  # on a new connection: _ask dropped it

    def _ask(self, where: str, query: str, attributes: list[str]) -> list[dict[str, Any]]:
        # ldap3 is imported here, at the first question: its import costs a tenth of a
        # second, which a command that never asks the directory need not pay.
        with warnings.catch_warnings():
            # ldap3 2.9 imports names pyasn1 0.6 deprecates (tagMap, typeMap): not ours to fix.
            warnings.simplefilter("ignore", DeprecationWarning)
            from ldap3 import NONE, Connection, Server
            from ldap3.core.exceptions import (
                LDAPException,
                LDAPResponseTimeoutError,
                LDAPSocketOpenError,
                LDAPSocketReceiveError,
            )

        what = self.url
        try:
            if self._session is None:
                # get_info=NONE: the answers are read raw, so the server's schema (which
                # ldap3 otherwise fetches and parses at every bind, most of a lookup's
                # time) is never needed.
                server = Server(
                    self.address.host,
                    self.address.port,
                    connect_timeout=self.timeout,
                    get_info=NONE,
                )
                connection = Connection(
                    server,
                    auto_bind=True,
                    # ldap3 packs it for SO_RCVTIMEO as a C long: whole seconds only.
                    receive_timeout=max(1, math.ceil(self.timeout)),
                    read_only=True,
                )
                self._session = _Session(connection)
            self._session.connection.search(where, query, attributes=attributes)
        except (LDAPResponseTimeoutError, LDAPSocketReceiveError) as exc:
            self._drop()
            raise LookupFailure(
                "timeout", f"the directory {what} did not answer within {self.timeout:g} s"
            ) from exc
        except LDAPSocketOpenError as exc:
            self._drop()
            raise LookupFailure("unreachable", f"the directory {what} is unreachable") from exc
        except LDAPException as exc:
            self._drop()
            raise LookupFailure(
                "unreachable", f"the directory {what} failed: {type(exc).__name__}: {exc}"
            ) from exc
        except BaseException:  # an interrupted search: its reply may still come, never reuse
            self._drop()
            raise
        return [
            {"dn": e["dn"], **e.get("raw_attributes", {})}
            for e in self._session.connection.response or []
            if e.get("type") == "searchResEntry"
        ]

    # --- people ---

    def entries(self, attribute: str, value: str) -> list[dict[str, Any]]:
        query = f"(&(objectClass=inetOrgPerson)({attribute}={escape_filter_chars(value)}))"
        return self._search(
            self.address.base, query, ["uid", "cn", "mail", "title", USER_CERTIFICATE]
        )

    def by_mail(self, mail: str) -> list[dict[str, Any]]:
        return self.entries("mail", mail.strip())

    def by_idnat(self, idnat: str) -> list[dict[str, Any]]:
        return self.entries("uid", idnat.strip())

    def encryption_certificate(self, mail: str, at: datetime | None = None) -> Found:
        """The certificate to encrypt to for `mail`, or LookupFailure saying why there is none."""
        started = time.perf_counter()
        at = at or datetime.now(UTC)
        found = self.by_mail(mail)
        if not found:
            raise LookupFailure("absent", f"{NO_CERTIFICATE}: {mail} is not in the directory")
        if len(found) > 1:
            dns = ", ".join(e["dn"] for e in found)
            raise LookupFailure(
                "ambiguous", f"{NO_CERTIFICATE}: {mail} names {len(found)} entries ({dns})"
            )
        entry = found[0]
        dn = entry["dn"]
        values = list(entry.get(USER_CERTIFICATE, []))
        published = _certificates(values)
        notes: list[str] = []
        unreadable = len(values) - len(published)
        if unreadable:
            notes.append(f"set aside {unreadable} value(s) of {USER_CERTIFICATE} not a certificate")
        candidates = [c for c in published if _enciphers(c)]
        if not candidates:
            kinds = f"{len(published)} certificate(s), none for key encipherment"
            kinds += f", {unreadable} unreadable value(s)" if unreadable else ""
            raise LookupFailure(
                "no-encryption-certificate",
                f"{NO_CERTIFICATE}: the directory publishes no encryption certificate for "
                f"{mail} ({dn}: {kinds})",
            )
        named_by = [(c, _other_addresses(c, mail)) for c in candidates]
        others = [(c, a) for c, a in named_by if a]
        named = sorted({a for _, addresses in others for a in addresses})
        notes += [
            f"set aside an encryption certificate naming other addresses ({_describe(c)})"
            for c, _ in others
        ]
        candidates = [c for c, a in named_by if not a]
        if not candidates:
            raise LookupFailure(
                "other-address",
                f"{NO_CERTIFICATE}: every encryption certificate {dn} publishes for {mail} "
                f"names another address ({', '.join(named)})",
            )
        issued = [c for c in candidates if self._issuer(c) is not None]
        if not issued:
            raise LookupFailure(
                "untrusted",
                f"{NO_CERTIFICATE}: the encryption certificate of {mail} is issued by no CA "
                "of the directory",
            )
        current = []
        for cert in issued:
            if cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
                current.append(cert)
            else:
                notes.append(
                    f"set aside an encryption certificate outside its validity ({_describe(cert)})"
                )
        if not current:
            raise LookupFailure(
                "expired",
                f"{NO_CERTIFICATE}: every encryption certificate of {mail} is outside its "
                f"validity ({'; '.join(_describe(c) for c in issued)})",
            )
        usable = []
        for cert in current:
            if self.is_revoked(cert):
                notes.append(f"set aside a revoked encryption certificate ({_describe(cert)})")
            else:
                usable.append(cert)
        if not usable:
            raise LookupFailure(
                "revoked",
                f"{NO_CERTIFICATE}: the encryption certificate of {mail} is revoked (on the "
                "CRL its CA publishes in the directory)",
            )
        chosen = max(usable, key=lambda c: c.not_valid_before_utc)
        return Found(chosen, dn, tuple(notes), round(time.perf_counter() - started, 4))

    # --- certificate authorities ---

    def ca_certificates(self) -> list[x509.Certificate]:
        session = self._keepings()
        if session.cas is None:
            entries = self._search(
                f"ou={CA_UNIT},{self.address.base}", "(objectClass=pkiCA)", [CA_CERTIFICATE]
            )
            cas = [c for e in entries for c in _certificates(list(e.get(CA_CERTIFICATE, [])))]
            self._keepings().cas = cas  # the session the search ended on (replaced if it failed)
            return cas
        return session.cas

    def _issuer(self, cert: x509.Certificate) -> x509.Certificate | None:
        for ca in self.ca_certificates():
            if ca.subject == cert.issuer:
                try:
                    cert.verify_directly_issued_by(ca)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return ca
        return None

    def crl(self, issuer: x509.Name) -> x509.CertificateRevocationList | None:
        """The CRL of `issuer`, from its CA entry (found by common name), signature checked."""
        key = issuer.public_bytes()
        crls = self._keepings().crls
        crl = crls.get(key)
        if key not in crls or (crl is not None and _past_next_update(crl)):
            query = f"(&(objectClass=pkiCA)(cn={escape_filter_chars(common_name(issuer))}))"
            entries = self._search(
                f"ou={CA_UNIT},{self.address.base}", query, [CA_CERTIFICATE, CRL]
            )
            found = None
            for entry in entries:
                cas = [
                    c
                    for c in _certificates(list(entry.get(CA_CERTIFICATE, [])))
                    if c.subject == issuer
                ]
                for value in entry.get(CRL, []):
                    try:
                        candidate = x509.load_der_x509_crl(value)
                    except ValueError:
                        continue
                    if candidate.issuer == issuer and any(_signed_by(candidate, ca) for ca in cas):
                        found = candidate
            self._keepings().crls[key] = found
            return found
        return crl

    def all_crls(self) -> list[x509.CertificateRevocationList]:
        """The CRL of every CA of the directory (what a receiver checks a signer against)."""
        found = [self.crl(ca.subject) for ca in self.ca_certificates()]
        return [crl for crl in found if crl is not None]

    def is_revoked(self, cert: x509.Certificate) -> bool:
        crl = self.crl(cert.issuer)
        return (
            crl is not None
            and crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
        )

    # --- what a receiver asks (conformance.smime.cms_read.CertificateDirectory) ---

    def find_certificate(self, issuer: x509.Name, serial: int) -> x509.Certificate | None:
        if self._all is None:
            try:
                entries = self._search(
                    self.address.base, "(objectClass=inetOrgPerson)", [USER_CERTIFICATE]
                )
            except LookupFailure as exc:
                self.failures.append(f"{exc.kind}: {exc.reason}")
                return None
            self._all = [
                c for e in entries for c in _certificates(list(e.get(USER_CERTIFICATE, [])))
            ]
        return next(
            (c for c in self._all if c.issuer == issuer and c.serial_number == serial), None
        )

    def find_by_ski(self, ski: bytes) -> x509.Certificate | None:
        """The directory is not searched by key identifier (no attribute holds it)."""
        del ski
        return None
