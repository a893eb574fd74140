"""The committed test PKI checked by a real validator: `openssl verify` with CRLs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.pki import TestPKI, load_pki

pytestmark = pytest.mark.engines

OPENSSL = shutil.which("openssl")
PURPOSES = {"sign": "smimesign", "encrypt": "smimeencrypt", "auth": "sslclient"}


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    if OPENSSL is None:
        pytest.skip("openssl is not installed (Debian package openssl)")
    return load_pki()


def verify(pki: TestPKI, certs: list[Path], *extra: str) -> tuple[int, str]:
    assert OPENSSL is not None
    argv = [OPENSSL, "verify", "-x509_strict", "-crl_check_all"]
    argv += ["-CAfile", str(pki.trust_paths()[0]), "-untrusted", str(pki.intermediate_path())]
    for crl in pki.crl_paths():
        argv += ["-CRLfile", str(crl)]
    argv += [*extra, *map(str, certs)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("role", ["sign", "encrypt", "auth"])
def test_valid_identities_verify(pki: TestPKI, role: str) -> None:
    paths = [i.certificate_path(role) for i in pki.valid_identities()]  # type: ignore[arg-type]
    code, out = verify(pki, paths, "-purpose", PURPOSES[role])
    assert code == 0, out
    for path in paths:
        assert f"{path}: OK" in out


@pytest.mark.parametrize(
    ("defect", "error"),
    [
        ("expired", "certificate has expired"),
        ("not-yet-valid", "certificate is not yet valid"),
        ("revoked", "certificate revoked"),
        ("unknown-root", "unable to get local issuer certificate"),
        ("gip-cps-oid", "unable to get certs public key"),
    ],
)
def test_defects_a_chain_check_sees(pki: TestPKI, defect: str, error: str) -> None:
    identity = pki.defective(defect)
    for role, purpose in PURPOSES.items():
        code, out = verify(pki, [identity.certificate_path(role)], "-purpose", purpose)  # type: ignore[arg-type]
        assert code != 0 and error in out, out


@pytest.mark.parametrize(
    ("defect", "error"),
    [
        ("weak-key", "EE certificate key too weak"),
        ("sha1", "CA signature digest algorithm too weak"),
    ],
)
def test_defects_seen_at_security_level_2(pki: TestPKI, defect: str, error: str) -> None:
    """OpenSSL accepts them by default; -auth_level 2 (112-bit security) refuses them."""
    path = pki.defective(defect).certificate_path("sign")
    code, out = verify(pki, [path], "-purpose", "smimesign")
    assert code == 0, out
    code, out = verify(pki, [path], "-purpose", "smimesign", "-auth_level", "2")
    assert code != 0 and error in out, out
    valid = pki.identity("pro01").certificate_path("sign")
    assert verify(pki, [valid], "-auth_level", "2")[0] == 0


def test_email_mismatch_seen_with_verify_email(pki: TestPKI) -> None:
    identity = pki.defective("email-mismatch")
    path = identity.certificate_path("sign")
    assert verify(pki, [path], "-purpose", "smimesign")[0] == 0
    code, out = verify(pki, [path], "-verify_email", identity.email)
    assert code != 0 and "email address mismatch" in out, out
    valid = pki.identity("pro02")
    assert verify(pki, [valid.certificate_path("sign")], "-verify_email", valid.email)[0] == 0


def test_no_nonrepudiation_passes_the_chain_check(pki: TestPKI) -> None:
    """The chain is fine: only a check of nonRepudiation (the CPS rule) sees this defect."""
    identity = pki.defective("no-nonrepudiation")
    assert verify(pki, [identity.certificate_path("sign")], "-purpose", "smimesign")[0] == 0
    assert OPENSSL is not None
    text = subprocess.run(
        [
            OPENSSL,
            "x509",
            "-noout",
            "-ext",
            "keyUsage",
            "-in",
            str(identity.certificate_path("sign")),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Digital Signature" in text and "Non Repudiation" not in text
