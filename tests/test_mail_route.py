"""Routes over real SMTP on loopback: hops, gateways, the maildir store; and the finding
the SMTP transport exists for: a detached signature over 8-bit text breaks through a relay
converting to quoted-printable, an opaque one survives (checked by `openssl cms -verify`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.errors import MissingComponent, UserError
from conformance.mail.delivery import DeliveryError
from conformance.mail.endpoint import HopSettings
from conformance.mail.gateways import GATEWAYS
from conformance.mail.maildir import MaildirStore, message_id_of
from conformance.mail.route import HOP_STANDS_FOR, HOPS, message_id_for, open_route, with_message_id
from conformance.mail.smtp_server import canonical_lines
from conformance.paths import PKI_DIR

OPENSSL = shutil.which("openssl")
SENDER = PKI_DIR / "identities" / "pro01"
SENDER_ADDRESS = "camille.martin@osm-test.example"
RECIPIENT = "helene.lefevre@osm-test.example"
BODY = (
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "Compte rendu : hémoglobine à 9,2 g/dl, contrôle à J+8.\r\n"
    "Signé : Dr Martin\r\n"
).encode()
HEADER = (
    f"From: Camille Martin <{SENDER_ADDRESS}>\r\nTo: {RECIPIENT}\r\n"
    "Subject: Compte rendu\r\nMessage-ID: <{tag}@osm-test.example>\r\n"
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MaildirStore]:
    with MaildirStore(tmp_path / "maildir") as opened:
        yield opened


def plain(tag: str, body: bytes = BODY) -> bytes:
    return HEADER.format(tag=tag).encode() + b"MIME-Version: 1.0\r\n" + body


def signed(tmp_path: Path, tag: str, *, detached: bool) -> bytes:
    """An S/MIME message signed by pro01 with openssl cms over the 8-bit body, exactly."""
    assert OPENSSL is not None
    (tmp_path / "body.eml").write_bytes(BODY)
    out = tmp_path / f"{tag}.smime"
    command = [
        OPENSSL, "cms", "-sign", "-binary", "-crlfeol", "-md", "sha256",
        "-in", str(tmp_path / "body.eml"), "-out", str(out),
        "-signer", str(SENDER / "sign.pem"), "-inkey", str(SENDER / "sign.key.pem"),
        "-certfile", str(SENDER / "chain.pem"),
    ]  # fmt: skip
    if not detached:
        command.append("-nodetach")
    subprocess.run(command, check=True, capture_output=True, timeout=30)
    # As a product sends it over SMTP: CRLF everywhere (openssl leaves LF in the base64).
    return canonical_lines(HEADER.format(tag=tag).encode() + out.read_bytes())


def openssl_verifies(tmp_path: Path, message: bytes) -> tuple[bool, str]:
    assert OPENSSL is not None
    path = tmp_path / "delivered.eml"
    path.write_bytes(message)
    done = subprocess.run(
        [
            OPENSSL,
            "cms",
            "-verify",
            "-in",
            str(path),
            "-out",
            str(tmp_path / "content"),
            "-CAfile",
            str(PKI_DIR / "ca" / "root.pem"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0, done.stderr


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
@pytest.mark.parametrize(
    ("via", "detached_survives"), [((), True), (("8bit-to-qp",), False)], ids=["direct", "qp"]
)
def test_8bit_to_qp_breaks_detached_not_opaque(
    tmp_path: Path, store: MaildirStore, via: tuple[str, ...], detached_survives: bool
) -> None:
    detached = signed(tmp_path, "detached", detached=True)
    opaque = signed(tmp_path, "opaque", detached=False)
    assert b"multipart/signed" in detached and b"signed-data" in opaque
    assert openssl_verifies(tmp_path, detached)[0] and openssl_verifies(tmp_path, opaque)[0]
    with open_route(via, store) as route:
        assert [name for name, _ in route.chain] == ["submission", *via, "maildir"]
        got_detached = route.transport(detached, RECIPIENT)
        got_opaque = route.transport(opaque, RECIPIENT)
    assert got_opaque == opaque  # base64 at the top: nothing for the relay to convert
    ok, errors = openssl_verifies(tmp_path, got_detached)
    assert ok == detached_survives, errors
    if not detached_survives:
        assert b"Content-Transfer-Encoding: quoted-printable" in got_detached
        assert b"h=C3=A9moglobine" in got_detached
        assert "digest failure" in errors or "content verify error" in errors.lower()
    else:
        assert got_detached == detached
    assert openssl_verifies(tmp_path, got_opaque)[0]


def test_every_gateway_hop_relays_with_real_smtp(store: MaildirStore) -> None:
    """Each hop id carries a message end to end; each gateway's rewrite is what arrives."""
    message = plain("every")
    for hop in sorted(h for h in HOPS if h != "postfix"):
        with open_route((hop,), store) as route:
            got = route.transport(message, RECIPIENT)
        assert got == GATEWAYS[hop].rewrite(message), hop
    with open_route(("subject-tag", "8bit-to-qp", "lf-store"), store) as route:
        assert len(route.chain) == 5
        got = route.transport(message, RECIPIENT)
    assert got.startswith(b"From: Camille")
    assert b"Subject: [EXTERNE] Compte rendu\nMessage-ID" in got and b"\r\n" not in got


def test_the_submission_server_gives_a_message_id(store: MaildirStore) -> None:
    bare = plain("x").replace(b"Message-ID: <x@osm-test.example>\r\n", b"")
    assert message_id_of(bare) is None
    with open_route((), store) as route:
        got = route.transport(bare, RECIPIENT)
    assert got == with_message_id(bare)
    assert message_id_of(got) == message_id_for(bare).strip("<>")
    assert got.split(b"\r\n\r\n")[1] == bare.split(b"\r\n\r\n")[1]


def test_size_follows_the_settings(store: MaildirStore) -> None:
    message = plain("big", BODY + (b"x" * 70 + b"\r\n") * 30)
    with open_route(("footer",), store, HopSettings(max_message_bytes=1000)) as route:
        with pytest.raises(DeliveryError) as caught:
            route.transport(message, RECIPIENT)
        assert caught.value.code == 552
        assert "route submission" in str(caught.value)
        route.transport(plain("small"), RECIPIENT)  # the route still serves
    with open_route(("footer",), store, HopSettings(max_message_bytes=None)) as route:
        route.transport(message, RECIPIENT)


def test_every_hop_has_a_title() -> None:
    assert set(HOP_STANDS_FOR) == set(HOPS)
    assert all(t.fr and t.en and t.fr != t.en for t in HOP_STANDS_FOR.values())


def test_unknown_hop_and_missing_postfix(store: MaildirStore) -> None:
    unknown = r"unknown hop\(s\) 'nope'; known: 8bit-to-qp, footer"
    with pytest.raises(UserError, match=unknown), open_route(("footer", "nope"), store):
        pass
    try:
        import conformance.mail.postfix  # noqa: F401
    except ImportError:
        missing = "postfix hop is not available"
        with pytest.raises(MissingComponent, match=missing), open_route(("postfix",), store):
            pass
