"""The one reader of certificate and CRL files: PEM or DER, re-read when the file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from conformance import pem_files
from conformance.errors import UserError
from conformance.pki.model import load_pki


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    pki = load_pki()
    first, second = pki.identity("pro01"), pki.identity("pro02")
    path = tmp_path / "trust.pem"
    path.write_bytes(first.certificate_path("sign").read_bytes())
    assert pem_files.certificate(path) == first.certificate("sign")
    before = pem_files.version(path)
    path.write_bytes(second.certificate_path("sign").read_bytes())
    os.utime(path, ns=(before.mtime_ns + 1_000_000, before.mtime_ns + 1_000_000))
    assert pem_files.certificate(path) == second.certificate("sign")


def test_pem_bundles_der_and_crls(tmp_path: Path) -> None:
    pki = load_pki()
    cert = pki.identity("pro01").certificate("sign")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(cert.public_bytes(Encoding.PEM) * 2)
    assert pem_files.certificates(bundle) == (cert, cert)
    der = tmp_path / "cert.der"
    der.write_bytes(cert.public_bytes(Encoding.DER))
    assert pem_files.certificates(der) == (cert,)
    crl_paths = pki.crl_paths()
    two = tmp_path / "crls.pem"
    two.write_bytes(b"".join(p.read_bytes() for p in crl_paths[:2]))
    assert len(pem_files.crls(two)) == len(crl_paths[:2])
    assert pem_files.crl(two) == pem_files.crl(crl_paths[0])


def test_a_directory_gives_the_certificates_of_its_pem_files_as_they_are_now(
    tmp_path: Path,
) -> None:
    pki = load_pki()
    first, second = pki.identity("pro01"), pki.identity("pro02")
    ca = tmp_path / "ca"
    assert pem_files.directory_certificates(ca) == ()  # no directory: none
    ca.mkdir()
    (ca / "b.pem").write_bytes(second.certificate_path("sign").read_bytes())
    (ca / "a.pem").write_bytes(first.certificate_path("sign").read_bytes())
    (ca / "a.crl.pem").write_bytes(pki.crl_paths()[0].read_bytes())  # CRLs: no certificate
    (ca / "notes.txt").write_bytes(b"not a PEM file")
    both = (first.certificate("sign"), second.certificate("sign"))
    assert pem_files.directory_certificates(ca) == both
    before = pem_files.version(ca)
    (ca / "c.pem").write_bytes(first.certificate_path("encrypt").read_bytes())
    os.utime(ca, ns=(before.mtime_ns, before.mtime_ns))  # added within the same clock tick
    assert pem_files.directory_certificates(ca) == (*both, first.certificate("encrypt"))
    at = pem_files.version(ca / "b.pem")
    (ca / "b.pem").write_bytes(first.certificate_path("sign").read_bytes())
    os.utime(ca / "b.pem", ns=(at.mtime_ns + 1_000_000, at.mtime_ns + 1_000_000))
    assert pem_files.directory_certificates(ca)[1] == first.certificate("sign")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"missing\.pem: cannot read"),
        (b"garbage", r"bad\.pem: not a PEM certificate, nor a DER one"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", r"not a PEM"),
    ],
)
def test_bad_files_are_named(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / ("missing.pem" if content is None else "bad.pem")
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        pem_files.certificates(path)


def test_a_bad_crl_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.crl"
    path.write_bytes(b"not a crl")
    with pytest.raises(UserError, match=r"bad\.crl: not a PEM CRL, nor a DER one"):
        pem_files.crls(path)


def test_a_key_is_checked_once_per_content_and_a_bad_one_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSL's RSA check runs once per content of a key file (recorded in the cache);
    a key that fails it is refused on every load, never recorded."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    monkeypatch.setenv("OSM_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    checks: list[bool] = []
    load = serialization.load_pem_private_key

    def counted(data: bytes, password: None, *, unsafe_skip_rsa_key_validation: bool) -> object:
        checks.append(not unsafe_skip_rsa_key_validation)
        return load(data, password, unsafe_skip_rsa_key_validation=unsafe_skip_rsa_key_validation)

    monkeypatch.setattr(serialization, "load_pem_private_key", counted)
    good = load_pki().identity("pro01").directory / "sign.key.pem"
    copy = tmp_path / "good.key.pem"
    copy.write_bytes(good.read_bytes())
    for path in (good, copy, copy):
        pem_files._private_key.cache_clear()  # as a new process would
        assert pem_files.private_key(path).key_size == 2048
    assert checks == [True, False, False]  # the copy has the same bytes: checked once

    key = load(copy.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        numbers.p, numbers.q, numbers.d, numbers.dmp1, numbers.dmq1 ^ 2, numbers.iqmp,
        numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)  # fmt: skip
    bad = tmp_path / "bad.key.pem"
    bad.write_bytes(
        broken.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    checks.clear()
    for _ in range(2):
        pem_files._private_key.cache_clear()
        with pytest.raises(UserError, match=r"bad\.key\.pem"):
            pem_files.private_key(bad)
    assert checks == [True, True]
    assert pem_files.private_key(bad, validate=False).key_size == 2048  # handed on as it is
