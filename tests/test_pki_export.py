"""`pki export`: the layout of docs/design.md; PKCS#12 files that openssl, NSS and gpgsm import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from conformance.cli import main
from conformance.core.vocabulary import ROLES
from conformance.paths import PKI_DIR
from conformance.pki import load_pki

SUBSET = ["pro01", "defect-weak-key", "defect-gip-cps-oid"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "x"
    argv = ["pki", "export", str(out)]
    for ident in SUBSET:
        argv += ["--identity", ident]
    assert main(argv) == 0
    return out


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (see tools/setup.sh)")
    return path


def _run(argv: list[str], env: dict[str, str] | None = None, stdin: str = "") -> str:
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
        env=env,
        input=stdin,
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def test_layout(exported: Path) -> None:
    for name in ("root.pem", "intermediate.pem", "root.crl.pem", "intermediate.crl.pem"):
        assert (exported / "ca" / name).read_bytes() == (PKI_DIR / "ca" / name).read_bytes()
    assert (exported / "ca-unknown" / "root.pem").is_file()
    for name in ("localhost.pem", "localhost.key.pem"):
        served = PKI_DIR / "servers" / name
        assert (exported / "servers" / name).read_bytes() == served.read_bytes()
    assert sorted(p.name for p in (exported / "identities").iterdir()) == sorted(SUBSET)
    for ident in SUBSET:
        directory = exported / "identities" / ident
        for role in ROLES:
            for name in (f"{role}.pem", f"{role}.key.pem"):
                assert (directory / name).read_bytes() == (
                    PKI_DIR / "identities" / ident / name
                ).read_bytes()
            assert (directory / f"{role}.p12").is_file()
        assert (directory / "identity.p12").is_file()
        data = json.loads((directory / "identity.json").read_text(encoding="utf-8"))
        assert {"id", "name", "email", "idnat", "profession", "defect"} <= set(data)
    assert "TEST KEYS ONLY" in (exported / "README.md").read_text()


def test_export_loads_as_a_pki(exported: Path) -> None:
    pki = load_pki(exported)
    assert sorted(pki.identities) == sorted(SUBSET)
    assert pki.root == load_pki().root
    assert pki.defective("weak-key").certificate("sign").public_key().key_size == 1024  # type: ignore[union-attr]


def test_p12_contents(exported: Path) -> None:
    """identity.p12: the sign key and certificate, the encrypt certificate, the CA chain."""
    original = load_pki().identity("pro01")
    directory = exported / "identities" / "pro01"
    bundle = pkcs12.load_pkcs12((directory / "identity.p12").read_bytes(), b"test")
    assert bundle.cert is not None and bundle.cert.certificate == original.certificate("sign")
    assert isinstance(bundle.key, rsa.RSAPrivateKey)
    assert bundle.key.private_numbers() == original.private_key("sign").private_numbers()
    extra = [c.certificate for c in bundle.additional_certs]
    assert original.certificate("encrypt") in extra
    assert load_pki().root in extra and load_pki().intermediate in extra
    for role in ROLES:
        single = pkcs12.load_pkcs12((directory / f"{role}.p12").read_bytes(), b"test")
        assert single.cert is not None and single.cert.certificate == original.certificate(role)


def test_export_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "export", str(tmp_path / "y"), "--identity", "pro99"]) == 2
    assert "no identity 'pro99'" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()
    (tmp_path / "file").write_text("x")
    assert main(["pki", "export", str(tmp_path / "file")]) == 2


def test_pki_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "show"]) == 0
    out = capsys.readouterr().out
    assert "TEST KEYS ONLY" in out
    for ident in ("pro01", "pro32", "defect-gip-cps-oid"):
        assert ident in out
    assert main(["pki", "show", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 41 and rows[0].keys() == {
        "id",
        "name",
        "email",
        "idnat",
        "profession",
        "defect",
    }


@pytest.mark.engines
def test_openssl_pkcs12_imports(exported: Path) -> None:
    openssl = _tool("openssl")
    for ident in SUBSET:
        path = exported / "identities" / ident / "identity.p12"
        # The legacy PBE here is 3DES, which OpenSSL 3's default provider still has: no -legacy.
        out = _run([openssl, "pkcs12", "-in", str(path), "-passin", "pass:test", "-noenc", "-info"])
        assert "pbeWithSHA1And3-KeyTripleDES-CBC" in out
        assert out.count("BEGIN PRIVATE KEY") == 1
        assert out.count("BEGIN CERTIFICATE") == 4


@pytest.mark.engines
def test_nss_pk12util_imports(exported: Path, tmp_path: Path) -> None:
    certutil, pk12util = _tool("certutil"), _tool("pk12util")
    db = f"sql:{tmp_path}"
    _run([certutil, "-N", "-d", db, "--empty-password"])
    for ident in ("pro01", "defect-weak-key"):
        for name in ("identity.p12", "encrypt.p12"):
            path = exported / "identities" / ident / name
            assert "IMPORT SUCCESSFUL" in _run([pk12util, "-i", str(path), "-d", db, "-W", "test"])
    keys = _run([certutil, "-K", "-d", db])
    assert sum(1 for line in keys.splitlines() if line.startswith("<")) == 4
    certs = _run([certutil, "-L", "-d", db])
    assert "TEST Autorité racine Santé" in certs


@pytest.mark.engines
def test_nss_refuses_the_gip_cps_key_oid(exported: Path, tmp_path: Path) -> None:
    """A finding, not a bug of the export: NSS cannot pair a key with that certificate."""
    certutil, pk12util = _tool("certutil"), _tool("pk12util")
    db = f"sql:{tmp_path}"
    _run([certutil, "-N", "-d", db, "--empty-password"])
    path = exported / "identities" / "defect-gip-cps-oid" / "identity.p12"
    done = subprocess.run(
        [pk12util, "-i", str(path), "-d", db, "-W", "test"], capture_output=True, text=True
    )
    assert done.returncode != 0 and "UNABLE_TO_IMPORT_KEY" in done.stdout + done.stderr


@pytest.mark.engines
def test_gpgsm_imports(exported: Path, tmp_path: Path) -> None:
    gpgsm, gpgconf = _tool("gpgsm"), _tool("gpgconf")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    (home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
    env = {**os.environ, "GNUPGHOME": str(home)}
    base = [gpgsm, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase-fd", "0"]
    try:
        for ident in ("pro01", "defect-weak-key"):
            for name in ("identity.p12", "encrypt.p12"):
                path = exported / "identities" / ident / name
                out = _run([*base, "--import", str(path)], env=env, stdin="test\n")
                assert "secret keys imported: 1" in out
        listing = _run([gpgsm, "--with-colons", "--list-secret-keys"], env=env)
        fingerprints = {
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        }
        pki = load_pki(exported)
        for ident in ("pro01", "defect-weak-key"):
            for role in ("sign", "encrypt"):
                cert = pki.identity(ident).certificate(role)
                fpr = cert.fingerprint(hashes.SHA1()).hex().upper()
                assert fpr in fingerprints, (ident, role)
    finally:
        subprocess.run([gpgconf, "--kill", "all"], env=env, check=False, timeout=30)
