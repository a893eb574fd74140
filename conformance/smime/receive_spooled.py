"""The read side in bounded memory: a large message read from a spool, never held whole.

The same reader as `receive` (every check, every status), fed differently: each
MIME layer is read from its skeleton (`core.mime_spool`: the large bodies left
in the spool), each CMS object from its skeleton (`core.cms_spool`: the large
eContent or encryptedContent left in the spool); base64 and quoted-printable
bodies are decoded, contents digested and decrypted chunk by chunk, each stage
into a spool of its own. Nothing is released before it is verified: a
decryption writes to a spool that is given on only once the GCM tag or the CBC
padding was checked (and removed otherwise), the signatures are all checked
before `read_spooled` returns, and the content it returns is the caller's to
stream only when the status holds no error that stops the reading.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pybase64
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from conformance.core import mime
from conformance.core.cms import ContentInfo
from conformance.core.mime import Entity
from conformance.core.mime_spool import Skeleton, skeleton
from conformance.core.spool import Region, Spool
from conformance.smime import cms_read
from conformance.smime.cms_read import CertificateDirectory
from conformance.smime.options import Limits, ReceiveOptions
from conformance.smime.read_errors import malformed
from conformance.smime.receive import Reader, read_message, run_reader
from conformance.status import Status
from conformance.token.base import PrivateKeyHandle

__all__ = ["SpooledReading", "read_message_bounded", "read_spooled"]

_WHITESPACE = b" \t\r\n"


class _Streamed:
    """Signed content in a spool, digested as a stream (through a canonical form)."""

    def __init__(self, region: Region, transform: Callable[[bytes], bytes] | None) -> None:
        self.region = region
        self.transform = transform
        self._digests: dict[str, bytes] = {}

    def digest(self, algorithm: hashes.HashAlgorithm) -> bytes:
        if algorithm.name not in self._digests:
            hashed = hashes.Hash(algorithm)
            transform = self.transform
            if transform is None:
                self.region.feed(hashed.update)
            else:
                carry = b""
                for view in self.region.chunks():
                    data = carry + bytes(view)
                    cut = data.rfind(b"\n") + 1  # whole lines: a CR LF never splits
                    hashed.update(transform(data[:cut]))
                    carry = data[cut:]
                hashed.update(transform(carry))
            self._digests[algorithm.name] = hashed.finalize()
        return self._digests[algorithm.name]


@dataclass
class _SpoolReader(Reader):
    spools: list[Spool] = field(default_factory=list)
    skeletons: dict[int, Skeleton] = field(default_factory=dict)

    def _new_spool(self, near: Region) -> Spool:
        spool = Spool(os.path.dirname(near.spool.path))
        self.spools.append(spool)
        return spool

    # --- MIME from a spool ----------------------------------------------------------

    def _read_mime(self, data: bytes | Region, origin: str, depth: int) -> Entity:
        if isinstance(data, bytes):
            return super()._read_mime(data, origin, depth)
        if data.spool not in self.spools:  # a decryption's spool: this reading's to remove
            self.spools.append(data.spool)
        if len(data.ranges) > 1:  # BER chunks: made one range for the windowed reading
            joined = self._new_spool(data)
            data.copy_to(joined)
            data = joined.seal().whole()
        skel = skeleton(data, self.budget.mime_limits, self.limits.spool_part_bytes)
        entity = super()._read_mime(skel.data, origin, depth)
        self.skeletons[id(entity.source)] = skel
        return entity

    def _original(self, entity: Entity, body: bool = False) -> Region | None:
        """The entity's bytes (or its body's) in the spool when a large body of it was
        left out of its skeleton; None when the skeleton holds them all."""
        skel = self.skeletons.get(id(entity.source))
        if skel is None:
            return None
        start = entity.body_start if body else entity.offset
        region = skel.original(start, entity.end)
        return region if len(region) != entity.end - start else None

    def _content(self, entity: Entity) -> bytes | Region:
        return self._original(entity) or entity.raw

    def _signed_content(self, entity: Entity) -> cms_read.Content:
        region = self._original(entity)
        if region is None:
            return super()._signed_content(entity)
        quirks = self.options.quirks
        canonical = mime.to_lf if quirks.no_canonicalize else mime.canonicalize
        transform = canonical
        if quirks.strip_trailing_whitespace:

            def transform(data: bytes) -> bytes:
                return canonical(mime.strip_trailing_whitespace(data))

        return _Streamed(region, transform)

    def _stream(self, region: Region) -> cms_read.StreamedContent:
        return _Streamed(region, None)

    # --- CMS from a spool -----------------------------------------------------------

    def _cms(self, entity: Entity, where: str) -> tuple[ContentInfo, Region | None]:
        body = self._original(entity, body=True)
        if body is None:
            return super()._cms(entity, where)
        der = self._decode_spooled(entity, body, where)
        return cms_read.read_content_info_spooled(
            der, where, self.budget, self.limits.spool_part_bytes
        )

    def _decode_spooled(self, entity: Entity, body: Region, where: str) -> Region:
        """The body with its transfer encoding undone, chunk by chunk into a spool."""
        cte = entity.transfer_encoding
        if cte in ("7bit", "8bit", "binary"):
            return body
        if cte not in ("base64", "quoted-printable"):
            raise malformed(where, f"unknown Content-Transfer-Encoding {cte!r}")
        out = self._new_spool(body)
        if cte == "base64":
            _base64_into(body, out, where)
        else:
            _quoted_printable_into(body, out, where)
        return out.seal().whole()


def _base64_into(body: Region, out: Spool, where: str) -> None:
    """Base64 decoded as `core.mime` decodes it (blanks and line ends ignored, '=' only
    as the final padding), 4 MiB at a time."""
    rest = b""
    ended = False
    for view in body.chunks():
        data = rest + bytes(view).translate(None, _WHITESPACE)
        whole = len(data) - len(data) % 4
        block, rest = data[:whole], data[whole:]
        if not block:
            continue
        if ended:
            raise malformed(where, "bad base64 body (base64 is not valid: data after the padding)")
        ended = b"=" in block
        try:
            out.write(pybase64.b64decode(block, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise malformed(where, f"bad base64 body (base64 is not valid: {exc})") from None
    if rest:
        raise malformed(where, "bad base64 body (base64 is not valid: Incorrect padding)")


def _quoted_printable_into(body: Region, out: Spool, where: str) -> None:
    """Quoted-printable decoded line by line (`binascii.a2b_qp`), 4 MiB at a time."""
    carry = b""
    for view in body.chunks():
        data = carry + bytes(view)
        cut = data.rfind(b"\n") + 1
        out.write(_qp(data[:cut], where))
        carry = data[cut:]
    out.write(_qp(carry, where))


def _qp(data: bytes, where: str) -> bytes:
    bad = mime.QP_BAD_ESCAPE.search(data)
    if bad is not None:
        near = data[bad.start() : bad.start() + 3]
        raise malformed(where, f"quoted-printable is not valid: {near!r} is not an =XX escape")
    return binascii.a2b_qp(data)


@dataclass
class SpooledReading:
    """What `read_spooled` found: the content (in memory when small, else a region of a
    spool this reading holds) and the status. Close it once the content was used."""

    content: bytes | Region | None
    status: Status
    spools: list[Spool]

    def close(self) -> None:
        for spool in self.spools:
            spool.close()
        self.spools = []

    def __enter__(self) -> SpooledReading:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_spooled(
    message: Region,
    *,
    keys: Sequence[PrivateKeyHandle],
    trust: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    directory: CertificateDirectory | None,
    options: ReceiveOptions,
    limits: Limits = Limits(),  # noqa: B008 (frozen dataclass)
    validation_time: datetime | None = None,
    intermediates: Sequence[x509.Certificate] = (),
) -> SpooledReading:
    """`receive.read_message` of a message in a spool, in bounded memory. Never raises;
    no content when the status has an error that stops the reading."""
    status = Status()
    reader = _SpoolReader(
        keys, trust, crls, directory, options, limits, validation_time, intermediates, status
    )
    content = run_reader(reader, message)
    return SpooledReading(content, status, reader.spools)


def read_message_bounded(
    message: bytes,
    *,
    keys: Sequence[PrivateKeyHandle],
    trust: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    directory: CertificateDirectory | None,
    options: ReceiveOptions,
    limits: Limits = Limits(),  # noqa: B008 (frozen dataclass)
    validation_time: datetime | None = None,
    intermediates: Sequence[x509.Certificate] = (),
) -> tuple[bytes | None, Status]:
    """`receive.read_message`, a message over `limits.spool_above_bytes` read from a spool
    (in bounded memory beyond the message itself): the profile agents' one entry point."""
    if len(message) <= limits.spool_above_bytes:
        return read_message(
            message, keys=keys, trust=trust, crls=crls, directory=directory, options=options,
            limits=limits, validation_time=validation_time, intermediates=intermediates,
        )  # fmt: skip
    with Spool() as spool:
        spool.write(message)
        with read_spooled(
            spool.seal().whole(),
            keys=keys,
            trust=trust,
            crls=crls,
            directory=directory,
            options=options,
            limits=limits,
            validation_time=validation_time,
            intermediates=intermediates,
        ) as reading:
            content = reading.content
            if isinstance(content, Region):
                content = content.read()
            return content, reading.status
