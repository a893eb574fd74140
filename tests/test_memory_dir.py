"""Working files in memory: where they go, when not, and that a tool agent removes its own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance import paths
from conformance.agents import identity_files as files
from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.openssl import OpenSSLAgent
from conformance.core.vocabulary import Party
from conformance.paths import PKI_DIR
from conformance.smime.options import SendOptions

CA = PKI_DIR / "ca"


def _party(name: str) -> Party:
    directory = PKI_DIR / "identities" / name
    data = json.loads((directory / "identity.json").read_text(encoding="utf-8"))
    return Party(directory, str(data["email"]), str(data["name"]), frozenset({"cps"}))


def test_memory_dir_is_in_tmpfs_unless_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm on this machine")
    found = paths.memory_dir()
    if found is not None:
        assert found.parent == Path("/dev/shm") and found.is_dir()
    monkeypatch.setenv(paths.MEMORY_ENV, "0")
    assert paths.memory_dir() is None


def test_memory_dir_needs_room(monkeypatch: pytest.MonkeyPatch) -> None:
    small = shutil._ntuple_diskusage(64 << 20, 0, 64 << 20)

    def usage(_path: Any) -> Any:
        return small

    monkeypatch.setattr("conformance.paths.shutil.disk_usage", usage)
    assert paths.memory_dir() is None  # a container's 64 MiB /dev/shm is not enough


def test_a_tool_agent_removes_each_calls_files(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    sender, recipient = _party("pro01"), _party("pro02")
    content = b"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
    with OpenSSLAgent(SendOptions(), tmp_path / "work") as agent:
        before = set(agent.workdir.iterdir())
        sent = agent.send(
            SendRequest(
                "sign-encrypt",
                content,
                sender,
                (files.role_certificate(recipient.identity_dir, "encrypt"),),
                (recipient.email,),
                (recipient,),
            )
        )
        assert sent.message is not None, sent.reason
        after_send = set(agent.workdir.iterdir()) - before
        assert not [p for p in after_send if p.name.split("-", 1)[1] in ("content", "signed.eml")]
        reception = OpenSSLAgent(SendOptions(), tmp_path / "reader").receive(
            ReceiveRequest(
                sent.message, recipient, (CA / "root.pem",), (CA / "root.crl.pem",), None
            )
        )
        assert reception.content is not None
        reader_files = {p.name.split("-", 1)[1] for p in (tmp_path / "reader").iterdir()}
        assert not reader_files & {"in.eml", "decrypted", "verified", "signer.pem"}
