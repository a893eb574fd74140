"""The hostile messages: a valid message, made fresh, then changed as its case says.

Each case's message starts as a genuine one: sent by `reference` (the engine's
`build_message` with reference's send options, as conformance/agents/profiled.py
sends) and, for the signed classes, also by OpenSSL (`openssl cms -sign`, as
conformance/agents/openssl.py drives it), so a receiver's parser meets a
foreign producer too. The change is then made on the parts read by
conformance/core (the MIME tree, the CMS parts) and the message re-encoded:
bytes flipped in place where the length stays, DER re-wrapped with
conformance/smime/der.py where it does not. The core parts carry values, not
where each field's encoding lies, so a re-wrapped structure takes its other
fields' encodings from asn1crypto, which dumps an untouched field exactly as
it was received. Six cases sign under a certificate of their own: a
colleague's end-entity key issuing one in the author's name (with
conformance/pki/certs.py), the author's re-issued by its CA with one
extension changed (an unknown critical one, an extended key usage without
emailProtection, a key usage without signature), or one for the author's key
issued by a CA of the case's own (issued by the intermediate despite its
pathLenConstraint 0, or by the root without keyCertSign), its serial and any
new key derived from the case as the PKI derives its own. The three whose
signer's issuer is a certificate of the case (the colleague's, the case's CA)
also make that issuer's CRL, empty, dated as the PKI's and signed with its key
(`Hostile.crls`): a receiver that checks revocation then finds one for every
issuer of the path, so that its refusal measures the path rule the case
breaks, not the missing CRL.
`make_control` gives the valid message itself, so that a receiver's refusal
counts only when it reads the valid one.

With `data` None each case gives its basic variant, the same bytes every time
for a given PKI (a seeded rng; the OpenSSL producer draws its own randomness).
With a hypothesis `data` object the positions and variants are drawn, so a
failing message shrinks to a small change and the seed replays it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import random
import string
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import cast

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import modes as sym_modes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import strategies as st

from conformance.agents.base import SendRequest
from conformance.agents.identity_files import certificate_email
from conformance.core import cms as core_cms
from conformance.core import mime, oids
from conformance.core.bilingual import SEMICOLON, Bilingual
from conformance.core.vocabulary import ContentCipher, KeyTransport, Party, Role
from conformance.pki.build import DEFAULT_SEED
from conformance.pki.certs import (
    ca_name,
    cert_pem,
    crl,
    end_entity_certificate,
    intermediate_certificate,
    key_pem,
    usage,
)
from conformance.pki.defects import CRL_NEXT_UPDATE, CRL_THIS_UPDATE, DEFECT_NAMES_FR
from conformance.pki.drbg import derived_serial
from conformance.pki.model import Identity, TestPKI
from conformance.pki.rsakeys import derive_rsa_key
from conformance.profiles.loader import load_profile
from conformance.rejections.model import RejectionCase
from conformance.smime import cms_read, der
from conformance.smime.compose import Headers, Operation, build_message
from conformance.smime.mime_build import encode_content
from conformance.smime.options import ReceiveOptions, SendOptions
from conformance.smime.rsa_padding import encrypt_key
from conformance.status import Algorithms
from conformance.token.files import certificate_path, intermediates, key_path
from conformance.token.software import SoftwareKey

__all__ = [
    "DATE",
    "KEY_TRANSPORT",
    "LETTER",
    "OTHER_LETTER",
    "Hostile",
    "HostileError",
    "control_key",
    "make_control",
    "make_hostile",
    "makers",
]

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
# The envelopes' key transport unless the caller (the runner, by measurement) asks
# for another: see `_reference_options`.
KEY_TRANSPORT: KeyTransport = "rsa-pkcs1v15"


class HostileError(Exception):
    """A hostile message could not be made (a producer failed): a harness error."""


@dataclass(frozen=True)
class Hostile:
    """One hostile message. `sender` and `recipient` are identity ids of the test PKI:
    the receiver reads the message as `recipient`; `sender` made it (the signer, a
    defective identity for the defective-signer cases, the forwarder for a forwarded
    message), whatever its From: says. `crls` are the PEM CRLs of the issuers the case
    made, which the receiver is given beside the PKI's (none for most cases)."""

    case_id: str
    producer: str
    wording: Bilingual  # one readable line: what was changed and where, in fr and en
    message: bytes
    sender: str
    recipient: str
    crls: tuple[bytes, ...] = ()

    def crl_files(self, stem: str) -> list[tuple[str, bytes]]:
        """Its CRLs as the files beside `stem` (its message's name without .eml) that the
        rejection evidence and the vendor kit's negative vectors write: STEM.crlN.pem."""
        return [(f"{stem}.crl{i}.pem", crl) for i, crl in enumerate(self.crls, 1)]

    @property
    def variant(self) -> str:
        """The variant line in English (evidence files, vectors)."""
        return self.wording.en


@dataclass(frozen=True)
class _Context:
    case: RejectionCase
    producer: str
    pki: TestPKI
    sender: Identity
    recipient: Identity
    draw: _Draw
    label: str  # seeds the reference producer's randomness
    key_transport: KeyTransport  # of every envelope the reference producer makes
    crls: list[bytes] = field(default_factory=list)  # PEM, of the issuers the case made


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


# A maker gives the variant line (in French and English) and the message, and the
# identity id of who sent it when another identity than the sender did (a defective
# signer, a forwarder).
Made = tuple[Bilingual, bytes] | tuple[Bilingual, bytes, str]
Maker = Callable[[_Context], Made]


# --- producers -----------------------------------------------------------------------


@cache
def _reference_options() -> SendOptions:
    """Reference's send options; `_reference_message` sets the envelopes' key transport."""
    return load_profile("reference").send_options()


def _rng(*labels: str) -> Callable[[int], bytes]:
    seed = int.from_bytes(hashlib.sha256("\0".join(labels).encode()).digest()[:8], "big")
    return random.Random(seed).randbytes


def _sign_key(identity: Identity) -> SoftwareKey:
    return SoftwareKey(identity.private_key("sign"), identity.certificate("sign"), identity.id)


def _reference_message(
    ctx: _Context,
    operation: Operation,
    *,
    content: bytes = LETTER,
    recipients: tuple[Identity, ...] | None = None,
    options: SendOptions | None = None,
    signer: Identity | None = None,
    key: SoftwareKey | None = None,
    chain: Sequence[x509.Certificate] | None = None,
) -> bytes:
    """A valid message as `reference` sends it (signer: the sender by default), or one
    signed with another `key` (its certificate) carrying `chain` as its intermediates.

    Its envelope's key transport is the case's (`ctx.key_transport`), whatever `options`
    say: PKCS#1 v1.5 by default, the one every shipped receiver but PKI.js reads (NSS and
    gpgsm cannot unwrap OAEP, SoftHSM not OAEP-SHA256) and both policies accept (osm-2008
    SUCCESS, modern WARNING). A receiver that does not read that valid message (WebCrypto
    has no PKCS#1 v1.5 decryption) is given the same messages with RSA-OAEP when it reads
    that valid message instead: the runner chooses by measurement (run.control_status).
    The encryption cases test what a receiver does with a changed envelope, not which key
    transport it reads."""
    options = options or _reference_options()
    options = replace(options, encrypt=replace(options.encrypt, key_transport=ctx.key_transport))
    signer = signer or ctx.sender
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
        operation,
        options,
        (key or _sign_key(signer)) if operation != "encrypt" else None,
        intermediates(signer.directory) if chain is None else chain,
        [r.certificate("encrypt") for r in to],
        headers,
        rng=_rng(ctx.label, ctx.producer, signer.id, *(r.id for r in to)),
        self_certificate=signer.certificate("encrypt"),
    )


@cache
def _openssl_options() -> SendOptions:
    return load_profile("openssl").send_options()


def _openssl_message(
    ctx: _Context,
    *,
    content: bytes = LETTER,
    options: SendOptions | None = None,
    party: Party | None = None,
) -> bytes:
    """A valid signed message as `openssl cms -sign` makes it: the openssl agent, with
    its profile's options (or `options`), as the matrix drives it; signed with the
    sender's files, or those of `party` (see `_signing_files`)."""
    from conformance.agents.openssl import OpenSSLAgent

    with tempfile.TemporaryDirectory(prefix="osm-hostile-") as tmp:
        agent = OpenSSLAgent(options or _openssl_options(), Path(tmp))
        try:
            sent = agent.send(
                SendRequest(
                    function="sign",
                    content=content,
                    sender=party or ctx.sender.party(),
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


def _signed_message(ctx: _Context) -> bytes:
    """The letter signed by the sender, made by the case's producer (reference or openssl)."""
    if ctx.producer == "openssl":
        return _openssl_message(ctx)
    return _reference_message(ctx, "sign")


def _in_some_format(ctx: _Context) -> tuple[Bilingual, bytes]:
    """The signed letter as multipart/signed (the basic variant) or, when drawn, as opaque
    signed-data: for the changes made inside the CMS, which both formats carry."""
    form = ctx.draw.choice(("multipart-signed", "opaque"), "format")
    if form == "multipart-signed":
        return Bilingual.same(""), _signed_message(ctx)
    if ctx.producer == "openssl":
        options = _openssl_options()
        opaque = replace(options, sign=replace(options.sign, format="opaque"))
        return _OPAQUE, _openssl_message(ctx, options=opaque)
    options = _reference_options()
    opaque = replace(options, sign=replace(options.sign, format="opaque"))
    return _OPAQUE, _reference_message(ctx, "sign", options=opaque)


_OPAQUE = Bilingual("signed-data opaque, ", "opaque signed-data, ")


# --- MIME and CMS surgery ------------------------------------------------------------


def _start(entity: mime.Entity) -> int:
    """Where an entity's body starts in the bytes read."""
    return entity.body_start


def _splice(message: bytes, start: int, end: int, new: bytes) -> bytes:
    return message[:start] + new + message[end:]


def _base64_body(der_bytes: bytes, like: bytes) -> bytes:
    """Base64 laid out as `like` is (line length, line ending, final line break), so that
    a change of the same length leaves every other byte of the message as it was."""
    eol = b"\r\n" if b"\r\n" in like else b"\n"
    first = like.split(eol, 1)[0]
    width = len(first) if first else 76
    text = base64.b64encode(der_bytes)
    body = eol.join(text[i : i + width] for i in range(0, len(text), width))
    return body + eol if like.endswith(eol) else body


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


def _replace_signer(data: bytes, sid: bytes, certificates: list[bytes]) -> bytes:
    """The signed-data with its first signer's identifier and its certificates replaced."""
    info = asn1_cms.ContentInfo.load(data)
    signed = info["content"]
    signer = signed["signer_infos"][0]
    signers = [_rebuild(signer, {"sid": sid})] + [
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
    return certificate.public_bytes(Encoding.DER)


# --- class 1: altered ----------------------------------------------------------------


def _altered_content(ctx: _Context) -> Made:
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
    change = f"{chr(body[i])!r} -> {chr(new)!r}"
    return (
        Bilingual(
            f"partie signée, octet {i} du corps : {change}",
            f"signed part, body byte {i}: {change}",
        ),
        changed,
    )


def _altered_content_swapped(ctx: _Context) -> Made:
    message = _signed_message(ctx)
    _, signed, _ = _multipart_signed(message)
    other = OTHER_LETTER if b"\r\n" in signed.raw else OTHER_LETTER.replace(b"\r\n", b"\n")
    return (
        Bilingual(
            "partie signée remplacée par une autre lettre, signature conservée",
            "signed part replaced by another letter, signature kept",
        ),
        _splice(message, signed.offset, signed.end, other),
    )


def _flip_in_cms(
    ctx: _Context,
    pick: Callable[[bytes, core_cms.SignerParts], tuple[int, int, int]],
    what: Bilingual,
) -> Made:
    """Flip one byte of the CMS inside the field that `pick` returns (start, size, basic)."""
    form, message = _in_some_format(ctx)
    entity, data = _cms_of(message)
    signer = _signed_parts(data).signers[0]
    start, size, basic = pick(data, signer)
    offset = ctx.draw.index(size, basic, "offset")
    mask = ctx.draw.xor("mask")
    changed = _flip(data, start + offset, mask)
    return (
        form
        + what
        + Bilingual(
            f", octet {offset} sur {size} xor 0x{mask:02x}",
            f", byte {offset} of {size} xor 0x{mask:02x}",
        ),
        _with_cms(message, entity, changed),
    )


def _pick_signed_attribute(data: bytes, signer: core_cms.SignerParts) -> tuple[int, int, int]:
    if signer.signed_attrs is None:
        raise HostileError("the signer has no signed attributes")
    start = _locate(data, signer.signed_attrs, "signed attributes")
    times = [t for values in signer.signing_times for t in values]
    basic = 0
    if times:
        # The tens digit of the minutes (tag, length, YYMMDDHH, then it): still a valid time.
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


def _wrong_signer_certificate(ctx: _Context) -> Made:
    form, message = _in_some_format(ctx)
    entity, data = _cms_of(message)
    parts = _signed_parts(data)
    own = _der_certificate(ctx.sender.certificate("sign"))
    other = ctx.pki.identity(_other_id(ctx)).certificate("sign")
    certificates = [_der_certificate(other) if c == own else c for c in parts.certificates]
    if own not in parts.certificates:
        certificates.append(_der_certificate(other))
    changed = _replace_signer(data, _issuer_serial(other), certificates)
    other_id = _other_id(ctx)
    return (
        form
        + Bilingual(
            f"certificat du signataire remplacé par celui de {other_id}, "
            "SignerIdentifier modifié en conséquence",
            f"signer certificate replaced by {other_id}'s, SignerIdentifier repointed",
        ),
        _with_cms(message, entity, changed),
    )


def _wrong_signer_identifier(ctx: _Context) -> Made:
    form, message = _in_some_format(ctx)
    entity, data = _cms_of(message)
    parts = _signed_parts(data)
    own = _der_certificate(ctx.sender.certificate("sign"))
    other = ctx.pki.identity(_other_id(ctx)).certificate("sign")
    certificates = [c for c in parts.certificates if c != own] + [_der_certificate(other)]
    changed = _replace_signer(data, _issuer_serial(other), certificates)
    other_id = _other_id(ctx)
    return (
        form
        + Bilingual(
            f"SignerIdentifier désigne le certificat de {other_id} (joint), "
            "celui du signataire retiré",
            f"SignerIdentifier names {other_id}'s certificate (carried), the signer's removed",
        ),
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


def _seed(ctx: _Context) -> int:
    return ctx.pki.seed if ctx.pki.seed is not None else DEFAULT_SEED


@cache
def _fresh_key(seed: int, label: str) -> rsa.RSAPrivateKey:
    """A key no identity holds, derived as the PKI derives its own (the same in every run)."""
    return derive_rsa_key(seed, f"hostile/{label}")


def _certified(
    ctx: _Context,
    public_key: rsa.RSAPublicKey,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    label: str,
) -> x509.Certificate:
    """A signature certificate with the sender's subject, address and validity for
    `public_key`, issued under `issuer`'s name with `issuer_key`, its serial drawn from
    `label` (never the real one's: a receiver's certificate store keys on issuer and serial)."""
    model = ctx.sender.certificate("sign")
    email = certificate_email(model)
    if email is None:
        raise HostileError(f"{model.subject.rfc4514_string()}: no rfc822Name to copy")
    return end_entity_certificate(
        model.subject,
        "sign",
        email,
        public_key,
        issuer,
        issuer_key,
        serial=derived_serial(_seed(ctx), f"hostile/{label}"),
        not_before=model.not_valid_before_utc,
        not_after=model.not_valid_after_utc,
    )


def _issuer_crl(ctx: _Context, issuer: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
    """Adds the empty CRL of `issuer`, a certificate the case made issue, signed with `key`
    whatever that certificate allows (an attacker signs one with any key it holds) and
    dated as the PKI's own: given the PKI's CRLs alone, a receiver that checks revocation
    would refuse for want of that issuer's CRL, not for the path rule the case breaks."""
    made = crl(issuer, key, 1, CRL_THIS_UPDATE, CRL_NEXT_UPDATE)
    ctx.crls.append(made.public_bytes(Encoding.PEM))


@contextlib.contextmanager
def _signing_files(
    ctx: _Context,
    certificate: x509.Certificate,
    key: rsa.RSAPrivateKey,
    carried: Sequence[x509.Certificate],
) -> Iterator[Party]:
    """The sender as a throwaway export: `certificate` and `key` as its signature pair, the
    PKI's CAs and `carried` in the CA directory beside it (what a tool sends as the chain)."""
    with tempfile.TemporaryDirectory(prefix="osm-hostile-signer-") as tmp:
        cas = Path(tmp) / "ca"
        cas.mkdir()
        for index, ca in enumerate((ctx.pki.root, ctx.pki.intermediate, *carried)):
            (cas / f"{index}.pem").write_bytes(cert_pem(ca))
        directory = Path(tmp) / "identities" / ctx.sender.id
        directory.mkdir(parents=True)
        certificate_path(directory, "sign").write_bytes(cert_pem(certificate))
        key_path(directory, "sign").write_bytes(key_pem(key))
        yield Party(identity_dir=directory, email=ctx.sender.email, name=ctx.sender.name)


def _signed_as(
    ctx: _Context,
    certificate: x509.Certificate,
    key: rsa.RSAPrivateKey,
    carried: Sequence[x509.Certificate] = (),
) -> bytes:
    """The letter from the sender's address signed with `key` under `certificate`, with
    `carried` besides the intermediate CA in the message, by the case's producer."""
    if ctx.producer == "openssl":
        with _signing_files(ctx, certificate, key, carried) as party:
            return _openssl_message(ctx, party=party)
    signer = SoftwareKey(key, certificate, ctx.sender.id)
    chain = [*carried, *intermediates(ctx.sender.directory)]
    return _reference_message(ctx, "sign", key=signer, chain=chain)


# The certificates of a colleague that may issue the forged one: both keys are on the card.
_ISSUING_ROLES: tuple[Role, ...] = ("sign", "auth")


def _issued_by_end_entity(ctx: _Context) -> Made:
    """A colleague's own key (an end entity's: CA:FALSE, no keyCertSign) issues a
    certificate in the sender's name for a fresh key, which signs the letter; the message
    carries both certificates and the receiver gets a CRL in the colleague's name signed
    with that key (`_issuer_crl`), so only the path rules (RFC 5280 6.1.4 (k), (n)) stop it."""
    basic = _other_id(ctx)
    taken = {ctx.sender.id, ctx.recipient.id, basic}
    others = tuple(i.id for i in ctx.pki.valid_identities() if i.id not in taken)
    colleague = ctx.pki.identity(ctx.draw.choice((basic, *others), "colleague"))
    role = cast(Role, ctx.draw.choice(_ISSUING_ROLES, "colleague certificate"))
    issuer = colleague.certificate(role)
    key = _fresh_key(_seed(ctx), ctx.case.id)
    forged = _certified(
        ctx,
        key.public_key(),
        issuer,
        colleague.private_key(role),
        f"{ctx.case.id}/{colleague.id}/{role}",
    )
    _issuer_crl(ctx, issuer, colleague.private_key(role))
    return (
        Bilingual(
            f"signé avec un certificat au nom de {ctx.sender.id} (sujet et adresse copiés), "
            f"émis par {colleague.id} avec la clé de son certificat {role} (entité finale : "
            "CA:FALSE, sans keyCertSign), les deux certificats joints, une LCR à son nom, "
            "signée de cette clé, donnée au destinataire",
            f"signed under a certificate in {ctx.sender.id}'s name (subject and address "
            f"copied) issued by {colleague.id} with the key of its {role} certificate (an end "
            "entity: CA:FALSE, no keyCertSign), both certificates carried, a CRL in its name, "
            "signed with that key, given to the receiver",
        ),
        _signed_as(ctx, forged, key, carried=(issuer,)),
        colleague.id,
    )


# --- class 3: defective signers ------------------------------------------------------


def _defective(defect: str) -> Callable[[_Context], Made]:
    def make(ctx: _Context) -> Made:
        signer = ctx.pki.defective(defect)
        signing = replace(ctx, sender=signer)
        if ctx.producer == "openssl":
            message = _openssl_message(signing)
        else:
            message = _reference_message(signing, "sign", signer=signer)
        said = Bilingual(
            f"signé par {signer.id} ({DEFECT_NAMES_FR[defect]}), From: sa propre adresse",
            f"signed by {signer.id} ({defect}), From: its own address",
        )
        return said, message, signer.id

    return make


# An extension no one knows (oids.TEST_UNKNOWN_EXTENSION): its value says what it is to
# whoever dumps the certificate.
_UNKNOWN_EXTENSION = x509.UnrecognizedExtension(
    x509.ObjectIdentifier(oids.TEST_UNKNOWN_EXTENSION),
    der.tlv(0x0C, b"TEST ONLY: extension critique inconnue (osm-conformance)"),
)


def _reissue(
    model: x509.Certificate,
    change: tuple[x509.ExtensionType, bool],
    serial: int,
    issuer_key: rsa.RSAPrivateKey,
) -> x509.Certificate:
    """`model` signed again by `issuer_key` under a new `serial`, the extension of `change`
    (with its criticality) in place of the one of its type (added last if it has none):
    subject, issuer, key, validity and the other extensions, in order and criticality, are
    copied, so only what changed is wrong."""
    extension, critical = change
    wanted = x509.Extension(extension.oid, critical, extension)
    extensions = [wanted if e.oid == extension.oid else e for e in model.extensions]
    if wanted not in extensions:
        extensions.append(wanted)
    builder = (
        x509.CertificateBuilder()
        .subject_name(model.subject)
        .issuer_name(model.issuer)
        .public_key(model.public_key())
        .serial_number(serial)
        .not_valid_before(model.not_valid_before_utc)
        .not_valid_after(model.not_valid_after_utc)
    )
    for each in extensions:
        builder = builder.add_extension(each.value, each.critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _reissued_signer(
    ctx: _Context, extension: x509.ExtensionType, critical: bool, what: Bilingual
) -> Made:
    """The sender's signature certificate re-issued by its own CA (the intermediate) with
    `extension` in place of the real one of its type (added last if it has none), and the
    letter signed with the sender's real key: only that extension is wrong. Everything
    else is copied from the real certificate but the serial, drawn from the case."""
    real = ctx.sender.certificate("sign")
    if real.issuer != ctx.pki.intermediate.subject:
        raise HostileError(f"{ctx.sender.id}'s certificate is not issued by the intermediate CA")
    key = ctx.sender.private_key("sign")
    reissued = _reissue(
        real,
        (extension, critical),
        derived_serial(_seed(ctx), f"hostile/{ctx.case.id}/{ctx.sender.id}"),
        ctx.pki.intermediate_key(),
    )
    return (
        Bilingual(
            f"signé par {ctx.sender.id} avec sa clé, son certificat réémis par l'AC "
            f"intermédiaire avec {what.fr}",
            f"signed by {ctx.sender.id} with its key, its certificate re-issued by the "
            f"intermediate CA with {what.en}",
        ),
        _signed_as(ctx, reissued, key),
    )


def _unknown_critical_extension(ctx: _Context) -> Made:
    """One more extension, critical and unknown (RFC 5280 4.2: it must be rejected)."""
    return _reissued_signer(
        ctx,
        _UNKNOWN_EXTENSION,
        True,
        Bilingual(
            f"l'extension critique inconnue {oids.TEST_UNKNOWN_EXTENSION}",
            f"the unknown critical extension {oids.TEST_UNKNOWN_EXTENSION}",
        ),
    )


# A TLS certificate's purposes: no emailProtection, no anyExtendedKeyUsage.
_TLS_PURPOSES = x509.ExtendedKeyUsage(
    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
)
# An encryption key's usage: neither digitalSignature nor nonRepudiation.
_KEY_ENCIPHERMENT_ONLY = usage("key_encipherment")


def _wrong_extended_key_usage(ctx: _Context) -> Made:
    """extendedKeyUsage serverAuth and clientAuth only, non-critical as the real one (RFC
    8550 4.4.4: a receiver MUST check it holds emailProtection or anyExtendedKeyUsage)."""
    return _reissued_signer(
        ctx,
        _TLS_PURPOSES,
        False,
        Bilingual(
            "l'usage étendu de clé serverAuth et clientAuth seulement (sans emailProtection)",
            "the extended key usage serverAuth and clientAuth only (no emailProtection)",
        ),
    )


def _no_signature_key_usage(ctx: _Context) -> Made:
    """keyUsage keyEncipherment only, critical as the real one (RFC 8550 4.4.2: a signature
    verified with it MUST NOT be accepted)."""
    return _reissued_signer(
        ctx,
        _KEY_ENCIPHERMENT_ONLY,
        True,
        Bilingual(
            "l'usage de clé keyEncipherment seulement (ni digitalSignature ni nonRepudiation)",
            "the key usage keyEncipherment only (neither digitalSignature nor nonRepudiation)",
        ),
    )


def _case_ca(
    ctx: _Context,
    common_name: str,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPrivateKey,
    *,
    path_length: int | None = 0,
    ca_usage: x509.KeyUsage | None = None,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A CA of the case's own, named `common_name` (never a real CA's name, so a receiver
    cannot build another path through it) and issued by `issuer`: the intermediate's
    profile (certs.intermediate_certificate: cA true, pathLenConstraint 0, keyCertSign and
    cRLSign, the test policies, its validity), or the `path_length` and `ca_usage` the case
    asks for. Its key and serial are derived from the case, as the PKI derives its own."""
    key = _fresh_key(_seed(ctx), f"{ctx.case.id}/ca")
    serial = derived_serial(_seed(ctx), f"hostile/{ctx.case.id}/ca")
    names = ctx.pki.intermediate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    organization = names[0].value
    ca = intermediate_certificate(
        ca_name(common_name, str(organization)),
        key.public_key(),
        issuer,
        issuer_key,
        serial,
        ctx.pki.intermediate.not_valid_before_utc,
        ctx.pki.intermediate.not_valid_after_utc,
        path_length=path_length,
        ca_usage=ca_usage,
    )
    return ca, key


def _signed_under_ca(
    ctx: _Context, ca: x509.Certificate, ca_key: rsa.RSAPrivateKey, what: Bilingual
) -> Made:
    """A certificate in the sender's name for the sender's real key (`_certified`: its
    subject, address and validity), issued by `ca`, and the letter signed with that key,
    `ca` carried in the message and its CRL given (`_issuer_crl`): the signature, every
    certificate and their revocation status are sound, only the path is not."""
    key = ctx.sender.private_key("sign")
    public = key.public_key()
    certificate = _certified(ctx, public, ca, ca_key, f"{ctx.case.id}/{ctx.sender.id}")
    _issuer_crl(ctx, ca, ca_key)
    return (
        Bilingual(
            f"signé par {ctx.sender.id} avec sa clé, sous un certificat à son nom émis par "
            f"{what.fr}, cette AC jointe, sa LCR donnée au destinataire",
            f"signed by {ctx.sender.id} with its key, under a certificate in its name issued "
            f"by {what.en}, that CA carried, its CRL given to the receiver",
        ),
        _signed_as(ctx, certificate, key, carried=(ca,)),
    )


_SUB_CA_NAME = "TEST AC subordonnée hors contrainte (TEST ONLY)"


def _path_length_exceeded(ctx: _Context) -> Made:
    """The intermediate CA, whose pathLenConstraint is 0, issues a CA (cA true,
    keyCertSign), which issues the author's certificate: no non-self-issued CA may follow
    the intermediate, so no valid path exists (RFC 5280 6.1.4 (l) and (m), 4.2.1.9)."""
    ca, key = _case_ca(ctx, _SUB_CA_NAME, ctx.pki.intermediate, ctx.pki.intermediate_key())
    return _signed_under_ca(
        ctx,
        ca,
        key,
        Bilingual(
            f"« {_SUB_CA_NAME} » (CA:TRUE, keyCertSign), une AC émise par l'AC intermédiaire "
            "malgré sa contrainte pathLenConstraint 0",
            f"'{_SUB_CA_NAME}' (CA:TRUE, keyCertSign), a CA the intermediate CA issued despite "
            "its pathLenConstraint 0",
        ),
    )


_NO_CERT_SIGN_CA_NAME = "TEST AC sans keyCertSign (TEST ONLY)"
# A CA key meant for CRLs only: the intermediate's usage without keyCertSign.
_CRL_SIGN_ONLY = usage("crl_sign")


def _ca_without_key_cert_sign(ctx: _Context) -> Made:
    """The root issues a CA (cA true, no pathLenConstraint: RFC 5280 4.2.1.9 forbids one
    without keyCertSign) whose key usage is cRLSign alone, and that CA issues the
    author's certificate (RFC 5280 6.1.4 (n), 4.2.1.3). The root issues it, not the
    intermediate, whose pathLenConstraint 0 the path would break as well."""
    root_key = ctx.pki.root_key()
    ca, key = _case_ca(
        ctx,
        _NO_CERT_SIGN_CA_NAME,
        ctx.pki.root,
        root_key,
        path_length=None,
        ca_usage=_CRL_SIGN_ONLY,
    )
    return _signed_under_ca(
        ctx,
        ca,
        key,
        Bilingual(
            f"« {_NO_CERT_SIGN_CA_NAME} » (CA:TRUE, usage de clé cRLSign seul, sans "
            "keyCertSign), une AC émise par la racine",
            f"'{_NO_CERT_SIGN_CA_NAME}' (CA:TRUE, key usage cRLSign only, no keyCertSign), "
            "a CA the root issued",
        ),
    )


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


def _not_for_me_other(ctx: _Context) -> Made:
    other = ctx.pki.identity(_other_id(ctx))
    message = _reference_message(
        ctx,
        "encrypt",
        recipients=(other,),
        options=_no_self(_reference_options()),
    )
    # The message is addressed to the receiver, but only `other` can open it.
    top = mime.read(message)
    to = top.header.find(b"\r\nTo: ")
    end = top.header.find(b"\r\n", to + 2)
    changed = _splice(message, to, end, b"\r\nTo: " + ctx.recipient.email.encode())
    said = Bilingual(
        f"chiffré pour {other.id} seulement, adressé au destinataire",
        f"encrypted for {other.id} only, addressed to the receiver",
    )
    return said, changed


def _not_for_me_wrong_key(ctx: _Context) -> Made:
    other = ctx.pki.identity(_other_id(ctx))
    message = _reference_message(
        ctx,
        "encrypt",
        recipients=(ctx.recipient, other),
        options=_no_self(_reference_options()),
    )
    entity, data = _cms_of(message)
    infos = list(_enveloped(data)["content"]["recipient_infos"])
    mine = next(i for i in infos if _for_identity(i, ctx.recipient))
    theirs = next(i for i in infos if _for_identity(i, other))
    ktri = mine.chosen
    swapped = _rebuild(ktri, {"encrypted_key": theirs.chosen["encrypted_key"].dump()})
    changed = _replace_recipients(data, [swapped])
    return (
        Bilingual(
            f"le RecipientInfo du destinataire porte la clé de contenu chiffrée pour la clé "
            f"de {other.id}",
            f"the receiver's RecipientInfo carries the content key encrypted to {other.id}'s key",
        ),
        _with_cms(message, entity, changed),
    )


def _not_for_me_truncated(ctx: _Context) -> Made:
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
        Bilingual(
            f"clé chiffrée du destinataire tronquée à {kept} octets",
            f"the receiver's encrypted key truncated to {kept} bytes",
        ),
        _with_cms(message, entity, changed),
    )


# --- header surgery -----------------------------------------------------------------


def _eol(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data else b"\n"


def _header_and_body(message: bytes) -> tuple[list[bytes], bytes, bytes]:
    """The top header fields (each with its folded lines), the body, the line ending."""
    top = mime.read(message)
    eol = _eol(top.header or message)
    fields: list[bytes] = []
    for line in top.header.split(eol):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += eol + line
        elif line:
            fields.append(line)
    return fields, top.body, eol


def _field_name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def _with_fields(fields: list[bytes], body: bytes, eol: bytes) -> bytes:
    return b"".join(f + eol for f in fields) + eol + body


def _set_field(message: bytes, name: str, value: str) -> bytes:
    fields, body, eol = _header_and_body(message)
    wanted = name.lower().encode()
    line = f"{name}: {value}".encode()
    fields = [line if _field_name(f) == wanted else f for f in fields]
    return _with_fields(fields, body, eol)


def _mailbox(identity: Identity) -> str:
    return f"{identity.name} <{identity.email}>"


# --- class 4: From: differs from the signer ------------------------------------------


def _from_mismatch_header(ctx: _Context) -> Made:
    other = ctx.pki.identity(_other_id(ctx))
    message = _signed_message(ctx)
    return (
        Bilingual(
            f"signé par {ctx.sender.id}, From: réécrit en {other.id} <{other.email}>",
            f"signed by {ctx.sender.id}, From: rewritten to {other.id} <{other.email}>",
        ),
        _set_field(message, "From", _mailbox(other)),
    )


def _from_mismatch_certificate(ctx: _Context) -> Made:
    signer = ctx.pki.defective("email-mismatch")
    signing = replace(ctx, sender=signer)
    if ctx.producer == "openssl":
        message = _openssl_message(signing)
    else:
        message = _reference_message(signing, "sign", signer=signer)
    return (
        Bilingual(
            f"signé par {signer.id}, dont le certificat porte une autre adresse que From: "
            f"{signer.email}",
            f"signed by {signer.id}, whose certificate carries another address than From: "
            f"{signer.email}",
        ),
        message,
        signer.id,
    )


_AMBIGUOUS = ("other-first", "signer-first", "two-fields", "no-from")


def _from_ambiguous(ctx: _Context) -> Made:
    """The author made ambiguous (RFC 5322 3.6.2: several From: mailboxes need a Sender:),
    the signer's own address among the candidates or none given at all."""
    other = ctx.pki.identity(_other_id(ctx))
    message = _signed_message(ctx)
    fields, body, eol = _header_and_body(message)
    trick = ctx.draw.choice(_AMBIGUOUS, "trick")
    mine, theirs = _mailbox(ctx.sender), _mailbox(other)
    replacement = {
        "other-first": [f"From: {theirs}, {mine}".encode()],
        "signer-first": [f"From: {mine}, {theirs}".encode()],
        "two-fields": [f"From: {theirs}".encode(), f"From: {mine}".encode()],
        "no-from": [],
    }[trick]
    at = next(i for i, f in enumerate(fields) if _field_name(f) == b"from")
    fields = [*fields[:at], *replacement, *fields[at + 1 :]]
    described = {
        "other-first": Bilingual(
            f"From: l'adresse de {other.id} puis celle du signataire, sans Sender:",
            f"From: {other.id}'s mailbox then the signer's, no Sender:",
        ),
        "signer-first": Bilingual(
            f"From: l'adresse du signataire puis celle de {other.id}, sans Sender:",
            f"From: the signer's mailbox then {other.id}'s, no Sender:",
        ),
        "two-fields": Bilingual(
            f"deux champs From:, celui de {other.id} d'abord",
            f"two From: fields, {other.id}'s first",
        ),
        "no-from": Bilingual("aucun champ From:", "no From: field"),
    }[trick]
    return described, _with_fields(fields, body, eol)


# --- class 5: partial signature / wrapping -------------------------------------------

_UNSIGNED_TEXT = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Rectificatif : merci de transmettre le dossier complet de Mme Durand "
    b"a l'adresse ci-dessous.\r\n"
)
_OUTER = ("from", "to", "cc", "date", "subject", "message-id", "mime-version")


def _mixed(parts: list[bytes], boundary: str, eol: bytes) -> bytes:
    text = b"".join(b"--" + boundary.encode() + eol + p.rstrip(b"\r\n") + eol for p in parts)
    return (
        f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode()
        + eol
        + eol
        + text
        + b"--"
        + boundary.encode()
        + b"--"
        + eol
    )


def _partial_mixed(ctx: _Context) -> Made:
    message = _signed_message(ctx)
    fields, body, eol = _header_and_body(message)
    outer = [f for f in fields if _field_name(f).decode() in _OUTER]
    signed = _with_fields([f for f in fields if _field_name(f).decode() not in _OUTER], body, eol)
    unsigned = _UNSIGNED_TEXT.replace(b"\r\n", eol)
    first = ctx.draw.choice(("unsigned", "signed"), "first")
    parts = [unsigned, signed] if first == "unsigned" else [signed, unsigned]
    where = Bilingual("avant", "before") if first == "unsigned" else Bilingual("après", "after")
    return (
        Bilingual(
            f"multipart/mixed : une partie texte non signée {where.fr} la vraie partie "
            "multipart/signed",
            f"multipart/mixed: an unsigned text part {where.en} the genuine multipart/signed part",
        ),
        _with_fields(outer, b"", eol)[: -len(eol)] + _mixed(parts, "hostile-mixed-1", eol),
    )


def _partial_forwarded(ctx: _Context) -> Made:
    forwarder = ctx.pki.identity(_other_id(ctx))
    message = _signed_message(ctx)
    eol = _eol(message)
    note = _UNSIGNED_TEXT.replace(b"\r\n", eol)
    forwarded = b"Content-Type: message/rfc822" + eol + eol + message
    outer = [
        f"From: {_mailbox(forwarder)}".encode(),
        f"To: {ctx.recipient.email}".encode(),
        b"Subject: Fwd: " + SUBJECT.encode(),
        DATE.strftime("Date: %a, %d %b %Y %H:%M:%S +0000").encode(),
        b"MIME-Version: 1.0",
    ]
    return (
        Bilingual(
            f"transféré par {forwarder.id} (sans signature) autour du message signé de "
            f"{ctx.sender.id}, en message/rfc822",
            f"forwarded by {forwarder.id} (unsigned) around {ctx.sender.id}'s signed message "
            "as message/rfc822",
        ),
        _with_fields(outer, b"", eol)[: -len(eol)]
        + _mixed([note, forwarded], "hostile-forward-1", eol),
        forwarder.id,
    )


# --- class 6: stripped signature -----------------------------------------------------


def _stripped(ctx: _Context) -> Made:
    message = _signed_message(ctx)
    _, signed, _ = _multipart_signed(message)
    fields, _, eol = _header_and_body(message)
    outer = [f for f in fields if _field_name(f) != b"content-type"]
    return (
        Bilingual(
            "multipart/signed remplacé par sa première partie : la même lettre, sans signature",
            "multipart/signed replaced by its first part: the same letter, unsigned",
        ),
        _with_fields(outer, b"", eol)[: -len(eol)] + signed.raw,
    )


# --- class 7: encrypt-only malleability (EFAIL) --------------------------------------


def _envelope_parts(data: bytes) -> core_cms.EnvelopedParts:
    info = core_cms.parse(data)
    if not isinstance(info.content, core_cms.EnvelopedParts) or info.content.ciphertext is None:
        raise HostileError("the CMS part holds no enveloped-data with its ciphertext")
    return info.content


def _flip_envelope(
    ctx: _Context,
    message: bytes,
    targets: tuple[str, ...],
    *,
    basic_block: int = 1,
    within: tuple[int, int] | None = None,
) -> Made:
    """Flip one byte of the envelope: the IV, the GCM nonce, the tag or the ciphertext.

    The basic ciphertext byte is the first of block `basic_block`. `within` limits the
    ciphertext bytes to those whose change reaches these plaintext offsets: a CBC
    change garbles its own block and flips the same byte of the next one."""
    entity, data = _cms_of(message)
    envelope = _envelope_parts(data)
    assert envelope.ciphertext is not None
    target = ctx.draw.choice(targets, "target")
    mask = ctx.draw.xor("mask")
    algorithm = _locate(data, envelope.cipher_algorithm, "content cipher algorithm")
    positions: list[int] | None = None
    if target == "iv":
        # AES-CBC parameters: the 16-byte IV ends the AlgorithmIdentifier. Flipping it
        # changes the first plaintext block at the same place and nothing else.
        start, size, basic = algorithm + len(envelope.cipher_algorithm) - 16, 16, 0
    elif target == "nonce":
        # GCMParameters (RFC 5084): the 12-byte nonce is its first OCTET STRING.
        at = envelope.cipher_algorithm.find(b"\x04\x0c")
        if at < 0:
            raise HostileError("no 12-byte GCM nonce in the cipher parameters")
        start, size, basic = algorithm + at + 2, 12, 0
    elif target == "mac":
        if envelope.mac is None:
            raise HostileError("no authentication tag")
        start, size, basic = _locate(data, envelope.mac, "tag"), len(envelope.mac), 0
    else:
        ciphertext = envelope.ciphertext
        start, size = _locate(data, ciphertext, "ciphertext"), len(ciphertext)
        basic = min(16 * basic_block, size - 1)
        if within is not None:
            low, high = within
            positions = [j for j in range(size) if _reaches(j, low, high)]
    if positions:
        basic_index = positions.index(basic) if basic in positions else 0
        offset = positions[ctx.draw.index(len(positions), basic_index, "offset")]
    else:
        offset = ctx.draw.index(size, basic, "offset")
    changed = _flip(data, start + offset, mask)
    name = _ENVELOPE_TARGETS[target]
    return (
        Bilingual(
            f"{name.fr}, octet {offset} sur {size} xor 0x{mask:02x}",
            f"{target} byte {offset} of {size} xor 0x{mask:02x}",
        ),
        _with_cms(message, entity, changed),
    )


# What `_flip_envelope` may change, as the variant line names it.
_ENVELOPE_TARGETS = {
    "iv": Bilingual("IV", "iv"),
    "nonce": Bilingual("nonce GCM", "nonce"),
    "mac": Bilingual("étiquette d'authentification (mac)", "mac"),
    "ciphertext": Bilingual("texte chiffré", "ciphertext"),
}


def _reaches(offset: int, low: int, high: int) -> bool:
    """Whether flipping ciphertext byte `offset` changes plaintext in [low, high): CBC
    garbles the byte's own block and flips the same byte of the next block."""
    block = offset // 16 * 16
    flipped = offset + 16
    return (block < high and block + 16 > low) or low <= flipped < high


def _signed_span(ctx: _Context, message: bytes) -> tuple[int, int]:
    """Where the signed part lies in the decrypted content: the bytes a change must reach
    to be an attack. The rest of the inner multipart/signed (its header, preamble,
    delimiters, the signature part's header fields) is not signed, and a change there
    that still parses is rightly read as intact; a change of the signature's own bytes
    is the altered-signature-value case."""
    _, data = _cms_of(message)
    key = SoftwareKey(
        ctx.recipient.private_key("encrypt"), ctx.recipient.certificate("encrypt"), "recipient"
    )
    plain = cms_read.decrypt_enveloped(
        core_cms.parse(data).content,
        "hostile",
        keys=[key],
        options=ReceiveOptions(),
        found=Algorithms(),
    ).content
    inner = mime.read(plain)
    if inner.content_type != "multipart/signed" or len(inner.children) != 2:
        raise HostileError("the encrypted content is not a multipart/signed entity")
    signed = inner.children[0]
    return signed.offset, signed.end


def _efail_encrypt_only(ctx: _Context) -> Made:
    return _flip_envelope(ctx, _reference_message(ctx, "encrypt"), ("iv", "ciphertext"))


def _efail_signed_inside(ctx: _Context) -> Made:
    message = _reference_message(ctx, "sign-encrypt")
    # Block 22 lies in the signed letter, after the multipart/signed and part headers.
    span = _signed_span(ctx, message)
    # The IV reaches only the first block, the inner entity's header, which the signature
    # does not cover: a change there that still parses is read intact, rightly.
    return _flip_envelope(ctx, message, ("ciphertext",), basic_block=22, within=span)


def _gcm_altered(ctx: _Context) -> Made:
    message = _reference_message(ctx, "encrypt", options=_cipher_options("aes256-gcm"))
    return _flip_envelope(ctx, message, ("ciphertext", "mac", "nonce"))


# --- class 9: downgrade --------------------------------------------------------------

_RESIGN_DIGESTS: dict[str, tuple[str, str, hashes.HashAlgorithm]] = {
    "md5": (oids.MD5, oids.MD5_WITH_RSA, hashes.MD5()),
    "sha1": (oids.SHA1, oids.SHA1_WITH_RSA, hashes.SHA1()),
}


def _algorithm_identifier(dotted: str) -> bytes:
    return der.sequence(der.oid(dotted), b"\x05\x00")


def _resign(data: bytes, key: SoftwareKey, digest: str, content: bytes) -> bytes:
    """The signed-data's first signer signed again with `digest` (its attributes re-made)."""
    digest_oid, signature_oid, algorithm = _RESIGN_DIGESTS[digest]
    info = asn1_cms.ContentInfo.load(data)
    signed = info["content"]
    signer = signed["signer_infos"][0]
    hasher = hashes.Hash(algorithm)
    hasher.update(content)
    attributes = []
    for attribute in signer["signed_attrs"]:
        if attribute["type"].dotted == oids.MESSAGE_DIGEST:
            attributes.append(
                der.sequence(
                    der.oid(oids.MESSAGE_DIGEST), der.set_of(der.octet_string(hasher.finalize()))
                )
            )
        else:
            attributes.append(attribute.dump())
    signed_attrs = der.set_of(*attributes)
    signature = key.private_key.sign(signed_attrs, asym_padding.PKCS1v15(), algorithm)
    new_signer = _rebuild(
        signer,
        {
            "digest_algorithm": _algorithm_identifier(digest_oid),
            "signed_attrs": der.context_implicit(0, signed_attrs),
            "signature_algorithm": _algorithm_identifier(signature_oid),
            "signature": der.octet_string(signature),
        },
    )
    new_signed = _rebuild(
        signed,
        {
            "digest_algorithms": der.set_of(_algorithm_identifier(digest_oid)),
            "signer_infos": der.set_of(new_signer),
        },
    )
    return _content_info(oids.SIGNED_DATA, new_signed)


def _micalg_lie(digest: str) -> Maker:
    def make(ctx: _Context) -> Made:
        message = _signed_message(ctx)
        top, signed, signature = _multipart_signed(message)
        _, data = _cms_of(message)
        resigned = _resign(data, _sign_key(ctx.sender), digest, mime.canonicalize(signed.raw))
        message = _with_cms(message, signature, resigned)
        # micalg keeps saying sha-256 (what the producer wrote).
        micalg = top.param("micalg") or ""
        return (
            Bilingual(
                f"signé de nouveau en {digest.upper()} sur la même partie, micalg toujours "
                f"{micalg!r}",
                f"signed again with {digest.upper()} over the same part, micalg still {micalg!r}",
            ),
            message,
        )

    return make


def _cipher(content: ContentCipher) -> Maker:
    def make(ctx: _Context) -> Made:
        message = _reference_message(ctx, "encrypt", options=_cipher_options(content))
        said = Bilingual(f"contenu chiffré en {content}", f"content encrypted with {content}")
        return said, message

    return make


def _single_des(ctx: _Context) -> Made:
    """Single DES: the engine has no such cipher, so the envelope is re-made by hand from
    reference's (same recipient info layout), with an 8-byte key sent as DES-CBC. DES
    with three equal keys is single DES (the EDE steps cancel)."""
    options = _no_self(_cipher_options("des-ede3-cbc"))
    message = _reference_message(ctx, "encrypt", options=options)
    entity, data = _cms_of(message)
    rng = random.Random(ctx.label)
    key, iv = rng.randbytes(8), rng.randbytes(8)
    inner = mime.canonicalize(encode_content(LETTER, options.mime.content_encoding))
    padder = sym_padding.PKCS7(64).padder()
    padded = padder.update(inner) + padder.finalize()
    encryptor = Cipher(TripleDES(key * 3), sym_modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    info = _enveloped(data)
    envelope = info["content"]
    public = ctx.recipient.certificate("encrypt").public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    recipients = []
    for recipient_info in envelope["recipient_infos"]:
        ktri = recipient_info.chosen
        # The key transport of reference's RecipientInfo, which it keeps; its padding drawn
        # from the case's label, so that the message is the same in every run.
        padding_rng = _rng(ctx.label, ctx.producer, "des")
        encrypted = encrypt_key(public, key, ctx.key_transport, rng=padding_rng)
        recipients.append(_rebuild(ktri, {"encrypted_key": der.octet_string(encrypted)}))
    content_info = der.sequence(
        der.oid(oids.DATA),
        der.sequence(der.oid(oids.DES_CBC), der.octet_string(iv)),
        der.context_implicit(0, der.octet_string(ciphertext)),
    )
    inner_der = _rebuild(
        envelope,
        {"recipient_infos": der.set_of(*recipients), "encrypted_content_info": content_info},
    )
    return (
        Bilingual(
            "contenu chiffré en DES-CBC simple (1.3.14.3.2.7), clé de 56 bits",
            "content encrypted with single DES-CBC (1.3.14.3.2.7), 56-bit key",
        ),
        _with_cms(message, entity, _content_info(oids.ENVELOPED_DATA, inner_der)),
    )


def _cipher_options(content: ContentCipher) -> SendOptions:
    options = _reference_options()
    return replace(options, encrypt=replace(options.encrypt, content=content))


# --- the table -----------------------------------------------------------------------


def _flipper(
    pick: Callable[[bytes, core_cms.SignerParts], tuple[int, int, int]], what: Bilingual
) -> Maker:
    def make(ctx: _Context) -> Made:
        return _flip_in_cms(ctx, pick, what)

    return make


_MAKERS: dict[str, Maker] = {
    "altered-content": _altered_content,
    "altered-signed-attribute": _flipper(
        _pick_signed_attribute, Bilingual("attributs signés", "signed attributes")
    ),
    "altered-message-digest": _flipper(
        _pick_message_digest, Bilingual("valeur de message-digest", "message-digest value")
    ),
    "altered-signature-value": _flipper(
        _pick_signature, Bilingual("valeur de la signature", "signature value")
    ),
    "altered-content-swapped": _altered_content_swapped,
    "wrong-signer-certificate": _wrong_signer_certificate,
    "wrong-signer-identifier": _wrong_signer_identifier,
    "wrong-signer-issued-by-end-entity": _issued_by_end_entity,
    "defective-revoked": _defective("revoked"),
    "defective-expired": _defective("expired"),
    "defective-not-yet-valid": _defective("not-yet-valid"),
    "defective-unknown-root": _defective("unknown-root"),
    "defective-weak-key": _defective("weak-key"),
    "defective-sha1-certificate": _defective("sha1"),
    "defective-no-nonrepudiation": _defective("no-nonrepudiation"),
    "defective-gip-cps-oid": _defective("gip-cps-oid"),
    "defective-unknown-critical-extension": _unknown_critical_extension,
    "defective-wrong-extended-key-usage": _wrong_extended_key_usage,
    "defective-no-signature-key-usage": _no_signature_key_usage,
    "defective-path-length-exceeded": _path_length_exceeded,
    "defective-ca-without-key-cert-sign": _ca_without_key_cert_sign,
    "not-for-me-other-recipient": _not_for_me_other,
    "not-for-me-wrong-key": _not_for_me_wrong_key,
    "not-for-me-truncated-key": _not_for_me_truncated,
    "from-mismatch-header": _from_mismatch_header,
    "from-mismatch-certificate": _from_mismatch_certificate,
    "from-mismatch-ambiguous": _from_ambiguous,
    "partial-mixed-unsigned-part": _partial_mixed,
    "partial-forwarded-message": _partial_forwarded,
    "stripped-signature": _stripped,
    "efail-cbc-encrypt-only": _efail_encrypt_only,
    "efail-cbc-signed-inside": _efail_signed_inside,
    "efail-gcm-altered": _gcm_altered,
    "downgrade-micalg-sha1": _micalg_lie("sha1"),
    "downgrade-micalg-md5": _micalg_lie("md5"),
    "downgrade-rc2-40": _cipher("rc2-40-cbc"),
    "downgrade-des": _single_des,
    "downgrade-3des": _cipher("des-ede3-cbc"),
}


def makers() -> frozenset[str]:
    """The case ids this module can make a hostile message for."""
    return frozenset(_MAKERS)


def _context(
    case: RejectionCase,
    producer: str,
    pki: TestPKI,
    sender: str,
    recipient: str,
    data: st.DataObject | None,
    label: str,
    key_transport: KeyTransport,
) -> _Context:
    if producer not in case.producers:
        raise HostileError(f"case {case.id}: producer {producer!r} not among {case.producers}")
    return _Context(
        case=case,
        producer=producer,
        pki=pki,
        sender=pki.identity(sender),
        recipient=pki.identity(recipient),
        draw=_Draw(data),
        label=label,
        key_transport=key_transport,
    )


def _transported(case: RejectionCase, key_transport: KeyTransport) -> Bilingual:
    """What the variant line adds for envelopes whose key transport is not the usual one
    (nothing for a signed case, which has no envelope)."""
    if case.function == "sign" or key_transport == KEY_TRANSPORT:
        return Bilingual.same("")
    return SEMICOLON + Bilingual(
        f"transport de clé {key_transport}", f"key transport {key_transport}"
    )


def _label(case: RejectionCase) -> str:
    """The reference producer's seed: one per function, so that a hostile message is its
    control with the case's change."""
    return f"valid {case.function}"


def make_hostile(
    case: RejectionCase,
    *,
    producer: str,
    pki: TestPKI,
    sender: str,
    recipient: str,
    data: st.DataObject | None = None,
    key_transport: KeyTransport = KEY_TRANSPORT,
) -> Hostile:
    """The hostile message of `case`, from a valid message by `producer`.

    `sender` and `recipient` are identity ids of `pki` (valid identities; the
    defective-signer cases sign with the PKI's defective identity instead).
    `key_transport` is that of the reference producer's envelopes; the variant
    line names it when it is not the usual one. Raises HostileError when the
    producer fails or the case has no maker.
    """
    make = _MAKERS.get(case.id)
    if make is None:
        raise HostileError(f"case {case.id}: no hostile message maker")
    ctx = _context(case, producer, pki, sender, recipient, data, _label(case), key_transport)
    made = make(ctx)
    signer = made[2] if len(made) == 3 else ctx.sender.id
    wording = made[0] + _transported(case, key_transport)
    return Hostile(case.id, producer, wording, made[1], signer, recipient, tuple(ctx.crls))


def _control_gcm(ctx: _Context) -> bytes:
    return _reference_message(ctx, "encrypt", options=_cipher_options("aes256-gcm"))


# The cases whose valid message is not their function's usual one.
_CONTROLS: dict[str, tuple[str, Callable[[_Context], bytes]]] = {
    "efail-gcm-altered": ("aes256-gcm", _control_gcm),
}


def control_key(
    case: RejectionCase, producer: str, key_transport: KeyTransport = KEY_TRANSPORT
) -> str:
    """What the control of `case` depends on: cases with the same key share it, so a
    runner may read it once per receiver and key. An envelope's key transport is part
    of it; a signed case has none."""
    special = _CONTROLS.get(case.id)
    key = f"{producer} {case.function}" + (f" {special[0]}" if special else "")
    return key if case.function == "sign" else f"{key} {key_transport}"


def make_control(
    case: RejectionCase,
    *,
    producer: str,
    pki: TestPKI,
    sender: str,
    recipient: str,
    key_transport: KeyTransport = KEY_TRANSPORT,
) -> Hostile:
    """The valid message of the case's function by `producer`, from `sender` to
    `recipient`: what the hostile messages are made from, unchanged (for AES-GCM,
    the valid AES-GCM message), its envelope with `key_transport`.

    A receiver that does not read it (an error) cannot show that it refuses the
    hostile ones: its refusals prove nothing, and `judge` given its status calls
    the case not-applicable. It depends only on `control_key`.
    """
    ctx = _context(case, producer, pki, sender, recipient, None, _label(case), key_transport)
    special = _CONTROLS.get(case.id)
    if special is not None:
        message = special[1](ctx)
    elif case.function == "sign":
        message = _signed_message(ctx)
    else:
        operation: Operation = "encrypt" if case.function == "encrypt" else "sign-encrypt"
        message = _reference_message(ctx, operation)
    key = control_key(case, producer, key_transport)
    variant = Bilingual(
        f"le message valide ({key}), inchangé", f"the valid message ({key}), unchanged"
    )
    return Hostile(case.id, producer, variant, message, sender, recipient)
