"""Every writer of a message's header refuses a line break in a value: the built-in
composer did already; the real engines' client headers and the Apicrypt model's wire
did not, so a subject with CRLF could add a field (header injection)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.agents.mime_wrap import envelope_headers
from conformance.apicrypt.wire import mail

WRITERS: dict[str, Callable[[str, str], bytes]] = {
    "engines' client headers": lambda subject, message_id: envelope_headers(
        "a@test", ("b@test",), subject, "Sat, 05 Dec 2026 12:00:00 +0000", message_id
    ),
    "apicrypt wire": lambda subject, message_id: mail(
        b"block",
        from_addr="a@test",
        to=["b@test"],
        subject=subject,
        date="Sat, 05 Dec 2026 12:00:00 +0000",
        message_id=message_id,
    ),
}


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
@pytest.mark.parametrize(
    ("subject", "message_id", "what"),
    [("a\r\nBcc: x@test", "<1@test>", "Subject"), ("ok", "<1@test>\nBcc: x", "Message-ID")],
)
def test_a_line_break_in_a_header_value_is_refused(
    writer: str, subject: str, message_id: str, what: str
) -> None:
    with pytest.raises(ValueError, match=f"{what} contains a line break"):
        WRITERS[writer](subject, message_id)


@pytest.mark.parametrize("writer", WRITERS, ids=list(WRITERS))
def test_one_line_values_are_written(writer: str) -> None:
    assert b"Subject: Compte rendu\r\n" in WRITERS[writer]("Compte rendu", "<1@test>")
