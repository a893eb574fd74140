"""The gpgsm harness's servers over many requests (harnesses/gpgsm/README.md, "Wear").

gpgsm 2.2's ENCRYPT leaks secure memory, so a `gpgsm --server` that encrypts
must be replaced every few encryptions; SIGN, DECRYPT and VERIFY leak nothing,
so their servers must last. Both are checked with the real gpgsm: a run of
exchanges through the harness all succeed with at most one encryption running
out of memory (the one the harness learns its budget from), and one server
answers dozens of verifications.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from conformance.agents import harness as harness_client
from conformance.agents import identity_files as files
from conformance.agents.base import ReceiveRequest, SendRequest
from conformance.agents.gpgsm import GpgsmAgent
from conformance.agents.tools import ENGINE_MODE_ENV, harness_command
from conformance.core.vocabulary import Party
from conformance.paths import HARNESS_DIR, PKI_DIR
from conformance.smime.options import EncryptOptions, SendOptions

pytestmark = pytest.mark.engines

CA = PKI_DIR / "ca"
CONTENT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nOBX|1|NM|GLU^Glycemie||5.2|mmol/l\r\n"
# 3DES wears a server out soonest (after 5 encryptions with gpgsm 2.2.40, 7 with AES).
EXCHANGES = 16


def party(name: str) -> Party:
    directory = PKI_DIR / "identities" / name
    data = files.identity_json(directory)
    return Party(directory, str(data["email"]), str(data["name"]), frozenset({"cps"}))


def exchange(agent: GpgsmAgent) -> list[str]:
    """pro01 signs and encrypts to pro02, which reads it; the evidence notes of both."""
    to = party("pro02")
    sent = agent.send(
        SendRequest(
            "sign-encrypt",
            CONTENT,
            party("pro01"),
            (files.role_certificate(to.identity_dir, "encrypt"),),
            (to.email,),
            (to,),
            subject="wear",
        )
    )
    assert sent.message is not None, sent.reason
    crls = (CA / "root.crl.pem", CA / "intermediate.crl.pem")
    got = agent.receive(ReceiveRequest(sent.message, to, (CA / "root.pem",), crls))
    assert not got.status.errors, got.status.errors
    assert got.status.signature_valid is True
    return sent.evidence.notes + got.evidence.notes


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GpgsmAgent]:
    gpgsm = shutil.which("gpgsm")
    if gpgsm is None or harness_command([gpgsm, "--verify", "x"]) is None:
        pytest.skip("gpgsm or its harness is not here (tools/setup.sh installs both)")
    monkeypatch.setenv(ENGINE_MODE_ENV, "harness")
    options = SendOptions(
        encrypt=EncryptOptions(key_transport="rsa-pkcs1v15", content="des-ede3-cbc")
    )
    with GpgsmAgent(options, tmp_path) as made:
        yield made
    harness_client.close_all()


def test_an_encrypting_server_is_replaced_before_it_runs_out(agent: GpgsmAgent) -> None:
    for _ in range(EXCHANGES):
        notes = exchange(agent)
        encrypts = [n for n in notes if " --encrypt " in n]
        assert encrypts and all(n.endswith("[harness]") for n in encrypts), encrypts
    gpgsm = shutil.which("gpgsm")
    assert gpgsm is not None
    command = harness_command([gpgsm, "--verify", "x"])
    assert command is not None
    said = harness_client.harness_for(command, env={"GNUPGHOME": str(agent.home)}).stderr
    worn = re.findall(rb"worn out after \d+ requests", said)
    # Without a budget a server would run out every 5 encryptions (3 times in 16).
    assert len(worn) == 1, said.decode("utf-8", "replace")
    assert b"later servers run" in said


def _harness_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gpgsm_harness", HARNESS_DIR / "gpgsm" / "harness.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_a_verifying_server_lasts(agent: GpgsmAgent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent, "_forget_transient", lambda: None)  # the call's files replayed
    notes = exchange(agent)
    line = next(n for n in notes if " --verify " in n and n.endswith("[harness]"))
    argv = shlex.split(line[2:].split("  -> exit ")[0])
    monkeypatch.setenv("GNUPGHOME", str(agent.home))
    monkeypatch.setenv("LC_ALL", "C")
    harness = _harness_module(monkeypatch).Harness()
    try:
        for _ in range(40):
            code, out, _err = harness.run(argv[1:], b"")
            assert code == 0 and b"GOODSIG" in out
        (server,) = harness.servers.values()
        assert server.requests == 40 and not harness.retiring
    finally:
        harness.close()
