"""The openssl harness's parsed-file cache never serves a file's old content.

The harness keeps parsed keys, certificates, chains and trust files keyed by the
file's bytes (harnesses/openssl/osm_openssl_harness.c): a file rewritten at the
same path between two calls of one harness process must be read again, as the
command line reads it. Each step runs in the same harness and with the real
`openssl cms`; both must give the same exit code and verdict line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.agents.harness import Harness
from conformance.paths import HARNESS_DIR, PKI_DIR

pytestmark = pytest.mark.engines

PROGRAM = HARNESS_DIR / "openssl" / "osm-openssl-harness"
CA = PKI_DIR / "ca"
IDS = PKI_DIR / "identities"
CONTENT = b"Content-Type: text/plain\r\n\r\nOBX|1|NM|GLU^Glycemie||5.2|mmol/l\r\n"


@pytest.fixture
def harness() -> Iterator[Harness]:
    if not os.access(PROGRAM, os.X_OK):
        pytest.skip(f"the openssl harness is not built ({PROGRAM}): make -C harnesses/openssl")
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command line to compare with")
    running = Harness([str(PROGRAM)])
    yield running
    running.close()


def both(harness: Harness, argv: list[str]) -> tuple[int, str]:
    """The harness's exit code and verdict line, checked against the command line's."""
    reply = harness.call(argv)
    cli = subprocess.run(["openssl", *argv], capture_output=True, env={**os.environ, "LC_ALL": "C"})
    verdict = [line for line in reply.stderr.decode().splitlines() if "Verification" in line]
    cli_verdict = [line for line in cli.stderr.decode().splitlines() if "Verification" in line]
    assert (reply.exit, verdict) == (cli.returncode, cli_verdict), (argv, reply.stderr, cli.stderr)
    return reply.exit, " ".join(verdict)


def test_a_rewritten_key_or_trust_file_is_read_again(harness: Harness, tmp_path: Path) -> None:
    content, signed, out = tmp_path / "content", tmp_path / "signed.eml", tmp_path / "out"
    key, trust = tmp_path / "key.pem", tmp_path / "trust.pem"
    content.write_bytes(CONTENT)
    sign = ["cms", "-sign", "-in", str(content), "-out", str(signed), "-outform", "SMIME"]
    sign += ["-signer", str(IDS / "pro01" / "sign.pem"), "-inkey", str(key), "-md", "sha256"]
    sign += ["-certfile", str(IDS / "pro01" / "chain.pem")]
    verify = ["cms", "-verify", "-inform", "SMIME", "-in", str(signed), "-out", str(out)]
    verify += ["-purpose", "smimesign", "-CAfile", str(trust), "-no-CApath", "-no-CAstore"]
    verify += ["-crl_check"]
    with_crls = b"\n".join(
        (CA / name).read_bytes() for name in ("root.pem", "root.crl.pem", "intermediate.crl.pem")
    )

    key.write_bytes((IDS / "pro01" / "sign.key.pem").read_bytes())
    assert both(harness, sign)[0] == 0
    key.write_bytes((IDS / "pro02" / "sign.key.pem").read_bytes())  # not the certificate's key
    assert both(harness, sign)[0] != 0
    key.write_bytes((IDS / "pro01" / "sign.key.pem").read_bytes())
    assert both(harness, sign)[0] == 0

    trust.write_bytes(with_crls)
    assert both(harness, verify) == (0, "CMS Verification successful")
    trust.write_bytes((CA / "root.pem").read_bytes())  # no CRL: -crl_check cannot succeed
    assert both(harness, verify) == (4, "CMS Verification failure")
    trust.write_bytes(with_crls)
    assert both(harness, verify) == (0, "CMS Verification successful")
    trust.write_bytes(b"")  # nothing to load: the loader's own error
    assert both(harness, verify)[0] == 2
