"""Who wrote a message: the one address a signature may authenticate, or why there is none.

A signature authenticates its signer; it authenticates the message's author
only when the header names exactly one author and that author is the signer
(RFC 8550 3, RFC 8551 3.1). RFC 5322 3.6.2 lets From: hold several mailboxes
only with a Sender: field naming the one responsible for the message, which
is then the address to compare. A missing From:, two From: fields (the
"Johnny, you are fired" forgeries, where one client shows the first and
another the last) or several mailboxes without a single Sender: leave the
author ambiguous. The strict receiver and the validator both judge by this
function, so they cannot disagree on which address a signature vouches for.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from conformance.core.bilingual import Facts
from conformance.core.mime import addresses

__all__ = ["Author", "AuthorProblem", "author", "mailboxes"]

# Why there is no one author, for a caller wording it in another language than `problem`'s
# English ("" when there is one); the values each records are named beside it.
AuthorProblem = Literal[
    "",
    "no-from",  # no From: field
    "unreadable",  # the From: field cannot be read
    "from-fields",  # fields: the number of From: fields
    "no-mailbox",  # From: holds no address
    "no-sender",  # mailboxes: From:'s count, and no Sender: field
    "sender-fields",  # mailboxes; senders: the number of Sender: fields
    "sender-mailboxes",  # mailboxes; senders: the number of Sender:'s mailboxes (not 1)
]


@dataclass(frozen=True)
class Author:
    """The author's address (lowercased), or None with the reason it is ambiguous (`problem`,
    in English; `code` and `values` say the same for a report in another language)."""

    address: str | None
    problem: str  # "" when `address` is set
    from_addresses: tuple[str, ...]  # every From: mailbox, in order, for messages
    by_sender: bool = False  # the address is Sender:'s (From: holds several mailboxes)
    unreadable: bool = False  # From: cannot be read at all: malformed, not just ambiguous
    code: AuthorProblem = ""
    values: Facts = ()

    def describe(self) -> str:
        """`From: a, b` (and `Sender: b`) as the receiver and the validator show it."""
        shown = f"From: {', '.join(self.from_addresses) or 'none'}"
        return f"{shown}; Sender: {self.address}" if self.by_sender else shown


def author(from_values: Sequence[object], sender_values: Sequence[object] = ()) -> Author:
    """The author of a message given the values of its From: and Sender: fields."""
    return _author(tuple(str(v) for v in from_values), tuple(str(v) for v in sender_values))


def mailboxes(values: Sequence[object]) -> tuple[str, ...] | None:
    """The lowercased addresses of address fields; None when they cannot be read at all
    (comments nested past `mime.MAX_COMMENT_DEPTH`)."""
    return _mailboxes(tuple(str(v) for v in values))


@functools.lru_cache(maxsize=256)
def _mailboxes(values: tuple[str, ...]) -> tuple[str, ...] | None:
    try:
        return tuple(addr.lower() for addr in addresses(list(values)))
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)
def _author(from_values: tuple[str, ...], sender_values: tuple[str, ...]) -> Author:
    found = _mailboxes(from_values)
    shown = found or ()
    if not from_values:
        return Author(None, "no From: field", shown, code="no-from")
    if found is None:
        return Author(
            None, "the From: field cannot be read", shown, unreadable=True, code="unreadable"
        )
    if len(from_values) > 1:
        fields = len(from_values)
        return Author(
            None, f"{fields} From: fields", shown, code="from-fields", values=(("fields", fields),)
        )
    if not found:
        return Author(None, "From: holds no address", shown, code="no-mailbox")
    if len(found) == 1:
        return Author(found[0], "", shown)
    several = f"From: holds {len(found)} mailboxes"
    counted: Facts = (("mailboxes", len(found)),)
    if not sender_values:
        problem = f"{several} and there is no Sender: field"
        return Author(None, problem, shown, code="no-sender", values=counted)
    if len(sender_values) > 1:
        problem = f"{several} and there are {len(sender_values)} Sender: fields"
        values = (*counted, ("senders", len(sender_values)))
        return Author(None, problem, shown, code="sender-fields", values=values)
    sender = _mailboxes(sender_values)
    if not sender or len(sender) != 1:
        count = "no" if not sender else str(len(sender))
        problem = f"{several} and Sender: holds {count} mailbox(es), not one"
        values = (*counted, ("senders", len(sender or ())))
        return Author(None, problem, shown, code="sender-mailboxes", values=values)
    return Author(sender[0], "", shown, by_sender=True)
