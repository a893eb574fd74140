"""The profile-driven agent: the engine configured by a product's profile.

Every send and receive field and every quirk of the profile is honoured
through the engine's options; nothing here knows which product it plays.
"""

from __future__ import annotations

import io
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property, lru_cache
from typing import BinaryIO, Final, TypeVar

from cryptography import x509

from conformance import __version__
from conformance.agents import identity_files as files
from conformance.agents import recipients
from conformance.agents.base import Evidence, ReceiveRequest, Reception, SendRequest, SendResult
from conformance.apicrypt import client as apicrypt
from conformance.check.catalogue import rule_ids
from conformance.check.policy import DEFAULT_POLICY, Policy, load_policy
from conformance.core.apicrypt_mark import is_apicrypt
from conformance.core.spool import Region, Spool, SpoolTooLarge, spool_stream
from conformance.core.vocabulary import (
    Capabilities,
    Digest,
    KeyTransport,
    Party,
    Role,
    SignatureAlgorithm,
)
from conformance.directory.lookup import Lookup, LookupFailure
from conformance.errors import UserError
from conformance.functions import OPERATION
from conformance.profiles.schema import Profile
from conformance.results import suite_engine_version, summary_key
from conformance.smime.compose import ComposeError, Headers, build_message
from conformance.smime.compose_spooled import build_message_spooled
from conformance.smime.options import Limits, ReceiveOptions, SendOptions
from conformance.smime.read_errors import message_limit
from conformance.smime.receive_spooled import SpooledReading, read_message_bounded, read_spooled
from conformance.status import ErrorCode, Status
from conformance.token import PrivateKeyHandle, TokenError, UnsupportedMechanism
from conformance.token.files import intermediates
from conformance.token.software import SoftwareKey

Rng = Callable[[int], bytes]
T = TypeVar("T", bound=str)
# Per kind of algorithm a message uses (Cell.sent's kinds), the receive.smime field that
# lists what a profile reads; the policy grades the same kinds, formats excepted.
_READ_FIELDS: Final = {
    "signature_format": "formats",
    "digest": "digests",
    "signature": "signature_algorithms",
    "content_cipher": "ciphers",
    "key_transport": "key_transports",
}


def _allowed(declared: frozenset[T] | None, policy: Policy, kind: str) -> frozenset[T]:
    """What the receiver declares it reads, less what the policy refuses (an algorithm the
    policy does not list); a receiver that reads anything reads what the policy lists."""
    listed = set(policy.grades.get(kind, {}))
    if declared is None:
        return frozenset(listed)  # type: ignore[arg-type]
    return frozenset(name for name in declared if name in listed)


def under_policy(options: ReceiveOptions, policy: Policy) -> ReceiveOptions:
    """A profile receiver's options under the run's policy: it refuses what the policy
    refuses (algorithms not graded, certificate signature digests not graded, RSA keys
    under the policy's size) on top of what its profile refuses."""
    certificate = set(policy.grades.get("certificate_signature", {}))
    return replace(
        options,
        ciphers=_allowed(options.ciphers, policy, "content_cipher"),
        key_transports=_allowed(options.key_transports, policy, "key_transport"),
        digests=_allowed(options.digests, policy, "digest"),
        signature_algorithms=_allowed(options.signature_algorithms, policy, "signature"),
        refused_certificate_digests=options.refused_certificate_digests
        | frozenset({"md2", "md5", "sha1"} - certificate),
        min_rsa_bits=max(options.min_rsa_bits, policy.min_rsa_bits),
    )


def _message_id(rng: Rng, domain: str) -> str:
    return f"<{rng(12).hex()}@{domain}>"


@lru_cache(maxsize=64)  # a run gives every exchange the same date (the matrix's world)
def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


STAND_IN = "CPS-card stand-in"


class StandInKey:
    """A key on the token that stands in for a product's CPS card.

    What the stand-in refuses (SoftHSM has OAEP with SHA-1 only) is a limit of
    this harness, not of the product: the refusal names the stand-in, so no
    reason blames a 2008 product for what its profile accepts.
    """

    def __init__(self, key: PrivateKeyHandle, holder: str) -> None:
        self.key = key
        self.holder = holder
        self.label = key.label
        self.certificate = key.certificate

    def sign(self, data: bytes, digest: Digest, algorithm: SignatureAlgorithm) -> bytes:
        try:
            return self.key.sign(data, digest, algorithm)
        except UnsupportedMechanism as exc:
            raise exc.held_by(self.holder) from None

    def decrypt(self, ciphertext: bytes, key_transport: KeyTransport) -> bytes:
        try:
            return self.key.decrypt(ciphertext, key_transport)
        except UnsupportedMechanism as exc:
            raise exc.held_by(self.holder) from None


class ProfileAgent:
    """An S/MIME product (and, where its profile says, an Apicrypt-model speaker)."""

    def __init__(
        self,
        profile: Profile,
        *,
        rng: Rng = os.urandom,
        validation_time: datetime | None = None,
        limits: Limits | None = None,
        policy: str = DEFAULT_POLICY,
    ) -> None:
        self.profile = profile
        self.policy = load_policy(policy, rule_ids())
        self.id = profile.id
        self.rng = rng
        self.validation_time = validation_time
        self.limits = limits or Limits()
        self._spooled: Region | None = None  # the content of a `send_stream` under way
        self._software = profile.engine.keys == "software"

    def capabilities(self) -> Capabilities:
        return self._capabilities

    @cached_property
    def _capabilities(self) -> Capabilities:
        # Asked at every send; the profile is frozen.
        return self.profile.capabilities()

    def version(self) -> str:
        return suite_engine_version(__version__, self.profile.id)

    def refusing_facts(self, used: Mapping[str, Sequence[str]]) -> dict[str, str]:
        """Per kind of algorithm a message used (`used`: Cell.sent) that its profile
        refuses, one the run's policy allows, the fact that refuses it (accepts.smime.<field>,
        as results.json keys it): a refusal of that message rests on them, not on the
        policy."""
        smime = self.profile.receive.smime
        if smime is None:
            return {}
        found = {}
        for kind, names in used.items():
            field = _READ_FIELDS.get(kind)
            declared = getattr(smime, field) if field else None
            if declared is None:
                continue
            graded = self.policy.grades.get(kind) if kind != "signature_format" else None
            if any(n not in declared and (graded is None or n in graded) for n in names):
                found[kind] = summary_key(f"receive.smime.{field}")
        return found

    def _key(self, party: Party, role: Role) -> PrivateKeyHandle:
        """The party's key; on this process's token it stands in for the product's CPS card."""
        key = files.key(party, role, software=self._software)
        if self._software or party.key_uri(role) is not None:
            return key
        kind = "software keys" if isinstance(key, SoftwareKey) else "SoftHSM"
        return StandInKey(key, f"{STAND_IN} ({kind})")

    @cached_property
    def _send_options(self) -> SendOptions:
        return self.profile.send_options()

    @cached_property
    def _receive_options(self) -> ReceiveOptions:
        return under_policy(self.profile.receive_options(), self.policy)

    # --- send ---

    def _uses_apicrypt(self, request: SendRequest) -> bool:
        send = self.profile.send
        if send.format == "apicrypt":
            return True
        parties = request.recipient_parties
        return (
            request.function in send.apicrypt_functions
            and bool(parties)
            and all("cps" not in p.directories and "apicrypt" in p.directories for p in parties)
        )

    def send(self, request: SendRequest) -> SendResult:
        if request.function not in self.capabilities().send:
            return SendResult(
                None, ErrorCode.UNSUPPORTED_FUNCTION, f"{self.id} does not send {request.function}"
            )
        if self._uses_apicrypt(request):
            return self._guarded_send(lambda: self._send_apicrypt(request))
        return self._guarded_send(lambda: self._send_smime_to(request))

    def _send_smime_to(self, request: SendRequest, out: BinaryIO | None = None) -> SendResult:
        """`_send_smime` once each recipient's certificate is known: given, or found in
        the directory (`send.recipient_certificate`), or a classified refusal."""
        refused = recipients.refusal(request, self.id, self.profile.send.recipient_certificate)
        if refused is not None:
            return refused
        ev = Evidence()
        found = recipients.looked_up(request, ev, self.id)
        if isinstance(found, SendResult):
            return found
        sent = self._send_smime(found, out)
        sent.evidence.notes[:0] = ev.notes
        return sent

    def _guarded_send(self, send: Callable[[], SendResult]) -> SendResult:
        """A send whose failures are classified: a refusal, or a bug (INTERNAL)."""
        try:
            return send()
        except UnsupportedMechanism as exc:
            return SendResult(None, ErrorCode.UNSUPPORTED_ALGORITHM, f"sender: {exc}")
        except (TokenError, ComposeError, apicrypt.ApicryptSendError) as exc:
            return SendResult(None, ErrorCode.UNSUPPORTED_FUNCTION, str(exc))
        except UserError as exc:
            return SendResult(None, ErrorCode.INTERNAL, str(exc))
        except Exception as exc:  # a bug: the harness reports it as an error, not a verdict
            return SendResult(None, ErrorCode.INTERNAL, _describe_bug(exc))

    def _send_apicrypt(self, request: SendRequest) -> SendResult:
        # Apicrypt itself signs whatever it sends; an S/MIME product that only
        # speaks the envelope cannot make an Apicrypt signature.
        signs = self.profile.send.format == "apicrypt" and request.function != "encrypt"
        domain = request.sender.email.rpartition("@")[2] or "localhost"
        message = apicrypt.send(
            request.content,
            identity_dir=request.sender.identity_dir,
            from_addr=request.sender.email,
            recipients=list(request.recipient_emails),
            subject=request.subject,
            date=request.date or datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            message_id=request.message_id or _message_id(self.rng, domain),
            sign=signs,
            rng=self.rng,
        )
        return SendResult(
            message, evidence=Evidence(notes=["Apicrypt model format, via the relay"])
        )

    def _send_smime(self, request: SendRequest, out: BinaryIO | None = None) -> SendResult:
        """The message built in memory; or, with `out`, the large content of a spooled
        request (`send_stream`) built in bounded memory and written to `out`."""
        options = self._send_options
        operation = OPERATION[request.function]
        sender_dir = request.sender.identity_dir
        signer = self._key(request.sender, "sign") if operation != "encrypt" else None
        headers = Headers(
            from_addr=request.sender.email,
            from_name=request.sender.name,
            to=list(request.recipient_emails),
            subject=request.subject,
            date=_date(request.date),
            message_id=request.message_id,
        )
        parties = (
            signer,
            intermediates(sender_dir),
            list(request.recipients),
            headers,
        )
        self_certificate = files.role_certificate(sender_dir, "encrypt")
        if out is not None and self._spooled is not None:
            build_message_spooled(
                self._spooled, out, operation, options, *parties, rng=self.rng,
                self_certificate=self_certificate,
            )  # fmt: skip
            return SendResult(b"")
        if len(request.content) > self.limits.spool_above_bytes:
            # A large content given in memory (the matrix's large scenario): built around a
            # spool all the same, the message the only other copy held.
            built = io.BytesIO()
            with Spool() as source:
                source.write(request.content)
                build_message_spooled(
                    source.seal().whole(), built, operation, options, *parties, rng=self.rng,
                    self_certificate=self_certificate,
                )  # fmt: skip
            return SendResult(built.getvalue())
        message = build_message(
            request.content,
            operation,
            options,
            *parties,
            rng=self.rng,
            self_certificate=self_certificate,
        )
        return SendResult(message)

    def send_stream(self, stream: BinaryIO, request: SendRequest, out: BinaryIO) -> SendResult:
        """`send` of a content read from a stream (its `request.content` unused), the
        message written to `out` (the result's message is then empty): a content over
        `limits.spool_above_bytes` is spooled and the message built in bounded memory."""
        try:
            spool = spool_stream(stream, self.limits.max_message_bytes)
        except SpoolTooLarge as exc:
            return SendResult(None, ErrorCode.TOO_LARGE, f"content over {exc.limit} bytes")
        with spool:
            whole = spool.whole()
            large = len(whole) > self.limits.spool_above_bytes
            if not large or self._uses_apicrypt(request):
                result = self.send(replace(request, content=whole.read()))
                if result.message is not None:
                    out.write(result.message)
                    result.message = b""
                return result
            if request.function not in self.capabilities().send:
                return self.send(request)  # the same refusal
            self._spooled = whole
            try:
                return self._guarded_send(lambda: self._send_smime_to(request, out))
            finally:
                self._spooled = None

    # --- receive ---

    def receive(self, request: ReceiveRequest) -> Reception:
        try:
            return self._receive(request)
        except UserError as exc:
            status = Status()
            status.add_error(ErrorCode.INTERNAL, str(exc))
            return Reception(None, status)
        except Exception as exc:
            status = Status()
            status.add_error(ErrorCode.INTERNAL, _describe_bug(exc))
            return Reception(None, status)

    def _receive(self, request: ReceiveRequest) -> Reception:
        receive = self.profile.receive
        if is_apicrypt(request.message):
            if receive.apicrypt.reads == "none":
                return _refused(
                    ErrorCode.UNSUPPORTED_FORMAT,
                    f"{self.id} does not read the Apicrypt format (model)",
                )
            content, status = apicrypt.read(
                request.message,
                identity_dir=request.recipient.identity_dir,
                reads=receive.apicrypt.reads,
                holds_key=receive.apicrypt.holds_key,
                require_signature=receive.apicrypt.require_signature,
            )
            return Reception(content, status)
        if receive.smime is None:
            return _refused(ErrorCode.UNSUPPORTED_FORMAT, f"{self.id} does not read S/MIME")
        fetches = set(receive.directory_fetches) if request.directory else set()
        lookup = Lookup(request.directory) if request.directory and fetches else None
        try:
            crls = files.crls(request.crls)
            if lookup is not None and "crls" in fetches:
                # The CA entries' instead of the files: the lookup keeps them between
                # messages while current, as a mail client keeps the CRLs it fetched.
                crls = lookup.all_crls()
            reception = self._read(request, crls, lookup if "signers" in fetches else None)
            if lookup is not None:
                reception.evidence.notes += [f"signer lookup: {f}" for f in lookup.failures]
            return reception
        except LookupFailure as exc:
            # The directory failed the receiver: it checks as it can without (no CRL,
            # no signer certificate) and says so, never crashes.
            crls = files.crls(request.crls)
            reception = self._read(request, crls, None)
            reception.evidence.notes.append(f"directory lookup failed ({exc.kind}): {exc.reason}")
            return reception
        finally:
            if lookup is not None:
                lookup.close()

    def _read(
        self,
        request: ReceiveRequest,
        crls: list[x509.CertificateRevocationList],
        directory: Lookup | None,
    ) -> Reception:
        recipient = request.recipient.identity_dir
        content, status = read_message_bounded(
            request.message,
            keys=[self._key(request.recipient, "encrypt")],
            trust=files.trust_anchors(request.trust),
            crls=crls,
            directory=directory,
            options=self._receive_options,
            limits=self.limits,
            validation_time=self.validation_time,
            intermediates=intermediates(recipient),
        )
        return Reception(content, status)

    def receive_stream(self, stream: BinaryIO, request: ReceiveRequest) -> SpooledReading:
        """`receive` of a message read from a stream (its `request.message` unused): spooled
        up to the receiver's size limit (what is over it is not read: too-large), then read
        from the spool in bounded memory when it is over `limits.spool_above_bytes`.
        The caller closes the reading once it has used the content."""
        smime = self.profile.receive.smime is not None
        options = self._receive_options if smime else ReceiveOptions()
        limit, words = message_limit(self.limits, options)
        try:
            spool = spool_stream(stream, limit)
        except SpoolTooLarge as exc:
            status = Status()
            status.add_error(ErrorCode.TOO_LARGE, f"message: more than {exc.limit} bytes, {words}")
            return SpooledReading(None, status, [])
        whole = spool.whole()
        head = whole.read(0, 65536)
        if len(whole) <= self.limits.spool_above_bytes or is_apicrypt(head) or not smime:
            reception = self.receive(replace(request, message=whole.read()))
            spool.close()
            return SpooledReading(reception.content, reception.status, [])
        try:
            reading = read_spooled(
                whole,
                keys=[self._key(request.recipient, "encrypt")],
                trust=files.trust_anchors(request.trust),
                crls=files.crls(request.crls),
                directory=None,
                options=self._receive_options,
                limits=self.limits,
                validation_time=self.validation_time,
                intermediates=intermediates(request.recipient.identity_dir),
            )
        except Exception as exc:  # a bug, or a UserError of the identity files
            spool.close()
            status = Status()
            status.add_error(ErrorCode.INTERNAL, _describe_bug(exc))
            return SpooledReading(None, status, [])
        reading.spools.append(spool)
        return reading


def _refused(code: ErrorCode, message: str) -> Reception:
    status = Status()
    status.add_error(code, message)
    return Reception(None, status)


def _describe_bug(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


__all__ = ["Party", "ProfileAgent", "under_policy"]
