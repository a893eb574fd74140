"""The engine reads what NSS `cmsutil` and `gpgsm` write (raw BER CMS, wrapped here in MIME)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from smime_read_support import (
    CONTENT,
    ReadPKI,
    legacy_p12,
    multipart_signed,
    need,
    pki,
    run,
    wrap_cms,
)

__all__ = ["pki"]

pytestmark = pytest.mark.engines

ALL = {"authentication", "integrity", "non_repudiation"}


@pytest.fixture(scope="module")
def nss(pki: ReadPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NSS database holding alice's and bob's keys, the root trusted."""
    need("cmsutil")
    db = tmp_path_factory.mktemp("nssdb")
    run(["certutil", "-N", "-d", str(db), "--empty-password"])
    for who in ("alice", "bob"):
        p12 = db / f"{who}.p12"
        p12.write_bytes(legacy_p12(pki.people[who], [pki.intermediate, pki.root], b"test"))
        run(["pk12util", "-i", str(p12), "-d", str(db), "-W", "test", "-K", ""])
    run(["certutil", "-A", "-d", str(db), "-n", "root", "-t", "C,C,C", "-i", str(pki.root_path)])
    (db / "content.txt").write_bytes(CONTENT)
    return db


def _cmsutil(db: Path, *args: str) -> bytes:
    out = db / "out.p7m"
    run(["cmsutil", *args, "-d", str(db), "-i", str(db / "content.txt"), "-o", str(out)])
    return out.read_bytes()


@pytest.mark.parametrize(
    ("hash_", "digest"), [("SHA1", "sha1"), ("SHA256", "sha256"), ("SHA512", "sha512")]
)
def test_nss_opaque_signature(pki: ReadPKI, nss: Path, hash_: str, digest: str) -> None:
    der = _cmsutil(nss, "-S", "-N", "alice@osm.test", "-H", hash_, "-G", "-P", "-Y", "NONE")
    assert der[:2] == b"\x30\x80", "cmsutil writes BER indefinite length"
    content, status = pki.read(wrap_cms(der, "signed-data"))
    assert status.errors == [] and content == CONTENT
    assert status.algorithms.digest == [digest]
    assert status.services.as_set() == ALL


def test_nss_detached_signature_in_multipart_signed(pki: ReadPKI, nss: Path) -> None:
    der = _cmsutil(nss, "-S", "-T", "-N", "alice@osm.test", "-H", "SHA256", "-G", "-Y", "NONE")
    content, status = pki.read(multipart_signed(CONTENT, der))
    assert status.errors == [] and content == CONTENT
    assert status.services.as_set() == ALL


def test_nss_enveloped(pki: ReadPKI, nss: Path) -> None:
    der = _cmsutil(nss, "-E", "-r", "bob@osm.test")
    content, status = pki.read(wrap_cms(der, "enveloped-data"))
    assert status.errors == [] and content == CONTENT
    assert status.algorithms.key_transport == ["rsa-pkcs1v15"]
    assert status.services.as_set() == {"confidentiality"}


@pytest.fixture(scope="module")
def gnupg(pki: ReadPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private GNUPGHOME: alice's legacy-PBE PKCS#12, bob's certificate, the root trusted."""
    need("gpgsm")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    (home / "gpg-agent.conf").write_text("allow-loopback-pinentry\n")
    (home / "gpgsm.conf").write_text("disable-dirmngr\ndisable-crl-checks\n")
    p12 = home / "alice.p12"
    p12.write_bytes(legacy_p12(pki.people["alice"], [pki.intermediate, pki.root], b"test"))
    env = {"GNUPGHOME": str(home)}
    _gpgsm(env, "--import", str(p12))
    _gpgsm(env, "--import", str(pki.people["bob"].cert_path))
    fingerprint = pki.root.fingerprint(hashes.SHA1()).hex(":").upper()
    (home / "trustlist.txt").write_text(f"{fingerprint} S relax\n")
    (home / "content.txt").write_bytes(CONTENT)
    env["CONTENT"] = str(home / "content.txt")
    yield env
    subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, **env}, check=False)


def _gpgsm(env: dict[str, str], *args: str) -> bytes:
    base = ["gpgsm", "--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0"]
    return run([*base, *args], b"test\n", env=env)


def test_gpgsm_opaque_signature(pki: ReadPKI, gnupg: dict[str, str]) -> None:
    der = _gpgsm(gnupg, "--sign", "-u", "alice@osm.test", gnupg["CONTENT"])
    content, status = pki.read(wrap_cms(der, "signed-data"))
    assert status.errors == [] and content == CONTENT
    assert status.services.as_set() == ALL


def test_gpgsm_detached_signature(pki: ReadPKI, gnupg: dict[str, str]) -> None:
    der = _gpgsm(gnupg, "--detach-sign", "-u", "alice@osm.test", gnupg["CONTENT"])
    content, status = pki.read(multipart_signed(CONTENT, der))
    assert status.errors == [] and content == CONTENT
    assert status.services.as_set() == ALL


def test_gpgsm_enveloped(pki: ReadPKI, gnupg: dict[str, str]) -> None:
    der = _gpgsm(gnupg, "--encrypt", "-r", "bob@osm.test", gnupg["CONTENT"])
    content, status = pki.read(wrap_cms(der, "enveloped-data"))
    assert status.errors == [] and content == CONTENT
    assert status.services.as_set() == {"confidentiality"}
