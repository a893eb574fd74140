"""The one error of every transport: a message that could not be delivered (a bounce)."""

from __future__ import annotations

from conformance.mail.endpoint import Endpoint


class DeliveryError(Exception):
    """The transport could not deliver the message (a bounce).

    Over SMTP, `code` is the server's reply code (552, 553, ...; None when no server
    answered: connection refused, timeout) and `endpoint` the server that answered or
    could not be reached; both None for the in-memory transports.
    """

    def __init__(
        self, message: str, *, code: int | None = None, endpoint: Endpoint | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.endpoint = endpoint


class OverRouteLimit(DeliveryError):
    """A route's 552 for a message already over the SIZE the tester set on the suite's own
    relays (`--max-message-bytes`): a limit of the road the tester chose, not a product's,
    so the matrix does not count it against the products (docs/mail.md, Routes)."""

    def __init__(
        self,
        message: str,
        *,
        size: int,
        limit: int,
        code: int | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        super().__init__(message, code=code, endpoint=endpoint)
        self.size = size
        self.limit = limit
