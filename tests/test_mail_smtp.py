"""The suite's SMTP server and client, with real SMTP on loopback (aiosmtpd and smtplib)."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance.mail.delivery import DeliveryError
from conformance.mail.endpoint import Endpoint
from conformance.mail.smtp_server import (
    Envelope,
    Refused,
    ServerOptions,
    log_to,
    smtp_server,
    submit,
)
from conformance.mail.tls import client_context

SEVEN_BIT = b"From: a@osm-test.example\r\nTo: b@osm-test.example\r\nSubject: t\r\n\r\nhello\r\n"
EIGHT_BIT = (
    b"From: a@osm-test.example\r\nTo: b@osm-test.example\r\nSubject: t\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    + "Compte rendu: hémoglobine élevée\r\n.leading dot\r\n".encode()
)


@contextmanager
def server(options: ServerOptions | None = None) -> Iterator[tuple[Endpoint, list[Envelope]]]:
    received: list[Envelope] = []
    with smtp_server(received.append, options) as endpoint:
        yield endpoint, received


def ehlo_keywords(endpoint: Endpoint, tls: bool = True) -> set[str]:
    with smtplib.SMTP(endpoint.host, endpoint.port, "localhost", timeout=10) as client:
        client.ehlo()
        if tls:
            client.starttls(context=client_context())
            client.ehlo()
        return set(client.esmtp_features)


def test_a_message_arrives_byte_for_byte_over_starttls() -> None:
    with server() as (endpoint, received):
        assert endpoint.protocol == "smtp" and endpoint.host == "127.0.0.1"
        submit(endpoint, EIGHT_BIT, "a@osm-test.example", ["b@osm-test.example"])
        submit(endpoint, SEVEN_BIT.replace(b"\r\n", b"\n"), "a@osm-test.example", ["b@x.example"])
    first, second = received
    assert first.content == EIGHT_BIT  # dot-stuffing undone, CRLF kept
    assert first.body == "8BITMIME" and first.tls and first.user is None
    assert first.mail_from == "a@osm-test.example"
    assert first.rcpt_tos == ("b@osm-test.example",)
    assert second.content == SEVEN_BIT and second.body is None  # LF sent as CRLF


def test_without_8bitmime_nothing_announces_or_takes_it() -> None:
    with server(ServerOptions(eight_bit_mime=False)) as (endpoint, received):
        assert "8bitmime" not in ehlo_keywords(endpoint)
        submit(endpoint, EIGHT_BIT, "a@osm-test.example", ["b@osm-test.example"])
        assert received[0].body is None  # the client did not claim BODY=8BITMIME
        with smtplib.SMTP(endpoint.host, endpoint.port, "localhost", timeout=10) as client:
            client.ehlo()
            code, text = client.mail("a@osm-test.example", ["BODY=8BITMIME"])
        assert code == 555 and b"8BITMIME" in text
    with server() as (endpoint, _):
        assert {"8bitmime", "starttls"} <= ehlo_keywords(endpoint, tls=False)


def test_size_is_announced_and_enforced() -> None:
    limit = 300
    with server(ServerOptions(size_limit=limit)) as (endpoint, received):
        with smtplib.SMTP(endpoint.host, endpoint.port, "localhost", timeout=10) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == str(limit)
        big = SEVEN_BIT + b"x" * 400 + b"\r\n"
        with pytest.raises(DeliveryError) as caught:
            submit(endpoint, big, "a@osm-test.example", ["b@osm-test.example"])
        assert caught.value.code == 552 and caught.value.endpoint == endpoint
        assert "552" in str(caught.value) and str(endpoint) in str(caught.value)
        # A client that does not declare SIZE is refused at the end of DATA.
        with smtplib.SMTP(endpoint.host, endpoint.port, "localhost", timeout=10) as client:
            client.ehlo()
            assert client.mail("a@osm-test.example")[0] == 250
            assert client.rcpt("b@osm-test.example")[0] == 250
            code, _ = client.data(big)
        assert code == 552
        submit(endpoint, SEVEN_BIT, "a@osm-test.example", ["b@osm-test.example"])
    assert [e.content for e in received] == [SEVEN_BIT]


def test_a_refusal_of_the_callback_reaches_the_client() -> None:
    def refuse(envelope: Envelope) -> None:
        raise Refused(554, "5.7.1 message rejected by policy")

    with (
        smtp_server(refuse) as endpoint,
        pytest.raises(DeliveryError, match=r"554 5\.7\.1 message rejected") as caught,
    ):
        submit(endpoint, SEVEN_BIT, "a@osm-test.example", ["b@osm-test.example"])
    assert caught.value.code == 554


def test_auth_only_after_starttls_and_required_when_configured() -> None:
    users = {"pro01@osm-test.example": "test"}
    with server(ServerOptions(users=users)) as (endpoint, received):
        assert "auth" not in ehlo_keywords(endpoint, tls=False)
        assert "auth" in ehlo_keywords(endpoint)
        with pytest.raises(DeliveryError) as caught:
            submit(endpoint, SEVEN_BIT, "pro01@osm-test.example", ["b@osm-test.example"])
        assert caught.value.code == 530
        with pytest.raises(DeliveryError) as caught:
            submit(
                endpoint, SEVEN_BIT, "pro01@osm-test.example", ["b@osm-test.example"],
                user="pro01@osm-test.example", password="wrong",
            )  # fmt: skip
        assert caught.value.code == 535
        submit(
            endpoint, SEVEN_BIT, "pro01@osm-test.example", ["b@osm-test.example"],
            user="pro01@osm-test.example", password="test",
        )  # fmt: skip
        with pytest.raises(DeliveryError, match="AUTH extension not supported"):
            submit(
                endpoint, SEVEN_BIT, "pro01@osm-test.example", ["b@osm-test.example"],
                starttls=False, user="pro01@osm-test.example", password="test",
            )  # fmt: skip
    assert [e.user for e in received] == ["pro01@osm-test.example"]
    with server() as (endpoint, _):
        assert "auth" not in ehlo_keywords(endpoint)  # no users: no AUTH at all


def test_require_starttls() -> None:
    with server(ServerOptions(require_starttls=True)) as (endpoint, received):
        with pytest.raises(DeliveryError) as caught:
            submit(endpoint, SEVEN_BIT, "a@osm-test.example", ["b@x.example"], starttls=False)
        assert caught.value.code == 530
        submit(endpoint, SEVEN_BIT, "a@osm-test.example", ["b@x.example"])
    assert len(received) == 1
    with (
        server(ServerOptions(starttls=False)) as (endpoint, _),
        pytest.raises(DeliveryError, match="does not offer STARTTLS"),
    ):
        submit(endpoint, SEVEN_BIT, "a@osm-test.example", ["b@x.example"])


def test_a_callback_bug_is_a_temporary_failure_on_one_line() -> None:
    def broken(envelope: Envelope) -> None:
        raise ValueError("bad\r\nstate")

    with (
        smtp_server(broken) as endpoint,
        pytest.raises(DeliveryError, match=r"451 4\.3\.0 .*ValueError: bad state") as caught,
    ):
        submit(endpoint, SEVEN_BIT, "a@osm-test.example", ["b@osm-test.example"])
    assert caught.value.code == 451


def test_each_server_has_its_own_port_and_stops() -> None:
    with server() as (first, _), server() as (second, _):
        assert first.port != second.port
    with pytest.raises(OSError):  # stopped: nothing listens there any more
        smtplib.SMTP(first.host, first.port, "localhost", timeout=5)


def test_a_non_ascii_address_goes_with_smtputf8_or_is_a_delivery_error() -> None:
    sender, recipient = "émilie@osm-test.example", "frédéric@osm-test.example"
    with server() as (endpoint, received):  # announces SMTPUTF8
        submit(endpoint, SEVEN_BIT, sender, [recipient])
    assert received[0].mail_from == sender and received[0].rcpt_tos == (recipient,)
    with (
        server(ServerOptions(eight_bit_mime=False)) as (endpoint, received),  # no SMTPUTF8
        pytest.raises(DeliveryError, match="SMTPUTF8") as caught,
    ):
        submit(endpoint, SEVEN_BIT, sender, [recipient])
    assert caught.value.endpoint == endpoint and not received


def test_log_to_keeps_what_aiosmtpd_logs_in_the_file_not_on_stderr(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "smtp.log"
    with server() as (endpoint, _), log_to(log):
        client = smtplib.SMTP(endpoint.host, endpoint.port, "localhost", timeout=10)
        assert client.docmd("FOOBAR")[0] == 500
        client.quit()
    text = log.read_text(encoding="utf-8")
    assert "WARNING ('127.0.0.1', " in text and ") unrecognised: FOOBAR" in text
    assert not [r for r in caplog.records if r.name == "mail.log"]  # nothing propagated
    logger = logging.getLogger("mail.log")
    assert logger.propagate and not logger.handlers  # as before the block


def test_canonical_lines_copies_only_what_it_changes() -> None:
    """A message already in CRLF comes back as it is (an imaging series is not copied
    twice per hop); bare LFs become CRLF, existing CRLFs stay single."""
    from conformance.mail.smtp_server import canonical_lines

    canonical = b"Subject: a\r\n\r\nline 1\r\nline 2\r\n"
    assert canonical_lines(canonical) is canonical
    assert canonical_lines(b"Subject: a\n\r\nline 1\nline 2\r\n") == canonical


def test_data_streams_the_message_dot_stuffed_at_any_chunk_boundary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DATA is written in slices of the message, a "." added before each line that starts
    with one: with 4-byte slices, a line start falls at every place in a slice, its line
    feed ending the slice before or not. The server undoes the stuffing, so what arrives
    is the message, over SMTP and LMTP's client alike; smtplib's DATA copied it twice."""
    from conformance.mail import smtp_server as module

    monkeypatch.setattr(module, "_CHUNK", 4)
    bodies = [
        b".first line is a dot\r\n..two\r\nx\r\n.\r\n.\r\nend",  # no final CRLF
        b"Subject: a\r\n\r\n" + b"".join(b"a" * n + b"\r\n." + b"\r\n" for n in range(9)),
        b"",  # an empty one ends its line, as smtplib does
    ]
    with server() as (endpoint, received):
        for body in bodies:
            submit(endpoint, body, "a@osm-test.example", ["b@osm-test.example"])
    for body, envelope in zip(bodies, received, strict=True):
        assert envelope.content == (body if body.endswith(b"\r\n") else body + b"\r\n")
    assert issubclass(module._StreamingLMTP, smtplib.LMTP)
