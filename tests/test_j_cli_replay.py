"""A call of `--engine-mode cli` replayed from the evidence alone, as docs/matrix.md says.

The logged command line names the agents' short-lived files, removed after the call: the
doc says how each is rebuilt (the message's CMS and signed part with openssl, the trust
bundle from the test PKI's `ca/`). Here a Go pkcs7 verify, of a signed message and of an
altered one, is replayed so and gives the logged exit code; and the trust bundles the doc
describes are the ones the agents wrote.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from pki_support import export_layout_pki
from test_go_gnutls_engines import (
    GO_MISSING,
    openssl,
    receive_request,
    send,
    tamper,
)

from conformance.agents import tools
from conformance.agents.go_pkcs7 import GoPkcs7Agent
from conformance.paths import REPO_DIR

pytestmark = pytest.mark.engines

MATRIX_DOC = REPO_DIR / "docs" / "matrix.md"
# The rebuilding commands docs/matrix.md gives (--engine-mode), MESSAGE the evidence's .eml.
CMSOUT = "openssl cms -cmsout -outform DER -in MESSAGE -out in.p7s"
CONTENT = "openssl cms -verify -noverify -nosigs -in MESSAGE -out content"
_CALL = re.compile(r"^\$ (.*)  -> exit (-?\d+) in [\d.]+s \[(.*)\]$")

needs_tools = pytest.mark.skipif(
    GO_MISSING is not None or shutil.which("openssl") is None,
    reason=f"Go pkcs7 harness {GO_MISSING} or openssl missing",
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_layout_pki(tmp_path_factory.mktemp("pki"))


def test_the_doc_says_how_to_rebuild_the_inputs() -> None:
    lines = MATRIX_DOC.read_text("utf-8").splitlines()
    row = next(line for line in lines if line.startswith("| `--engine-mode"))
    assert "any cell can be replayed" not in row  # not true of the evidence alone
    for said in (f"`{CMSOUT}`", f"`{CONTENT}`", "`ca/root.pem`", "`basic.sent.eml`"):
        assert said in row


def _rebuild(message: Path, into: Path) -> dict[str, Path]:
    """The doc's commands on the evidence's message: the CMS and the signed part."""
    files = {"in.p7s": into / "in.p7s", "content": into / "content"}
    for command in (CMSOUT, CONTENT):
        argv = shlex.split(command.replace("MESSAGE", str(message)))
        argv = [str(files.get(a, a)) for a in argv]
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
    assert files["in.p7s"].read_bytes()[:1] == b"\x30"  # DER, as the agents write it
    return files


def _replay(logged: str, inputs: dict[str, Path], into: Path) -> int:
    """The logged argv with each short-lived file replaced: inputs rebuilt, outputs fresh."""
    argv = []
    for arg in shlex.split(logged):
        name = re.sub(r"^\d{5}-", "", Path(arg).name)
        if re.match(r"^\d{5}-", Path(arg).name):
            arg = str(inputs.get(name, into / f"out-{name}"))
        argv.append(arg)
    return subprocess.run(argv, capture_output=True, timeout=30).returncode


@needs_tools
@pytest.mark.parametrize("altered", [False, True])
def test_a_go_verify_replays_from_the_evidence(
    pki: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, altered: bool
) -> None:
    monkeypatch.setenv(tools.ENGINE_MODE_ENV, "cli")
    go = GoPkcs7Agent(workdir=tmp_path / "go")
    message = send(go, pki, "sign")
    message = tamper(message) if altered else message
    got = go.receive(receive_request(pki, message))
    calls = [m for m in map(_CALL.match, got.evidence.notes) if m]
    verify = next(m for m in calls if " verify " in m.group(1))
    assert verify.group(3) == "cli"
    assert (int(verify.group(2)) == 0) is (not altered)
    sent = tmp_path / "basic.sent.eml"  # what the evidence keeps of the cell
    sent.write_bytes(message)
    inputs = _rebuild(sent, tmp_path)
    inputs["trust.pem"] = pki / "ca" / "root.pem"  # the doc: the test PKI's root
    assert _replay(verify.group(1), inputs, tmp_path) == int(verify.group(2))


@needs_tools
def test_the_trust_bundles_are_the_ones_the_doc_names(pki: Path, tmp_path: Path) -> None:
    ca = pki / "ca"
    root, crls = ca / "root.pem", [ca / "root.crl.pem", ca / "intermediate.crl.pem"]
    go, ossl = GoPkcs7Agent(workdir=tmp_path / "go"), openssl(tmp_path)
    message = send(go, pki, "sign")
    for agent, expected in ((go, [root]), (ossl, [root, *crls])):
        agent.receive(receive_request(pki, message))
        # written once per content and kept while the agent lives (tool_agent._file_of)
        (bundle,) = agent.workdir.rglob("*-trust.pem")
        assert bundle.read_bytes() == b"\n".join(p.read_bytes() for p in expected)
