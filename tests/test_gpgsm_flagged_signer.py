"""gpgsm's answer on a signer it flags: a good signature by an expired certificate comes
as EXPKEYSIG (where GOODSIG would be) beside VALIDSIG, TRUST_FULLY and exit 0. The agent
must read that as a signer without a valid chain, not credit authentication (the
rejection matrix's defective-expired case blamed gpgsm for accepting what it flagged).

End to end as a user runs it: `agent reference send` signs as the shipped PKI's expired
identity, `agent gpgsm receive` reads it with the real gpgsm."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.paths import PKI_DIR

pytestmark = pytest.mark.skipif(shutil.which("gpgsm") is None, reason="gpgsm not installed")

ENV = {**os.environ, "OSM_CONFORMANCE_TOKEN": "software"}
LETTER = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nBonjour.\r\n"


def _agent(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "conformance", "agent", *args]
    return subprocess.run(command, input=stdin, capture_output=True, env=ENV, timeout=120)


def test_an_expired_signer_gpgsm_flags_is_not_authenticated(tmp_path: Path) -> None:
    identities = PKI_DIR / "identities"
    sent = _agent(
        "reference", "send", "--function", "sign",
        "--from", str(identities / "defect-expired"), "--to", str(identities / "pro02"),
        stdin=LETTER,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr.decode(errors="replace")
    status_file = tmp_path / "status.json"
    crls = [a for crl in sorted((PKI_DIR / "ca").glob("*.crl*")) for a in ("--crl", str(crl))]
    read = _agent(
        "gpgsm", "receive", "--identity", str(identities / "pro02"),
        "--trust", str(PKI_DIR / "ca" / "root.pem"), *crls, "--status-out", str(status_file),
        stdin=sent.stdout,
    )  # fmt: skip
    status = json.loads(status_file.read_text(encoding="utf-8"))
    assert "EXPKEYSIG" in read.stderr.decode(errors="replace"), "gpgsm's own words kept"
    assert [e["code"] for e in status["errors"]] == ["untrusted-signer"]
    assert status["signature_valid"] is True and status["chain_valid"] is False
    assert status["services"]["integrity"] and not status["services"]["authentication"]
    assert read.returncode == 12
