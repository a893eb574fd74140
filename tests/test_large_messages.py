"""Large messages sent and read in bounded memory (issue 21): the spooled builder writes
the in-memory builder's bytes, the spooled reader gives the in-memory reader's answers and
releases nothing that did not verify, and both keep their memory bounded.

Both are exercised on small messages by lowering their thresholds (every message spooled,
every body over 64 bytes left in the spool, chunks of 1001 bytes), so that they are
compared with the in-memory ones on every kind of message; and once for real through the
command line on a message over 4 MiB, their peak memory measured.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agents_support import REPO

from conformance.core import mime_spool, spool
from conformance.core.mime import MimeLimits
from conformance.core.spool import Spool
from conformance.fuzz.harness import SPOOL_ALL
from conformance.matrix.cast import exported_pki
from conformance.pki.model import TestPKI, load_pki
from conformance.smime.compose import Headers, build_message
from conformance.smime.compose_spooled import build_message_spooled
from conformance.smime.options import (
    EncryptOptions,
    Limits,
    ReceiveOptions,
    ReceiveQuirks,
    SendOptions,
    SignOptions,
)
from conformance.smime.receive_spooled import read_message_bounded
from conformance.status import ErrorCode, Status
from conformance.token.software import SoftwareKey

BOUNDARY = b"----=_osm_large"


def attachment_entity(size: int, seed: int = 1) -> bytes:
    """A letter with one binary attachment of `size` bytes (base64), as a MIME entity."""
    data = random.Random(seed).randbytes(size)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        b'Content-Type: multipart/mixed; boundary="' + BOUNDARY + b'"\r\n\r\n'
        b"--" + BOUNDARY + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Compte rendu d'imagerie, s\xc3\xa9rie jointe.\r\n"
        b"--" + BOUNDARY + b"\r\nContent-Type: application/dicom\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--" + BOUNDARY + b"--\r\n"
    )


@dataclass(frozen=True)
class World:
    pki: TestPKI
    signer: SoftwareKey
    decryptor: SoftwareKey
    other: SoftwareKey  # a recipient key the messages are not for

    def send(
        self,
        content: bytes,
        operation: str,
        options: SendOptions = SendOptions(),  # noqa: B008
        *,
        spooled: bool = False,
        seed: int | None = None,
    ) -> bytes:
        """The message, built in memory or (`spooled`) in bounded memory; with `seed`, its
        randomness drawn from a seeded generator (the same bytes either way)."""
        sender, receiver = self.pki.identities["pro01"], self.pki.identities["pro02"]
        headers = Headers(
            from_addr=sender.email,
            to=[receiver.email],
            subject="Imagerie",
            date=datetime(2026, 12, 4, tzinfo=UTC),
            message_id="<large@osm-test.example>",
        )
        rng = os.urandom if seed is None else random.Random(seed).randbytes
        parties = (
            self.signer if operation != "encrypt" else None,
            self.pki.intermediates(),
            [receiver.certificate("encrypt")],
            headers,
        )
        if not spooled:
            return build_message(
                content, operation, options, *parties,  # type: ignore[arg-type]
                rng=rng, self_certificate=sender.certificate("encrypt"),
            )  # fmt: skip
        out = io.BytesIO()
        with Spool() as source:
            source.write(content)
            build_message_spooled(
                source.seal().whole(), out, operation, options, *parties,  # type: ignore[arg-type]
                rng=rng, self_certificate=sender.certificate("encrypt"), part_bytes=64,
            )  # fmt: skip
        return out.getvalue()

    def read(
        self,
        message: bytes,
        limits: Limits = Limits(),  # noqa: B008
        options: ReceiveOptions = ReceiveOptions(),  # noqa: B008
        key: SoftwareKey | None = None,
    ) -> tuple[bytes | None, Status]:
        return read_message_bounded(
            message,
            keys=[key or self.decryptor],
            trust=[self.pki.root],
            crls=self.pki.crls,
            directory=None,
            options=options,
            limits=limits,
            intermediates=self.pki.intermediates(),
        )


@pytest.fixture(scope="module")
def world() -> World:
    pki = load_pki()
    sender, receiver, other = (pki.identities[i] for i in ("pro01", "pro02", "pro03"))
    return World(
        pki,
        SoftwareKey(sender.private_key("sign"), sender.certificate("sign"), "sign"),
        SoftwareKey(receiver.private_key("encrypt"), receiver.certificate("encrypt"), "enc"),
        SoftwareKey(other.private_key("encrypt"), other.certificate("encrypt"), "other"),
    )


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The spools go here; the test sees what is left behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path


def leftover_spools(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.startswith("osm-spool-")]


OPTIONS = {
    "default": SendOptions(),
    "opaque": SendOptions(sign=SignOptions(format="opaque")),
    "gcm": SendOptions(encrypt=EncryptOptions(content="aes256-gcm")),
    "3des": SendOptions(encrypt=EncryptOptions(content="des-ede3-cbc")),
    "no-attributes": SendOptions(sign=SignOptions(signed_attributes=frozenset())),
    "pss": SendOptions(sign=SignOptions(algorithm="rsa-pss", digest="sha512")),
    "encrypt-then-sign": SendOptions(order="encrypt-then-sign"),
}


def _agree(world: World, message: bytes, **kwargs: object) -> Status:
    content, status = world.read(message, **kwargs)  # type: ignore[arg-type]
    spooled, spooled_status = world.read(message, limits=SPOOL_ALL, **kwargs)  # type: ignore[arg-type]
    assert spooled_status.to_json() == status.to_json()
    assert spooled == content
    return status


@pytest.mark.parametrize("operation", ["sign", "encrypt", "sign-encrypt"])
@pytest.mark.parametrize("name", [*OPTIONS, "triple-wrap", "opaque-gcm", "rc2"])
def test_the_spooled_builder_writes_the_same_bytes(
    world: World, operation: str, name: str, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name == "pss":
        pytest.skip("PSS signatures are randomised by the token: no two are the same")
    options = {
        "triple-wrap": SendOptions(order="triple-wrap"),
        "rc2": SendOptions(encrypt=EncryptOptions(content="rc2-128-cbc")),
        "opaque-gcm": SendOptions(
            sign=SignOptions(format="opaque"), encrypt=EncryptOptions(content="aes128-gcm")
        ),
    }.get(name) or OPTIONS[name]
    monkeypatch.setattr(spool, "CHUNK", 1001)  # chunks that cut blocks and base64 lines
    entity = attachment_entity(30_000)
    in_memory = world.send(entity, operation, options, seed=5)
    assert world.send(entity, operation, options, seed=5, spooled=True) == in_memory
    assert leftover_spools(spool_dir) == []


@pytest.mark.parametrize("operation", ["sign", "encrypt", "sign-encrypt"])
@pytest.mark.parametrize("name", list(OPTIONS))
def test_the_spooled_reading_agrees_with_the_reading_in_memory(
    world: World, operation: str, name: str, spool_dir: Path
) -> None:
    message = world.send(attachment_entity(3000), operation, OPTIONS[name])
    status = _agree(world, message)
    assert status.errors == [], status.errors
    assert leftover_spools(spool_dir) == []


def test_they_agree_on_refusals_and_quirks(world: World, spool_dir: Path) -> None:
    lf_letter = attachment_entity(2000).replace(b"\r\n", b"\n")
    signed = world.send(lf_letter, "sign", SendOptions(sign=SignOptions(canonicalize=False)))
    for quirks in (
        ReceiveQuirks(),
        ReceiveQuirks(no_canonicalize=True),
        ReceiveQuirks(strip_trailing_whitespace=True),
    ):
        _agree(world, signed, options=ReceiveOptions(quirks=quirks))
    sealed = world.send(attachment_entity(2000), "sign-encrypt")
    status = _agree(world, sealed, key=world.other)  # not for me
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]
    assert leftover_spools(spool_dir) == []


def _flip_in_attachment(message: bytes) -> bytes:
    """A multipart/signed message with one base64 character of its attachment changed."""
    at = message.index(b"Content-Type: application/dicom")
    at = message.index(b"\r\n\r\n", at) + 200
    flipped = b"A" if message[at : at + 1] != b"A" else b"B"
    return message[:at] + flipped + message[at + 1 :]


def test_they_agree_on_a_tampered_signed_content(world: World) -> None:
    message = _flip_in_attachment(world.send(attachment_entity(4000), "sign"))
    status = _agree(world, message)
    assert [e.code for e in status.errors] == [ErrorCode.BAD_SIGNATURE]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda m: m[: len(m) // 2], ErrorCode.MALFORMED),  # truncated
        (lambda m: m.replace(b"\r\n\r\nMII", b"\r\n\r\nM*I", 1), ErrorCode.MALFORMED),
        (lambda m: b"no header at all\r\n" + m, ErrorCode.MALFORMED),
    ],
    ids=["truncated", "bad-base64", "not-mime"],
)
def test_they_agree_on_the_code_of_malformed_messages(
    world: World, change: object, code: ErrorCode
) -> None:
    message = change(world.send(attachment_entity(3000), "sign-encrypt"))  # type: ignore[operator]
    _, status = world.read(message)
    _, spooled = world.read(message, limits=SPOOL_ALL)
    assert [e.code for e in spooled.errors] == [e.code for e in status.errors] == [code]


def test_a_tampered_large_message_releases_no_plaintext(world: World, spool_dir: Path) -> None:
    # A GCM envelope whose ciphertext was changed: the decryption spool is removed, not
    # given on, and the reading returns no content; the same message untouched reads.
    message = world.send(attachment_entity(3_000_000), "sign-encrypt", OPTIONS["gcm"])
    limits = Limits(spool_above_bytes=0)  # the real part threshold: 1 MiB
    content, status = world.read(message, limits=limits)
    assert status.errors == [] and content is not None and len(content) > 3_000_000
    middle = message.index(b"\r\n\r\n") + len(message) // 2
    changed = b"A" if message[middle : middle + 1] != b"A" else b"B"
    tampered = message[:middle] + changed + message[middle + 1 :]
    content, status = world.read(tampered, limits=limits)
    assert content is None
    assert [e.code for e in status.errors] == [ErrorCode.CANNOT_DECRYPT]
    assert leftover_spools(spool_dir) == []


def test_the_skeleton_maps_back_to_the_spool() -> None:
    entity = attachment_entity(5000)
    with Spool() as spool:
        spool.write(entity)
        region = spool.seal().whole()
        skel = mime_spool.skeleton(region, MimeLimits(), 100)
        assert skel.elided == 1 and len(skel.data) < 1000
        attachment = entity.index(b"Content-Type: application/dicom")
        start = skel.data.index(b"Content-Type: application/dicom")
        end = start + len(skel.data[start:].split(b"\r\n--" + BOUNDARY)[0])
        assert (
            skel.original(start, end).read() == entity[attachment:].split(b"\r\n--" + BOUNDARY)[0]
        )
        assert skel.original(0, len(skel.data)).read() == entity


def _peak_rss_kb(argv: list[str], stdin: Path, stdout: Path) -> tuple[int, int]:
    """(exit code, peak resident kB) of a child process, measured by a parent of its own."""
    probe = (
        "import resource, subprocess, sys\n"
        "with open(sys.argv[1], 'rb') as i, open(sys.argv[2], 'wb') as o:\n"
        "    code = subprocess.call(sys.argv[3:], stdin=i, stdout=o)\n"
        "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(stdin), str(stdout), *argv],
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    code, peak = done.stdout.split()
    return int(code), int(peak)


def _exchange(tmp_path: Path, entity: bytes, name: str) -> tuple[int, int, Path]:
    """`agent reference send` then `receive` of `entity` through the command line, each in
    a process of its own: (send peak kB, receive peak kB, the status file)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "entity").write_bytes(entity)
    export = exported_pki(load_pki())
    me = export / "identities" / "pro02"
    agent = [sys.executable, "-m", "conformance", "agent", "reference"]
    send = [*agent, "send", "--function", "sign-encrypt", "--subject", "Imagerie"]
    send += ["--from", str(export / "identities" / "pro01"), "--to", str(me / "encrypt.pem")]
    code, send_kb = _peak_rss_kb(send, folder / "entity", folder / "message")
    assert code == 0
    status = folder / "status.json"
    receive = [*agent, "receive", "--identity", str(me), "--status-out", str(status)]
    receive += ["--trust", str(export / "ca" / "root.pem")]
    receive += [f"--crl={p}" for p in sorted((export / "ca").glob("*.crl.pem"))]
    code, receive_kb = _peak_rss_kb(receive, folder / "message", folder / "content")
    assert code == 0, status.read_text() if status.exists() else "no status"
    assert json.loads(status.read_text())["errors"] == []
    # The letter as sent (its text part re-encoded by the sender), the attachment intact.
    tail = b"Content-Type: application/dicom"
    assert (folder / "content").read_bytes().split(tail)[1] == entity.split(tail)[1]
    if name == "large":  # over a smaller limit: too-large, after reading no more than it
        code, _ = _peak_rss_kb([*receive, "--max-message-bytes", "10M"], folder / "message",
                               folder / "nothing")  # fmt: skip
        assert code == 17 and (folder / "nothing").read_bytes() == b""
        assert json.loads(status.read_text())["errors"][0]["code"] == "too-large"
    return send_kb, receive_kb, folder / "message"


@pytest.mark.slow
def test_a_large_message_is_sent_and_read_through_the_command_line_in_bounded_memory(
    tmp_path: Path,
) -> None:
    size = 20 * 1000 * 1000  # a message over Limits().spool_above_bytes at each step
    small_send, small_receive, _ = _exchange(tmp_path, attachment_entity(1000), "small")
    send_kb, receive_kb, message = _exchange(tmp_path, attachment_entity(size), "large")
    assert message.stat().st_size > Limits().spool_above_bytes
    # In memory, the same exchange took 13 (send) and 17 (receive) times the attachment
    # (issue 21); spooled, each process takes a few chunks more than for a small letter:
    # less than the attachment itself.
    for large, small in ((send_kb, small_send), (receive_kb, small_receive)):
        extra = (large - small) * 1024
        assert extra < size, f"{large} kB for the large message, {small} kB for a small one"


@pytest.mark.slow
def test_the_large_attachment_scenario_runs_one_example_per_cell(tmp_path: Path) -> None:
    from conformance.cli import main

    out = tmp_path / "run"
    args = ["run", "--large-attachment", "5M", "--sender", "reference", "--receiver"]
    args += ["reference", "--function", "attachments", "--out", str(out), "-j", "1", "-q"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["run"]["settings"]["large_attachment"] == 5 * 1024 * 1024
    assert results.get("rejections") is None  # the large run is the interop matrix only
    [cell] = results["cells"]
    assert (cell["verdict"], cell["examples"]) == ("pass", 1)
    # Each message kept as its size, SHA-256 and first 64 kB: never whole.
    summaries = [p for p in cell["evidence"] if p.endswith(".eml.json")]
    assert {Path(p).name for p in summaries} >= {"large.sent.eml.json", "large.received.eml.json"}
    for path in summaries:
        summary = json.loads((out / path).read_text())
        head = (out / path).with_name(summary["head"]).read_bytes()
        assert summary["size"] > 5 * 1024 * 1024 and len(head) == summary["head_bytes"] == 65536
        assert len(summary["sha256"]) == 64
    assert not [p for p in out.rglob("*.eml") if p.stat().st_size > 65536]
