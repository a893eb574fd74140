"""The hostile messages: a valid message, made fresh, then changed as its case says.

Each case's message starts as a genuine one: sent by `reference` (the engine's
`build_message` with reference's send options, as conformance/agents/profiled.py
sends) and, for the signed classes, also by OpenSSL (`openssl cms -sign`, as
conformance/agents/openssl.py drives it), so a receiver's parser meets a
foreign producer too. The change is then made on the parts read by
conformance/core (the MIME tree, the CMS parts) and the message re-encoded:
bytes flipped in place where the length stays, DER re-wrapped with
conformance/smime/der.py where it does not.

With `data` None each case gives its basic variant, the same bytes every time
for a given PKI (a seeded rng; the OpenSSL producer draws its own randomness).
With a hypothesis `data` object the positions and variants are drawn, so a
failing message shrinks to a small change and the seed replays it.
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from cryptography import x509
from hypothesis import strategies as st

from conformance.agents import identity_files as files
from conformance.agents.base import SendRequest
from conformance.core import cms as core_cms
from conformance.core import mime, oids
from conformance.core.vocabulary import Function
from conformance.pki.model import Identity, TestPKI
from conformance.profiles.loader import load_profile
from conformance.rejections.model import RejectionCase
from conformance.smime import der
from conformance.smime.compose import Headers, build_message
from conformance.smime.options import SendOptions
from conformance.token.software import SoftwareKey

__all__ = ["DATE", "LETTER", "OTHER_LETTER", "Hostile", "HostileError", "make_hostile", "makers"]

# A date inside every valid test certificate's validity (2020-2045), fixed so that
# the reference producer's messages are the same bytes at every run.
DATE = datetime(2025, 7, 15, 8, 0, 0, tzinfo=UTC)
LETTER = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Cher confr\xc3\xa8re,\r\n\r\n"
    b"Je vous adresse Mme Durand, 54 ans, pour avis sur une douleur thoracique atypique.\r\n"
    b"ECG normal, troponine n\xc3\xa9gative.\r\n\r\nBien confraternellement,\r\nDr Martin\r\n"
)
OTHER_LETTER = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Cher confr\xc3\xa8re,\r\n\r\n"
    b"Merci d'arr\xc3\xaater le traitement de Mme Durand et de doubler la dose du soir.\r\n"
    b"\r\nBien confraternellement,\r\nDr Martin\r\n"
)
SUBJECT = "Avis cardiologique"
# Identities used beside the sender and recipient: a third professional, whose
# certificate and key stand for "someone else".
OTHER_IDENTITY = "pro03"


class HostileError(Exception):
    """A hostile message could not be made (a producer failed): a harness error."""


@dataclass(frozen=True)
class Hostile:
    """One hostile message. `sender` and `recipient` are identity ids of the test PKI:
    the receiver reads the message as `recipient`."""

    case_id: str
    producer: str
    variant: str  # one readable line: what was changed and where
    message: bytes
    sender: str
    recipient: str


@dataclass(frozen=True)
class _Context:
    case: RejectionCase
    producer: str
    pki: TestPKI
    sender: Identity
    recipient: Identity
    draw: _Draw


class _Draw:
    """Choices: the basic one without hypothesis, drawn (and shrunk) with it."""

    def __init__(self, data: st.DataObject | None) -> None:
        self.data = data

    def index(self, size: int, basic: int, label: str) -> int:
        if self.data is None or size <= 1:
            return min(basic, max(size - 1, 0))
        return self.data.draw(st.integers(0, size - 1), label=label)

    def choice(self, options: tuple[str, ...], label: str) -> str:
        if self.data is None:
            return options[0]
        return self.data.draw(st.sampled_from(options), label=label)

    def replacement(self, original: int, label: str) -> int:
        """Another printable letter than `original` (never a line break or a space)."""
        letters = [c for c in string.ascii_letters.encode() if c != original]
        if self.data is None:
            return letters[0] if original != letters[0] else letters[1]
        return self.data.draw(st.sampled_from(letters), label=label)

    def xor(self, label: str) -> int:
        if self.data is None:
            return 0x01
        return self.data.draw(st.integers(1, 255), label=label)


# --- producers -----------------------------------------------------------------------


@cache
def _reference_options() -> SendOptions:
    return load_profile("reference").send_options()


def _rng(*labels: str) -> Callable[[int], bytes]:
    seed = int.from_bytes(hashlib.sha256("\0".join(labels).encode()).digest()[:8], "big")
    return random.Random(seed).randbytes


def _sign_key(identity: Identity) -> SoftwareKey:
    return SoftwareKey(identity.private_key("sign"), identity.certificate("sign"), identity.id)


def _reference_message(
    ctx: _Context,
    function: Function,
    *,
    content: bytes = LETTER,
    recipients: tuple[Identity, ...] | None = None,
    options: SendOptions | None = None,
    signer: Identity | None = None,
) -> bytes:
    """A valid message as `reference` sends it (signer: the sender by default)."""
    options = options or _reference_options()
    signer = signer or ctx.sender
    operation = {"sign": "sign", "encrypt": "encrypt"}.get(function, "sign-encrypt")
    to = recipients if recipients is not None else (ctx.recipient,)
    headers = Headers(
        from_addr=signer.email,
        from_name=signer.name,
        to=[r.email for r in to],
        subject=SUBJECT,
        date=DATE,
        message_id=None,
    )
    return build_message(
        content,
        operation,  # type: ignore[arg-type]
        options,
        _sign_key(signer) if operation != "encrypt" else None,
        files.intermediates(signer.directory),
        [r.certificate("encrypt") for r in to],
        headers,
        rng=_rng(ctx.case.id, ctx.producer, signer.id, *(r.id for r in to)),
        self_certificate=signer.certificate("encrypt"),
    )


def _openssl_message(
    ctx: _Context, *, content: bytes = LETTER, options: SendOptions | None = None
) -> bytes:
    """A valid signed message as `openssl cms -sign` makes it (the openssl agent)."""
    from conformance.agents.openssl import OpenSSLAgent

    with tempfile.TemporaryDirectory(prefix="osm-hostile-") as tmp:
        agent = OpenSSLAgent(options or _reference_options(), Path(tmp))
        try:
            sent = agent.send(
                SendRequest(
                    function="sign",
                    content=content,
                    sender=ctx.sender.party(),
                    recipients=(),
                    recipient_emails=(ctx.recipient.email,),
                    subject=SUBJECT,
                    date=DATE.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                )
            )
        finally:
            agent.close()
    if sent.message is None:
        raise HostileError(f"openssl could not sign: {sent.reason}")
    return sent.message


def _signed_message(ctx: _Context, **kwargs: object) -> bytes:
    """The case's producer signs (reference or openssl)."""
    if ctx.producer == "openssl":
        options = kwargs.get("options")
        content = kwargs.get("content", LETTER)
        assert options is None or isinstance(options, SendOptions)
        assert isinstance(content, bytes)
        return _openssl_message(ctx, content=content, options=options)
    return _reference_message(ctx, "sign", **kwargs)  # type: ignore[arg-type]


# --- MIME and CMS surgery ------------------------------------------------------------


def _start(entity: mime.Entity) -> int:
    """Where an entity's body starts in the bytes read."""
    return entity.offset + entity.body_offset


def _splice(message: bytes, start: int, end: int, new: bytes) -> bytes:
    return message[:start] + new + message[end:]


def _base64_body(der_bytes: bytes, like: bytes) -> bytes:
    eol = b"\r\n" if b"\r\n" in like else b"\n"
    text = base64.b64encode(der_bytes)
    return b"".join(text[i : i + 64] + eol for i in range(0, len(text), 64))


def _replace_body(message: bytes, entity: mime.Entity, body: bytes) -> bytes:
    start = _start(entity)
    return _splice(message, start, start + len(entity.body), body)


def _multipart_signed(message: bytes) -> tuple[mime.Entity, mime.Entity, mime.Entity]:
    top = mime.read(message)
    if top.content_type != "multipart/signed" or len(top.children) != 2:
        raise HostileError(f"expected a multipart/signed message, got {top.content_type}")
    return top, top.children[0], top.children[1]


def _cms_entity(message: bytes) -> mime.Entity:
    top = mime.read(message)
    if top.content_type == "multipart/signed" and len(top.children) == 2:
        return top.children[1]
    return top


def _cms_of(message: bytes) -> tuple[mime.Entity, bytes]:
    entity = _cms_entity(message)
    data = entity.decoded()
    if data is None:
        raise HostileError("the CMS part does not decode")
    return entity, data


def _with_cms(message: bytes, entity: mime.Entity, der_bytes: bytes) -> bytes:
    return _replace_body(message, entity, _base64_body(der_bytes, entity.body))


def _flip(data: bytes, at: int, mask: int) -> bytes:
    return data[:at] + bytes((data[at] ^ mask,)) + data[at + 1 :]


def _locate(haystack: bytes, needle: bytes, what: str) -> int:
    at = haystack.find(needle)
    if at < 0 or not needle:
        raise HostileError(f"{what} not found in the DER")
    return at


def _rebuild(value: asn1_core.Sequence, changes: dict[str, bytes | None]) -> bytes:
    """A SEQUENCE re-encoded from its fields' own encodings, some replaced (None: dropped)."""
    parts = []
    for name, *_ in value._fields:
        if name in changes:
            change = changes[name]
            if change is not None:
                parts.append(change)
            continue
        child = value[name]
        if not isinstance(child, asn1_core.Void):
            parts.append(child.dump())
    return der.sequence(*parts)


def _content_info(content_type: str, inner: bytes) -> bytes:
    return der.sequence(der.oid(content_type), der.context_explicit(0, inner))


def _signed_parts(data: bytes) -> core_cms.SignedParts:
    info = core_cms.parse(data)
    if not isinstance(info.content, core_cms.SignedParts) or not info.content.signers:
        raise HostileError("the CMS part holds no signed-data with a signer")
    return info.content


def _issuer_serial(certificate: x509.Certificate) -> bytes:
    return bytes(
        asn1_cms.IssuerAndSerialNumber(
            {
                "issuer": asn1_cms.Name.load(certificate.issuer.public_bytes()),
                "serial_number": certificate.serial_number,
            }
        ).dump()
    )


def _replace_signer(
    data: bytes, sid: bytes, certificates: list[bytes], signature: bytes | None = None
) -> bytes:
    """The signed-data with its first signer's identifier (and certificates) replaced."""
    info = asn1_cms.ContentInfo.load(data)
    signed = info["content"]
    signer = signed["signer_infos"][0]
    signer_changes: dict[str, bytes | None] = {"sid": sid}
    if signature is not None:
        signer_changes["signature"] = der.octet_string(signature)
    signers = [_rebuild(signer, signer_changes)] + [
        s.dump() for s in list(signed["signer_infos"])[1:]
    ]
    new_signed = _rebuild(
        signed,
        {
            "certificates": der.tlv(0xA0, *certificates) if certificates else None,
            "signer_infos": der.set_of(*signers),
        },
    )
    return _content_info(oids.SIGNED_DATA, new_signed)


def _der_certificate(certificate: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return certificate.public_bytes(Encoding.DER)


# --- class 1: altered ----------------------------------------------------------------


def _altered_content(ctx: _Context) -> tuple[str, bytes]:
    message = _signed_message(ctx)
    _, signed, _ = _multipart_signed(message)
    body_start = _start(signed)
    body = signed.body
    positions = [i for i, c in enumerate(body) if c not in b"\r\n \t"]
    if not positions:
        raise HostileError("the signed part has an empty body")
    # Basic variant: the first letter of the patient's name.
    name = body.find(b"Durand")
    basic = positions.index(name) if name in positions else 0
    i = positions[ctx.draw.index(len(positions), basic, "byte")]
    new = ctx.draw.replacement(body[i], "letter")
    changed = _splice(message, body_start + i, body_start + i + 1, bytes((new,)))
    return (
        f"signed part, body byte {i}: {chr(body[i])!r} -> {chr(new)!r}",
        changed,
    )


def _altered_content_swapped(ctx: _Context) -> tuple[str, bytes]:
    message = _signed_message(ctx)
    _, signed, _ = _multipart_signed(message)
    start = signed.offset
    other = OTHER_LETTER if b"\r\n" in signed.raw else OTHER_LETTER.replace(b"\r\n", b"\n")
    return (
        "signed part replaced by another letter, signature kept",
        _splice(message, start, start + len(signed.raw), other),
    )


def _flip_in_cms(
    ctx: _Context, pick: Callable[[bytes, core_cms.SignerParts], tuple[int, int, int]], what: str
) -> tuple[str, bytes]:
    """Flip one byte of the CMS inside the field that `pick` returns (start, size, basic)."""
    message = _signed_message(ctx)
    entity, data = _cms_of(message)
    signer = _signed_parts(data).signers[0]
    start, size, basic = pick(data, signer)
    offset = ctx.draw.index(size, basic, "offset")
    mask = ctx.draw.xor("mask")
    changed = _flip(data, start + offset, mask)
    return (
        f"{what}, byte {offset} of {size} xor 0x{mask:02x}",
        _with_cms(message, entity, changed),
    )


def _pick_signed_attribute(data: bytes, signer: core_cms.SignerParts) -> tuple[int, int, int]:
    if signer.signed_attrs is None:
        raise HostileError("the signer has no signed attributes")
    start = _locate(data, signer.signed_attrs, "signed attributes")
    times = [t for values in signer.signing_times for t in values]
    basic = 0
    if times:
        # The last digit of the minutes of the signing time: still a valid time.
        basic = signer.signed_attrs.find(times[0]) + 10
    return start, len(signer.signed_attrs), basic


def _pick_message_digest(data: bytes, signer: core_cms.SignerParts) -> tuple[int, int, int]:
    digests = [d for values in signer.message_digests for d in values]
    if not digests:
        raise HostileError("the signer has no message-digest attribute")
    return _locate(data, digests[0], "message digest"), len(digests[0]), 0


def _pick_signature(data: bytes, signer: core_cms.SignerParts) -> tuple[int, int, int]:
    size = len(signer.signature)
    return _locate(data, signer.signature, "signature value"), size, size // 2


# --- class 2: wrong signer -----------------------------------------------------------


def _wrong_signer_certificate(ctx: _Context) -> tuple[str, bytes]:
    message = _signed_message(ctx)
    entity, data = _cms_of(message)
    parts = _signed_parts(data)
    own = _der_certificate(ctx.sender.certificate("sign"))
    other = ctx.pki.identity(_other_id(ctx)).certificate("sign")
    certificates = [_der_certificate(other) if c == own else c for c in parts.certificates]
    if own not in parts.certificates:
        certificates.append(_der_certificate(other))
    changed = _replace_signer(data, _issuer_serial(other), certificates)
    return (
        f"signer certificate replaced by {_other_id(ctx)}'s, SignerIdentifier repointed",
        _with_cms(message, entity, changed),
    )


def _wrong_signer_identifier(ctx: _Context) -> tuple[str, bytes]:
    message = _signed_message(ctx)
    entity, data = _cms_of(message)
    parts = _signed_parts(data)
    own = _der_certificate(ctx.sender.certificate("sign"))
    other = ctx.pki.identity(_other_id(ctx)).certificate("sign")
    certificates = [c for c in parts.certificates if c != own] + [_der_certificate(other)]
    changed = _replace_signer(data, _issuer_serial(other), certificates)
    return (
        f"SignerIdentifier names {_other_id(ctx)}'s certificate (carried), the signer's removed",
        _with_cms(message, entity, changed),
    )


def _other_id(ctx: _Context) -> str:
    """A valid identity that is neither the sender nor the recipient."""
    taken = {ctx.sender.id, ctx.recipient.id}
    if OTHER_IDENTITY not in taken and OTHER_IDENTITY in ctx.pki.identities:
        return OTHER_IDENTITY
    for identity in ctx.pki.valid_identities():
        if identity.id not in taken:
            return identity.id
    raise HostileError("the PKI has no third valid identity")


# --- class 3: defective signers ------------------------------------------------------


def _defective(defect: str) -> Callable[[_Context], Made]:
    def make(ctx: _Context) -> Made:
        signer = ctx.pki.defective(defect)
        signing = replace(ctx, sender=signer)
        if ctx.producer == "openssl":
            message = _openssl_message(signing)
        else:
            message = _reference_message(signing, "sign", signer=signer)
        return f"signed by {signer.id} ({defect}), From: its own address", message, signer.id

    return make


# --- class 8: not for me -------------------------------------------------------------


def _enveloped(data: bytes) -> asn1_cms.ContentInfo:
    info = asn1_cms.ContentInfo.load(data)
    if info["content_type"].dotted not in (oids.ENVELOPED_DATA, oids.AUTH_ENVELOPED_DATA):
        raise HostileError("expected an enveloped-data message")
    return info


def _for_identity(recipient_info: asn1_cms.RecipientInfo, identity: Identity) -> bool:
    chosen = recipient_info.chosen
    if not isinstance(chosen, asn1_cms.KeyTransRecipientInfo):
        return False
    rid = chosen["rid"]
    if rid.name != "issuer_and_serial_number":
        return False
    return bool(rid.chosen["serial_number"].native == identity.certificate("encrypt").serial_number)


def _replace_recipients(data: bytes, recipient_infos: list[bytes]) -> bytes:
    info = _enveloped(data)
    inner = _rebuild(info["content"], {"recipient_infos": der.set_of(*recipient_infos)})
    return _content_info(info["content_type"].dotted, inner)


def _no_self(options: SendOptions) -> SendOptions:
    return replace(options, encrypt=replace(options.encrypt, encrypt_to_self=False))


def _not_for_me_other(ctx: _Context) -> tuple[str, bytes]:
    other = ctx.pki.identity(_other_id(ctx))
    message = _reference_message(
        ctx, "encrypt", recipients=(other,), options=_no_self(_reference_options())
    )
    # The message is addressed to the receiver, but only `other` can open it.
    top = mime.read(message)
    to = top.header.find(b"\r\nTo: ")
    end = top.header.find(b"\r\n", to + 2)
    changed = _splice(message, to, end, b"\r\nTo: " + ctx.recipient.email.encode())
    return f"encrypted for {other.id} only, addressed to the receiver", changed


def _not_for_me_wrong_key(ctx: _Context) -> tuple[str, bytes]:
    other = ctx.pki.identity(_other_id(ctx))
    message = _reference_message(
        ctx, "encrypt", recipients=(ctx.recipient, other), options=_no_self(_reference_options())
    )
    entity, data = _cms_of(message)
    infos = list(_enveloped(data)["content"]["recipient_infos"])
    mine = next(i for i in infos if _for_identity(i, ctx.recipient))
    theirs = next(i for i in infos if _for_identity(i, other))
    ktri = mine.chosen
    swapped = _rebuild(ktri, {"encrypted_key": theirs.chosen["encrypted_key"].dump()})
    changed = _replace_recipients(data, [swapped])
    return (
        f"the receiver's RecipientInfo carries the content key encrypted to {other.id}'s key",
        _with_cms(message, entity, changed),
    )


def _not_for_me_truncated(ctx: _Context) -> tuple[str, bytes]:
    message = _reference_message(ctx, "encrypt")
    entity, data = _cms_of(message)
    infos = list(_enveloped(data)["content"]["recipient_infos"])
    rebuilt = []
    kept = 0
    for info in infos:
        if not _for_identity(info, ctx.recipient):
            rebuilt.append(info.dump())
            continue
        key = info.chosen["encrypted_key"].native
        kept = ctx.draw.index(len(key), len(key) // 2, "kept")
        rebuilt.append(_rebuild(info.chosen, {"encrypted_key": der.octet_string(key[:kept])}))
    changed = _replace_recipients(data, rebuilt)
    return (
        f"the receiver's encrypted key truncated to {kept} bytes",
        _with_cms(message, entity, changed),
    )


# --- the table -----------------------------------------------------------------------

# A maker gives the variant line and the message, and the signer's identity id when
# another identity than the sender signed.
Made = tuple[str, bytes] | tuple[str, bytes, str]
Maker = Callable[[_Context], Made]


def _flipper(
    pick: Callable[[bytes, core_cms.SignerParts], tuple[int, int, int]], what: str
) -> Maker:
    def make(ctx: _Context) -> tuple[str, bytes]:
        return _flip_in_cms(ctx, pick, what)

    return make


_MAKERS: dict[str, Maker] = {
    "altered-content": _altered_content,
    "altered-signed-attribute": _flipper(_pick_signed_attribute, "signed attributes"),
    "altered-message-digest": _flipper(_pick_message_digest, "message-digest value"),
    "altered-signature-value": _flipper(_pick_signature, "signature value"),
    "altered-content-swapped": _altered_content_swapped,
    "wrong-signer-certificate": _wrong_signer_certificate,
    "wrong-signer-identifier": _wrong_signer_identifier,
    "defective-revoked": _defective("revoked"),
    "defective-expired": _defective("expired"),
    "defective-not-yet-valid": _defective("not-yet-valid"),
    "defective-unknown-root": _defective("unknown-root"),
    "defective-weak-key": _defective("weak-key"),
    "defective-sha1-certificate": _defective("sha1"),
    "defective-no-nonrepudiation": _defective("no-nonrepudiation"),
    "defective-gip-cps-oid": _defective("gip-cps-oid"),
    "not-for-me-other-recipient": _not_for_me_other,
    "not-for-me-wrong-key": _not_for_me_wrong_key,
    "not-for-me-truncated-key": _not_for_me_truncated,
}


def makers() -> frozenset[str]:
    """The case ids this module can make a hostile message for."""
    return frozenset(_MAKERS)


def make_hostile(
    case: RejectionCase,
    *,
    producer: str,
    pki: TestPKI,
    sender: str,
    recipient: str,
    data: st.DataObject | None = None,
) -> Hostile:
    """The hostile message of `case`, from a valid message by `producer`.

    `sender` and `recipient` are identity ids of `pki` (valid identities; the
    defective-signer cases sign with the PKI's defective identity instead).
    Raises HostileError when the producer fails or the case has no maker.
    """
    if producer not in case.producers:
        raise HostileError(f"case {case.id}: producer {producer!r} not among {case.producers}")
    make = _MAKERS.get(case.id)
    if make is None:
        raise HostileError(f"case {case.id}: no hostile message maker")
    ctx = _Context(
        case=case,
        producer=producer,
        pki=pki,
        sender=pki.identity(sender),
        recipient=pki.identity(recipient),
        draw=_Draw(data),
    )
    made = make(ctx)
    signer = made[2] if len(made) == 3 else ctx.sender.id
    return Hostile(case.id, producer, made[0], made[1], signer, recipient)
