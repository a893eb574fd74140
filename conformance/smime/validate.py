"""Signer certificate validation: the path by pyhanko-certvalidator, then S/MIME usage.

pyhanko-certvalidator builds and validates the path (signatures, validity at
the given time, the CRLs given and no fetching, weak algorithms). Its paths
are wrapped in `_AnchorPath` so that a CRL signed by the trust anchor itself
is taken when that anchor is not self-signed (an intermediate given as
anchor: see the class); an anchor certified by another given anchor is first
taken as an intermediate, so that the root's CRL is asked about it
(`_validate`). The S/MIME usage rules of RFC 8550 4.4 are checked
here on the end-entity certificate, because they are either-or rules that
pyhanko's `validate_usage` cannot express: key usage, when present, must allow
digitalSignature or nonRepudiation; extended key usage, when present, must
hold emailProtection or anyExtendedKeyUsage. Results are cached in-process
per (certificate, intermediates, anchors, CRLs, time, policy).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import threading
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeAlias, TypeVar

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator import ValidationContext, find_valid_path
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import DisallowWeakAlgorithmsPolicy
from pyhanko_certvalidator.util import CancelableAsyncIterator

from conformance.core import certificates, oids
from conformance.core.bilingual import Facts
from conformance.core.cms import PARSE_ERRORS
from conformance.smime import library_log
from conformance.status import ErrorCode

__all__ = [
    "MAX_PATHS",
    "ChainReason",
    "ChainResult",
    "clear_cache",
    "key_allows_non_repudiation",
    "validate_signer",
]

_EMAIL_PROTECTION = oids.EMAIL_PROTECTION
_ANY_EKU = oids.ANY_EXTENDED_KEY_USAGE
_CACHE_SIZE = 4096
_NO_TOLERANCE = timedelta(0)
_cache: OrderedDict[tuple[Any, ...], ChainResult] = OrderedDict()
_lock = threading.Lock()

Cert: TypeAlias = "x509.Certificate | asn1_x509.Certificate"
T = TypeVar("T")


# The path search is bounded (a message can carry many CA certificates of the same
# names, and every combination would be a path to try): at most MAX_CANDIDATES
# same-name certificates are weighed as the issuer of one certificate, at most
# MAX_ISSUERS of those kept, and at most MAX_PATHS paths validated in all.
MAX_CANDIDATES = 32
MAX_ISSUERS = 4
MAX_PATHS = 16


# Why a path is valid or not, for a caller wording `ChainResult.message` in another language
# (the validator's French report): "invalid" is another refusal of pyhanko's, said by `detail`.
ChainReason = Literal[
    "valid",
    "no-trust",
    "revoked",
    "expired",
    "not-yet-valid",
    "unknown-issuer",
    "revocation-unknown",
    "weak-algorithm",
    "invalid",
    "bound",
    "cannot-validate",
    "weak-key",
    "key-usage",
    "extended-key-usage",
]


@dataclass(frozen=True)
class ChainResult:
    """`code` is None when the chain is valid; otherwise UNTRUSTED_SIGNER or REVOKED_SIGNER.

    `paths_tried` counts the candidate paths pyhanko validated (at most MAX_PATHS).
    `message` says it in English; `reason`, `subject`, `detail` (the path validator's or the
    parser's own words), `values` (the facts `message` names: a weak key's algorithm, bits
    and minimum) and `builder_log` (the path builder's own log lines) are the same facts for
    a caller that words them in another language; not compared.
    """

    valid: bool
    code: ErrorCode | None
    message: str
    paths_tried: int = 0
    reason: ChainReason = field(
        kw_only=True, compare=False
    )  # no default: never "valid" by omission
    subject: str = field(default="", compare=False)
    detail: str = field(default="", compare=False)
    values: Facts = field(default=(), compare=False)
    builder_log: str = field(default="", compare=False)


class PathBoundReached(Exception):
    """MAX_PATHS candidate paths were validated and none was valid."""


@dataclass
class _Search:
    """The paths tried so far, over both passes of `_validate`."""

    tried: int = 0


@dataclass(frozen=True)
class _Job:
    """What every path validation of one signer shares (both passes of `_validate`)."""

    cert: asn1_x509.Certificate
    subject: str
    crl_ders: list[bytes]
    moment: datetime
    check_revocation: bool
    policy: DisallowWeakAlgorithmsPolicy
    search: _Search
    tolerance: timedelta


def _asn1(cert: Cert) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    return certificates.asn1_certificate(cert)


def _fingerprints(items: Iterable[bytes]) -> frozenset[bytes]:
    return frozenset(certificates.fingerprint(d) for d in items)


def key_allows_non_repudiation(cert: Cert) -> bool:
    """True when the key usage extension has nonRepudiation (contentCommitment)."""
    usage = _asn1(cert).key_usage_value
    return usage is not None and "non_repudiation" in usage.native


def _usage_problem(cert: asn1_x509.Certificate) -> tuple[ChainReason, str] | None:
    usage = cert.key_usage_value
    if usage is not None and not {"digital_signature", "non_repudiation"} & set(usage.native):
        return (
            "key-usage",
            "key usage allows neither digitalSignature nor nonRepudiation (RFC 8550 4.4.2)",
        )
    eku = cert.extended_key_usage_value
    if eku is not None:
        purposes = {p.dotted for p in eku}
        if not {_EMAIL_PROTECTION, _ANY_EKU} & purposes:
            return "extended-key-usage", "extended key usage lacks emailProtection (RFC 8550 4.4.4)"
    return None


def _weak_key(
    cert: asn1_x509.Certificate, policy: DisallowWeakAlgorithmsPolicy
) -> tuple[str, Facts] | None:
    """The signer's own key size (pyhanko checks only the keys that sign certificates): the
    problem, and its algorithm, bits and the policy's minimum."""
    try:
        algorithm = cert.public_key.algorithm
        bits = cert.public_key.bit_size
    except (ValueError, TypeError, KeyError, AttributeError, UnboundLocalError):
        # DSA parameters inherited from the issuer (sized by its chain), or a key
        # algorithm asn1crypto does not know (the old GIP-CPS RSA OID).
        return None
    minimum = {"rsa": policy.rsa_key_size_threshold, "dsa": policy.dsa_key_size_threshold}
    if algorithm in minimum and bits < minimum[algorithm]:
        name, floor = algorithm.upper(), minimum[algorithm]
        values = (("algorithm", name), ("bits", bits), ("minimum", floor))
        return f"weak key: {name} {bits} bits, policy requires {floor}", values
    return None


class _AnchorPath(ValidationPath):  # type: ignore[misc]
    """A pyhanko path that knows its trust anchor may sign the CRL it is checked against.

    RFC 5280 6.1.1 (d): a trust anchor is a name and a key, self-signed or
    not; an intermediate CA given as anchor signs the CRL of the certificates
    under it, and the path to that CRL's issuer (6.3.3 (f)) is the anchor alone.
    pyhanko 0.33 finds the CRL issuer's path with `truncate_to_issuer_and_append`,
    which takes the anchor's own certificate for the CRL issuer only when it is
    self-signed: for any other anchor it finds no path and answers "the chain
    of trust for the CRL issuer ... could not be determined", so that trusting
    the intermediate as well as the root turned every valid signature into an
    untrusted one, and a revoked one into "revocation unknown" (pyHanko issue
    417 reports the symptom). Here a CRL issuer with the anchor's name and key
    is the anchor; everything else is pyhanko's (the CRL's signature, dates,
    scope and entries are still checked by it).
    """

    def truncate_to_issuer_and_append(self, cert: asn1_x509.Certificate) -> ValidationPath:
        authority = self.trust_anchor.authority
        if (
            isinstance(authority, AuthorityWithCert)
            and cert.subject == authority.name
            and cert.public_key.dump() == authority.public_key.dump()
        ):
            return ValidationPath(self.trust_anchor, interm=[], leaf=None)
        return super().truncate_to_issuer_and_append(cert)  # type: ignore[no-any-return]


class _AnchorPaths(CancelableAsyncIterator[ValidationPath]):  # type: ignore[misc]
    """pyhanko's candidate paths, each handed on as an `_AnchorPath`, MAX_PATHS at most.

    pyhanko's `find_valid_path` validates every path its builder emits until one
    is valid, and offers no limit of its own: this iterator is where they are counted.
    """

    def __init__(self, paths: CancelableAsyncIterator[ValidationPath], search: _Search) -> None:
        self._paths = paths
        self._search = search

    def __aiter__(self) -> _AnchorPaths:
        return self

    async def __anext__(self) -> ValidationPath:
        path = await self._paths.__anext__()
        if self._search.tried >= MAX_PATHS:
            raise PathBoundReached
        self._search.tried += 1
        leaf = path.leaf
        if path.pkix_len == 0 or not isinstance(leaf, asn1_x509.Certificate):
            return path  # the certificate is itself an anchor: nothing below it to revoke
        certs = list(path.iter_certs(include_root=False))
        return _AnchorPath(path.trust_anchor, certs[:-1], leaf)

    async def cancel(self) -> None:
        await self._paths.cancel()  # type: ignore[no-untyped-call]


def _subject(cert: asn1_x509.Certificate) -> str:
    return str(cert.subject.human_friendly)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, or in a worker thread when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # The caller's context goes along: library warnings are gathered in it.
        return pool.submit(contextvars.copy_context().run, asyncio.run, coroutine).result()


def _describe(exc: Exception, subject: str) -> ChainResult:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, RevokedError):
        message = f"signer {subject}: revoked: {text}"
        code = ErrorCode.REVOKED_SIGNER
        return ChainResult(False, code, message, reason="revoked", subject=subject, detail=text)
    kind: ChainReason
    if isinstance(exc, ExpiredError):
        kind, reason = "expired", f"expired: {text}"
    elif isinstance(exc, NotYetValidError):
        kind, reason = "not-yet-valid", f"not yet valid: {text}"
    elif isinstance(exc, PathBuildingError):
        kind, reason = "unknown-issuer", f"unknown issuer: no path to a trust anchor ({text})"
    elif isinstance(exc, InsufficientRevinfoError):
        kind, reason = "revocation-unknown", f"revocation status unknown: {text}"
    elif isinstance(exc, DisallowedAlgorithmError):
        kind, reason = "weak-algorithm", f"weak or refused algorithm in the chain: {text}"
    else:
        kind, reason = "invalid", text
    message = f"signer {subject}: {reason}"
    code = ErrorCode.UNTRUSTED_SIGNER
    return ChainResult(False, code, message, reason=kind, subject=subject, detail=text)


def validate_signer(
    certificate: Cert,
    *,
    trust: Sequence[Cert],
    intermediates: Sequence[Cert] = (),
    crls: Sequence[x509.CertificateRevocationList] = (),
    moment: datetime | None = None,
    check_revocation: bool = True,
    weak_digests: frozenset[str] = frozenset({"md2", "md5", "sha1"}),
    min_rsa_bits: int = 2048,
    min_dsa_bits: int = 2048,
    check_validity: bool = True,
    check_key_usage: bool = True,
) -> ChainResult:
    """Validate a signer certificate's path to `trust` and its S/MIME usage.

    `moment` defaults to now (then cached per minute). `weak_digests` are the
    hash names refused in certificate and CRL signatures (pyhanko names);
    signatures by RSA or DSA keys shorter than the given sizes are refused.
    A receiver that does not check validity (`check_validity` false) has the
    path validated with a time tolerance that reaches the signer's validity
    period, so that everything else (chain, revocation, algorithms) is still
    checked; one that does not check key usage skips the RFC 8550 4.4 usage rules.
    """
    cert = _asn1(certificate)
    if not trust:
        return ChainResult(
            False,
            ErrorCode.UNTRUSTED_SIGNER,
            f"signer {_subject(cert)}: no trust anchors given",
            reason="no-trust",
            subject=_subject(cert),
        )
    if moment is None:
        moment = datetime.now(UTC).replace(second=0, microsecond=0)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    tolerance = _outside_by(cert, moment) if not check_validity else _NO_TOLERANCE
    anchors = [_asn1(c) for c in trust]
    others = [_asn1(c) for c in intermediates]
    crl_ders = [certificates.crl_der(c) for c in crls]
    # The key is made of fingerprints of the exact encodings.
    key = (
        certificates.fingerprint(certificates.loaded_der(cert)),
        _fingerprints(certificates.loaded_der(c) for c in others),
        _fingerprints(certificates.loaded_der(c) for c in anchors),
        _fingerprints(crl_ders) if check_revocation else None,
        moment,
        weak_digests,
        min_rsa_bits,
        min_dsa_bits,
        check_key_usage,
        tolerance,
    )
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    subject = _subject(cert)
    policy = DisallowWeakAlgorithmsPolicy(  # type: ignore[no-untyped-call]
        weak_hash_algos=weak_digests,
        rsa_key_size_threshold=min_rsa_bits,
        dsa_key_size_threshold=min_dsa_bits,
    )
    search = _Search()
    job = _Job(cert, subject, crl_ders, moment, check_revocation, policy, search, tolerance)
    with library_log.gathered() as logged:
        result = _validate(job, anchors, others)
    result = replace(result, paths_tried=search.tried)
    if not result.valid and logged:
        said = "; ".join(dict.fromkeys(logged))
        result = replace(
            result, message=f"{result.message} (path builder: {said})", builder_log=said
        )
    if result.valid and check_key_usage:
        problem = _usage_problem(cert)
        if problem is not None:
            result = replace(
                result,
                valid=False,
                code=ErrorCode.UNTRUSTED_SIGNER,
                message=f"signer {subject}: {problem[1]}",
                reason=problem[0],
            )
    with _lock:
        _cache[key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _outside_by(cert: asn1_x509.Certificate, moment: datetime) -> timedelta:
    """How far `moment` lies outside the certificate's validity period (zero inside it)."""
    try:
        validity = cert["tbs_certificate"]["validity"]
        not_before: datetime = validity["not_before"].native
        not_after: datetime = validity["not_after"].native
    except PARSE_ERRORS:
        return _NO_TOLERANCE  # dates that do not read: pyhanko judges them
    if moment < not_before:
        return not_before - moment
    if moment > not_after:
        return moment - not_after
    return _NO_TOLERANCE


@functools.lru_cache(maxsize=4096)
def _signed_by(child_der: bytes, issuer_der: bytes) -> bool | None:
    """Whether the issuer's key verifies the child's signature; None when it cannot tell
    (a key or algorithm cryptography does not take: pyhanko then judges)."""
    try:
        # (cryptography's warning about a non-positive serial number is silenced for the
        # whole package, conformance/__init__.py: the path validation judges it)
        child = x509.load_der_x509_certificate(child_der)
        issuer = x509.load_der_x509_certificate(issuer_der)
        child.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return False
    except ValueError as exc:
        return False if "key type" in str(exc) else None
    except Exception:  # InvalidVersion and the like: pyhanko judges the certificate
        return None
    return True


def _name_key(cert: asn1_x509.Certificate, field: str) -> str | None:
    """The comparable form of a certificate's subject or issuer, as pyhanko matches
    them; None when the name does not parse (hostile input is judged, not raised)."""
    try:
        return str(cert["tbs_certificate"][field].hashable)
    except PARSE_ERRORS:
        return None


def _issuer_candidates(
    cert: asn1_x509.Certificate, others: list[asn1_x509.Certificate]
) -> list[asn1_x509.Certificate]:
    """The certificates of `others` that may stand on a path from `cert`, in their order.

    pyhanko's builder tries every combination of same-name issuers, one path
    each: k look-alike CA certificates at each of L levels are k^L paths. So
    the issuers of each certificate are weighed first, up to MAX_CANDIDATES:
    those whose key verifies its signature (or cannot be checked here) are
    kept, MAX_ISSUERS at most, and followed upwards; when none verifies, the
    first one is kept alone, so that pyhanko still names what is wrong, and
    not followed. A certificate whose key does not verify its subject's
    signature is on no valid path, so a valid chain is never lost. Certificates
    on no such path (a CRL issuer's own chain carried in the message) are not
    given to pyhanko.
    """
    by_name: dict[str, list[asn1_x509.Certificate]] = {}
    for other in others:
        subject_key = _name_key(other, "subject")
        if subject_key is not None:  # a name that does not read names no issuer
            by_name.setdefault(subject_key, []).append(other)
    rank: dict[bytes, int] = {}  # 0 verifies, 1 cannot tell, 2 kept alone though it fails
    seen: set[bytes] = set()
    todo = [cert]
    while todo:
        child = todo.pop()
        child_der = certificates.loaded_der(child)
        if child_der in seen:
            continue
        seen.add(child_der)
        named = [
            c
            for c in by_name.get(_name_key(child, "issuer") or "", [])
            if certificates.loaded_der(c) != child_der
        ][:MAX_CANDIDATES]
        weighed = [(c, _signed_by(child_der, certificates.loaded_der(c))) for c in named]
        good = [(c, 0) for c, v in weighed if v] + [(c, 1) for c, v in weighed if v is None]
        for issuer, level in good[:MAX_ISSUERS] or [(c, 2) for c in named[:1]]:
            der_ = certificates.loaded_der(issuer)
            rank[der_] = min(level, rank.get(der_, level))
            if level < 2:
                todo.append(issuer)
    # pyhanko tries issuers in the order given: those that verify first.
    kept = [c for c in others if certificates.loaded_der(c) in rank]
    return sorted(kept, key=lambda c: rank[certificates.loaded_der(c)])


def _validate(
    job: _Job, anchors: list[asn1_x509.Certificate], others: list[asn1_x509.Certificate]
) -> ChainResult:
    """The path to the given anchors; an anchor certified by another one is first taken as
    an intermediate.

    pyhanko stops at the nearest anchor: with a root and its intermediate both trusted (the
    whole IGC-Santé bundle), the root's CRL would never be asked about the intermediate.
    So the path up to the topmost anchors is tried first, as OpenSSL and NSS build it; only
    when it fails for another reason than a revocation (no CRL of the root, say) is the
    intermediate taken as the anchor it was also given as: trusting one more anchor never
    makes a valid chain fail, and a revocation the root's CRL states is never skipped.
    """
    names = {a.subject.dump() for a in anchors}
    lower = [a for a in anchors if a.issuer.dump() != a.subject.dump() and a.issuer.dump() in names]
    if job.check_revocation and lower:
        top = [a for a in anchors if all(a is not b for b in lower)]
        first = _validate_path(job, top, _issuer_candidates(job.cert, [*others, *lower]))
        if first.valid or first.code == ErrorCode.REVOKED_SIGNER or job.search.tried >= MAX_PATHS:
            return first
    return _validate_path(job, anchors, _issuer_candidates(job.cert, others))


def _validate_path(
    job: _Job, anchors: list[asn1_x509.Certificate], others: list[asn1_x509.Certificate]
) -> ChainResult:
    cert, subject, search, policy = job.cert, job.subject, job.search, job.policy
    context = ValidationContext(
        trust_roots=anchors,
        other_certs=others,
        moment=job.moment,
        allow_fetching=False,
        crls=[asn1_crl.CertificateList.load(d) for d in job.crl_ders]
        if job.check_revocation
        else [],
        # "require", not "hard-fail": pyhanko's hard-fail skips revocation for a
        # certificate without a CRL distribution point, even when a given CRL
        # revokes it (the test PKI's certificates have none). With "require",
        # every certificate under the anchor must be covered by a valid given CRL.
        revocation_mode="require" if job.check_revocation else "soft-fail",
        algorithm_usage_policy=policy,
        # pyhanko's default tolerance; more for a receiver that does not check validity.
        time_tolerance=job.tolerance + timedelta(seconds=1),
    )
    try:
        # Inside: pyhanko's path iterator reads the signer's subject in comparable form
        # as it is made (a name asn1crypto cannot prepare raised ValueError there).
        paths = _AnchorPaths(context.path_builder.async_build_paths_lazy(cert), search)
        _run(find_valid_path(cert, paths, validation_context=context))
    except PathBoundReached:
        return ChainResult(
            False,
            ErrorCode.UNTRUSTED_SIGNER,
            f"signer {subject}: path search bound reached: {search.tried} paths tried",
            reason="bound",
            subject=subject,
            values=(("tried", search.tried),),
        )
    except (ValidationError, PathBuildingError, PathValidationError) as exc:
        return _describe(exc, subject)
    except PARSE_ERRORS as exc:
        # A certificate or CRL that pyhanko cannot parse (or a name it cannot compare, RFC
        # 5280 7.1: a character unassigned in Unicode 3.2): no trust can come of it.
        return ChainResult(
            False,
            ErrorCode.UNTRUSTED_SIGNER,
            f"signer {subject}: cannot validate: {exc}",
            reason="cannot-validate",
            subject=subject,
            detail=str(exc),
        )
    weak = _weak_key(cert, policy)  # the usage rules: validate_signer, as asked
    if weak is not None:
        problem, values = weak
        return ChainResult(
            False,
            ErrorCode.UNTRUSTED_SIGNER,
            f"signer {subject}: {problem}",
            reason="weak-key",
            subject=subject,
            values=values,
        )
    return ChainResult(
        True,
        None,
        f"signer {subject}: valid chain to a trust anchor",
        reason="valid",
        subject=subject,
    )


def clear_cache() -> None:
    with _lock:
        _cache.clear()
