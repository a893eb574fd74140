"""The maildir store: messages delivered over SMTP, read back as files, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.mail.maildir import MaildirStore, folder_name, message_id_of
from conformance.mail.smtp_server import submit
from conformance.mail.store import MailStore, StoreError


def message(message_id: str, body: str = "bonjour") -> bytes:
    return (
        f"From: a@osm-test.example\r\nTo: b@osm-test.example\r\nMessage-ID: {message_id}\r\n"
        f"Subject: t\r\n\r\n{body}\r\n"
    ).encode()


def test_delivered_then_taken_once(tmp_path: Path) -> None:
    with MaildirStore(tmp_path / "mail") as store:
        typed: MailStore = store  # the protocol the route takes
        assert typed.delivery == "maildir" and typed.inbound.protocol == "smtp"
        first, second = message("<1@osm-test.example>"), message("<2@osm-test.example>", "x")
        rcpts = ["Pro01@osm-test.example", "pro02@osm-test.example"]
        submit(store.inbound, first, "a@osm-test.example", rcpts)
        submit(store.inbound, second, "a@osm-test.example", rcpts[:1])
        assert store.take("pro01@osm-test.example", "2@osm-test.example") == second
        assert store.take("pro01@osm-test.example", " <1@osm-test.example>") == first
        assert store.take("pro02@osm-test.example", "<1@osm-test.example>") == first
        with pytest.raises(StoreError, match=r"no message <1@osm-test\.example>.*0 message"):
            store.take("pro01@osm-test.example", "<1@osm-test.example>")
    assert (tmp_path / "mail" / "pro01@osm-test.example" / "new").is_dir()
    with pytest.raises(StoreError, match="not started"):
        _ = store.inbound


def test_names() -> None:
    assert folder_name("../Evil/x@y") == ".._evil_x@y"
    assert [folder_name(n) for n in ("", ".", "..")] == ["_", "_.", "_.."]
    assert message_id_of(b"Message-ID:\r\n <a@b>\r\n\r\n") == "a@b"
    assert message_id_of(b"Subject: none\r\n\r\n") is None
