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
