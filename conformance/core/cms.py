"""The one CMS reader: ContentInfo -> immutable parts that every judge reads.

The strict receiver (`smime.receive`), the validator (`check`) and the tool
agents all read a CMS object through `parse`, which returns a `ContentInfo`
of named tuples (`SignedParts`, `EnvelopedParts`, ...) holding what any of
them uses: content types, encapsulated content, digest algorithms,
certificates and CRLs as DER, signers (identifier, algorithms, signature,
signed attributes and the decoded content-type, message-digest and
signing-time values), recipient infos, cipher, ciphertext, MAC.

Two readings, one result. The fast walk is hand-written on purpose:
asn1crypto's lazy object model costs tens of microseconds per field
navigated, which made CMS parsing the largest part of reading a message
after the RSA operations; the walk reads the encoding tag by tag (a few
microseconds per element). It takes DER, and the BER that NSS and gpgsm
write: indefinite lengths on the constructed elements down the content path
(ContentInfo, SignedData or EnvelopedData, the encapsulated or encrypted
content info, the content string in chunks). It is deliberately strict:
whatever else it does not handle (non-minimal lengths, an indefinite length
on a primitive element or on a part handed on whole, such as a certificate,
an algorithm identifier or a name, high tag numbers, unexpected tags, nested
constructed strings, extra fields, trailing bytes) makes it give up, and
asn1crypto reads the object instead, converted into the same parts. So the
fallback runs only on what the walk does not take, and on every input both
take they give equal parts (tests/test_core_cms.py checks it over a mutated
corpus, BER re-encodings included).

A constructed, definite-length OCTET STRING as content (data, eContent or
encryptedContent) is legitimate BER (X.690 8.7.3; RFC 5652 5.2 allows BER)
and is ACCEPTED by both readings: the walk joins one level of primitive
chunks, the fallback any nesting (asn1crypto cannot build such a string
itself, so the fallback joins the chunks from asn1crypto's raw parser).

What does not parse raises `CmsError` (where + detail), the one error of
this module; the smime layer maps it to a MALFORMED status. So does, in both
readings, an OID the parts hold with an arc over 128 bits (`oid_arc_problem`),
and, once a reading succeeds, an element anywhere in the object that does not
read (`element_end`: one running past its container, inside a name or a
certificate that both readings hand on whole) or an OID anywhere with such an
arc (in an algorithm's parameters, which the judges read with asn1crypto; in a
signed attribute; in a carried certificate's structure: not inside an OCTET or BIT
STRING, such as an extension's value, which `element_end` does not open and
`certificates.parse_problem` reads), named by the structure holding it
(`_structure_at`): the reader over a spool (`core.cms_spool`) reads every
element through the same function, and its skeleton through `parse`, so the
two refuse the same objects in the same words. Octets after the ContentInfo are
counted (`ContentInfo.trailing`), not read, by both.
"""

from __future__ import annotations

import functools
import mmap
from datetime import datetime
from typing import Literal, NamedTuple, TypeAlias

from asn1crypto import cms, core, parser

from conformance.core import oids

__all__ = [
    "ARC_BITS",
    "MAX_DEPTH",
    "SMIME_CONTENT_TYPES",
    "CmsError",
    "CmsErrorCode",
    "ContentInfo",
    "DataParts",
    "DigestedParts",
    "EncryptedParts",
    "EnvelopedParts",
    "Identifier",
    "Parts",
    "RecipientParts",
    "SignedParts",
    "SignerParts",
    "TimeProblem",
    "element_encodings",
    "element_end",
    "element_header",
    "encoded_oid_problem",
    "invalid_encoding",
    "large_arc_text",
    "layer_name",
    "oid_arc_problem",
    "parse",
    "signing_time",
    "time_problem",
    "walk",
]

# RecipientInfo alternatives other than ktri, by their [n] IMPLICIT tag (asn1crypto names).
_OTHER_RECIPIENTS = {0xA1: "kari", 0xA2: "kekri", 0xA3: "pwri", 0xA4: "ori"}

# CMS content types as S/MIME names them (smime-type values, RFC 8551 3.2.2).
LAYER_NAMES: dict[str, str] = {
    oids.SIGNED_DATA: "signed-data",
    oids.ENVELOPED_DATA: "enveloped-data",
    oids.AUTH_ENVELOPED_DATA: "authEnveloped-data",
    oids.DATA: "data",
    oids.DIGESTED_DATA: "digested-data",
    oids.ENCRYPTED_DATA: "encrypted-data",
    oids.COMPRESSED_DATA: "compressed-data",
}


# The CMS content types an S/MIME part carries: the smime-type values of RFC 8551 3.2.2
# (certs-only is a SignedData), compressed-data of RFC 3274 among them.
SMIME_CONTENT_TYPES = frozenset(
    {oids.SIGNED_DATA, oids.ENVELOPED_DATA, oids.AUTH_ENVELOPED_DATA, oids.COMPRESSED_DATA}
)


def layer_name(content_type_oid: str) -> str:
    """A content type as a person reads it: its S/MIME name, else its OID (`oids.shown`)."""
    return LAYER_NAMES.get(content_type_oid) or oids.shown(content_type_oid)


# What is wrong with a CMS object that does not parse, for a caller wording it in another
# language than `CmsError.detail`'s English ("other": only the detail says).
CmsErrorCode = Literal["empty", "invalid-asn1", "no-content", "large-arc", "other"]


class CmsError(ValueError):
    """A CMS object that does not parse: `where` names the structure, `detail` the fault;
    `code` the kind of fault and `value` the fact the detail names (the ASN.1 parser's own
    words for "invalid-asn1", the content type's name for "no-content", the shortened OID
    for "large-arc", `oid_arc_problem`); `signer` the
    SignerInfo's number (1 for the first) when `where` is one ("signer 1"), for a caller
    naming it in another language."""

    def __init__(
        self,
        where: str,
        detail: str,
        code: CmsErrorCode = "other",
        value: str = "",
        *,
        signer: int | None = None,
    ) -> None:
        self.where = where
        self.detail = detail
        self.code = code
        self.value = value
        self.signer = signer
        super().__init__(f"{where}: {detail}" if where else detail)


class _Unhandled(Exception):
    """Not plain DER of the expected shape: leave it to asn1crypto."""


# The parts are named tuples, not frozen dataclasses: a frozen dataclass sets each
# field through object.__setattr__, a few microseconds per message for these.


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
    # Per attribute occurrence, its values: content-type (dotted), message-digest
    # (bytes), signing-time (the Time's DER, read with `signing_time`; `time_problem` says
    # why one is no date).
    content_types: tuple[tuple[str, ...], ...]
    message_digests: tuple[tuple[bytes, ...], ...]
    signing_times: tuple[tuple[bytes, ...], ...]


class SignedParts(NamedTuple):
    content_type: str  # eContentType
    content: bytes | None  # eContent, None when absent
    digest_algorithms: tuple[str, ...]  # digestAlgorithms OIDs
    certificates: tuple[bytes, ...]  # DER of each X.509 certificate (other formats skipped)
    crls: tuple[bytes, ...]  # DER of each CertificateList (other formats skipped)
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


class DigestedParts(NamedTuple):
    digest_oid: str
    content_type: str
    content: bytes | None
    digest: bytes


class EncryptedParts(NamedTuple):
    content_type: str
    cipher_algorithm: bytes
    cipher_oid: str
    ciphertext: bytes | None


class DataParts(NamedTuple):
    content: bytes


Parts: TypeAlias = SignedParts | EnvelopedParts | DigestedParts | EncryptedParts | DataParts | None


class ContentInfo(NamedTuple):
    """A ContentInfo read: `content` is None for content types not read here.

    `trailing`: octets after the ContentInfo. Readers ignore them, as OpenSSL does (its
    `cms` reads the object and stops); the validator reports them (CMS-001)."""

    content_type: str
    content: Parts
    trailing: int = 0


def signing_time(value: bytes) -> datetime | None:
    """A signing-time value (UTCTime or GeneralizedTime DER), None when it does not read."""
    moment = _read_time(value)
    return moment if isinstance(moment, datetime) else None


class TimeProblem(NamedTuple):
    """Why a Time value is no date: `written`, the value as written ('UTCTime
    "251399999999Z"', control octets escaped); `fault`, "empty", "year-0" (which asn1crypto
    reads, as its own extended_datetime) or "invalid", and then `said`, asn1crypto's words."""

    written: str
    fault: Literal["empty", "year-0", "invalid"]
    said: str = ""


def time_problem(value: bytes) -> TimeProblem | None:
    """Why a signing-time value (a Time's DER) is no date; None when it is one."""
    moment = _read_time(value)
    return None if isinstance(moment, datetime) else moment


def _read_time(value: bytes) -> datetime | TimeProblem:
    """A Time's DER as a date, or why it is none."""
    text = b""
    try:
        time = cms.Time.load(value)
        text = time.chosen.contents or b""
        if not text:
            return TimeProblem(_written(value, text), "empty")
        moment = time.native
    except PARSE_ERRORS as exc:
        said = str(exc).strip()  # it may quote the value: control octets escaped
        said = _escaped(said.splitlines()[0][:200] if said else type(exc).__name__)
        return TimeProblem(_written(value, text), "invalid", said)
    if isinstance(moment, datetime):
        return moment
    return TimeProblem(_written(value, text), "year-0")


def _written(value: bytes, text: bytes) -> str:
    kind = {0x17: "UTCTime", 0x18: "GeneralizedTime"}.get(value[0] if value else -1, "Time")
    more = "..." if len(text) > 40 else ""
    return f'{kind} "{_escaped(text[:40].decode("latin-1"))}{more}"'


def _escaped(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


# --- the entry point --------------------------------------------------------------------


def content_type(der: bytes) -> str | None:
    """The content type a ContentInfo declares, read from its first field alone (nothing
    after it read); None when that does not read."""
    try:
        _, a, _ = element_header(der, 0, len(der))
        tag, b, length = element_header(der, a, len(der))
        return _dotted(der[b : b + length]) if tag == 0x06 and length is not None else None
    except (CmsError, _Unhandled):
        return None


def parse(der: bytes) -> ContentInfo:
    """Read a ContentInfo: the fast walk, else asn1crypto, then its structure in full
    (`element_end`, every OBJECT IDENTIFIER bounded: neither reading opens what it hands
    on whole, such as an algorithm's parameters, which the judges then read with
    asn1crypto); raises CmsError."""
    if not der:
        raise CmsError("", "empty CMS object", "empty")
    info = walk(der) or from_asn1crypto(der)
    try:
        element_end(der, 0, len(der), bound_oids=True)
    except _LargeArc as exc:
        assert exc.at is not None
        where, signer = _structure_at(der, exc.at)
        raise _large_arc(where, exc.shown, signer) from None
    return info


# --- the structure: every element complete ---------------------------------------------

# The deepest nesting read: a signed message's deepest element (an extension's inside a
# carried certificate) is about 12 levels down.
MAX_DEPTH = 32


# An encoding in memory, or a spool's map.
Encoding: TypeAlias = bytes | mmap.mmap


def invalid_encoding(what: str) -> CmsError:
    """An encoding whose structure does not read (`element_end`), in the words of
    asn1crypto's refusals."""
    return CmsError("", f"invalid CMS/ASN.1: {what}", "invalid-asn1", what)


def element_header(
    data: Encoding, pos: int, end: int, base: int = 0
) -> tuple[int, int, int | None]:
    """(tag, where the contents begin, their length or None when indefinite) of the
    element at `pos`, which must end by `end`; CmsError naming its byte (counted from
    `base`) when the header does not read. High tag numbers (none in CMS or X.509) and
    lengths over 8 octets are refused."""
    if pos + 2 > end:
        raise invalid_encoding(f"truncated element at byte {pos - base}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise invalid_encoding(f"high tag number at byte {pos - base} (not CMS)")
    first = data[pos + 1]
    a = pos + 2
    if first == 0x80:
        if not tag & 0x20:
            raise invalid_encoding(f"indefinite length of a primitive at byte {pos - base}")
        return tag, a, None
    if first & 0x80:
        count = first & 0x7F
        if count > 8 or a + count > end:
            raise invalid_encoding(f"bad length at byte {pos - base}")
        length = int.from_bytes(data[a : a + count], "big")
        a += count
    else:
        length = first
    if a + length > end:
        raise invalid_encoding(f"element at byte {pos - base} runs past its container")
    return tag, a, length


def element_end(
    data: Encoding,
    pos: int,
    end: int,
    depth: int = 0,
    base: int = 0,
    *,
    bound_oids: bool = False,
) -> int:
    """Where the element at `pos` ends (after its end-of-contents octets when of
    indefinite length), every element inside it read: the contents of a constructed
    encoding are complete encodings (X.690 8.1.1, 8.1.3.6), so one that runs past its
    container makes the object malformed, wherever it lies (asn1crypto parses lazily and
    never reads a name handed on whole). Both readers, in memory and from a spool
    (`core.cms_spool`), read every element through this. CmsError naming the byte.

    With `bound_oids`, an OBJECT IDENTIFIER with an arc over `ARC_BITS` bits raises
    `_LargeArc` at its position, for `parse` to name the structure holding it (by
    structure, not by byte: the spooled reader's skeleton has other offsets)."""
    # Depth first without recursion: the stack holds, for each constructed element open,
    # where its contents stop, whether of indefinite length, and its encoding when it is
    # to be remembered (`_READ`); a call per element was most of the reading's time
    # (every CMS object received or checked is read so).
    opened: list[tuple[int, bool, bytes | None]] = []
    a, limit = pos, end
    while True:
        level = depth + len(opened)
        if level > MAX_DEPTH:
            raise invalid_encoding(f"nesting deeper than {MAX_DEPTH} levels")
        at = a
        tag = data[a] if a < limit else 0x1F  # (a truncated element: element_header says)
        first = data[a + 1] if a + 1 < limit else 0x80
        length: int | None
        # The short form and two length octets, most elements, read here; anything else,
        # and whatever does not fit, by element_header (which says why).
        if tag & 0x1F != 0x1F and first < 0x80 and a + 2 + first <= limit:
            a, length = a + 2, first
        elif (
            tag & 0x1F != 0x1F
            and first == 0x82
            and a + 4 <= limit
            and a + 4 + ((data[a + 2] << 8) | data[a + 3]) <= limit
        ):
            a, length = a + 4, (data[a + 2] << 8) | data[a + 3]
        else:
            tag, a, length = element_header(data, at, limit, base)
        if tag & 0x20:
            if length is None:
                opened.append((limit, True, None))
            else:
                encoding = None
                if level <= _READ_LEVEL and _READ_MIN <= a + length - at <= _READ_MAX:
                    encoding = bytes(data[at : a + length])
                if encoding is not None and _READ.get((encoding, bound_oids), -1) >= level:
                    a += length  # read whole before, at this level or deeper: not again
                else:
                    limit = a + length
                    opened.append((limit, False, encoding))
        else:
            assert length is not None  # element_header refuses an indefinite primitive
            if bound_oids and tag == 0x06 and length >= _ARC_OCTETS:
                shown = oid_arc_problem(bytes(data[a : a + length]))
                if shown is not None:
                    raise _LargeArc(shown, at)
            a += length
        while opened:  # close the elements whose contents are all read
            stop, indefinite, encoding = opened[-1]
            if indefinite:
                if a + 2 > stop:
                    raise invalid_encoding("indefinite length without its end-of-contents")
                if data[a] != 0 or data[a + 1] != 0:
                    break
                a += 2
            elif a < stop:
                break
            opened.pop()
            if encoding is not None:
                _remember((encoding, bound_oids), depth + len(opened))
        if not opened:
            return a
        limit = opened[-1][0]


# Constructed encodings read whole before, with the deepest level each was read at (it
# reads at any level up to that one): a sender's certificates come in every message, and
# were most of the elements read. Between these sizes (a certificate, a name, a key; not
# a message's content), down to a SignedData's certificates (level 4: ContentInfo,
# [0], SignedData, certificates, Certificate), so that no byte is copied more than five
# times whatever the nesting; at most _READ_KEPT of them (then forgotten all at once).
_READ: dict[tuple[bytes, bool], int] = {}
_READ_MIN, _READ_MAX, _READ_LEVEL, _READ_KEPT = 128, 16384, 4, 512


def _remember(key: tuple[bytes, bool], level: int) -> None:
    if len(_READ) >= _READ_KEPT:
        _READ.clear()
    _READ[key] = max(level, _READ.get(key, -1))


# The structure of each content type read, as the readings name where they fail.
_STRUCTURES = {
    oids.SIGNED_DATA: "SignedData",
    oids.ENVELOPED_DATA: "EnvelopedData",
    oids.AUTH_ENVELOPED_DATA: "AuthEnvelopedData",
    oids.DIGESTED_DATA: "DigestedData",
    oids.ENCRYPTED_DATA: "EncryptedData",
}


def _elements_in(der: bytes, pos: int, upto: int) -> list[tuple[int, int, int]]:
    """(tag, start, end) of each element inside the constructed element at `pos`, up to the
    one holding byte `upto`: `element_end` read those before it whole, and that one up to
    `upto` only (what follows may not read: its end is then taken as the container's)."""
    _, a, length = element_header(der, pos, len(der))
    stop = len(der) if length is None else a + length
    found = []
    while a < stop and (length is not None or der[a : a + 2] != b"\0\0"):
        try:
            b = element_end(der, a, stop)
        except CmsError:
            b = stop  # the element holding `upto`: the others before it read
        found.append((der[a], a, b))
        if b > upto:
            break
        a = b
    return found


def _structure_at(der: bytes, pos: int) -> tuple[str, int | None]:
    """The structure of a ContentInfo holding the element at byte `pos`, named as the
    asn1crypto reading names where it fails ("SignedData", "signer 2", "recipientInfos";
    a carried certificate or CRL by its number), and the SignerInfo's number in one. By
    structure only, so that a skeleton (`core.cms_spool`) names it as the whole does."""
    info = _elements_in(der, 0, pos)
    if len(info) < 2 or pos < info[1][1]:
        return "ContentInfo", None
    name = _STRUCTURES.get(content_type(der) or "")
    inner = _elements_in(der, info[1][1], pos)
    if name is None or not inner:
        return "ContentInfo", None
    fields = _elements_in(der, inner[0][1], pos)
    index, tag, start = next(
        ((i, t, s) for i, (t, s, e) in enumerate(fields) if s <= pos < e), (0, 0, 0)
    )
    # certificates [0], crls [1], and signerInfos: the SET after digestAlgorithms
    if name == "SignedData" and (tag in (0xA0, 0xA1) or (tag == 0x31 and index > 1)):
        held = _elements_in(der, start, pos)
        number = next((n for n, (_, _, e) in enumerate(held, 1) if pos < e), len(held))
        kind = {0xA0: "certificate", 0xA1: "CRL"}.get(tag)
        return (f"SignedData: {kind} {number}", None) if kind else (f"signer {number}", number)
    if name in ("EnvelopedData", "AuthEnvelopedData") and tag == 0x31:
        return "recipientInfos", None
    return name, None


# --- TLV reading ----------------------------------------------------------------------


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, content end) of each element in [start, end).

    An element of indefinite length ends after its end-of-contents octets, which its
    content end leaves out. Tag and length are read inline: this loop reads every
    element of the walk, and a call per element was a third of its time.
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
        if length == 0x80:  # indefinite
            b = _end_of_contents(data, tag, a, end)
            append((tag, pos, a, b))
            pos = b + 2
            continue
        if length & 0x80:
            count = length & 0x7F
            if count > 4 or a + count > end or data[a] == 0:
                raise _Unhandled  # huge or non-minimal length
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


def _end_of_contents(data: bytes, tag: int, pos: int, end: int) -> int:
    """Where the end-of-contents octets close the indefinite-length element of `tag`
    whose content starts at `pos`: its elements are skipped, nested indefinite ones
    in turn (X.690 8.1.3.6). Only a constructed element may have an indefinite length."""
    if not tag & 0x20:
        raise _Unhandled
    while pos + 2 <= end:
        inner, length = data[pos], data[pos + 1]
        if inner == 0 and length == 0:
            return pos
        if inner & 0x1F == 0x1F:
            raise _Unhandled
        a = pos + 2
        if length == 0x80:
            pos = _end_of_contents(data, inner, a, end) + 2
            continue
        if length & 0x80:
            count = length & 0x7F
            if count > 4 or a + count > end:
                raise _Unhandled
            length = int.from_bytes(data[a : a + count], "big")
            a += count
        pos = a + length
    raise _Unhandled  # no end-of-contents before the enclosing end


def _encoding(data: bytes, element: tuple[int, int, int, int]) -> bytes:
    """An element's whole encoding, for a part handed on as it is (a certificate, an
    algorithm identifier, a name): of definite length only."""
    _, start, _, b = element
    if data[start + 1] == 0x80:
        raise _Unhandled
    return data[start:b]


# An OID arc is an integer of any size in DER, but none that names an algorithm, an
# attribute or a content type is over 128 bits (the UUID arcs under 2.25, X.667, are the
# largest in use). A larger one makes the object malformed, and is never written out:
# Python refuses to write an integer of over 4300 digits (a ValueError, which escaped as
# `internal`), and asn1crypto reads a long arc in quadratic time (2 s for 100 kB).
ARC_BITS = 128
_ARC_OCTETS = -(-(ARC_BITS + 1) // 7)  # the fewest septets an arc over ARC_BITS bits takes


def oid_arc_problem(contents: bytes) -> str | None:
    """An OBJECT IDENTIFIER's contents, shortened, when one of its arcs is over `ARC_BITS`
    bits: the arcs before it and the length ("1.2.[...] (2102 octets)"); None when none is.
    Reads no further than that arc's first `ARC_BITS` + 1 bits."""
    if len(contents) < _ARC_OCTETS:
        return None
    arcs: list[int] = []
    value = 0
    for byte in contents:
        value = (value << 7) | (byte & 0x7F)
        if value >> (ARC_BITS + 1):  # past any arc, the first one's 40 or 80 added
            break
        if byte & 0x80:
            continue
        if not arcs:  # the first sub-identifier holds two arcs (X.690 8.19.4)
            first = min(value // 40, 2)
            arcs.append(first)
            value -= 40 * first
        if value >> ARC_BITS:
            break
        arcs.append(value)
        value = 0
    else:
        return None
    return ".".join([*map(str, arcs), "[...]"]) + f" ({len(contents)} octets)"


def large_arc_text(shown: str) -> str:
    """What is wrong with an OID `oid_arc_problem` shortened to `shown`, in one line."""
    return (
        f"OBJECT IDENTIFIER {shown} has an arc over {ARC_BITS} bits: it names no algorithm or type"
    )


def encoded_oid_problem(der: bytes) -> str | None:
    """`oid_arc_problem` of an OBJECT IDENTIFIER in an encoding (a certificate, a name)
    with an arc over `ARC_BITS` bits, None when none has one: asked before asn1crypto
    reads the encoding, which writes every OID out as it goes. Constructed elements are
    opened, and so are the OCTET and BIT STRINGs whose contents are encodings (an X.509
    extension's value, which asn1crypto reads too); what does not parse is left to the
    reader, which says why."""
    pending = [(der, 0)]
    while pending:
        encoding, depth = pending.pop()
        try:
            elements = _raw_children(encoding)
        except PARSE_ERRORS:
            continue
        for kind, constructed, tag, _, contents, _ in elements:
            if constructed:
                if depth < MAX_DEPTH:
                    pending.append((contents, depth + 1))
            elif kind == 0 and tag == 6:  # universal OBJECT IDENTIFIER
                shown = oid_arc_problem(contents)
                if shown is not None:
                    return shown
            elif kind == 0 and tag in (3, 4) and len(contents) > 1 and depth < MAX_DEPTH:
                pending.append((contents[1:] if tag == 3 else contents, depth + 1))
    return None


def _large_arc(where: str, shown: str, signer: int | None = None) -> CmsError:
    return CmsError(where, large_arc_text(shown), "large-arc", shown, signer=signer)


@functools.lru_cache(maxsize=1024)
def _dotted(encoded: bytes) -> str:
    """An OBJECT IDENTIFIER's contents as dotted text; minimal encoding only. An arc over
    `ARC_BITS` bits is left to the asn1crypto reading, which names where it is."""
    if not encoded or encoded[-1] & 0x80 or oid_arc_problem(encoded) is not None:
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
    tag, _, a, b = element
    if tag != 0x30:
        raise _Unhandled
    fields = _children(data, a, b)
    if not 1 <= len(fields) <= 2:
        raise _Unhandled
    return _encoding(data, element), _oid(data, fields[0])


def _identifier(data: bytes, element: tuple[int, int, int, int]) -> Identifier:
    tag, _, a, b = element
    if tag == 0x80:  # [0] IMPLICIT SubjectKeyIdentifier
        return Identifier(data[a:b], b"", 0)
    if tag != 0x30:
        raise _Unhandled
    fields = _children(data, a, b)
    if len(fields) != 2 or fields[0][0] != 0x30:
        raise _Unhandled
    return Identifier(None, _encoding(data, fields[0]), _integer(data, fields[1]))


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


# --- the fast walk ----------------------------------------------------------------------


def walk(der: bytes) -> ContentInfo | None:
    """The ContentInfo read by the fast walk; None for anything it does not handle."""
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
        if len(inner) != 1:
            return None
        element = inner[0]
        if content_type == oids.DATA:
            return ContentInfo(content_type, DataParts(_octets(der, element, 0x04)))
        if element[0] != 0x30:
            return None
        parts: Parts
        if content_type == oids.SIGNED_DATA:
            parts = _signed_data(der, element)
        elif content_type == oids.ENVELOPED_DATA:
            parts = _enveloped_data(der, element, False)
        elif content_type == oids.AUTH_ENVELOPED_DATA:
            parts = _enveloped_data(der, element, True)
        elif content_type == oids.DIGESTED_DATA:
            parts = _digested_data(der, element)
        elif content_type == oids.ENCRYPTED_DATA:
            parts = _encrypted_data(der, element)
        else:
            parts = None
        return ContentInfo(content_type, parts)
    except (_Unhandled, RecursionError):
        return None


def _encapsulated(data: bytes, encap: tuple[int, int, int, int]) -> tuple[str, bytes | None]:
    """(eContentType, eContent) of an EncapsulatedContentInfo."""
    if encap[0] != 0x30:
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
    return content_type, content


def _signed_data(data: bytes, element: tuple[int, int, int, int]) -> SignedParts:
    fields = _children(data, element[2], element[3])
    _integer(data, _required(fields, 0))  # version
    digest_set = _required(fields, 1)
    if digest_set[0] != 0x31:
        raise _Unhandled
    digests = tuple(_algorithm(data, d)[1] for d in _children(data, digest_set[2], digest_set[3]))
    content_type, content = _encapsulated(data, _required(fields, 2))
    certificates, index = _take(fields, 3, 0xA0)
    crls, index = _take(fields, index, 0xA1)
    signer_infos = _required(fields, index)
    if signer_infos[0] != 0x31 or index + 1 != len(fields):
        raise _Unhandled
    signers = tuple(
        _signer_info(data, info) for info in _children(data, signer_infos[2], signer_infos[3])
    )
    return SignedParts(
        content_type,
        content,
        digests,
        _sequences(data, certificates),
        _sequences(data, crls),
        signers,
    )


def _sequences(data: bytes, element: tuple[int, int, int, int] | None) -> tuple[bytes, ...]:
    """The DER of each SEQUENCE in a SET of CHOICEs (other choices: left to asn1crypto)."""
    if element is None:
        return ()
    found: list[bytes] = []
    for choice in _children(data, element[2], element[3]):
        if choice[0] != 0x30:
            raise _Unhandled
        found.append(_encoding(data, choice))
    return tuple(found)


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
    times: list[tuple[bytes, ...]] = []
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
            if kind == oids.CONTENT_TYPE:
                values = _children(data, parts[1][2], parts[1][3])
                content_types.append(tuple(_oid(data, v) for v in values))
            elif kind == oids.MESSAGE_DIGEST:
                values = _children(data, parts[1][2], parts[1][3])
                if any(v[0] != 0x04 for v in values):
                    raise _Unhandled
                digests.append(tuple(data[v[2] : v[3]] for v in values))
            elif kind == oids.SIGNING_TIME:
                values = _children(data, parts[1][2], parts[1][3])
                if any(v[0] not in (0x17, 0x18) for v in values):
                    raise _Unhandled  # UTCTime, GeneralizedTime
                times.append(tuple(data[v[1] : v[3]] for v in values))
    return SignerParts(
        sid,
        digest_oid,
        signature_algorithm,
        signature_oid,
        data[signature_field[2] : signature_field[3]],
        signed_attrs,
        tuple(content_types),
        tuple(digests),
        tuple(times),
    )


def _encrypted_content_info(
    data: bytes, info: tuple[int, int, int, int]
) -> tuple[str, bytes, str, bytes | None]:
    """(content type, cipher DER, cipher OID, ciphertext) of an EncryptedContentInfo."""
    if info[0] != 0x30:
        raise _Unhandled
    info_fields = _children(data, info[2], info[3])
    if not 2 <= len(info_fields) <= 3:
        raise _Unhandled
    content_type = _oid(data, info_fields[0])
    cipher_algorithm, cipher_oid = _algorithm(data, info_fields[1])
    ciphertext = _octets(data, info_fields[2], 0x80) if len(info_fields) == 3 else None
    return content_type, cipher_algorithm, cipher_oid, ciphertext


def _enveloped_data(data: bytes, element: tuple[int, int, int, int], aead: bool) -> EnvelopedParts:
    fields = _children(data, element[2], element[3])
    _integer(data, _required(fields, 0))  # version
    _, index = _take(fields, 1, 0xA0)  # originatorInfo: not read
    recipient_infos = _required(fields, index)
    info = _required(fields, index + 1)
    if recipient_infos[0] != 0x31:
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
    content_type, cipher_algorithm, cipher_oid, ciphertext = _encrypted_content_info(data, info)
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


def _digested_data(data: bytes, element: tuple[int, int, int, int]) -> DigestedParts:
    fields = _children(data, element[2], element[3])
    if len(fields) != 4:
        raise _Unhandled
    _integer(data, fields[0])  # version
    _, digest_oid = _algorithm(data, fields[1])
    content_type, content = _encapsulated(data, fields[2])
    if fields[3][0] != 0x04:
        raise _Unhandled
    return DigestedParts(digest_oid, content_type, content, data[fields[3][2] : fields[3][3]])


def _encrypted_data(data: bytes, element: tuple[int, int, int, int]) -> EncryptedParts:
    fields = _children(data, element[2], element[3])
    _integer(data, _required(fields, 0))  # version
    info = _encrypted_content_info(data, _required(fields, 1))
    _, index = _take(fields, 2, 0xA1)  # unprotectedAttrs: not read
    if index != len(fields):
        raise _Unhandled
    return EncryptedParts(*info)


# --- the asn1crypto reading, converted into the same parts ------------------------------

# What asn1crypto (and the decoders) raise on bad input: the one list of the project.
# AttributeError when a field holds an unexpected type (a REAL where a name attribute
# value is expected: found by the fuzzer).
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    RecursionError,
    AttributeError,
)


class _LargeArc(Exception):
    """An OID with an arc over `ARC_BITS` bits (`oid_arc_problem` says it shortened), met by
    the asn1crypto reading or at byte `at` by `element_end`: a CmsError once `parse` or
    `from_asn1crypto` adds where it is."""

    def __init__(self, shown: str, at: int | None = None) -> None:
        super().__init__(shown)
        self.shown = shown
        self.at = at


def _check_arcs(contents: bytes) -> None:
    shown = oid_arc_problem(contents)
    if shown is not None:
        raise _LargeArc(shown)


def _oid_text(value: core.ObjectIdentifier) -> str:
    """An OID read by asn1crypto, as dotted text: its arcs bounded before it writes them."""
    _check_arcs(value.contents or b"")
    return str(value.dotted)


def _leading_oid(value: core.Sequence, name: str) -> str:
    """The OID of `value`'s first field `name` (a content type, an algorithm, an attribute
    type), as dotted text. Bounded as read raw: asn1crypto writes it out, to choose the type
    of the field it governs, as soon as any field of `value` is read."""
    fields = _raw_children(value.contents or b"")
    if fields and fields[0][:3] == (0, 0, 6):  # universal, primitive, OBJECT IDENTIFIER
        _check_arcs(fields[0][4])
    return str(value[name].dotted)


class _At:
    """The structure being read, for the error's `where` (and `signer`, the SignerInfo's
    number while one is read)."""

    __slots__ = ("signer", "where")

    def __init__(self) -> None:
        self.where = "ContentInfo"
        self.signer: int | None = None


def from_asn1crypto(der: bytes) -> ContentInfo:
    """Read a ContentInfo with asn1crypto (it takes BER) into the parts; raises CmsError."""
    if not der:
        raise CmsError("", "empty CMS object", "empty")
    at = _At()
    try:
        return _asn1crypto_parts(der, at)
    except CmsError:
        raise
    except _LargeArc as exc:
        raise _large_arc(at.where, exc.shown, at.signer) from None
    except PARSE_ERRORS as exc:
        text = str(exc).strip()
        detail = text.splitlines()[0] if text else type(exc).__name__
        said = detail[:200]
        raise CmsError(
            at.where, f"invalid CMS/ASN.1: {said}", "invalid-asn1", said, signer=at.signer
        ) from exc


def _present(value: object) -> bool:
    return value is not None and not isinstance(value, core.Void)


def _asn1crypto_parts(der: bytes, at: _At) -> ContentInfo:
    info = cms.ContentInfo.load(der, strict=False)  # not strict: what follows it is read
    _, used = parser._parse(der, len(der), 0)
    trailing = len(der) - used
    content_type = _leading_oid(info, "content_type")
    name = layer_name(content_type)
    missing = CmsError("", f"ContentInfo of type {name} has no content", "no-content", name)
    fields = _raw_children(info.contents)
    if len(fields) < 2:
        raise missing
    if content_type == oids.DATA:  # read raw: asn1crypto refuses a constructed definite string
        data = DataParts(_raw_octets(fields[1], explicit=True))
        return ContentInfo(content_type, data, trailing)
    content = info["content"]
    if not _present(content):
        raise missing
    at.where = _STRUCTURES.get(content_type, at.where)
    parts: Parts
    if content_type == oids.SIGNED_DATA:
        parts = _asn1crypto_signed(content, at)
    elif content_type in (oids.ENVELOPED_DATA, oids.AUTH_ENVELOPED_DATA):
        aead = content_type == oids.AUTH_ENVELOPED_DATA
        parts = _asn1crypto_enveloped(content, aead, at)
    elif content_type == oids.DIGESTED_DATA:
        parts = DigestedParts(
            _leading_oid(content["digest_algorithm"], "algorithm"),
            *_asn1crypto_encapsulated(content["encap_content_info"]),
            bytes(content["digest"].native),
        )
    elif content_type == oids.ENCRYPTED_DATA:
        parts = EncryptedParts(*_asn1crypto_encrypted_info(content["encrypted_content_info"]))
    else:
        parts = None
    return ContentInfo(content_type, parts, trailing)


def element_encodings(contents: bytes) -> list[bytes]:
    """The encodings (header, contents, end-of-contents) of the elements one after another
    in `contents`, as `_raw_children` reads them."""
    return [header + inner + trailer for *_, header, inner, trailer in _raw_children(contents)]


def _raw_children(contents: bytes) -> list[tuple[int, int, int, bytes, bytes, bytes]]:
    """asn1crypto's raw parse of each element in `contents` (class, method, tag, ...).

    Through asn1crypto's `_parse`, which reads from a position: its public `peek` and
    `parse` take a whole byte string, and slicing the rest of `contents` for each
    element made this quadratic (gpgsm's BER encryptedContent of a 200 MB attachment,
    thousands of chunks, ran for over ten minutes)."""
    found = []
    pos, end = 0, len(contents)
    while pos < end:
        info, pos = parser._parse(contents, end, pos)
        found.append(info)
    return found


def _raw_octets(
    element: tuple[int, int, int, bytes, bytes, bytes], *, explicit: bool, implicit: bool = False
) -> bytes:
    """An OCTET STRING's bytes, primitive or constructed (chunks joined at any depth).

    With `explicit`, the element is an [0] EXPLICIT wrapper around the string;
    with `implicit`, the string itself is tagged [0] IMPLICIT (encryptedContent).
    asn1crypto itself refuses a constructed definite-length string, which BER allows.
    """
    if explicit:
        if element[:3] != (2, 1, 0):
            raise ValueError("content is not [0] EXPLICIT")
        inner = _raw_children(element[4])
        if len(inner) != 1:
            raise ValueError("[0] EXPLICIT does not hold one OCTET STRING")
        element = inner[0]
    expected = (2, 0) if implicit else (0, 4)  # (class, tag): context [0] or OCTET STRING
    if (element[0], element[2]) != expected:
        raise ValueError("content is not an OCTET STRING")
    if element[1] == 0:  # primitive
        return element[4]
    return b"".join(_raw_octets(chunk, explicit=False) for chunk in _raw_children(element[4]))


def _asn1crypto_encapsulated(encap: cms.EncapsulatedContentInfo) -> tuple[str, bytes | None]:
    content_type = _leading_oid(encap, "content_type")
    fields = _raw_children(encap.contents)
    if len(fields) < 2:
        return content_type, None
    return content_type, _raw_octets(fields[1], explicit=True)


def _asn1crypto_identifier(sid: cms.SignerIdentifier | cms.RecipientIdentifier) -> Identifier:
    if sid.name == "subject_key_identifier":
        return Identifier(bytes(sid.chosen.native), b"", 0)
    ias = sid.chosen
    return Identifier(None, bytes(ias["issuer"].dump()), int(ias["serial_number"].native))


def _asn1crypto_signed(value: cms.SignedData, at: _At) -> SignedParts:
    if not isinstance(value, cms.SignedData):
        raise ValueError("content is not a SignedData")
    content_type, content = _asn1crypto_encapsulated(value["encap_content_info"])
    digests = tuple(_leading_oid(d, "algorithm") for d in value["digest_algorithms"])
    at.where = "SignedData: certificates"
    certificates = value["certificates"]
    certs = tuple(
        bytes(c.chosen.dump())
        for c in (certificates if _present(certificates) else [])
        if c.name == "certificate"
    )
    at.where = "SignedData: crls"
    crls = value["crls"]
    crl_ders = tuple(
        bytes(c.chosen.dump()) for c in (crls if _present(crls) else []) if c.name == "crl"
    )
    signers = []
    for index, info in enumerate(value["signer_infos"], start=1):
        at.where, at.signer = f"signer {index}", index
        signers.append(_asn1crypto_signer(info))
    at.signer = None
    return SignedParts(content_type, content, digests, certs, crl_ders, tuple(signers))


def _asn1crypto_signer(info: cms.SignerInfo) -> SignerParts:
    attrs = info["signed_attrs"]
    types: list[tuple[str, ...]] = []
    digests: list[tuple[bytes, ...]] = []
    times: list[tuple[bytes, ...]] = []
    for attr in attrs if _present(attrs) else []:
        kind = _leading_oid(attr, "type")
        if kind == oids.CONTENT_TYPE:
            types.append(tuple(_oid_text(v) for v in attr["values"]))
        elif kind == oids.MESSAGE_DIGEST:
            digests.append(tuple(bytes(v.native) for v in attr["values"]))
        elif kind == oids.SIGNING_TIME:
            times.append(tuple(bytes(v.chosen.dump()) for v in attr["values"]))
    algorithm = info["signature_algorithm"]
    return SignerParts(
        _asn1crypto_identifier(info["sid"]),
        _leading_oid(info["digest_algorithm"], "algorithm"),
        bytes(algorithm.dump()),
        _leading_oid(algorithm, "algorithm"),
        bytes(info["signature"].native),
        bytes(attrs.contents) if _present(attrs) else None,
        tuple(types),
        tuple(digests),
        tuple(times),
    )


def _asn1crypto_encrypted_info(
    info: cms.EncryptedContentInfo,
) -> tuple[str, bytes, str, bytes | None]:
    algorithm = info["content_encryption_algorithm"]
    fields = _raw_children(info.contents)
    ciphertext = _raw_octets(fields[2], explicit=False, implicit=True) if len(fields) > 2 else None
    return (
        _leading_oid(info, "content_type"),
        bytes(algorithm.dump()),
        _leading_oid(algorithm, "algorithm"),
        ciphertext,
    )


def _asn1crypto_enveloped(
    value: cms.EnvelopedData | cms.AuthEnvelopedData, aead: bool, at: _At
) -> EnvelopedParts:
    if not isinstance(value, cms.AuthEnvelopedData if aead else cms.EnvelopedData):
        raise ValueError("content is not an EnvelopedData")
    info = value["auth_encrypted_content_info" if aead else "encrypted_content_info"]
    content_type, cipher_der, cipher_oid, ciphertext = _asn1crypto_encrypted_info(info)
    recipients = []
    at.where = "recipientInfos"
    for recipient in value["recipient_infos"]:
        if recipient.name != "ktri":
            recipients.append(RecipientParts(recipient.name, None, b"", b""))
            continue
        ktri = recipient.chosen
        recipients.append(
            RecipientParts(
                "ktri",
                _asn1crypto_identifier(ktri["rid"]),
                bytes(ktri["key_encryption_algorithm"].dump()),
                bytes(ktri["encrypted_key"].native),
            )
        )
    mac: bytes | None = None
    auth_attrs: bytes | None = None
    if aead:
        at.where = "AuthEnvelopedData"
        mac = bytes(value["mac"].native)
        attrs = value["auth_attrs"]
        auth_attrs = bytes(attrs.contents) if _present(attrs) else None
    return EnvelopedParts(
        aead, content_type, cipher_der, cipher_oid, ciphertext, tuple(recipients), mac, auth_attrs
    )
