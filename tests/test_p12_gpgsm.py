"""The export's PKCS#12 files avoid gpgsm 2.2's KDF slip, and the model of that slip is right."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from conformance.pki.export import P12_PASSWORD, legacy_pbe, pkcs12_bytes
from conformance.pki.model import load_pki
from conformance.pki.p12_gpgsm import gpgsm_can_open


def _draw(predicate_ok: bool) -> bytes:
    identity = load_pki().identities["pro01"]
    for _ in range(2000):
        data = pkcs12.serialize_key_and_certificates(
            b"x", identity.private_key("sign"), identity.certificate("sign"), None, legacy_pbe()
        )
        if gpgsm_can_open(data, P12_PASSWORD) == predicate_ok:
            return data
    raise AssertionError("no such PKCS#12 in 2000 draws")


def _gpgsm_imports(data: bytes, home: Path) -> bool:
    path = home / "x.p12"
    path.write_bytes(data)
    result = subprocess.run(
        [
            "gpgsm",
            "--homedir",
            str(home),
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "--import",
            str(path),
        ],
        input=P12_PASSWORD + b"\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    return b"error parsing or decrypting" not in result.stderr


@pytest.mark.engines
def test_the_model_predicts_what_gpgsm_does(tmp_path: Path) -> None:
    if shutil.which("gpgsm") is None:
        pytest.skip("gpgsm is not installed (Debian package gpgsm)")
    home = tmp_path / "g"
    home.mkdir(mode=0o700)
    (home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
    try:
        assert not _gpgsm_imports(_draw(predicate_ok=False), home)
        assert _gpgsm_imports(_draw(predicate_ok=True), home)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def test_exported_files_always_pass_the_check() -> None:
    identity = load_pki().identities["pro02"]
    for _ in range(40):
        data = pkcs12_bytes("t", identity.private_key("sign"), identity.certificate("sign"), [])
        assert gpgsm_can_open(data, P12_PASSWORD)
