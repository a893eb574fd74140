"""The one exception the read side raises internally, and the budget it spends.

Every reader module raises `ReadError` with a status code and a message that
names the MIME part (or CMS field) at fault; `receive.read_message` turns it
into a Status error. `Budget` carries the Limits through the recursion so a
hostile message (deep nesting, thousands of parts) stops early; the MIME
reader counts the entities of every layer in its `count`. The validator
(`check.tree`) reads with the same bounds (`mime_limits`): both judge a message
alike.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from conformance.core.cms import PARSE_ERRORS
from conformance.core.mime import Count, Entity, MimeLimits
from conformance.smime.options import Limits, ReceiveOptions
from conformance.status import ErrorCode


class ReadError(Exception):
    """A classified failure while reading: `code` is the Status error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def malformed(where: str, what: str) -> ReadError:
    return ReadError(ErrorCode.MALFORMED, f"{where}: {what}")


def too_large(where: str, what: str) -> ReadError:
    """Over a size limit: its own answer, not MALFORMED (a large message may be valid)."""
    return ReadError(ErrorCode.TOO_LARGE, f"{where}: {what}")


def child_where(parent: str, index: int) -> str:
    """Part names in the IMAP style: part 1, part 1.2; inside decoded content, a suffix."""
    if parent == "message":
        return f"part {index}"
    if parent.startswith("part ") and " " not in parent[5:]:
        return f"{parent}.{index}"
    return f"{parent}, part {index}"


def refuse_header_limit(entity: Entity, where: str) -> None:
    """TOO_LARGE for the first header block (in reading order) over the MIME reader's
    bound (`MimeLimits.max_header_bytes`), naming its part: a size limit, not a
    malformation. Both readers find it at the same part: a spooled skeleton keeps enough
    of such an entity for the defect (`core.mime_spool`). `where` names `entity`."""
    for part in entity.walk():
        defect = next((d for d in part.header_defects if d.code == "header-limit"), None)
        if defect is None:
            continue
        at = where
        for index in part.path.split(".")[entity.path.count(".") + 1 :]:
            at = child_where(at, int(index))
        raise too_large(at, defect.message)


def mime_limits(limits: Limits) -> MimeLimits:
    """The Limits as the MIME reader takes them (the receiver's and the validator's)."""
    return MimeLimits(max_depth=limits.max_depth, max_parts=limits.max_parts)


# PARSE_ERRORS (core.cms) are classified as MALFORMED only inside `asn1_guard`, around
# parsing code, never around our logic.


@contextmanager
def asn1_guard(where: str) -> Iterator[None]:
    """Turn a parser exception inside the block into MALFORMED naming `where`."""
    try:
        yield
    except ReadError:
        raise
    except PARSE_ERRORS as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise malformed(where, f"invalid CMS/ASN.1: {detail[:200]}") from exc


@dataclass
class Budget:
    """Work left for this message: MIME entities read so far, against the Limits."""

    limits: Limits
    count: Count = field(default_factory=Count)

    @functools.cached_property
    def mime_limits(self) -> MimeLimits:
        """The Limits as the MIME reader takes them."""
        return mime_limits(self.limits)

    def check_depth(self, depth: int, where: str) -> None:
        if depth > self.limits.max_depth:
            raise malformed(
                where, f"nesting deeper than {self.limits.max_depth} levels (limit max_depth)"
            )

    def check_cms_size(self, size: int, where: str) -> None:
        if size > self.limits.max_cms_bytes:
            raise too_large(
                where,
                f"CMS object of {size} bytes over {self.limits.max_cms_bytes} "
                "(limit max_cms_bytes)",
            )


def message_limit(limits: Limits, options: ReceiveOptions) -> tuple[int, str]:
    """The size over which a message is refused, and the reason's words: the smaller of
    the reader's limit and the receiver's own (a product's quirk)."""
    quirk = options.quirks.max_message_bytes
    if quirk is not None and quirk < limits.max_message_bytes:
        return quirk, f"the receiver refuses messages over {quirk} bytes"
    return (
        limits.max_message_bytes,
        f"over the limit of {limits.max_message_bytes} (max_message_bytes)",
    )


def check_message_size(size: int, limits: Limits, options: ReceiveOptions) -> None:
    """TOO_LARGE when the message is over the limit (`message_limit`)."""
    limit, words = message_limit(limits, options)
    if size > limit:
        raise too_large("message", f"{size} bytes, {words}")
