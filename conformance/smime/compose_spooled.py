"""The send side in bounded memory: a large entity signed and encrypted through spools.

The same message as `compose.build_message` writes, byte for byte (a test
compares them), built around a content that stays in a spool. Each layer is
a rope: the small parts the usual builders make (signer info, recipient
infos, headers) around the large one, which is streamed when the rope is
written. DER stays definite-length: the builders write the structure around
an empty content, and `_splice` writes again the lengths on the path to it
(computed ahead: a CBC ciphertext is the content padded to whole blocks, a GCM
one its length, then the tag), so receivers see the structures they see today.
Digests, encryption and base64 run chunk by chunk; each layer is written to a
spool of its own, which the next layer digests or encrypts.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import BinaryIO

import pybase64
from cryptography import x509
from cryptography.hazmat.primitives.ciphers import (
    AEADEncryptionContext,
    Cipher,
    CipherContext,
    modes,
)
from cryptography.hazmat.primitives.ciphers.algorithms import AES

from conformance.core import oids
from conformance.core.mime import MimeLimits
from conformance.core.mime_spool import skeleton
from conformance.core.spool import CHUNK, Region, Spool
from conformance.core.vocabulary import ContentCipher
from conformance.smime import der
from conformance.smime.algorithms import block_size, content_cipher_algorithm, is_aead, micalg_name
from conformance.smime.ciphers import Rng, block_cipher
from conformance.smime.cms_build import (
    RecipientError,
    build_signed_data,
    content_key,
    encrypted_content_info,
)
from conformance.smime.compose import (
    ComposeError,
    Operation,
    encrypt_entity,
    new_boundary,
    recipients_and_date,
    sign_entity,
)
from conformance.smime.mime_build import (
    Headers,
    SmimeType,
    base64_body,
    canonicalize,
    cms_entity_header,
    encode_content,
    message_headers,
    multipart_signed_around,
    quoted_printable,
)
from conformance.smime.options import SendOptions
from conformance.token.base import PrivateKeyHandle

__all__ = ["build_message_spooled"]

Sink = Callable[[bytes | memoryview], object]
_LINE = 57  # bytes per base64 line of 76 characters


class _Later:
    """Bytes of a known length known only once what comes before them was written (the
    GCM tag after the ciphertext)."""

    def __init__(self, size: int, make: Callable[[], bytes]) -> None:
        self.size = size
        self.make = make

    def __len__(self) -> int:
        return self.size


class _Encryption:
    """A content's ciphertext, produced as it is written (AES or 3DES in CBC, AES-GCM)."""

    def __init__(self, content: Region, cipher: ContentCipher, key: bytes, iv: bytes) -> None:
        self.content = content
        self.cipher = cipher
        self.key = key
        self.iv = iv
        self.tag = b""
        size = block_size(cipher)
        self.size = len(content) if is_aead(cipher) else len(content) + size - len(content) % size

    def __len__(self) -> int:
        return self.size

    def write(self, sink: Sink) -> None:
        worker: CipherContext
        if is_aead(self.cipher):
            worker = Cipher(AES(self.key), modes.GCM(self.iv)).encryptor()
        else:
            worker = Cipher(block_cipher(self.cipher, self.key), modes.CBC(self.iv)).encryptor()
        for view in self.content.chunks():
            sink(worker.update(view))
        if not is_aead(self.cipher):
            pad = block_size(self.cipher) - len(self.content) % block_size(self.cipher)
            sink(worker.update(bytes([pad]) * pad))
        sink(worker.finalize())
        if isinstance(worker, AEADEncryptionContext):
            self.tag = worker.tag


Piece = bytes | Region | _Encryption | _Later


class Rope:
    """Pieces written in order: bytes, regions of a spool, and streams of known length."""

    def __init__(self, *pieces: Piece) -> None:
        self.pieces = [p for p in pieces if len(p)]

    def __len__(self) -> int:
        return sum(len(p) for p in self.pieces)

    def write(self, sink: Sink) -> None:
        for piece in self.pieces:
            if isinstance(piece, bytes):
                sink(piece)
            elif isinstance(piece, Region):
                piece.feed(sink)
            elif isinstance(piece, _Encryption):
                piece.write(sink)
            else:
                made = piece.make()
                assert len(made) == piece.size
                sink(made)

    def to_spool(self, near: Spool) -> Region:
        spool = Spool(os.path.dirname(near.path))
        self.write(spool.write)
        return spool.seal().whole()


class _Base64Lines:
    """Base64 in lines of 76 characters ended by CRLF (`b64.encode_lines`), streamed."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.held = b""

    def __call__(self, data: bytes | memoryview) -> None:
        held = self.held + bytes(data)
        whole = len(held) - len(held) % _LINE
        if whole:
            self.sink(pybase64.encodebytes(held[:whole]).replace(b"\n", b"\r\n"))
        self.held = held[whole:]

    def close(self) -> None:
        if self.held:
            self.sink(pybase64.encodebytes(self.held).replace(b"\n", b"\r\n"))
        self.held = b""


def _header(tag: int, length: int) -> bytes:
    return der.tlv(tag, b"")[:1] + der._length(length)


def _splice(built: bytes, path: Sequence[int], content: Piece, mac: _Later | None) -> Rope:
    """The DER `built` with the empty primitive at `path` (child indexes from the top
    element) given `content`, every length on the way written again; `mac`: the content of
    the top element's last child (the GCM tag, written once the ciphertext was)."""
    pieces: list[Piece] = []

    def children(a: int, b: int) -> list[tuple[int, int, int]]:
        found = []
        pos = a
        while pos < b:
            first = built[pos + 1]
            start = pos + 2 + (first & 0x7F if first & 0x80 else 0)
            length = int.from_bytes(built[pos + 2 : start], "big") if first & 0x80 else first
            found.append((pos, start, start + length))
            pos = start + length
        return found

    def grown(pos: int, start: int, end: int, depth: int) -> int:
        """The length of the element after the splice; its pieces added."""
        tag = built[pos]
        if depth == len(path):
            pieces.append(_header(tag, len(content)))
            pieces.append(content)
            return len(content)
        mark = len(pieces)
        pieces.append(b"")  # the header, once the length is known
        size = 0
        inner = children(start, end)
        for index, (a, s, e) in enumerate(inner):
            if index == path[depth]:
                size += grown_total(a, s, e, depth + 1)
            elif mac is not None and depth == 2 and index == len(inner) - 1:
                pieces.append(_header(built[a], mac.size))
                pieces.append(mac)
                size += len(_header(built[a], mac.size)) + mac.size
            else:
                pieces.append(built[a:e])
                size += e - a
        pieces[mark] = _header(tag, size)
        return size

    def grown_total(pos: int, start: int, end: int, depth: int) -> int:
        length = grown(pos, start, end, depth)
        return len(_header(built[pos], length)) + length

    top = children(0, len(built))[0]
    grown(*top, 0)
    return Rope(*pieces)


def _content_info_path(kind: str) -> list[int]:
    """Where the empty content lies: ContentInfo [0] > SignedData > encapContentInfo >
    [0] > eContent; ContentInfo [0] > (Auth)EnvelopedData > encryptedContentInfo >
    encryptedContent."""
    return [1, 0, 2, 1, 0] if kind == "signed" else [1, 0, 2, 2]


def _digest(content: Region, name: str) -> bytes:
    hashed = hashlib.new(name)
    content.feed(hashed.update)
    return hashed.digest()


def _is_canonical(content: Region) -> bool:
    """Every line break a CRLF (no bare CR, no bare LF), read chunk by chunk."""
    carry = b""
    for view in content.chunks():
        data = carry + bytes(view)
        carry = b"\r" if data.endswith(b"\r") else b""
        body = data[: len(data) - len(carry)]
        pairs = body.count(b"\r\n")
        if body.count(b"\n") != pairs or body.count(b"\r") != pairs:
            return False
    return not carry


def _quoted_printable_into(body: Region, sink: Sink) -> None:
    """`mime_build.quoted_printable` of a body, whole lines at a time (it encodes line by
    line: the same bytes)."""
    carry = b""
    for view in body.chunks():
        data = carry + bytes(view)
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
        if cut:
            sink(quoted_printable(data[:cut]).removesuffix(b"\r\n") + b"\r\n")
        carry = data[cut:]
    if carry:
        sink(quoted_printable(carry))


def _encoded(content: Region, options: SendOptions, part_bytes: int) -> Region:
    """`encode_content` and `canonicalize` of a large entity: applied to its skeleton, each
    large body standing in as a marker. An ASCII body is kept; an 8-bit one stands in as
    an 8-bit marker, which `encode_content` encodes with the body's header changed as for
    the body: its encoded form is then replaced by the body encoded the same way, streamed.
    """
    encoding = options.mime.content_encoding
    skel = skeleton(content, MimeLimits(max_depth=16, max_parts=10_000), part_bytes)
    markers: list[tuple[bytes, Region, bool]] = []
    pieces: list[bytes] = []
    for segment in skel.segments:
        if segment.skel_len:
            pieces.append(skel.data[segment.skel_start : segment.skel_start + segment.skel_len])
            continue
        body = content.sub(segment.orig_start, segment.orig_start + segment.orig_len)
        eight_bit = any(not view.tobytes().isascii() for view in body.chunks())
        token = f"osm-large-body-{len(markers)}-{os.urandom(8).hex()}".encode()
        marker = (b"\xff" if eight_bit and encoding != "keep" else b"") + token
        markers.append((marker, body, eight_bit and encoding != "keep"))
        pieces.append(marker)
    text = encode_content(b"".join(pieces), encoding)
    if options.sign.canonicalize:
        text = canonicalize(text)
    out = Spool(os.path.dirname(content.spool.path))
    try:
        rest = text
        for marker, body, encoded in markers:
            forms = [(marker, "keep")]
            if encoded:
                forms = [(base64_body(marker), "base64"), (quoted_printable(marker), "qp")]
            found = [(rest.partition(form), name) for form, name in forms if form in rest]
            if not found:
                raise ComposeError("a large body was lost while the content was encoded")
            (before, _, after), how = found[0]
            out.write(before)
            rest = after
            if how == "base64":
                lines = _Base64Lines(out.write)
                body.feed(lines)
                lines.close()
            elif how == "qp":
                _quoted_printable_into(body, out.write)
            elif options.sign.canonicalize and not _is_canonical(body):
                raise ComposeError("a large body without CRLF line ends is not canonicalised")
            else:
                body.copy_to(out)
        out.write(rest)
    except BaseException:
        out.close()
        raise
    return out.seal().whole()


class _Layers:
    def __init__(
        self,
        options: SendOptions,
        signer: PrivateKeyHandle | None,
        chain: Sequence[x509.Certificate],
        recipients: Sequence[x509.Certificate],
        rng: Rng,
        signing_time: datetime,
        capabilities: Sequence[ContentCipher],
        spools: list[Spool],
    ) -> None:
        self.options = options
        self.signer = signer
        self.chain = chain
        self.recipients = recipients
        self.rng = rng
        self.signing_time = signing_time
        self.capabilities = capabilities
        self.spools = spools

    def spooled(self, rope: Rope, near: Region) -> Region:
        region = rope.to_spool(near.spool)
        self.spools.append(region.spool)
        return region

    def cms_entity(self, der_rope: Rope, kind: SmimeType) -> Rope:
        header = cms_entity_header(kind, self.options.mime)
        spool = Spool(os.path.dirname(self.spools[0].path))
        self.spools.append(spool)
        lines = _Base64Lines(spool.write)
        der_rope.write(lines)
        lines.close()
        return Rope(header, spool.seal().whole())

    def sign(self, content: Region) -> Rope:
        assert self.signer is not None
        sign = self.options.sign
        detached = sign.format == "multipart-signed"
        if not sign.signed_attributes:  # a quirk: the signature is over the content itself
            held = sign_entity(
                content.read(), self.options, self.signer, self.chain, self.rng,
                self.signing_time, self.capabilities,
            )  # fmt: skip
            return Rope(held)
        built = build_signed_data(
            b"",
            self.signer,
            sign,
            detached=detached,
            chain=self.chain,
            signing_time=self.signing_time,
            capabilities=self.capabilities,
            content_digest=_digest(content, sign.digest),
        )
        if detached:
            boundary = new_boundary(self.rng, b"")
            while content.find(boundary.encode("ascii")) >= 0:
                boundary = new_boundary(self.rng, b"")
            micalg = micalg_name(sign.digest, sign.micalg_case)
            before, after = multipart_signed_around(built, micalg, boundary, self.options.mime)
            return Rope(before, content, after)
        return self.cms_entity(
            _splice(built, _content_info_path("signed"), content, None), "signed-data"
        )

    def encrypt(self, content: Region) -> Rope:
        encrypt = self.options.encrypt
        cipher = encrypt.content
        if cipher.startswith("rc2"):  # export-grade RC2, by hand: in memory (a legacy quirk)
            return Rope(encrypt_entity(content.read(), self.options, self.recipients, self.rng))
        try:
            key, infos, any_ski = content_key(self.recipients, encrypt, self.rng)
        except RecipientError as exc:
            raise ComposeError(str(exc)) from None
        iv = self.rng(block_size(cipher))
        aead = is_aead(cipher)
        algorithm = content_cipher_algorithm(cipher, iv)
        info = encrypted_content_info(oids.DATA, algorithm, b"")
        stream = _Encryption(content, cipher, key, iv)
        if aead:
            value = der.sequence(der.integer(0), infos, info, der.octet_string(bytes(16)))
            built = der.sequence(der.oid(oids.AUTH_ENVELOPED_DATA), der.context_explicit(0, value))
            mac = _Later(16, lambda: stream.tag)
            rope = _splice(built, _content_info_path("enveloped"), stream, mac)
            return self.cms_entity(rope, "authEnveloped-data")
        value = der.sequence(der.integer(2 if any_ski else 0), infos, info)
        built = der.sequence(der.oid(oids.ENVELOPED_DATA), der.context_explicit(0, value))
        rope = _splice(built, _content_info_path("enveloped"), stream, None)
        return self.cms_entity(rope, "enveloped-data")


def build_message_spooled(
    content: Region,
    out: BinaryIO,
    operation: Operation,
    options: SendOptions,
    signer: PrivateKeyHandle | None,
    chain: Sequence[x509.Certificate],
    recipients: Sequence[x509.Certificate],
    headers: Headers,
    rng: Rng = os.urandom,
    self_certificate: x509.Certificate | None = None,
    part_bytes: int = CHUNK,
) -> None:
    """`compose.build_message` of a large content in a spool, written to `out` in bounded
    memory (its bodies over `part_bytes` never held). Two legacy quirks are built in
    memory all the same: a signature without signed attributes, RC2 encryption."""
    all_recipients, date = recipients_and_date(
        operation, options, signer, recipients, self_certificate, headers
    )
    spools: list[Spool] = []
    try:
        entity = _encoded(content, options, part_bytes)
        spools.append(entity.spool)
        layers = _Layers(
            options, signer, chain, all_recipients, rng, date.astimezone(UTC),
            (options.encrypt.content,), spools,
        )  # fmt: skip
        steps: Sequence[Callable[[Region], Rope]] = {
            "sign": [layers.sign],
            "encrypt": [layers.encrypt],
            "sign-then-encrypt": [layers.sign, layers.encrypt],
            "encrypt-then-sign": [layers.encrypt, layers.sign],
            "triple-wrap": [layers.sign, layers.encrypt, layers.sign],
        }[operation if operation != "sign-encrypt" else options.order]
        rope = Rope(entity)
        for index, step in enumerate(steps):
            rope = step(entity if index == 0 else layers.spooled(rope, entity))
        try:
            top = message_headers(replace(headers, date=date), options.mime.charset, rng(16))
        except ValueError as exc:
            raise ComposeError(f"message headers: {exc}") from None
        out.write(top)
        rope.write(out.write)
    finally:
        for spool in spools:
            spool.close()
