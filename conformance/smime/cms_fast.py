"""A fast walk of ContentInfo -> SignedData / EnvelopedData / AuthEnvelopedData.

Hand-written on purpose: asn1crypto's lazy object model costs tens of
microseconds per field navigated, which made CMS parsing the largest part
of reading a message after the RSA operations. This walk reads plain
definite-length DER tag by tag (a few microseconds per element) and
extracts exactly what verification and decryption use. It is deliberately
stricter than asn1crypto: whenever it meets anything it does not handle
(indefinite or non-minimal lengths, high tag numbers, unexpected tags,
nested constructed strings, extra fields, trailing bytes) it returns None,
and the reader takes the asn1crypto path, which classifies the error (or
reads the odd encoding) as before. So when this walk succeeds, the
asn1crypto path would have read the same values without error.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

__all__ = [
    "AUTH_ENVELOPED",
    "CONTENT_TYPE_ATTR",
    "ENVELOPED",
    "MESSAGE_DIGEST_ATTR",
    "SIGNED",
    "EnvelopedParts",
    "Identifier",
    "RecipientParts",
    "SignedParts",
    "SignerParts",
    "walk_content_info",
]

SIGNED = "1.2.840.113549.1.7.2"
ENVELOPED = "1.2.840.113549.1.7.3"
AUTH_ENVELOPED = "1.2.840.113549.1.9.16.1.23"
CONTENT_TYPE_ATTR = "1.2.840.113549.1.9.3"
MESSAGE_DIGEST_ATTR = "1.2.840.113549.1.9.4"

# RecipientInfo alternatives other than ktri, by their [n] IMPLICIT tag (asn1crypto names).
_OTHER_RECIPIENTS = {0xA1: "kari", 0xA2: "kekri", 0xA3: "pwri", 0xA4: "ori"}


# The parts are named tuples, not frozen dataclasses: a frozen dataclass sets each
# field through object.__setattr__, a few microseconds per message for these.


class _Unhandled(Exception):
    """Not plain DER of the expected shape: leave it to asn1crypto."""


class Identifier(NamedTuple):
    """A SignerIdentifier / RecipientIdentifier: subject key identifier, or issuer and serial."""

    ski: bytes | None
    issuer: bytes  # the issuer Name's DER (empty with a subject key identifier)
    serial: int


class SignerParts(NamedTuple):
    sid: Identifier
    digest_oid: str
    signature_algorithm: bytes  # AlgorithmIdentifier DER
    signature_oid: str
    signature: bytes
    signed_attrs: bytes | None  # contents of the [0] IMPLICIT SET, None when absent
    # content-type values (dotted) and message-digest values (bytes), per attribute occurrence
    content_types: tuple[tuple[str, ...], ...]
    message_digests: tuple[tuple[bytes, ...], ...]


class SignedParts(NamedTuple):
    content_type: str  # eContentType
    content: bytes | None  # eContent, None when absent
    certificates: tuple[bytes, ...]  # DER of each X.509 certificate
    signers: tuple[SignerParts, ...]


class RecipientParts(NamedTuple):
    name: str  # "ktri", "kari", ... as asn1crypto names the RecipientInfo choice
    rid: Identifier | None  # ktri only
    key_algorithm: bytes  # KeyEncryptionAlgorithm DER (ktri only)
    encrypted_key: bytes


class EnvelopedParts(NamedTuple):
    aead: bool
    content_type: str
    cipher_algorithm: bytes  # ContentEncryptionAlgorithmIdentifier DER
    cipher_oid: str
    ciphertext: bytes | None
    recipients: tuple[RecipientParts, ...]
    mac: bytes | None  # AuthEnvelopedData only
    auth_attrs: bytes | None  # contents of the [1] IMPLICIT SET, None when absent


# --- TLV reading ----------------------------------------------------------------------


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, content end) of each element in [start, end).

    Tag and length are read inline: this loop reads every element of the walk,
    and a call per element was a third of its time.
    """
    found: list[tuple[int, int, int, int]] = []
    append = found.append
    pos = start
    while pos < end:
        if pos + 2 > end:
            raise _Unhandled
        tag = data[pos]
        if tag & 0x1F == 0x1F:
            raise _Unhandled  # high tag number form
        length = data[pos + 1]
        a = pos + 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or a + count > end or data[a] == 0:
                raise _Unhandled  # indefinite, huge or non-minimal length
            length = int.from_bytes(data[a : a + count], "big")
            if length < 0x80:
                raise _Unhandled
            a += count
        b = a + length
        if b > end:
            raise _Unhandled
        append((tag, pos, a, b))
        pos = b
    return found


@functools.lru_cache(maxsize=1024)
def _dotted(encoded: bytes) -> str:
    """An OBJECT IDENTIFIER's contents as dotted text; minimal encoding only."""
    if not encoded or encoded[-1] & 0x80:
        raise _Unhandled
    arcs: list[int] = []
    value = 0
    fresh = True
    for byte in encoded:
        if fresh and byte == 0x80:
            raise _Unhandled  # non-minimal sub-identifier
        value = (value << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            if not arcs:
                first = min(value // 40, 2)
                arcs.extend((first, value - 40 * first))
            else:
                arcs.append(value)
            value = 0
    return ".".join(map(str, arcs))


def _oid(data: bytes, element: tuple[int, int, int, int]) -> str:
    tag, _, a, b = element
    if tag != 0x06:
        raise _Unhandled
    return _dotted(data[a:b])


def _octets(data: bytes, element: tuple[int, int, int, int], primitive: int) -> bytes:
    """A primitive string, or one level of constructed (BER) chunks of primitive OCTET STRINGs."""
    tag, _, a, b = element
    if tag == primitive:
        return data[a:b]
    if tag != primitive | 0x20:
        raise _Unhandled
    chunks = []
    for chunk in _children(data, a, b):
        if chunk[0] != 0x04:
            raise _Unhandled
        chunks.append(data[chunk[2] : chunk[3]])
    return b"".join(chunks)


def _integer(data: bytes, element: tuple[int, int, int, int]) -> int:
    tag, _, a, b = element
    if tag != 0x02 or a == b:
        raise _Unhandled
    return int.from_bytes(data[a:b], "big", signed=True)


def _algorithm(data: bytes, element: tuple[int, int, int, int]) -> tuple[bytes, str]:
    """(AlgorithmIdentifier DER, algorithm OID): SEQUENCE { OID, parameters OPTIONAL }."""
    tag, start, a, b = element
    if tag != 0x30:
        raise _Unhandled
    fields = _children(data, a, b)
    if not 1 <= len(fields) <= 2:
        raise _Unhandled
    return data[start:b], _oid(data, fields[0])


def _identifier(data: bytes, element: tuple[int, int, int, int]) -> Identifier:
    tag, _, a, b = element
    if tag == 0x80:  # [0] IMPLICIT SubjectKeyIdentifier
        return Identifier(data[a:b], b"", 0)
    if tag != 0x30:
        raise _Unhandled
    fields = _children(data, a, b)
    if len(fields) != 2 or fields[0][0] != 0x30:
        raise _Unhandled
    name = fields[0]
    return Identifier(None, data[name[1] : name[3]], _integer(data, fields[1]))


def _take(
    fields: list[tuple[int, int, int, int]], index: int, tag: int
) -> tuple[tuple[int, int, int, int] | None, int]:
    """The optional field at `index` when it has `tag`, and the index of the next field."""
    if index < len(fields) and fields[index][0] == tag:
        return fields[index], index + 1
    return None, index


def _required(fields: list[tuple[int, int, int, int]], index: int) -> tuple[int, int, int, int]:
    if index >= len(fields):
        raise _Unhandled
    return fields[index]


# --- the structures -------------------------------------------------------------------


def walk_content_info(der: bytes) -> tuple[str, SignedParts | EnvelopedParts] | None:
    """(content type, extracted parts) of a ContentInfo holding one of the three types.

    None for other content types and for anything this walk does not handle.
    """
    try:
        top = _children(der, 0, len(der))
        if len(top) != 1 or top[0][0] != 0x30:
            return None  # not one SEQUENCE spanning the whole encoding
        _, _, a, b = top[0]
        fields = _children(der, a, b)
        if len(fields) != 2:
            return None
        content_type = _oid(der, fields[0])
        explicit = fields[1]
        if explicit[0] != 0xA0:
            return None
        inner = _children(der, explicit[2], explicit[3])
        if len(inner) != 1 or inner[0][0] != 0x30:
            return None
        if content_type == SIGNED:
            return content_type, _signed_data(der, inner[0])
        if content_type in (ENVELOPED, AUTH_ENVELOPED):
            return content_type, _enveloped_data(der, inner[0], content_type == AUTH_ENVELOPED)
        return None
    except (_Unhandled, RecursionError):
        return None


def _signed_data(data: bytes, element: tuple[int, int, int, int]) -> SignedParts:
    fields = _children(data, element[2], element[3])
    _integer(data, _required(fields, 0))  # version
    if _required(fields, 1)[0] != 0x31:  # digestAlgorithms
        raise _Unhandled
    encap = _required(fields, 2)
    if encap[0] != 0x30:
        raise _Unhandled
    certificates, index = _take(fields, 3, 0xA0)
    _, index = _take(fields, index, 0xA1)  # crls: not read
    signer_infos = _required(fields, index)
    if signer_infos[0] != 0x31 or index + 1 != len(fields):
        raise _Unhandled

    encap_fields = _children(data, encap[2], encap[3])
    if not 1 <= len(encap_fields) <= 2:
        raise _Unhandled
    content_type = _oid(data, encap_fields[0])
    content: bytes | None = None
    if len(encap_fields) == 2:
        if encap_fields[1][0] != 0xA0:
            raise _Unhandled
        explicit = _children(data, encap_fields[1][2], encap_fields[1][3])
        if len(explicit) != 1:
            raise _Unhandled
        content = _octets(data, explicit[0], 0x04)

    certs: list[bytes] = []
    if certificates is not None:
        for choice in _children(data, certificates[2], certificates[3]):
            if choice[0] != 0x30:
                raise _Unhandled  # other certificate formats: left to asn1crypto
            certs.append(data[choice[1] : choice[3]])
    signers = tuple(
        _signer_info(data, info) for info in _children(data, signer_infos[2], signer_infos[3])
    )
    return SignedParts(content_type, content, tuple(certs), signers)


def _signer_info(data: bytes, element: tuple[int, int, int, int]) -> SignerParts:
    if element[0] != 0x30:
        raise _Unhandled
    fields = _children(data, element[2], element[3])
    _integer(data, _required(fields, 0))  # version
    sid = _identifier(data, _required(fields, 1))
    _, digest_oid = _algorithm(data, _required(fields, 2))
    attrs, index = _take(fields, 3, 0xA0)
    signature_algorithm, signature_oid = _algorithm(data, _required(fields, index))
    signature_field = _required(fields, index + 1)
    if signature_field[0] != 0x04:
        raise _Unhandled
    _, index = _take(fields, index + 2, 0xA1)  # unsignedAttrs: not read
    if index != len(fields):
        raise _Unhandled
    content_types: list[tuple[str, ...]] = []
    digests: list[tuple[bytes, ...]] = []
    signed_attrs: bytes | None = None
    if attrs is not None:
        signed_attrs = data[attrs[2] : attrs[3]]
        for attr in _children(data, attrs[2], attrs[3]):
            if attr[0] != 0x30:
                raise _Unhandled
            parts = _children(data, attr[2], attr[3])
            if len(parts) != 2 or parts[1][0] != 0x31:
                raise _Unhandled
            kind = _oid(data, parts[0])
            if kind == CONTENT_TYPE_ATTR:
                values = _children(data, parts[1][2], parts[1][3])
                content_types.append(tuple(_oid(data, v) for v in values))
            elif kind == MESSAGE_DIGEST_ATTR:
                values = _children(data, parts[1][2], parts[1][3])
                if any(v[0] != 0x04 for v in values):
                    raise _Unhandled
                digests.append(tuple(data[v[2] : v[3]] for v in values))
    return SignerParts(
        sid,
        digest_oid,
        signature_algorithm,
        signature_oid,
        data[signature_field[2] : signature_field[3]],
        signed_attrs,
        tuple(content_types),
        tuple(digests),
    )


def _enveloped_data(data: bytes, element: tuple[int, int, int, int], aead: bool) -> EnvelopedParts:
    fields = _children(data, element[2], element[3])
    _integer(data, _required(fields, 0))  # version
    _, index = _take(fields, 1, 0xA0)  # originatorInfo: not read
    recipient_infos = _required(fields, index)
    info = _required(fields, index + 1)
    if recipient_infos[0] != 0x31 or info[0] != 0x30:
        raise _Unhandled
    index += 2
    mac: bytes | None = None
    auth_attrs: bytes | None = None
    if aead:
        attrs, index = _take(fields, index, 0xA1)
        if attrs is not None:
            auth_attrs = data[attrs[2] : attrs[3]]
        mac_field = _required(fields, index)
        if mac_field[0] != 0x04:
            raise _Unhandled
        mac = data[mac_field[2] : mac_field[3]]
        _, index = _take(fields, index + 1, 0xA2)  # unauthAttrs: not read
    else:
        _, index = _take(fields, index, 0xA1)  # unprotectedAttrs: not read
    if index != len(fields):
        raise _Unhandled

    info_fields = _children(data, info[2], info[3])
    if not 2 <= len(info_fields) <= 3:
        raise _Unhandled
    content_type = _oid(data, info_fields[0])
    cipher_algorithm, cipher_oid = _algorithm(data, info_fields[1])
    ciphertext = _octets(data, info_fields[2], 0x80) if len(info_fields) == 3 else None
    recipients = tuple(
        _recipient(data, r) for r in _children(data, recipient_infos[2], recipient_infos[3])
    )
    return EnvelopedParts(
        aead, content_type, cipher_algorithm, cipher_oid, ciphertext, recipients, mac, auth_attrs
    )


def _recipient(data: bytes, element: tuple[int, int, int, int]) -> RecipientParts:
    tag = element[0]
    if tag in _OTHER_RECIPIENTS:
        return RecipientParts(_OTHER_RECIPIENTS[tag], None, b"", b"")
    if tag != 0x30:
        raise _Unhandled
    fields = _children(data, element[2], element[3])
    if len(fields) != 4:
        raise _Unhandled
    _integer(data, fields[0])  # version
    rid = _identifier(data, fields[1])
    key_algorithm, _ = _algorithm(data, fields[2])
    if fields[3][0] != 0x04:
        raise _Unhandled
    return RecipientParts("ktri", rid, key_algorithm, data[fields[3][2] : fields[3][3]])
