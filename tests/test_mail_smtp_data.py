"""The SMTP server's DATA: one buffer's worth of memory, aiosmtpd's behaviour otherwise."""

from __future__ import annotations

import smtplib
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

from conformance.mail.endpoint import Endpoint
from conformance.mail.smtp_server import Envelope, ServerOptions, smtp_server, submit

HEADER = b"From: a@osm-test.example\r\nTo: b@osm-test.example\r\nSubject: t\r\n\r\n"


@contextmanager
def server(options: ServerOptions | None = None) -> Iterator[tuple[Endpoint, list[Envelope]]]:
    received: list[Envelope] = []
    with smtp_server(received.append, options) as endpoint:
        yield endpoint, received


@contextmanager
def transaction(endpoint: Endpoint) -> Iterator[smtplib.SMTP]:
    """A client at DATA's door: EHLO, MAIL (no SIZE declared), RCPT done."""
    with smtplib.SMTP(endpoint.host, endpoint.port, "localhost", timeout=10) as client:
        client.ehlo()
        yield client


def raw_data(client: smtplib.SMTP, wire: bytes) -> tuple[int, bytes]:
    """One transaction whose DATA is `wire` as it is (stuffing and end marker included)."""
    assert client.mail("a@osm-test.example")[0] == 250
    assert client.rcpt("b@osm-test.example")[0] == 250
    client.putcmd("data")
    assert client.getreply()[0] == 354
    client.send(wire)
    return client.getreply()


def test_data_holds_one_copy_of_a_large_message() -> None:
    """Traced memory while a 4 MB message of base64-sized lines crosses the server stays
    under twice the message: aiosmtpd's DATA held a bytearray per line (some 2.5 times
    the message) and then their join, over 3.5 times."""
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
    message = HEADER + line * (4_000_000 // len(line))
    with server() as (endpoint, received):
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            submit(endpoint, message, "a@osm-test.example", ["b@osm-test.example"])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert [e.content for e in received] == [message]
    assert peak - before < 2 * len(message), f"{(peak - before) / len(message):.2f}x"


def test_dot_stuffing_is_undone_and_a_message_without_final_crlf_ends_its_line() -> None:
    """As the client stuffs it (RFC 5321 section 4.5.2): a leading "." doubled, a line of
    one "." sent as "..". Received: the lines as written; a last line without CRLF gets
    one (the end marker needs it)."""
    wire = b"..first\r\n...two dots\r\n..\r\nmid.dle\r\n.\r\n"
    body = b".first\r\n..two dots\r\n.\r\nend ..\r\n.last, no CRLF"
    with server() as (endpoint, received), transaction(endpoint) as client:
        assert raw_data(client, wire)[0] == 250
        submit(endpoint, body, "a@osm-test.example", ["b@osm-test.example"])
    assert [e.content for e in received] == [
        b".first\r\n..two dots\r\n.\r\nmid.dle\r\n",
        body + b"\r\n",
    ]


def test_over_the_size_limit_552_after_the_final_dot_and_the_session_goes_on() -> None:
    """A client that did not declare SIZE is refused at the end of DATA, its message not
    delivered, and the same connection can send the next one."""
    small = HEADER + b"ok\r\n"
    with (
        server(ServerOptions(size_limit=2000)) as (endpoint, received),
        transaction(endpoint) as client,
    ):
        code, text = raw_data(client, HEADER + (b"y" * 76 + b"\r\n") * 40 + b".\r\n")
        assert (code, text) == (552, b"Error: Too much mail data")
        assert raw_data(client, small + b".\r\n")[0] == 250
    assert [e.content for e in received] == [small]


def test_a_line_over_the_limit_is_500_and_nothing_is_delivered() -> None:
    """Over aiosmtpd's line limit (1001 bytes with CRLF), both a line the reader takes
    whole and one it overruns: 500 after the final ".", the next message delivered."""
    with server() as (endpoint, received), transaction(endpoint) as client:
        for length in (1000, 5000):
            wire = HEADER + b"x" * length + b"\r\nafter\r\n.\r\n"
            assert raw_data(client, wire) == (500, b"Line too long (see RFC5321 4.5.3.1.6)")
        assert raw_data(client, HEADER + b"x" * 999 + b"\r\n.\r\n")[0] == 250
    assert [e.content for e in received] == [HEADER + b"x" * 999 + b"\r\n"]
