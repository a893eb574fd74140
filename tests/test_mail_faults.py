"""Faults on the wire (issue 18 part 5), with real SMTP on loopback: a client dropping
mid-DATA, an oversized message, invalid addresses, a hop that is down, a message accepted
and lost; never anything half-delivered returned as delivered."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conformance.loopback import free_port
from conformance.mail.delivery import DeliveryError
from conformance.mail.endpoint import Endpoint, HopSettings
from conformance.mail.maildir import MaildirStore
from conformance.mail.route import open_route, relay_hop
from conformance.mail.smtp_server import Envelope, ServerOptions, smtp_server, submit
from conformance.mail.store import Delivery, StoreError

RECIPIENT = "helene.lefevre@osm-test.example"
MESSAGE = (
    b"From: camille.martin@osm-test.example\r\nTo: helene.lefevre@osm-test.example\r\n"
    b"Subject: t\r\nMessage-ID: <fault@osm-test.example>\r\n\r\nline\r\n"
)


def stored(store: MaildirStore) -> list[Path]:
    """Every file in the store's maildirs, finished (new/, cur/) or not (tmp/)."""
    return [p for p in store.root.rglob("*") if p.is_file()]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MaildirStore]:
    with MaildirStore(tmp_path / "maildir") as opened:
        yield opened


def _reply(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n") or data.splitlines()[-1][3:4] == b"-":
        data += sock.recv(4096)
    return data


def test_a_client_dropping_mid_data_delivers_nothing(store: MaildirStore) -> None:
    endpoint = store.inbound
    with socket.create_connection((endpoint.host, endpoint.port), timeout=10) as sock:
        assert _reply(sock).startswith(b"220")
        for command, code in (
            (b"EHLO client.example", b"250"),
            (b"MAIL FROM:<camille.martin@osm-test.example>", b"250"),
            (f"RCPT TO:<{RECIPIENT}>".encode(), b"250"),
            (b"DATA", b"354"),
        ):
            sock.sendall(command + b"\r\n")
            assert _reply(sock).startswith(code), command
        sock.sendall(MESSAGE[:60])  # half the message, no final "."
    # The server still serves, and what arrives is only the complete message.
    submit(endpoint, MESSAGE, "camille.martin@osm-test.example", [RECIPIENT])
    assert len(stored(store)) == 1
    assert store.take(RECIPIENT, "<fault@osm-test.example>") == MESSAGE


def test_an_oversized_message_is_refused_with_552_and_not_stored(store: MaildirStore) -> None:
    big = MESSAGE + (b"y" * 76 + b"\r\n") * 40
    settings = HopSettings(max_message_bytes=2000)
    with (
        open_route(("refold",), store, settings) as route,
        pytest.raises(DeliveryError, match=r"answered 552") as caught,
    ):
        route.transport(big, RECIPIENT)
    assert caught.value.code == 552 and caught.value.endpoint == route.entry
    assert stored(store) == []


@pytest.mark.parametrize(
    ("sender", "recipient", "code"),
    [
        ("camille.martin@osm-test.example", "no-at-sign", 553),
        ("camille.martin@osm-test.example", "two@@ats.example", 553),
        ("camille.martin@osm-test.example", "no-domain@", 553),
        ("not an address", RECIPIENT, 553),
    ],
)
def test_invalid_addresses_are_refused(
    store: MaildirStore, sender: str, recipient: str, code: int
) -> None:
    with pytest.raises(DeliveryError) as caught:
        submit(store.inbound, MESSAGE, sender, [recipient])
    assert caught.value.code in (code, 501), caught.value
    assert str(store.inbound) in str(caught.value)
    assert stored(store) == []


def test_a_hop_that_is_down() -> None:
    down = Endpoint("127.0.0.1", free_port())
    with pytest.raises(DeliveryError, match=rf"{down}: cannot connect") as caught:
        submit(down, MESSAGE, "camille.martin@osm-test.example", [RECIPIENT])
    assert caught.value.code is None and caught.value.endpoint == down
    # A relay in front of it refuses the message (temporary failure), naming the hop down.
    with relay_hop()(down, HopSettings()) as relay, pytest.raises(DeliveryError) as caught:
        submit(relay, MESSAGE, "camille.martin@osm-test.example", [RECIPIENT])
    assert caught.value.code == 451 and caught.value.endpoint == relay
    assert "next hop unreachable" in str(caught.value) and str(down) in str(caught.value)


class BlackHole:
    """A store that accepts every message over SMTP and keeps none of them."""

    def __init__(self, inbound: Endpoint) -> None:
        self._inbound = inbound

    @property
    def delivery(self) -> Delivery:
        return "maildir"

    @property
    def inbound(self) -> Endpoint:
        return self._inbound

    def take(self, recipient: str, message_id: str) -> bytes:
        raise StoreError(f"no message {message_id} for {recipient}")


@contextmanager
def black_hole() -> Iterator[BlackHole]:
    def drop(envelope: Envelope) -> None:
        return None

    with smtp_server(drop) as inbound:
        yield BlackHole(inbound)


def test_accepted_but_never_delivered_is_not_delivered() -> None:
    with black_hole() as store, open_route(("footer",), store, wait_s=0.3) as route:
        with pytest.raises(DeliveryError, match=r"accepted but not delivered .* within 0.3 s"):
            route.transport(MESSAGE, RECIPIENT)
        assert "footer" in route.describe()


def test_a_refusal_at_the_end_comes_back_through_every_hop(tmp_path: Path) -> None:
    small = ServerOptions(size_limit=300)  # only the store is small: the last hop refuses
    with (
        MaildirStore(tmp_path / "m", small) as store,
        open_route(("subject-tag", "footer"), store) as route,
    ):
        with pytest.raises(DeliveryError) as caught:
            route.transport(MESSAGE + (b"z" * 70 + b"\r\n") * 5, RECIPIENT)
        assert caught.value.code == 552 and caught.value.endpoint == route.entry
        said = str(caught.value)
        assert said.count("relay refused") == 3  # submission, subject-tag, footer
        assert str(store.inbound) in said
        assert stored(store) == []
        with smtplib.SMTP(route.entry.host, route.entry.port, timeout=10) as client:
            assert client.noop()[0] == 250  # the route still serves
