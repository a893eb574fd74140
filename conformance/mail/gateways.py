"""The simulated gateways: what real relays, filters and stores do to a message on its way.

One table, `GATEWAYS`: each gateway names the real behaviour it stands for (who does it,
with a reference) and its rewrite, a pure deterministic function of the message bytes.
A route's hop applies it to every message it relays (stage "relay"), or the route applies
it to what the store serves back (stage "store": a store's line ends are not something
SMTP can carry). The report labels every such cell a simulation of that gateway.

The rewrites work on the exact bytes, cut by the suite's one MIME reader
(conformance.core.mime), and splice only what they claim to change: the stdlib `email`
package would re-serialise the whole message (re-folding headers, re-wrapping bodies,
changing line ends), which is itself one of the gateways below, not a neutral step.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from conformance.core.bilingual import Bilingual
from conformance.core.mime import Entity, read

Stage = Literal["relay", "store"]
Rewrite = Callable[[bytes], bytes]

# The disclaimer footer gateways add: ASCII, so that it fits any charset and encoding.
DISCLAIMER_LINES = (
    "-----",
    "AVERTISSEMENT : ce message et ses pieces jointes sont confidentiels et",
    "destines exclusivement a leurs destinataires (mention ajoutee par la passerelle).",
)
SUBJECT_TAG = "[EXTERNE] "
REFOLD_WIDTH = 60  # most software folds at 76 to 78 columns; this gateway folds at 60
BASE64_WIDTH = 72  # RFC 2045 sets 76 at most; OpenSSL writes 64, most MUAs 76
SMIME_TYPES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pkcs7-mime",
        "application/x-pkcs7-mime",
    }
)
SMIME_SUFFIXES = (".p7s", ".p7m")

_LINE_END = re.compile(rb"\r?\n")
_FOLD = re.compile(rb"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class Gateway:
    """One simulated gateway: what it stands for, and its rewrite."""

    id: str
    title: Bilingual
    stands_for: Bilingual  # the real behaviour and who does it
    reference: str  # where that behaviour is specified or documented
    rewrite: Rewrite
    stage: Stage = "relay"
    idempotent: bool = True  # a second pass changes nothing more
    # Whether its hop announces 8BITMIME: 8bit-to-qp stands for the hop before a server
    # without it, and is one.
    eight_bit_mime: bool = True


# --- splicing ---------------------------------------------------------------------------

_Edit = tuple[int, int, bytes]  # replace message[start:end] by these bytes


def _apply(message: bytes, edits: list[_Edit]) -> bytes:
    """The message with non-overlapping edits made (positions in the original)."""
    out = bytearray(message)
    for start, end, new in sorted(edits, key=lambda e: e[0], reverse=True):
        out[start:end] = new
    return bytes(out)


def _eol(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data else b"\n"


def _header_block(entity: Entity) -> bytes:
    """The entity's header fields and the empty line after them, as sent."""
    return entity.source[entity.offset : entity.body_start]


def _fields(block: bytes) -> tuple[list[bytes], bytes]:
    """A header block cut into fields (each with its continuation lines and line ends)
    and what follows them (the empty line)."""
    fields: list[bytes] = []
    lines = block.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line in (b"\r\n", b"\n"):
            return fields, b"".join(lines[index:])
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return fields, b""


def _name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def _set_field(block: bytes, name: str, value: str) -> bytes:
    """The header block with field `name` set to `value` (replaced where it was, or added
    last); the other fields untouched."""
    fields, rest = _fields(block)
    eol = _eol(block)
    new = f"{name}: {value}".encode() + eol
    wanted = name.lower().encode()
    for index, field in enumerate(fields):
        if _name(field) == wanted:
            fields[index] = new
            break
    else:
        fields.append(new)
    return b"".join(fields) + (rest or eol)


def _leaves(entity: Entity) -> Iterator[Entity]:
    return (e for e in entity.walk() if not e.is_multipart)


def _is_attachment(entity: Entity) -> bool:
    disposition = entity.headers.get("content-disposition")
    return disposition is not None and str(disposition).strip().lower().startswith("attachment")


def _filename(entity: Entity) -> str:
    return (entity.param("filename", "content-disposition") or entity.param("name") or "").lower()


# --- 8bit-to-qp ---------------------------------------------------------------------------


def _quoted_printable(body: bytes) -> bytes:
    """Each line QP-encoded (RFC 2045 6.7), line ends kept as CRLF; a CR or LF inside a
    line (binary) is encoded as data."""
    lines = body.split(b"\r\n")
    encoded = (binascii.b2a_qp(line, quotetabs=False, istext=False) for line in lines)
    return b"\r\n".join(e.replace(b"=\n", b"=\r\n") for e in encoded)


def eight_bit_to_qp(message: bytes) -> bytes:
    """Every text part declared 8bit or binary re-encoded as quoted-printable, its
    Content-Transfer-Encoding changed; a multipart declared 8bit or binary becomes 7bit."""
    edits: list[_Edit] = []
    for entity in read(message).walk():
        if entity.transfer_encoding not in ("8bit", "binary"):
            continue
        block = _header_block(entity)
        if entity.is_multipart:
            new = _set_field(block, "Content-Transfer-Encoding", "7bit")
            edits.append((entity.offset, entity.offset + len(block), new))
        elif entity.content_type.startswith("text/"):
            new = _set_field(block, "Content-Transfer-Encoding", "quoted-printable")
            body = _quoted_printable(entity.body)
            edits.append((entity.offset, entity.end, new + body))
    return _apply(message, edits)


# --- footer, footer-mixed ------------------------------------------------------------------


def _disclaimer(eol: bytes) -> bytes:
    return eol.join(line.encode() for line in DISCLAIMER_LINES) + eol


def _with_footer(entity: Entity) -> bytes | None:
    """The part's new body with the disclaimer appended, or None if its encoding is not
    one a gateway can append to."""
    body, encoding = entity.body, entity.transfer_encoding
    eol = _eol(entity.raw)
    if encoding in ("7bit", "8bit", "binary", "quoted-printable"):
        separator = eol if body and not body.endswith(b"\n") else b""
        return body + separator + _disclaimer(eol)
    if encoding == "base64":
        try:
            text = base64.b64decode(re.sub(rb"\s+", b"", body), validate=True)
        except (binascii.Error, ValueError):
            return None
        separator = b"\r\n" if text and not text.endswith(b"\n") else b""
        encoded = base64.b64encode(text + separator + _disclaimer(b"\r\n"))
        return eol.join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + eol
    return None


def footer(message: bytes) -> bytes:
    """The disclaimer appended to the first text part that is not an attachment (inside a
    multipart/signed too: the gateway does not know what it signs); none if there is no
    such part (an opaque S/MIME message)."""
    for entity in _leaves(read(message)):
        if not entity.content_type.startswith("text/") or _is_attachment(entity):
            continue
        body = _with_footer(entity)
        if body is None:
            continue
        start = entity.body_start
        return _apply(message, [(start, entity.end, body)])
    return message


def footer_mixed(message: bytes) -> bytes:
    """The message's content wrapped, untouched, as the first part of a new
    multipart/mixed whose second part is the disclaimer; the message's own header fields
    (From, To, Subject...) stay outside, its Content-* fields go inside with its body."""
    root = read(message)
    eol = _eol(message)
    fields, _ = _fields(_header_block(root)) if root.has_headers else ([], b"")
    outer = [f for f in fields if not _name(f).startswith(b"content-")]
    inner = [f for f in fields if _name(f).startswith(b"content-")]
    if not any(_name(f) == b"mime-version" for f in outer):
        outer.append(b"MIME-Version: 1.0" + eol)
    boundary = b"=_osm-gateway-" + hashlib.sha256(message).hexdigest()[:24].encode()
    body = message[root.body_offset :] if root.has_headers else message
    return b"".join(
        [
            *outer,
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"' + eol,
            eol,
            b"--" + boundary + eol,
            *inner,
            eol,
            body,
            eol + b"--" + boundary + eol,
            b"Content-Type: text/plain; charset=us-ascii" + eol,
            b"Content-Transfer-Encoding: 7bit" + eol,
            b"Content-Disposition: inline" + eol,
            eol,
            _disclaimer(eol),
            eol + b"--" + boundary + b"--" + eol,
        ]
    )


# --- refold ---------------------------------------------------------------------------------


def _refold_field(field: bytes, eol: bytes) -> bytes:
    if b":" not in field:
        return field  # not a field (a broken header): left as it is
    name, value = field.split(b":", 1)
    words = _FOLD.sub(b"", value).split()
    lines: list[bytes] = []
    line = name + b":"
    for word in words:
        if len(line) + 1 + len(word) > REFOLD_WIDTH and line != name + b":":
            lines.append(line)
            line = b" " + word
        else:
            line += b" " + word
    lines.append(line)
    return eol.join(lines) + eol


def refold(message: bytes) -> bytes:
    """Every header field of every entity unfolded, its runs of whitespace made one space,
    and folded again at REFOLD_WIDTH columns; the bodies untouched."""
    edits: list[_Edit] = []
    for entity in read(message).walk():
        if not entity.has_headers:
            continue
        block = _header_block(entity)
        eol = _eol(block)
        fields, rest = _fields(block)
        new = b"".join(_refold_field(f, eol) for f in fields) + rest
        edits.append((entity.offset, entity.offset + len(block), new))
    return _apply(message, edits)


# --- rewrap-base64 --------------------------------------------------------------------------


def rewrap_base64(message: bytes) -> bytes:
    """Every base64 body decoded and encoded again in lines of BASE64_WIDTH characters
    (the same data; only where the line breaks fall changes)."""
    edits: list[_Edit] = []
    for entity in _leaves(read(message)):
        if entity.transfer_encoding != "base64":
            continue
        try:
            data = base64.b64decode(re.sub(rb"\s+", b"", entity.body), validate=True)
        except (binascii.Error, ValueError):
            continue  # not base64 after all: a gateway would leave it
        if not data:
            continue
        eol = _eol(entity.raw)
        encoded = base64.b64encode(data)
        lines = [encoded[i : i + BASE64_WIDTH] for i in range(0, len(encoded), BASE64_WIDTH)]
        ending = eol if entity.body.endswith(b"\n") else b""
        start = entity.body_start
        edits.append((start, entity.end, eol.join(lines) + ending))
    return _apply(message, edits)


# --- subject-tag ----------------------------------------------------------------------------


def subject_tag(message: bytes) -> bytes:
    """SUBJECT_TAG put before the message's subject, unless it is already there; a
    message without Subject is left as it is."""
    root = read(message)
    if not root.has_headers:
        return message
    offset = 0
    for field in _fields(_header_block(root))[0]:
        if _name(field) == b"subject":
            name, value = field.split(b":", 1)
            if b" ".join(value.split()).startswith(SUBJECT_TAG.strip().encode()):
                return message
            new = name + b": " + SUBJECT_TAG.encode() + value.lstrip(b" \t")
            return _apply(message, [(offset, offset + len(field), new)])
        offset += len(field)
    return message


# --- strip-smime-attachment ------------------------------------------------------------------


def _is_smime_attachment(entity: Entity) -> bool:
    return entity.content_type in SMIME_TYPES or _filename(entity).endswith(SMIME_SUFFIXES)


def _stripped(entity: Entity) -> bytes:
    children = entity.children
    if not entity.is_multipart or not children:
        return entity.raw
    spans = entity.spans[: len(children)]
    kept = [i for i, child in enumerate(children) if not _is_smime_attachment(child)]
    if not kept:
        kept = list(range(len(children)))  # a filter never leaves a multipart empty
    body = entity.body
    out = [_header_block(entity), body[: spans[0][0]]]
    for position, index in enumerate(kept):
        if position:
            out.append(body[spans[index - 1][1] : spans[index][0]])  # its delimiter line
        out.append(_stripped(children[index]))
    out.append(body[spans[-1][1] :])
    return b"".join(out)


def strip_smime_attachment(message: bytes) -> bytes:
    """Every part of a multipart typed application/(x-)pkcs7-* or named *.p7s / *.p7m
    removed, with its delimiter line; a multipart keeps at least one part. The message
    itself is no attachment: an opaque S/MIME message goes through."""
    return _stripped(read(message))


# --- lf-store --------------------------------------------------------------------------------


def lf_store(message: bytes) -> bytes:
    """Every CRLF stored as LF (a plain byte replacement: line ends are below what the
    email package lets one see), and served back so."""
    return message.replace(b"\r\n", b"\n")


# --- the table -------------------------------------------------------------------------------

GATEWAYS: dict[str, Gateway] = {
    g.id: g
    for g in (
        Gateway(
            "8bit-to-qp",
            Bilingual(
                "Relais sans 8BITMIME : conversion en quoted-printable",
                "Relay without 8BITMIME: conversion to quoted-printable",
            ),
            Bilingual(
                "Un relais dont le serveur suivant n'annonce pas 8BITMIME convertit les parties "
                "texte 8 bits en quoted-printable (Postfix, Sendmail, Exchange).",
                "A relay whose next hop does not announce 8BITMIME converts 8-bit text parts "
                "to quoted-printable (Postfix, Sendmail, Exchange).",
            ),
            "RFC 6152 section 3; Postfix 8BITMIME_README / disable_mime_output_conversion",
            eight_bit_to_qp,
            eight_bit_mime=False,
        ),
        Gateway(
            "footer",
            Bilingual(
                "Passerelle ajoutant un avertissement au texte",
                "Gateway appending a disclaimer to the text",
            ),
            Bilingual(
                "Une passerelle d'entreprise ajoute une mention de confidentialité à la fin de "
                "la première partie texte (règles de transport Exchange, appliances de "
                "filtrage).",
                "A company gateway appends a confidentiality notice to the end of the first "
                "text part (Exchange transport rules, filtering appliances).",
            ),
            "Microsoft Exchange Online: disclaimers in mail flow rules (apply a disclaimer)",
            footer,
            idempotent=False,
        ),
        Gateway(
            "footer-mixed",
            Bilingual(
                "Passerelle ajoutant l'avertissement en pièce à part (multipart/mixed)",
                "Gateway adding the disclaimer as a separate part (multipart/mixed)",
            ),
            Bilingual(
                "Pour ne pas toucher au contenu, la passerelle enveloppe le message dans un "
                "nouveau multipart/mixed dont la seconde partie est l'avertissement.",
                "Not to touch the content, the gateway wraps the message in a new "
                "multipart/mixed whose second part is the disclaimer.",
            ),
            "RFC 2046 section 5.1.3 (multipart/mixed); RFC 8551 section 3.1 (what a "
            "receiver of S/MIME in a wrapper must find)",
            footer_mixed,
            idempotent=False,
        ),
        Gateway(
            "refold",
            Bilingual(
                "Relais qui replie les en-têtes et normalise les blancs",
                "Relay re-folding headers and normalising whitespace",
            ),
            Bilingual(
                "Un relais qui ré-écrit le message (conversion interne et retour) replie les "
                f"champs d'en-tête à {REFOLD_WIDTH} colonnes et réduit les blancs, parties MIME "
                "comprises.",
                "A relay that rewrites the message (internal format and back) re-folds the "
                f"header fields at {REFOLD_WIDTH} columns and collapses whitespace, MIME parts "
                "included.",
            ),
            "RFC 5322 section 2.2.3 (folding); RFC 8551 section 3.1.1 (a signature covers "
            "the signed part's header fields exactly)",
            refold,
        ),
        Gateway(
            "rewrap-base64",
            Bilingual(
                "Relais qui ré-encode le base64 à une autre longueur de ligne",
                "Relay re-encoding base64 at another line length",
            ),
            Bilingual(
                "Un relais qui décode et ré-encode les corps base64 coupe les lignes à "
                f"{BASE64_WIDTH} caractères (les relais réels : 64, 72 ou 76).",
                "A relay that decodes and re-encodes base64 bodies breaks the lines at "
                f"{BASE64_WIDTH} characters (real relays: 64, 72 or 76).",
            ),
            "RFC 2045 section 6.8 (at most 76 characters a line)",
            rewrap_base64,
        ),
        Gateway(
            "subject-tag",
            Bilingual(
                "Passerelle marquant l'objet « [EXTERNE] »",
                'Gateway tagging the subject "[EXTERNE]"',
            ),
            Bilingual(
                "La passerelle d'un établissement préfixe l'objet des messages venus de "
                "l'extérieur par « [EXTERNE] ».",
                "An institution's gateway prefixes the subject of mail from outside with "
                '"[EXTERNE]".',
            ),
            "Microsoft Exchange Online: external sender identification (mail flow rule "
            "'prepend the subject')",
            subject_tag,
        ),
        Gateway(
            "strip-smime-attachment",
            Bilingual(
                "Filtre supprimant les pièces .p7s / .p7m",
                "Filter removing .p7s / .p7m attachments",
            ),
            Bilingual(
                "Un filtre de pièces jointes ou une liste de diffusion retire les parties "
                "S/MIME (application/pkcs7-*, *.p7s, *.p7m) qu'il prend pour des pièces "
                "jointes.",
                "An attachment filter or a mailing list removes the S/MIME parts "
                "(application/pkcs7-*, *.p7s, *.p7m) it takes for attachments.",
            ),
            "GNU Mailman content filtering (filter_content, pass_mime_types); attachment "
            "filtering of mail gateways",
            strip_smime_attachment,
        ),
        Gateway(
            "lf-store",
            Bilingual(
                "Stockage en fins de ligne LF",
                "Store keeping LF line ends",
            ),
            Bilingual(
                "La boîte aux lettres enregistre les fins de ligne CRLF en LF (mbox, maildir "
                "Unix) et sert le message ainsi au client qui le lit en fichier.",
                "The mailbox stores CRLF line ends as LF (Unix mbox, maildir) and serves the "
                "message so to a client that reads it as a file.",
            ),
            "RFC 5321 section 2.3.8 (CRLF on the wire only); RFC 8551 section 3.1.1 "
            "(canonical CRLF before verifying)",
            lf_store,
            stage="store",
        ),
    )
}


def misplaced_hop(via: Sequence[str]) -> str | None:
    """The first hop of `via` (hop ids in order) whose place cannot be what happens: a
    store-stage gateway before another hop (the store is the end of every route, and
    `open_route` applies its rewrite there whatever its place in `via`); None when the
    order is one a message can travel."""
    for hop in via[:-1]:
        gateway = GATEWAYS.get(hop)
        if gateway is not None and gateway.stage == "store":
            return hop
    return None
